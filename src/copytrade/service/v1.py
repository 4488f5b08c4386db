"""The v1 use cases (issue 13): TP/SL, margin, leverage, transfers, followers, statistics.

Writes open a unit of work, call the domain and commit its change set; reads take committed
state from the read model. Spec §6.4–§6.9, §6.13–§6.17, §6.19, §8.5.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from copytrade.domain.adjustments import adjust_margin, change_lever, current_lever
from copytrade.domain.enums import CloseType, MarginAdjust, MarginMode, PositionSide, Wallet
from copytrade.domain.errors import UnknownFollower
from copytrade.domain.following import end_follow
from copytrade.domain.funding import funding_received
from copytrade.domain.funds import Transfer, apply_transfer, check_move, check_transfer
from copytrade.domain.model import Account, ChangeSet, Order, ProfitShare, SubPosition
from copytrade.domain.statistics import TraderStats, closed_lead, profit_totals, trader_stats
from copytrade.domain.tpsl import TpslOrder, set_tpsl, tpsl_orders
from copytrade.service.context import ServiceContext
from copytrade.service.errors import UnknownUser
from copytrade.service.follow_rules import exit_wave
from copytrade.service.ports import Page, UnitOfWork
from copytrade.service.retry import retry_conflicts

_ZERO = Decimal(0)
DEFAULT_LEVER = 5
_ALL = Page(True, None, 2**31, 0, 2**62)  # every current follower


# --- store access: the only lines that know the unit of work's and read side's API ------------


def _marks(uow: UnitOfWork) -> dict[str, Decimal]:
    return uow.markets.marks()


def _save(uow: UnitOfWork, changes: ChangeSet) -> None:
    uow.accounts.save(changes)


def _committed(ctx: ServiceContext, uid: int) -> tuple[Account, dict[str, Decimal]]:
    """Return a UID's committed account and the marks, for the read endpoints."""
    with ctx.reads() as reads:
        account = reads.account(uid)
        marks = reads.marks()
    if account is None:
        raise UnknownUser(uid)
    return account, marks


def _closed_and_shares(
    ctx: ServiceContext, uid: int
) -> tuple[list[SubPosition], list[ProfitShare]]:
    """Return a UID's closed sub positions and the profit shares it received."""
    with ctx.reads() as reads:
        report = reads.user_report(uid)
    return list(report.closed_positions), list(report.profit_shares_received)


def _follower_counts(ctx: ServiceContext, uid: int) -> tuple[int, int]:
    """Return (followers ever, followers now) of a trader."""
    with ctx.reads() as reads:
        return reads.followers_ever(uid), len(reads.followers_page(uid, _ALL))


@dataclass(frozen=True, slots=True)
class LeverView:
    """``query_contract_lever``: the contract's range and the UID's current leverage."""

    lever_range: tuple[int, int]
    current: int


def _account(uow: UnitOfWork, uid: int) -> Account:
    account = uow.accounts.get(uid)
    if account is None:
        raise UnknownUser(uid)
    return account


@retry_conflicts
def tpsl_order(
    ctx: ServiceContext, uid: int, sub_position_id: int, tp: Decimal | None, sl: Decimal | None
) -> None:
    """Set TP and/or SL on one of the trader's open lead sub positions (spec §6.4)."""
    with ctx.uow() as uow:
        trader = _account(uow, uid)
        position = trader.positions.get(sub_position_id)
        mark = _ZERO
        if position is not None:
            mark = ctx.markets(_marks(uow))[position.contract_code].mark
        env = ctx.env()
        set_tpsl(trader, sub_position_id, tp, sl, mark, env)
        _save(uow, env.changes)
        uow.commit()


@retry_conflicts
def add_margin(
    ctx: ServiceContext,
    uid: int,
    contract_code: str,
    side: PositionSide,
    amount: Decimal,
    kind: MarginAdjust,
    _sent: object = None,
) -> None:
    """Add margin to, or reduce it from, an isolated position (spec §6.5)."""
    ctx.spec(contract_code)
    with ctx.uow() as uow:
        trader = _account(uow, uid)
        markets = ctx.markets(_marks(uow))
        env = ctx.env()
        adjust_margin(trader, contract_code, side, amount, kind, markets, env)
        _save(uow, env.changes)
        uow.commit()


@retry_conflicts
def updated_contract_lever(
    ctx: ServiceContext, uid: int, contract_code: str, margin_mode: MarginMode, lever: int
) -> None:
    """Set the leverage of (contract, margin mode), re-levering open positions (spec §6.7)."""
    spec = ctx.spec(contract_code)
    with ctx.uow() as uow:
        trader = _account(uow, uid)
        markets = ctx.markets(_marks(uow))
        env = ctx.env()
        change_lever(trader, spec, margin_mode, lever, markets, env)
        _save(uow, env.changes)
        uow.commit()


def query_contract_lever(
    ctx: ServiceContext, uid: int, contract_code: str, margin_mode: MarginMode
) -> LeverView:
    """Return the contract's leverage range and the UID's current leverage (spec §6.8)."""
    spec = ctx.spec(contract_code)
    account, _marks_now = _committed(ctx, uid)
    current = current_lever(account, contract_code, margin_mode, DEFAULT_LEVER)
    return LeverView((spec.lever_min, spec.lever_max), current)


def query_contract(ctx: ServiceContext, uid: int) -> tuple[str, ...]:
    """Return the contracts open to copy trading (spec §6.9)."""
    return ctx.copy_contracts()


def open_orders(ctx: ServiceContext, uid: int, contract_code: str | None) -> list[Order]:
    """Return the trader's resting lead orders, of one contract or all (spec §6.13)."""
    if contract_code is not None:
        ctx.spec(contract_code)
    account, _marks_now = _committed(ctx, uid)
    return [
        o
        for o in account.orders.values()
        if o.lead_uid is None and (contract_code is None or o.contract_code == contract_code)
    ]


def tpsl_open_orders(ctx: ServiceContext, uid: int, contract_code: str | None) -> list[TpslOrder]:
    """Return the untriggered TP/SL of the trader's lead positions (spec §6.14)."""
    if contract_code is not None:
        ctx.spec(contract_code)
    account, _marks_now = _committed(ctx, uid)
    leads = [p for p in account.positions.values() if p.lead_uid is None]
    return tpsl_orders(leads, contract_code)


def _transfer(ctx: ServiceContext, uid: int, transfer: Transfer) -> None:
    """Apply a checked transfer in one unit: both balances move, or neither."""
    with ctx.uow() as uow:
        account = _account(uow, uid)
        markets = ctx.markets(_marks(uow))
        env = ctx.env()
        apply_transfer(account, transfer, markets, env)
        _save(uow, env.changes)
        uow.commit()


@retry_conflicts
def account_transfer(
    ctx: ServiceContext, uid: int, amount: Decimal, kind: int, currency: str
) -> None:
    """Move USDT between the copy-trading account and spot or futures (spec §6.6)."""
    _transfer(ctx, uid, check_transfer(amount, kind, currency))


@retry_conflicts
def move_funds(
    ctx: ServiceContext, uid: int, source: Wallet, target: Wallet, amount: Decimal, currency: str
) -> int:
    """Move USDT between any two of the UID's balances (v6 ``transfer``, ``/v2/account/transfer``).

    Out of the copy-trading account only its available balance may leave (v1 §6.6's rule).

    Returns:
        A new transfer id (``/v2/account/transfer`` answers with one; nothing else keeps it).
    """
    _transfer(ctx, uid, check_move(amount, source, target, currency))
    return ctx.ids.next_id()


@retry_conflicts
def remove_follower(ctx: ServiceContext, uid: int, follower_uid: int) -> int:
    """Close a follower's copies at market and end the follow (spec §6.19, §8.5).

    Returns:
        The number of copies closed.
    """
    with ctx.uow() as uow:
        follow = uow.follows.active_of(follower_uid)
        if follow is None or follow.trader_uid != uid:
            raise UnknownFollower(follower_uid)
        accounts = uow.accounts.get_many(sorted({uid, follower_uid}))
        trader, follower = accounts.get(uid), accounts.get(follower_uid)
        if trader is None or follower is None:
            raise UnknownFollower(follower_uid)
        user = uow.users.get(uid)
        ratio = user.profit_share_ratio if user else ctx.default_profit_share_ratio
        markets = ctx.markets(_marks(uow))
        env = ctx.env()
        removal = end_follow(
            follower, trader, ratio, markets, CloseType.UNFOLLOW, env, exit_wave(ctx, env)
        )
        uow.follows.end(follower_uid, env.now)
        _save(uow, env.changes)
        uow.commit()
    ctx.committed(env.changes)  # the depth the closes took joins the ledger
    return len(removal.closed)


def order_total_detail(ctx: ServiceContext, uid: int) -> TraderStats:
    """Return the trader's statistics (spec §6.15); ``total_pl`` is net of funding (§7.11)."""
    positions, _shares = _closed_and_shares(ctx, uid)
    with ctx.reads() as reads:
        fills = reads.user_report(uid).fills
    funding = funding_received(fills)
    ever, current = _follower_counts(ctx, uid)
    closed = [
        closed_lead(p, ctx.spec(p.contract_code).contract_size)
        for p in positions
        if p.lead_uid is None and p.close_time is not None
    ]
    return trader_stats(closed, ever, current, ctx.clock.now_ms(), funding)


def profit_history_details(ctx: ServiceContext, uid: int, page: Page) -> list[ProfitShare]:
    """Return a page of the profit shares the trader received (spec §6.16)."""
    _positions, shares = _closed_and_shares(ctx, uid)
    rows = [s for s in shares if page.start_time <= s.ts <= page.end_time]
    if page.from_id is not None:
        rows = [
            s
            for s in rows
            if (s.item_id > page.from_id if page.ascending else s.item_id < page.from_id)
        ]
    rows.sort(key=lambda s: s.item_id, reverse=not page.ascending)
    return rows[: page.limit]


def total_profit_history(ctx: ServiceContext, uid: int) -> dict[str, Decimal]:
    """Return the profit-share totals per currency (spec §6.17)."""
    _positions, shares = _closed_and_shares(ctx, uid)
    return profit_totals(shares) or {"USDT": _ZERO}
