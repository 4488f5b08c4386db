"""Follower settings at work: the rules a follower set, applied when marks move (spec §8.1).

A follower may set a per-copy take-profit / stop-loss ratio and a total stop-loss
(:class:`~copytrade.domain.copytrading.Follow`). They are watched on every mark move: the admin
``set_price``, every price-path tick (both go through :func:`copytrade.service.sim.set_price`),
a change of the settings themselves, which applies them at once at the current marks, and a
lead close (a loss realised with the lead counts towards the total stop-loss at once). A copy
hit by its own ratio closes with ``close_type`` 8 (TP) or 9 (SL); a follow whose copy PnL
reaches ``−total_stop_loss`` ends, and every copy it still holds closes with ``close_type`` 10.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from copytrade.domain.copytrading import CopyWave, Follow, check_follow
from copytrade.domain.enums import CloseType, CopyMode
from copytrade.domain.errors import InvalidFollowSettings
from copytrade.domain.following import check_follow_rules
from copytrade.domain.model import Account, ChangeSet
from copytrade.domain.trading import Env, Market
from copytrade.service.context import ServiceContext
from copytrade.service.errors import InvalidFollow, NotFollowing, UnknownUser
from copytrade.service.ports import UnitOfWork
from copytrade.service.retry import retry_conflicts

_ZERO = Decimal(0)

SETTING_FIELDS = (
    "ratio",
    "mode",
    "fixed_amount",
    "tp_ratio",
    "sl_ratio",
    "total_stop_loss",
    "contracts",
    "max_slippage",
)
"""The settings a follower may change (absent ones keep their value)."""


@dataclass(slots=True)
class RulesOutcome:
    """What the followers' own rules did: copies closed by their ratio, follows stopped."""

    copy_exits: int = 0
    follows_stopped: int = 0
    copies_stopped: int = 0


def pending_realised(
    changes: ChangeSet, trader_uid: int, followers: Mapping[int, Account] | None = None
) -> dict[int, Decimal]:
    """Return, per follower, the profit of its copies of the trader closed in ``changes``.

    With the funding its copies of the trader paid or received in ``changes`` (a copy is
    found among the changed positions or the ``followers``' open ones). These are not stored
    yet while the unit of work runs, so ``FollowRepository.realised`` does not count them.
    """
    out: dict[int, Decimal] = {}
    for p in changes.positions.values():
        if p.lead_uid == trader_uid and not p.is_open and p.profit is not None:
            out[p.uid] = out.get(p.uid, _ZERO) + p.profit
    for f in changes.fills:
        if f.offset != "funding":
            continue
        pos = changes.positions.get(f.sub_position_id)
        if pos is None and followers is not None and f.uid in followers:
            pos = followers[f.uid].positions.get(f.sub_position_id)
        if pos is not None and pos.lead_uid == trader_uid:
            out[f.uid] = out.get(f.uid, _ZERO) - f.fee
    return out


def exit_wave(ctx: ServiceContext, env: Env) -> CopyWave | None:
    """Return the wave a follower's own exits walk (``None``: market impact is off).

    Exits (copy TP/SL, total stop-loss, removal) walk the book the earlier fills left, one
    after another, at the command's time: they copy no lead, so no copy latency applies, and
    no slippage guard holds an exit back (``CopyWave.refusal``).
    """
    if not ctx.impact.enabled or env.depth is None:
        return None
    return CopyWave(env.depth, ctx.impact, None, env.now)


def apply_rules(
    uow: UnitOfWork,
    follow: Follow,
    follower: Account,
    trader: Account,
    profit_share_ratio: Decimal,
    realised: Decimal,
    markets: Mapping[str, Market],
    env: Env,
    outcome: RulesOutcome,
    wave: CopyWave | None = None,
) -> None:
    """Apply one follow's TP/SL ratios and total stop-loss at the current marks.

    ``realised`` is the follow's realised copy PnL so far (stored, plus what this unit of work
    closed). A follow stopped by its total stop-loss is ended here, so no later lead fill is
    copied. ``wave``: with market impact on, the exits walk the book (:func:`exit_wave`).
    """
    if not follow.watches_marks:
        return
    check = check_follow_rules(
        follow, follower, trader, profit_share_ratio, realised, markets, env, wave
    )
    if check.stopped:
        uow.follows.end(follow.follower_uid, env.now)
        outcome.follows_stopped += 1
    for closed in check.closed:
        if closed.close_type is CloseType.COPY_TOTAL_STOP:
            outcome.copies_stopped += 1
        else:
            outcome.copy_exits += 1


def share_ratio(ctx: ServiceContext, uow: UnitOfWork, trader_uid: int) -> Decimal:
    """Return the trader's profit-share ratio (the server's default for an unknown user)."""
    user = uow.users.get(trader_uid)
    return user.profit_share_ratio if user is not None else ctx.default_profit_share_ratio


def rules_of_trader(
    ctx: ServiceContext,
    uow: UnitOfWork,
    trader_uid: int,
    touched: Collection[int],
    markets: Mapping[str, Market],
    env: Env,
    outcome: RulesOutcome,
) -> None:
    """Apply the rules of the trader's followers among ``touched`` that set any."""
    follows, followers = uow.accounts.followers_of(trader_uid)
    ruled = [f for f in follows if f.watches_marks and f.follower_uid in touched]
    if not ruled:
        return
    trader = uow.accounts.get(trader_uid)
    if trader is None:
        return
    ratio = share_ratio(ctx, uow, trader_uid)
    stopping = [f.follower_uid for f in ruled if f.total_stop_loss is not None]
    stored = uow.follows.realised(stopping) if stopping else {}
    pending = pending_realised(env.changes, trader_uid, followers) if stopping else {}
    wave = exit_wave(ctx, env)
    for follow in ruled:
        follower = followers.get(follow.follower_uid)
        if follower is not None:
            uid = follow.follower_uid
            realised = stored.get(uid, _ZERO) + pending.get(uid, _ZERO)
            apply_rules(uow, follow, follower, trader, ratio, realised, markets, env, outcome, wave)


def rules_after_move(
    ctx: ServiceContext,
    uow: UnitOfWork,
    accounts: Mapping[int, Account],
    markets: Mapping[str, Market],
    env: Env,
) -> RulesOutcome:
    """Apply the rules of every follower among ``accounts`` (the ones a mark move touched).

    The followers looked at hold copies, or had copies closed in this unit (with their lead:
    a loss realised so counts towards the total stop-loss at once). The follows come per
    trader (one read each, kept by the stores); only those with a TP/SL ratio or a total
    stop-loss do any work.
    """
    outcome = RulesOutcome()
    touched: dict[int, set[int]] = {}
    for account in accounts.values():
        for p in account.positions.values():
            if p.lead_uid is not None:
                touched.setdefault(p.lead_uid, set()).add(account.uid)
    for p in env.changes.positions.values():
        if p.lead_uid is not None and not p.is_open and p.uid in accounts:
            touched.setdefault(p.lead_uid, set()).add(p.uid)
    for trader_uid in sorted(touched):
        rules_of_trader(ctx, uow, trader_uid, touched[trader_uid], markets, env, outcome)
    return outcome


def rules_after_close(
    ctx: ServiceContext,
    uow: UnitOfWork,
    trader_uid: int,
    follows: Sequence[Follow],
    markets: Mapping[str, Market],
    env: Env,
) -> RulesOutcome:
    """Apply the total stop-loss (and ratios) of followers whose copies closed with the lead.

    ``follows`` are the trader's follows as the close saw them: when none sets a rule (the
    usual case) nothing more is read.
    """
    outcome = RulesOutcome()
    watching = [f.follower_uid for f in follows if f.watches_marks]
    if not watching:
        return outcome
    touched = {
        p.uid for p in env.changes.positions.values() if p.lead_uid == trader_uid and not p.is_open
    }
    if not touched.isdisjoint(watching):
        rules_of_trader(ctx, uow, trader_uid, touched, markets, env, outcome)
    return outcome


@dataclass(frozen=True, slots=True)
class SettingsChange:
    """A follow's new settings and what applying them at the current marks did."""

    follow: Follow
    outcome: RulesOutcome


def merged(current: Follow, changes: Mapping[str, Any]) -> Follow:
    """Return ``current`` with ``changes`` applied (``None`` clears an optional setting).

    Switching to ``ratio`` mode drops the fixed amount unless one is given (it would be
    refused: a fixed amount is used only in ``fixed_amount`` mode).
    """
    unknown = sorted(set(changes) - set(SETTING_FIELDS))
    if unknown:
        raise InvalidFollowSettings(unknown[0], "is not a follower setting")
    values = dict(changes)
    for name in ("ratio", "mode"):
        if name in values and values[name] is None:
            raise InvalidFollowSettings(name, "cannot be cleared")
    if "mode" in values:
        try:
            values["mode"] = CopyMode(values["mode"])
        except ValueError:
            raise InvalidFollowSettings("mode", "is ratio or fixed_amount") from None
        if values["mode"] is CopyMode.RATIO and "fixed_amount" not in values:
            values["fixed_amount"] = None
    if values.get("contracts") is not None:
        values["contracts"] = frozenset(values["contracts"])
    return replace(current, **values)


def check_contracts(ctx: ServiceContext, follow: Follow) -> None:
    """Refuse contracts the server does not list (400 naming ``contracts``)."""
    unknown = sorted((follow.contracts or frozenset()) - set(ctx.contracts))
    if unknown:
        raise InvalidFollowSettings("contracts", f"unknown contracts {unknown}")


@retry_conflicts
def change_settings(
    ctx: ServiceContext,
    follower_uid: int,
    changes: Mapping[str, Any],
    trader_uid: int | None = None,
) -> SettingsChange:
    """Change the settings of a follower's current follow, then apply them at the marks.

    Args:
        ctx: The service context.
        follower_uid: The follower.
        changes: Settings to change (names of :data:`SETTING_FIELDS`); ``None`` clears one.
        trader_uid: When given, the trader the follower must be following (else refused).

    Returns:
        The follow with its new settings, and the copies the new rules closed at once.
    """
    with ctx.admin() as uow:
        if uow.users.get(follower_uid) is None:
            raise UnknownUser(follower_uid)
        current = uow.follows.active_of(follower_uid)
        if current is None:
            raise NotFollowing(follower_uid)
        if trader_uid is not None and current.trader_uid != trader_uid:
            raise InvalidFollow(f"{follower_uid} follows {current.trader_uid}, not {trader_uid}")
        follow = check_follow(merged(current, changes))
        check_contracts(ctx, follow)
        # lock as remove_follower does (trader, follower in uid order), then write the follow
        accounts = uow.accounts.get_many(sorted({follow.trader_uid, follower_uid}))
        uow.follows.change(follow)
        outcome = RulesOutcome()
        env = ctx.env()
        follower, trader = accounts.get(follower_uid), accounts.get(follow.trader_uid)
        if follow.watches_marks and follower is not None and trader is not None:
            markets = ctx.markets(uow.markets.marks())
            ratio = share_ratio(ctx, uow, follow.trader_uid)
            stored = uow.follows.realised([follower_uid])[follower_uid]
            wave = exit_wave(ctx, env)
            apply_rules(uow, follow, follower, trader, ratio, stored, markets, env, outcome, wave)
        uow.accounts.save(env.changes)
        uow.commit()
    ctx.committed(env.changes)
    return SettingsChange(follow, outcome)
