"""v6 copy-trading use cases (spec ``htx-v5-v6.md`` §8) over v1's follows.

The followers and profit shares are the ones v1's ``query_followers`` and
``profit_history_details`` show, and removing a follower is v1's ``remove_follower`` (its copies
close at market, spec §8.5); a minted key trades the same account as the trader's others.
``follower-settings`` stores whether the UID leads, its profit-share ratio (used by every later
profit share) and its follower cap (every follow past it is refused, admin follows included).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from copytrade.domain.enums import CloseType
from copytrade.domain.errors import IllegalParameter
from copytrade.domain.following import end_follow
from copytrade.domain.funding import funding_received
from copytrade.domain.margin import pnl
from copytrade.domain.model import ProfitShare
from copytrade.domain.statistics import ProfitPoint, closed_lead, daily_pnl, win_rate
from copytrade.service.context import ServiceContext
from copytrade.service.errors import UnknownUser
from copytrade.service.follow_rules import exit_wave
from copytrade.service.ports import ApiKey, FollowerRow, Page
from copytrade.service.queries import with_copy_equity
from copytrade.service.retry import retry_conflicts

_ZERO = Decimal(0)
_ALL = Page(True, None, 2**31, 0, 2**62)  # every current follower
MAX_REMOVALS = 10


@dataclass(frozen=True, slots=True)
class FollowersView:
    """A page of followers with the profit share each has paid the trader."""

    rows: list[FollowerRow]
    shared: dict[int, Decimal]


@dataclass(frozen=True, slots=True)
class ShareRow:
    """One profit share received: record id, follower name, amount, time (ms)."""

    item_id: int
    follower_name: str
    amount: Decimal
    ts: int


@dataclass(frozen=True, slots=True)
class LeadConfig:
    """Whether the UID leads, its profit-share ratio and follower cap."""

    enabled: bool
    ratio: Decimal | None
    max_followers: int | None


@dataclass(frozen=True, slots=True)
class Cursor:
    """v6 paging: ``after`` (older ids) / ``before`` (newer ids), ``limit``, time bounds (ms)."""

    after: int | None
    before: int | None
    limit: int
    begin: int
    end: int


def _share(row: Any) -> ProfitShare:
    """Return a report row (a stored row's mapping, or already a record) as a record."""
    if isinstance(row, ProfitShare):
        return row
    return ProfitShare(
        row["item_id"],
        row["trader_uid"],
        row["follower_uid"],
        row["lead_sub_position_id"],
        Decimal(row["amount"]),
        row["currency"],
        int(row["ts"]),
    )


def _shares(ctx: ServiceContext, uid: int) -> list[ProfitShare]:
    with ctx.reads() as reads:
        if reads.user(uid) is None:
            raise UnknownUser(uid)
        report: Any = reads.user_report(uid)
    part = (
        report["profit_shares_received"]
        if isinstance(report, dict)
        else report.profit_shares_received
    )
    return [_share(row) for row in part]


def instruments(ctx: ServiceContext, uid: int) -> tuple[str, ...]:
    """Return the contracts open to lead trading."""
    return ctx.copy_contracts()


def followers(ctx: ServiceContext, uid: int, cursor: Cursor) -> FollowersView:
    """Return current followers, newest first (``before``: the ones newer than the id)."""
    page = Page(
        cursor.before is not None,
        cursor.before if cursor.before is not None else cursor.after,
        cursor.limit,
        cursor.begin,
        cursor.end,
    )
    with ctx.reads() as reads:
        rows = with_copy_equity(ctx, reads, reads.followers_page(uid, page))
    if page.ascending:
        rows = rows[::-1]
    shared: dict[int, Decimal] = {}
    for share in _shares(ctx, uid):
        shared[share.follower_uid] = shared.get(share.follower_uid, _ZERO) + share.amount
    return FollowersView(rows, shared)


def profit_history(ctx: ServiceContext, uid: int, cursor: Cursor) -> list[ShareRow]:
    """Return profit shares received, newest first, paged by record id."""
    rows = [
        s
        for s in _shares(ctx, uid)
        if cursor.begin <= s.ts <= cursor.end
        and (cursor.after is None or s.item_id < cursor.after)
        and (cursor.before is None or s.item_id > cursor.before)
    ]
    rows.sort(key=lambda s: s.item_id, reverse=cursor.before is None)
    rows = rows[: cursor.limit]
    if cursor.before is not None:
        rows.reverse()
    with ctx.reads() as reads:
        names = {s.follower_uid: reads.user(s.follower_uid) for s in rows}
    return [
        ShareRow(s.item_id, (user.name if (user := names[s.follower_uid]) else ""), s.amount, s.ts)
        for s in rows
    ]


def profit_total(ctx: ServiceContext, uid: int) -> Decimal:
    """Return the total profit share received."""
    return sum((s.amount for s in _shares(ctx, uid)), _ZERO)


def unrealized_total(ctx: ServiceContext, uid: int) -> Decimal:
    """Return Σ over open copies of max(0, unrealised PnL net of open fees) × ratio."""
    with ctx.uow() as uow:
        user = uow.users.get(uid)
        if user is None:
            raise UnknownUser(uid)
        _follows, accounts = uow.accounts.followers_of(uid)
        markets = ctx.markets(uow.markets.marks())
    total = _ZERO
    for account in accounts.values():
        for pos in account.positions.values():
            if pos.lead_uid != uid:
                continue
            market = markets[pos.contract_code]
            gain = pnl(
                pos.side, pos.open_avg_price, market.mark, pos.volume, market.spec.contract_size
            )
            total += max(_ZERO, gain - pos.open_fee)
    return total * user.profit_share_ratio


def config(ctx: ServiceContext, uid: int) -> LeadConfig:
    """Return the UID's lead-trading configuration (ratio and cap only while it leads)."""
    with ctx.reads() as reads:
        user = reads.user(uid)
    if user is None:
        raise UnknownUser(uid)
    if not user.leads:
        return LeadConfig(False, None, None)
    return LeadConfig(True, user.profit_share_ratio, user.max_followers)


@dataclass(frozen=True, slots=True)
class LeadSettings:
    """``follower-settings``: lead or not; the ratio and cap (``None``: keep the current)."""

    enable: bool
    ratio: Decimal | None
    max_followers: int | None


@retry_conflicts
def follower_settings(ctx: ServiceContext, uid: int, settings: LeadSettings) -> LeadConfig:
    """Store the UID's lead settings; a ratio or cap sent while disabling is kept for later.

    Disabling is refused while followers remain (remove them first) [INF]: a lead that stops
    leading with followers would leave copies no later lead fill reaches. A cap below the
    current count keeps the followers and refuses new ones (spec §8.9).
    """
    with ctx.uow() as uow:
        user = uow.users.get(uid)
        if user is None:
            raise UnknownUser(uid)
        if user.role != "trader":
            raise IllegalParameter("enable", settings.enable)
        if not settings.enable and uow.follows.count_active(uid):
            raise IllegalParameter("enable", settings.enable)
        ratio = settings.ratio if settings.ratio is not None else user.profit_share_ratio
        cap = settings.max_followers or user.max_followers
        uow.users.set_lead(uid, settings.enable, ratio, cap)
        uow.commit()
    if not settings.enable:
        return LeadConfig(False, None, None)
    return LeadConfig(True, ratio, cap)


@retry_conflicts
def remove_followers(
    ctx: ServiceContext, uid: int, targets: tuple[tuple[str, int | None], ...]
) -> list[tuple[str, bool]]:
    """End the follows of the given followers (``(id as sent, uid or None)``), in one unit.

    Each removed follower's copies close at market and pay their profit share, exactly as v1's
    ``remove_follower`` (close type 7); it no longer appears in ``followers`` and later lead
    fills are not copied to it. Returns, per id, whether it was a current follower.
    """
    if len(targets) > MAX_REMOVALS:
        raise IllegalParameter("followerUids", len(targets))
    with ctx.uow() as uow:
        user = uow.users.get(uid)
        if user is None:
            raise UnknownUser(uid)
        done: list[tuple[str, bool]] = []
        mine: list[int] = []
        for raw, follower_uid in targets:
            follow = uow.follows.active_of(follower_uid) if follower_uid is not None else None
            ok = follow is not None and follow.trader_uid == uid
            done.append((raw, ok))
            if ok and follower_uid is not None and follower_uid not in mine:
                mine.append(follower_uid)
        if mine:
            accounts = uow.accounts.get_many(sorted({uid, *mine}))  # one lock order
            trader = accounts[uid]
            markets = ctx.markets(uow.markets.marks())
            env = ctx.env()
            for follower_uid in mine:
                follower = accounts[follower_uid]
                ratio = user.profit_share_ratio
                end_follow(
                    follower, trader, ratio, markets, CloseType.UNFOLLOW, env, exit_wave(ctx, env)
                )
                uow.follows.end(follower_uid, env.now)
            uow.accounts.save(env.changes)
            uow.commit()
            ctx.committed(env.changes)  # the depth the closes took joins the ledger
    return done


@dataclass(frozen=True, slots=True)
class LeadStats:
    """``statistics``: followers, PnL of the lead and of its followers' copies, wins, days."""

    total_followers: int
    current_followers: int
    total_pnl: Decimal
    follower_total_pnl: Decimal
    win_rate: Decimal
    wins: int
    losses: int
    days: list[ProfitPoint]


def statistics(ctx: ServiceContext, uid: int) -> LeadStats:
    """Return the lead's statistics from its closed lead positions (spec §8.2).

    ``totalPnl`` is net of the funding the lead's positions paid or received, as v1's
    ``total_pl`` (spec §7.11); the daily points count closed positions only. ``followerTotalPnl``
    sums the realised copy PnL of the current followers (a removed follower's is no longer
    counted) [INF]; follower counts are v1's ``order_total_detail``'s.
    """
    with ctx.reads() as reads:
        if reads.user(uid) is None:
            raise UnknownUser(uid)
        report = reads.user_report(uid)
        current = reads.followers_page(uid, _ALL)
        ever = reads.followers_ever(uid)
    closed = [
        closed_lead(p, ctx.spec(p.contract_code).contract_size)
        for p in report.closed_positions
        if p.lead_uid is None and p.close_time is not None
    ]
    wins = sum(1 for c in closed if c.profit > 0)
    return LeadStats(
        total_followers=ever,
        current_followers=len(current),
        total_pnl=sum((c.profit for c in closed), funding_received(report.fills)),
        follower_total_pnl=sum((r.profit_amount for r in current), _ZERO),
        win_rate=win_rate(closed),
        wins=wins,
        losses=len(closed) - wins,
        days=daily_pnl(closed, ctx.clock.now_ms()),
    )


def mint_key(ctx: ServiceContext, uid: int) -> tuple[str, str, int]:
    """Create a lead-trading HMAC key (read + trade) for the UID; return key, secret, time."""
    access = secrets.token_hex(16)
    secret = secrets.token_hex(16)
    with ctx.uow() as uow:
        if uow.users.get(uid) is None:
            raise UnknownUser(uid)
        uow.users.add_key(ApiKey(access, uid, "HmacSHA256", secret, None, True))
        uow.commit()
    return access, secret, ctx.clock.now_ms()
