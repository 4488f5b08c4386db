"""Trading use cases: plain functions over a unit of work.

Each opens the unit of work, loads the accounts, calls the domain, persists the change set and
commits; any error rolls everything back (all or nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from time import perf_counter

from copytrade.domain.copytrading import CopyWave, Follow, close_copies, copy_open
from copytrade.domain.enums import CloseType, MarginMode, OrderDirection, PositionSide
from copytrade.domain.errors import OneWayPositionMode, PositionNotFound
from copytrade.domain.impact import DepthLedger
from copytrade.domain.matching import Fill, match_close
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
        if trader.one_way:
            # v1 has no offset and no netting: on an account v5 switched to one-way mode
            # (``POST /v5/position/mode`` single_side) an opening order could hold both sides
            # at once, so it is refused as HTX refuses a trader outside hedge mode (1503)
            raise OneWayPositionMode(uid)
        markets = ctx.markets(uow.markets.marks())
        env = ctx.env()
        order, copies, skipped, fan_out = open_with_copies(ctx, uow, trader, req, markets, env)
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
    ctx: ServiceContext,
    uow: UnitOfWork,
    trader: Account,
    req: OpenRequest,
    markets: dict[str, Market],
    env: Env,
) -> tuple[Order, int, int, FanOut]:
    """Open a lead order and copy what filled to every follower.

    Shared by v1's ``place_order`` and v5's ``/v5/trade/order`` (one copy path). With market
    impact on (``ctx.impact``), the lead meets the book earlier fills left and its copies
    walk what it left, one after another (:class:`~copytrade.domain.copytrading.CopyWave`).
    With a copy latency the copies meet the book around the marks the price paths reach by
    then (:meth:`ServiceContext.markets_at`).
    Returns the order, the copies made and skipped, and the fan-out's size and duration.
    """
    quoted = markets[req.contract_code]
    impact = ctx.impact
    depth = env.depth if impact.enabled else None
    market = quoted
    if depth is not None:
        market = Market(
            quoted.spec, quoted.mark, depth.book(req.contract_code, quoted.book, env.now)
        )
    first = len(env.changes.fills)
    order = open_order(trader, req, market, markets, env)
    buy = req.direction is OrderDirection.BUY
    if depth is not None:
        taken = [Fill(f.price, f.volume) for f in env.changes.fills[first:]]
        depth.take(req.contract_code, buy, taken, env.now)
    copies = skipped = 0
    fan_out: FanOut = None
    if order.filled > 0 and order.sub_position_id is not None:
        lead = trader.positions[order.sub_position_id]
        follows, followers = uow.accounts.followers_of(trader.uid)
        if follows:
            at = env.now + impact.copy_latency_ms
            later = copy_markets(ctx, markets, env.now, at)
            wave = open_wave(ctx, env, follows, order.avg_price, at)
            started = perf_counter()
            copies, skipped = copy_open(
                lead, order.filled, follows, followers, later[req.contract_code], later, env, wave
            )
            fan_out = (len(follows), perf_counter() - started)
    return order, copies, skipped, fan_out


def copy_markets(
    ctx: ServiceContext, markets: dict[str, Market], now_ms: int, at_ms: int
) -> dict[str, Market]:
    """Return the markets a command's copies meet at ``at_ms``.

    Later than ``now_ms`` (a copy latency), the price paths may have moved the marks by then
    (``ServiceContext.markets_at``).
    """
    return ctx.markets_at(markets, at_ms) if at_ms > now_ms else markets


def open_wave(
    ctx: ServiceContext,
    env: Env,
    follows: list[Follow],
    lead_price: Decimal | None,
    at_ms: int,
) -> CopyWave | None:
    """Return the wave an open's copies walk (``None``: no impact and no slippage guard).

    Used by lead market orders and by resting lead orders a mark move fills
    (``sim.set_price``): their copies are market orders either way, walking the book and
    held to the slippage guards against the lead's fill price.
    """
    impact = ctx.impact
    depth = env.depth if impact.enabled else None
    guarded = impact.max_slippage is not None or any(f.max_slippage is not None for f in follows)
    if (depth is None and not guarded) or lead_price is None:
        return None
    return CopyWave(depth or DepthLedger(0), impact, lead_price, at_ms)


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
    *,
    paths_move: bool = True,
) -> CloseResult:
    """Close ``positions`` of one key at market, then every follower copy of the lead ones.

    With market impact on, the lead's close meets the book earlier fills left and the copies
    close one after another on what it left. With a copy latency the copies close at the
    marks the price paths reach by then, unless ``paths_move`` is false: a close a mark move
    triggered (TP/SL, liquidation) runs inside that move, whose clock may be a catch-up's
    target rather than the tick's time, so its copies meet the mark that triggered it.
    """
    wave = _close_wave(ctx, positions, env) if ctx.impact.enabled and env.depth else None
    if wave is not None:
        market = wave.market(market)
    closed = close_at_market(trader, positions, market, close_type, env)
    if wave is not None and closed:
        buy = closed[0].side is PositionSide.SHORT  # closing a short buys
        volume = sum((p.volume for p in closed), Decimal(0))
        wave.took(
            market.spec.contract_code, buy, match_close(market.book, buy, volume, market.mark)
        )
    copies = 0
    follows, followers = uow.accounts.followers_of(trader.uid)
    if followers:
        user = uow.users.get(trader.uid)
        ratio = user.profit_share_ratio if user else ctx.default_profit_share_ratio
        leads = [p for p in closed if p.lead_uid is None]
        started = perf_counter()
        at = env.now + ctx.impact.copy_latency_ms
        later = copy_markets(ctx, markets, env.now, at) if paths_move else markets
        if wave is not None:
            wave.at_ms = at
            wave.forget_books()
        copies = close_copies(leads, trader, ratio, followers, later, close_type, env, wave)
        ctx.metrics.fan_out("close", len(followers), perf_counter() - started)
    return CloseResult([p.sub_position_id for p in closed], copies, follows)


def _close_wave(ctx: ServiceContext, positions: list[SubPosition], env: Env) -> CopyWave:
    """Return the impact wave a close walks (the lead's close now, its copies after)."""
    assert env.depth is not None
    return CopyWave(env.depth, ctx.impact, None, env.now)  # no guard holds a close back


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
