"""Trading use cases: plain functions over a unit of work.

Each opens the unit of work, loads the accounts, calls the domain, persists the change set and
commits; any error rolls everything back (all or nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from time import perf_counter

from copytrade.domain.copytrading import Follow, close_copies, copy_open
from copytrade.domain.enums import CloseType, MarginMode, PositionSide
from copytrade.domain.errors import PositionNotFound
from copytrade.domain.model import Account, Order, PositionKey, SubPosition
from copytrade.domain.trading import (
    Env,
    Market,
    OpenRequest,
    check_order_shape,
    close_at_market,
    open_order,
)
from copytrade.service.context import ServiceContext
from copytrade.service.errors import UnknownUser
from copytrade.service.follow_rules import rules_after_close
from copytrade.service.ports import UnitOfWork
from copytrade.service.retry import retry_conflicts


@dataclass(frozen=True, slots=True)
class PlaceOrderResult:
    """What a lead order did: filled volume, copies made and skipped."""

    order_id: int
    filled: str
    sub_position_id: int | None
    copies: int
    skipped: int


@dataclass(frozen=True, slots=True)
class CloseResult:
    """What a close did: lead sub positions and follower copies closed."""

    closed: list[int]
    copies_closed: int
    follows: list[Follow] = field(default_factory=list)
    """The trader's follows as the close saw them."""


def _account(uow: UnitOfWork, uid: int) -> Account:
    account = uow.accounts.get(uid)
    if account is None:
        raise UnknownUser(uid)
    return account


@retry_conflicts
def place_order(ctx: ServiceContext, uid: int, req: OpenRequest) -> PlaceOrderResult:
    """Place a lead opening order; its fills are copied to every follower."""
    spec = ctx.spec(req.contract_code)
    check_order_shape(spec, req, ctx.copy_contracts())
    with ctx.uow() as uow:
        # the trader's lock first: on PostgreSQL it also tells whether kept marks are current
        trader = _account(uow, uid)
        markets = ctx.markets(uow.markets.marks())
        env = ctx.env()
        order, copies, skipped, fan_out = open_with_copies(uow, trader, req, markets, env)
        uow.accounts.save(env.changes)
        uow.commit()
    ctx.committed(env.changes)
    report_open(ctx, env, fan_out)
    return PlaceOrderResult(
        order.order_id, str(order.filled), order.sub_position_id, copies, skipped
    )


FanOut = tuple[int, float] | None
"""(followers, seconds) of one copy fan-out, for the metrics; ``None`` when nothing was copied."""


def open_with_copies(
    uow: UnitOfWork,
    trader: Account,
    req: OpenRequest,
    markets: dict[str, Market],
    env: Env,
) -> tuple[Order, int, int, FanOut]:
    """Open a lead order and copy what filled to every follower.

    Shared by v1's ``place_order`` and v5's ``/v5/trade/order`` (one copy path). Returns the
    order, the copies made and skipped, and the fan-out's size and duration.
    """
    market = markets[req.contract_code]
    order = open_order(trader, req, market, markets, env)
    copies = skipped = 0
    fan_out: FanOut = None
    if order.filled > 0 and order.sub_position_id is not None:
        lead = trader.positions[order.sub_position_id]
        follows, followers = uow.accounts.followers_of(trader.uid)
        if follows:
            started = perf_counter()
            copies, skipped = copy_open(
                lead, order.filled, follows, followers, market, markets, env
            )
            fan_out = (len(follows), perf_counter() - started)
    return order, copies, skipped, fan_out


def report_open(ctx: ServiceContext, env: Env, fan_out: FanOut) -> None:
    """Report a committed open's fan-out and skipped copies to the metrics."""
    if fan_out is not None:
        ctx.metrics.fan_out("open", *fan_out)
        if env.changes.skips:
            ctx.metrics.copies_skipped([s.reason.value for s in env.changes.skips])


def close_with_copies(
    ctx: ServiceContext,
    uow: UnitOfWork,
    trader: Account,
    positions: list[SubPosition],
    market: Market,
    markets: dict[str, Market],
    close_type: CloseType,
    env: Env,
) -> CloseResult:
    """Close ``positions`` of one key at market, then every follower copy of the lead ones."""
    closed = close_at_market(trader, positions, market, close_type, env)
    copies = 0
    follows, followers = uow.accounts.followers_of(trader.uid)
    if followers:
        user = uow.users.get(trader.uid)
        ratio = user.profit_share_ratio if user else ctx.default_profit_share_ratio
        leads = [p for p in closed if p.lead_uid is None]
        started = perf_counter()
        copies = close_copies(leads, trader, ratio, followers, markets, close_type, env)
        ctx.metrics.fan_out("close", len(followers), perf_counter() - started)
    return CloseResult([p.sub_position_id for p in closed], copies, follows)


def _close_and_commit(
    ctx: ServiceContext,
    uow: UnitOfWork,
    trader: Account,
    positions: list[SubPosition],
    close_type: CloseType,
) -> CloseResult:
    """Close ``positions`` (one key) and their copies at market, then commit."""
    markets = ctx.markets(uow.markets.marks())
    env = ctx.env()
    result = close_with_copies(
        ctx,
        uow,
        trader,
        positions,
        markets[positions[0].contract_code],
        markets,
        close_type,
        env,
    )
    # a loss realised with the lead may reach a follower's total stop-loss (spec §8.1)
    rules_after_close(ctx, uow, trader.uid, result.follows, markets, env)
    uow.accounts.save(env.changes)
    uow.commit()
    ctx.committed(env.changes)
    return result


@retry_conflicts
def close_order(ctx: ServiceContext, uid: int, sub_position_id: int) -> CloseResult:
    """Close one lead sub position at market, and its follower copies."""
    with ctx.uow() as uow:
        trader = _account(uow, uid)
        position = trader.positions.get(sub_position_id)
        if position is None or position.lead_uid is not None:
            raise PositionNotFound(f"sub_position_id {sub_position_id}")
        return _close_and_commit(ctx, uow, trader, [position], CloseType.CLOSE_ORDER)


@retry_conflicts
def close_all_position(
    ctx: ServiceContext,
    uid: int,
    contract_code: str,
    margin_mode: MarginMode,
    side: PositionSide,
) -> CloseResult:
    """Close every lead sub position of exactly (contract, margin mode, side) and their copies.

    One transaction: the trader's positions and every follower copy close, or nothing does.
    """
    ctx.spec(contract_code)
    key: PositionKey = (contract_code, margin_mode, side)
    with ctx.uow() as uow:
        trader = _account(uow, uid)
        positions = [p for p in trader.open_positions(key) if p.lead_uid is None]
        if not positions:
            raise PositionNotFound(f"{contract_code} {margin_mode.value} {side.value}")
        return _close_and_commit(ctx, uow, trader, positions, CloseType.CLOSE_ALL)
