"""v5 trading use cases (spec ``htx-v5-v6.md`` §6.8-§6.15) over the same core as v1.

Opening orders go through :func:`copytrade.service.handlers.open_with_copies` and closes through
:func:`copytrade.service.handlers.close_with_copies`: a lead's v5 fills are copied exactly as its
v1 ones. Accounts are hedge-mode (``dual_side``) unless switched to one-way mode
(``single_side``), where an order nets against the held side and may flip it (spec §9.4).
Orders placed through v5 are kept by the store with their v5 attributes (:class:`OrderTag`), so
the order queries survive restarts and agree across processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from copytrade.domain.copytrading import Follow
from copytrade.domain.enums import (
    CloseType,
    Liquidity,
    MarginMode,
    OrderDirection,
    OrderPriceType,
    OrderStatus,
    PositionSide,
)
from copytrade.domain.errors import (
    CloseAboveHolding,
    IllegalParameter,
    InvalidLever,
    InvalidStopLoss,
    InvalidTakeProfit,
    LeverMismatch,
    OrderNotFound,
    PositionNotFound,
    PostOnlyWouldTake,
)
from copytrade.domain.margin import pnl
from copytrade.domain.model import Account, FillRecord, Order, OrderTag, SubPosition
from copytrade.domain.reduce import reduce_pieces
from copytrade.domain.risk import AggregatePosition, aggregate_positions
from copytrade.domain.trading import (
    CrossFigures,
    Env,
    Market,
    OpenRequest,
    check_order_shape,
    cross_figures,
)
from copytrade.service.context import ServiceContext
from copytrade.service.errors import UnknownUser
from copytrade.service.follow_rules import rules_after_close
from copytrade.service.handlers import FanOut, close_with_copies, open_with_copies, report_open
from copytrade.service.journal import Entry, entry_for
from copytrade.service.ports import OrderQuery, TaggedOrder, UnitOfWork
from copytrade.service.retry import retry_conflicts

DEFAULT_LEVER = 5
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class V5Order:
    """A ``/v5/trade/order`` request, parsed.

    Attributes:
        position_side: ``long``/``short`` as sent; ``None`` when absent or ``both`` (the
            account's position mode decides: spec §6.9).
        both: ``position_side`` was sent as ``both`` (one-way mode only).
        kind: ``market``, ``limit``, ``post_only``; ``tif``: ``gtc``, ``ioc``, ``fok``.
    """

    contract_code: str
    margin_mode: MarginMode
    direction: OrderDirection
    position_side: PositionSide | None
    reduce_only: bool
    kind: str
    tif: str
    volume: Decimal
    price: Decimal | None
    tp_trigger_price: Decimal | None
    sl_trigger_price: Decimal | None
    client_order_id: str | None
    both: bool = False


@dataclass(frozen=True, slots=True)
class Placed:
    """What an order did: its id, the contracts filled, copies made and skipped."""

    order_id: int
    client_order_id: str | None
    filled: Decimal
    copies: int
    skipped: int


@dataclass(frozen=True, slots=True)
class BalanceView:
    """The account's figures for ``/v5/account/balance``."""

    cross: CrossFigures
    equity: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal
    profit_unreal: Decimal
    isolated_equity: Decimal
    isolated_profit_unreal: Decimal
    now: int


@dataclass(frozen=True, slots=True)
class PositionsView:
    """Aggregate positions with the marks and creation times of their sub positions."""

    positions: list[AggregatePosition]
    marks: dict[str, Decimal]
    opened: dict[tuple[str, MarginMode, PositionSide], int]
    one_way: bool = False


def _account(uow: UnitOfWork, uid: int) -> Account:
    account = uow.accounts.get(uid)
    if account is None:
        raise UnknownUser(uid)
    return account


def _read_account(ctx: ServiceContext, uid: int) -> tuple[Account, dict[str, Decimal]]:
    """Return the account and the marks from the read model (reads never lock)."""
    with ctx.reads() as reads:
        account = reads.account(uid)
        if account is None:
            raise UnknownUser(uid)
        return account, reads.marks()


def _price_type(order: V5Order) -> OrderPriceType:
    if order.kind == "market":
        return OrderPriceType.OPPONENT_FOK if order.tif == "fok" else OrderPriceType.MARKET
    return OrderPriceType.FOK if order.tif == "fok" else OrderPriceType.LIMIT


@dataclass(frozen=True, slots=True)
class _Plan:
    """What a v5 order does to the account: reduce ``reduce`` of ``side``, then open ``open``.

    Hedge mode: one of the two. One-way mode: a fill against the held side reduces it, and
    what exceeds it flips the position (a full close, then an open: spec §9.4).
    """

    side: PositionSide
    reduce: Decimal
    open: Decimal


def _plan(trader: Account, req: V5Order) -> _Plan:
    """Decide, from the account's position mode, what the order reduces and opens."""
    if not trader.one_way:
        if req.both:
            raise IllegalParameter("position_side", "both")  # hedge mode: long or short
        side = req.position_side
        if side is None:  # ccxt never sends position_side (spec §6.9, infer_position_side)
            side = req.direction.opens.opposite if req.reduce_only else req.direction.opens
        opening = req.direction.opens is side
        if req.reduce_only and opening:
            raise IllegalParameter("reduce_only", 1)
        return _Plan(side, _ZERO if opening else req.volume, req.volume if opening else _ZERO)
    if req.position_side is not None:
        raise IllegalParameter("position_side", req.position_side.value)  # one-way: both
    held_side = req.direction.opens.opposite
    if any(
        o.contract_code == req.contract_code
        and o.margin_mode is req.margin_mode
        and o.side is held_side
        for o in trader.orders.values()
    ):  # a resting order of the other direction would open the other side when it fills
        raise IllegalParameter("side", req.direction.name.lower())
    held = sum(
        (
            p.volume
            for p in trader.open_positions((req.contract_code, req.margin_mode, held_side))
            if p.lead_uid is None
        ),
        _ZERO,
    )
    reduce = min(held, req.volume)
    rest = req.volume - reduce
    if req.reduce_only and rest > 0:
        raise CloseAboveHolding(req.volume, held)  # 1048: more than the position holds
    return _Plan(held_side if reduce else req.direction.opens, reduce, rest)


def _open_request(trader: Account, req: V5Order, volume: Decimal) -> OpenRequest:
    lever = trader.levers.get((req.contract_code, req.margin_mode), DEFAULT_LEVER)
    return OpenRequest(
        req.contract_code,
        req.direction,
        volume,
        req.margin_mode,
        _price_type(req),
        req.price,
        lever,
        tp_trigger_price=req.tp_trigger_price,
        sl_trigger_price=req.sl_trigger_price,
    )


@retry_conflicts
def place_order(ctx: ServiceContext, uid: int, req: V5Order) -> Placed:
    """Place a v5 order: open (copied), reduce (the copies shrink with it) or flip (one-way)."""
    ctx.spec(req.contract_code)
    with ctx.uow() as uow:
        trader = _account(uow, uid)
        env = ctx.env()
        placed, fan_out = place_in(ctx, uow, trader, req, env)
        uow.accounts.save(env.changes)
        uow.commit()
    ctx.committed(env.changes)
    report_open(ctx, env, fan_out)
    return placed


def place_in(
    ctx: ServiceContext, uow: UnitOfWork, trader: Account, req: V5Order, env: Env
) -> tuple[Placed, FanOut]:
    """Place a v5 order inside an open unit of work (the caller saves and commits).

    The one order path of ``/v5/trade/order`` and of fired trigger and trailing orders
    (:mod:`copytrade.service.algo`). Every refusal is raised before anything changes, except
    a one-way flip whose open part is refused after its close part: the caller rolls back.
    """
    plan = _plan(trader, req)
    if plan.reduce and req.kind != "market":
        raise IllegalParameter("type", req.kind)  # reducing orders execute at market [INF]
    markets = ctx.markets(uow.markets.marks())
    market = markets[req.contract_code]
    closed = None
    if plan.reduce:
        closed = _reduce(ctx, uow, trader, req, plan, market, markets, env)
    fan_out: FanOut = None
    if plan.open:
        placed, fan_out = _open(ctx, uow, trader, req, plan, closed, markets, env)
    else:
        assert closed is not None
        env.changes.save_order(closed, new=True)
        placed = Placed(closed.order_id, req.client_order_id, closed.filled, 0, 0)
    env.changes.order_tags.append(_tag(trader, req, placed.order_id, plan))
    return placed, fan_out


def _open(
    ctx: ServiceContext,
    uow: UnitOfWork,
    trader: Account,
    req: V5Order,
    plan: _Plan,
    closed: Order | None,
    markets: dict[str, Market],
    env: Env,
) -> tuple[Placed, FanOut]:
    """Open ``plan.open`` (after a flip's close part, ``closed``), copied to the followers."""
    market = markets[req.contract_code]
    request = _open_request(trader, req, plan.open)
    check_order_shape(market.spec, request)
    if req.kind == "post_only":
        _check_post_only(market, req)
    order, copies, skipped, fan_out = open_with_copies(ctx, uow, trader, request, markets, env)
    if req.tif == "ioc" and order.status is OrderStatus.OPEN:
        order.apply("cancel")  # immediate-or-cancel: the remainder does not rest
        trader.orders.pop(order.order_id, None)
    if closed is not None:  # a flip: one order, its close part included
        order.volume += closed.volume
        order.filled += closed.filled
        order.filled_notional += closed.filled_notional
        order.fee += closed.fee
    env.changes.save_order(order)
    return Placed(order.order_id, req.client_order_id, order.filled, copies, skipped), fan_out


def _tag(trader: Account, req: V5Order, order_id: int, plan: _Plan) -> OrderTag:
    return OrderTag(
        order_id,
        trader.uid,
        "buy" if req.direction is OrderDirection.BUY else "sell",
        "both" if trader.one_way else plan.side.value,
        req.reduce_only or not plan.open,
        req.kind,
        req.tif,
        req.client_order_id,
    )


def _check_post_only(market: Market, req: V5Order) -> None:
    levels = market.book.side_for(req.direction is OrderDirection.BUY)
    if req.price is None or not levels:
        return
    best = levels[0].price
    takes = req.price >= best if req.direction is OrderDirection.BUY else req.price <= best
    if takes:
        raise PostOnlyWouldTake(req.price, best)


def _reduce(
    ctx: ServiceContext,
    uow: UnitOfWork,
    trader: Account,
    req: V5Order,
    plan: _Plan,
    market: Market,
    markets: dict[str, Market],
    env: Env,
) -> Order:
    """Close ``plan.reduce`` of the position at market; the followers' copies shrink with it.

    Returns the reducing order as a filled order of its own (the core books only closes).
    """
    key = (req.contract_code, req.margin_mode, plan.side)
    follows, followers = uow.accounts.followers_of(trader.uid)
    pieces = reduce_pieces(trader, key, plan.reduce, followers, env)
    mark = len(env.changes.fills)
    close_with_copies(ctx, uow, trader, pieces, market, markets, CloseType.CLOSE_ORDER, env)
    # as v1 close_order: the reduction may take a follower past its total stop-loss (§8.1)
    rules_after_close(ctx, uow, trader.uid, follows, markets, env)
    closes = [f for f in env.changes.fills[mark:] if f.uid == trader.uid and f.offset == "close"]
    return Order(
        order_id=env.next_id(),
        uid=trader.uid,
        contract_code=req.contract_code,
        margin_mode=req.margin_mode,
        side=plan.side,
        price_type=OrderPriceType.MARKET,
        price=None,
        volume=plan.reduce,
        lever=trader.levers.get((req.contract_code, req.margin_mode), DEFAULT_LEVER),
        created_at=env.now,
        filled=sum((f.volume for f in closes), _ZERO),
        filled_notional=sum((f.volume * f.price for f in closes), _ZERO),
        fee=sum((f.fee for f in closes), _ZERO),
        status=OrderStatus.FILLED,
    )


def close_as_order(
    ctx: ServiceContext,
    uow: UnitOfWork,
    trader: Account,
    key: tuple[str, MarginMode, PositionSide],
    markets: dict[str, Market],
    env: Env,
) -> tuple[Order, list[Follow]] | None:
    """Close the lead positions of ``key`` at market with their copies, as one filled order.

    The order is booked (and tagged) like a reduce-only market order, so the id
    ``/v5/trade/position`` and ``position_all`` answer is an order ``GET /v5/trade/order``
    and the history show. Returns it with the trader's follows; ``None``: nothing held.
    """
    positions = [p for p in trader.open_positions(key) if p.lead_uid is None]
    if not positions:
        return None
    mark = len(env.changes.fills)
    result = close_with_copies(
        ctx, uow, trader, positions, markets[key[0]], markets, CloseType.CLOSE_ALL, env
    )
    closes = [f for f in env.changes.fills[mark:] if f.uid == trader.uid and f.offset == "close"]
    order = Order(
        order_id=env.next_id(),
        uid=trader.uid,
        contract_code=key[0],
        margin_mode=key[1],
        side=key[2],
        price_type=OrderPriceType.MARKET,
        price=None,
        volume=sum((p.volume for p in positions), _ZERO),
        lever=trader.levers.get((key[0], key[1]), DEFAULT_LEVER),
        created_at=env.now,
        filled=sum((f.volume for f in closes), _ZERO),
        filled_notional=sum((f.volume * f.price for f in closes), _ZERO),
        fee=sum((f.fee for f in closes), _ZERO),
        status=OrderStatus.FILLED,
    )
    env.changes.save_order(order, new=True)
    direction = "sell" if key[2] is PositionSide.LONG else "buy"
    side = "both" if trader.one_way else key[2].value
    env.changes.order_tags.append(
        OrderTag(order.order_id, trader.uid, direction, side, True, "market", "gtc", None)
    )
    return order, list(result.follows)


@retry_conflicts
def close_position(
    ctx: ServiceContext,
    uid: int,
    contract_code: str,
    margin_mode: MarginMode,
    side: PositionSide | None,
) -> int:
    """Close every position of (contract, margin mode[, side]) and the copies, atomically.

    Without a side (ccxt sends none) every side holding a position closes, one order each.
    Returns the id of the (last) closing order.
    """
    ctx.spec(contract_code)
    sides = (side,) if side is not None else (PositionSide.LONG, PositionSide.SHORT)
    with ctx.uow() as uow:
        trader = _account(uow, uid)
        markets = ctx.markets(uow.markets.marks())
        env = ctx.env()
        closed = [close_as_order(ctx, uow, trader, (contract_code, margin_mode, s), markets, env)
                  for s in sides]  # fmt: skip
        done = [c for c in closed if c is not None]
        if not done:
            raise PositionNotFound(f"{contract_code} {margin_mode.value}")
        order, follows = done[-1]
        # as v1 close_all_position: the close may take a follower past its total stop-loss
        rules_after_close(ctx, uow, trader.uid, follows, markets, env)
        uow.accounts.save(env.changes)
        uow.commit()
    ctx.committed(env.changes)
    return order.order_id


@retry_conflicts
def cancel_orders(
    ctx: ServiceContext,
    uid: int,
    contract_code: str,
    order_id: int | None,
    client_order_id: str | None = None,
) -> list[Order]:
    """Cancel one open order (by id or client id) or every open order of the contract."""
    ctx.spec(contract_code)
    if client_order_id is not None:
        order_id = _by_client_id(ctx, uid, client_order_id)
    with ctx.uow() as uow:
        account = _account(uow, uid)
        env = ctx.env()
        chosen = [
            o
            for o in account.orders.values()
            if o.contract_code == contract_code and order_id in (None, o.order_id)
        ]
        if order_id is not None and not chosen:
            raise OrderNotFound(str(order_id))
        for order in chosen:
            order.apply("cancel")
            del account.orders[order.order_id]
            env.changes.save_order(order)
        uow.accounts.save(env.changes)
        uow.commit()
    ctx.committed(env.changes)
    return sorted(chosen, key=lambda o: o.order_id)


def _entry(tagged: TaggedOrder, now: int) -> Entry:
    """Return a stored v5 order as v5 shows it (a resting one as of ``now``)."""
    order, tag = tagged.order, tagged.tag
    updated = now if order.status is OrderStatus.OPEN else order.created_at
    return Entry(
        order,
        tag.direction,
        tag.reduce_only,
        tag.kind,
        tag.tif,
        tag.client_order_id,
        updated,
        tag.position_side,
    )


def open_orders(ctx: ServiceContext, uid: int, contract_code: str | None) -> list[Entry]:
    """Return the account's resting orders (of one contract when given), oldest first."""
    with ctx.reads() as reads:
        account = reads.account(uid)
        if account is None:
            raise UnknownUser(uid)
        live = sorted(
            (o for o in account.orders.values() if contract_code in (None, o.contract_code)),
            key=lambda o: o.order_id,
        )
        ids = tuple(o.order_id for o in live)
        tagged = reads.v5_orders(uid, OrderQuery(order_ids=ids)) if ids else []
    now = ctx.clock.now_ms()
    tags = {t.order.order_id: t.tag for t in tagged}
    return [
        _entry(TaggedOrder(o, tags[o.order_id]), now) if o.order_id in tags else entry_for(o, now)
        for o in live
    ]


def order(
    ctx: ServiceContext,
    uid: int,
    contract_code: str,
    order_id: int | None,
    client_order_id: str | None = None,
) -> Entry:
    """Return one order: resting, or placed through v5 and finished; else ``OrderNotFound``."""
    query = (
        OrderQuery(order_ids=(order_id,), contract_code=contract_code, limit=1)
        if order_id is not None
        else OrderQuery(client_order_id=client_order_id, contract_code=contract_code, limit=1)
    )
    with ctx.reads() as reads:
        found = reads.v5_orders(uid, query)
        account = reads.account(uid) if not found else None
    now = ctx.clock.now_ms()
    if found:
        return _entry(found[0], now)
    live = account.orders.get(order_id) if account is not None and order_id else None
    if live is None or live.contract_code != contract_code:
        raise OrderNotFound(str(order_id if order_id is not None else client_order_id))
    return entry_for(live, now)


def _by_client_id(ctx: ServiceContext, uid: int, client_order_id: str) -> int:
    with ctx.reads() as reads:
        found = reads.v5_orders(uid, OrderQuery(client_order_id=client_order_id, limit=1))
    if not found:
        raise OrderNotFound(client_order_id)
    return found[0].order.order_id


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """``order/history`` filters: states (``None``: every finished one), time, size."""

    contract_code: str
    margin_mode: MarginMode
    states: frozenset[str] | None
    start: int
    end: int
    limit: int


HISTORY_SCAN = 1000
"""How many of the newest finished orders ``order/history`` filters by state."""


def state_of(order: Order) -> str:
    """Return v5's order state."""
    if order.status is OrderStatus.OPEN:
        return "new" if order.filled == 0 else "partially_filled"
    if order.status is OrderStatus.FILLED:
        return "filled"
    return "canceled" if order.filled == 0 else "partially_canceled"


def order_history(ctx: ServiceContext, uid: int, query: HistoryQuery) -> list[Entry]:
    """Return finished v5 orders of (contract, margin mode), newest first, from the store."""
    ctx.spec(query.contract_code)
    scan = OrderQuery(
        contract_code=query.contract_code,
        margin_mode=query.margin_mode,
        finished_only=True,
        start=query.start,
        end=query.end,
        limit=HISTORY_SCAN,
    )
    with ctx.reads() as reads:
        if reads.user(uid) is None:
            raise UnknownUser(uid)
        found = reads.v5_orders(uid, scan)
    now = ctx.clock.now_ms()
    chosen = [t for t in found if query.states is None or state_of(t.order) in query.states]
    return [_entry(t, now) for t in chosen[: query.limit]]


def balance(ctx: ServiceContext, uid: int) -> BalanceView:
    """Return the account's equity, margins and available margin in USDT."""
    account, marks = _read_account(ctx, uid)
    markets = ctx.markets(marks)
    cross = cross_figures(account, markets, ctx.fees)
    iso_equity = iso_unreal = iso_margin = _ZERO
    for pos in account.positions.values():
        if pos.margin_mode is MarginMode.ISOLATED:
            market = markets[pos.contract_code]
            gain = pnl(
                pos.side, pos.open_avg_price, market.mark, pos.volume, market.spec.contract_size
            )
            iso_unreal += gain
            iso_equity += pos.position_margin + gain
            iso_margin += pos.position_margin
    return BalanceView(
        cross,
        cross.equity + iso_equity,
        cross.initial_margin + iso_margin,
        cross.maintenance_margin,
        cross.equity - account.balance + iso_unreal,
        iso_equity,
        iso_unreal,
        ctx.clock.now_ms(),
    )


def positions(ctx: ServiceContext, uid: int, contract_code: str | None) -> PositionsView:
    """Return the account's aggregate positions (of one contract when given)."""
    account, marks = _read_account(ctx, uid)
    markets = ctx.markets(marks)
    rows = [
        p
        for p in aggregate_positions(account, markets, ctx.fees)
        if contract_code in (None, p.contract_code)
    ]
    opened: dict[tuple[str, MarginMode, PositionSide], int] = {}
    for pos in account.positions.values():
        opened[pos.key] = min(opened.get(pos.key, pos.open_time), pos.open_time)
    return PositionsView(rows, marks, opened, account.one_way)


@dataclass(frozen=True, slots=True)
class FillView:
    """One of the account's fills with the margin mode of its position."""

    fill: FillRecord
    margin_mode: MarginMode


def fill_record(row: Any) -> FillRecord:
    """Return a report row (a stored row's mapping, or already a record) as a record."""
    if isinstance(row, FillRecord):
        return row
    return FillRecord(
        row["trade_id"],
        row["uid"],
        row["order_id"],
        row["sub_position_id"],
        row["contract_code"],
        PositionSide(row["side"]),
        row["offset"],
        Decimal(row["price"]),
        Decimal(row["volume"]),
        Decimal(row["fee"]),
        Liquidity(row["liquidity"]),
        int(row["ts"]),
    )


def report_part(report: Any, name: str) -> list[Any]:
    """Return one part of a user report (a stored mapping or the report object) as a list."""
    part = report[name] if isinstance(report, dict) else getattr(report, name)
    return list(part)


def fills(
    ctx: ServiceContext, uid: int, contract_code: str | None, start: int, end: int
) -> list[FillView]:
    """Return the account's trades in ``[start, end]`` (one contract when given), newest first."""
    with ctx.reads() as reads:
        account = reads.account(uid)
        if account is None:
            raise UnknownUser(uid)
        report = reads.user_report(uid)
    modes: dict[int, MarginMode] = {
        p.sub_position_id: p.margin_mode for p in account.positions.values()
    }
    for closed in report_part(report, "closed_positions"):
        modes[closed.sub_position_id] = closed.margin_mode
    found = [
        FillView(f, modes.get(f.sub_position_id, MarginMode.CROSS))
        for f in map(fill_record, report_part(report, "fills"))
        if contract_code in (None, f.contract_code)
        and start <= f.ts <= end
        and f.offset != "funding"  # match results are trades; funding is no trade
    ]
    found.sort(key=lambda v: v.fill.trade_id, reverse=True)
    return found


@retry_conflicts
def set_lever(
    ctx: ServiceContext, uid: int, contract_code: str, margin_mode: MarginMode, lever: int
) -> int:
    """Set the leverage of (contract, margin mode) for later orders; refused with exposure."""
    spec = ctx.spec(contract_code)
    if not spec.lever_min <= lever <= spec.lever_max:
        raise InvalidLever(lever, spec.lever_min, spec.lever_max)
    with ctx.uow() as uow:
        account = _account(uow, uid)
        key = (contract_code, margin_mode)
        current = account.levers.get(key, DEFAULT_LEVER)
        if current != lever and account.has_exposure(contract_code, margin_mode):
            raise LeverMismatch(lever, current)
        env = ctx.env()
        account.levers[key] = lever
        env.changes.set_lever(uid, key, lever)
        uow.accounts.save(env.changes)
        uow.commit()
    return lever


SINGLE_SIDE, DUAL_SIDE = "single_side", "dual_side"


def position_mode(ctx: ServiceContext, uid: int) -> str:
    """Return the account's position mode: ``single_side`` (one-way) or ``dual_side``."""
    return SINGLE_SIDE if _read_account(ctx, uid)[0].one_way else DUAL_SIDE


@retry_conflicts
def set_position_mode(ctx: ServiceContext, uid: int, mode: str) -> str:
    """Switch between one-way and hedge mode; refused with positions or resting orders [INF]."""
    one_way = mode == SINGLE_SIDE
    with ctx.uow() as uow:
        account = _account(uow, uid)
        if account.one_way is not one_way:
            if account.positions or account.orders:
                raise IllegalParameter("position_mode", mode)  # spec §6.15: only while flat
            env = ctx.env()
            account.one_way = one_way
            env.changes.modes[uid] = one_way
            uow.accounts.save(env.changes)
            uow.commit()
    return mode


def levers(
    ctx: ServiceContext, uid: int, contract_code: str | None
) -> list[tuple[str, MarginMode, int]]:
    """Return (contract, margin mode, leverage) of every contract (or one), defaults included."""
    account, _marks = _read_account(ctx, uid)
    codes = [contract_code] if contract_code else list(ctx.contracts)
    return [
        (code, mode, account.levers.get((code, mode), DEFAULT_LEVER))
        for code in codes
        for mode in (MarginMode.CROSS, MarginMode.ISOLATED)
    ]


@dataclass(frozen=True, slots=True)
class Protection:
    """A take-profit or stop-loss of a position, seen as a v5 conditional ("algo") order.

    The core keeps TP/SL triggers on the lead sub positions; one protection stands for the
    triggers of one kind on one (contract, margin mode, side). Its id is the oldest protected
    sub position's id followed by 1 (take profit) or 2 (stop loss).
    """

    algo_id: str
    kind: str
    contract_code: str
    margin_mode: MarginMode
    position_side: PositionSide
    trigger: Decimal | None
    volume: Decimal
    created: int
    state: str = "active"
    """``active`` (armed) or ``effective`` (it fired and closed the position)."""
    updated: int | None = None


_KIND_DIGIT = {"tp": "1", "sl": "2"}
_FIRED = {CloseType.TAKE_PROFIT: "tp", CloseType.STOP_LOSS: "sl"}


def fired_protections(closed: list[SubPosition]) -> list[Protection]:
    """Return the take-profit and stop-loss orders that fired, newest first.

    One per kind, key and time, from the lead positions they closed (a group armed together
    fires together). Their ids are the ones :func:`protections` gave them while armed when the
    oldest protected sub position closed with them (the usual case). The trigger price is not
    known: the core clears it when the position closes.
    """
    groups: dict[tuple[Any, ...], list[SubPosition]] = {}
    for pos in sorted(closed, key=lambda p: p.sub_position_id):
        kind = _FIRED.get(pos.close_type) if pos.close_type is not None else None
        if pos.lead_uid is None and kind is not None and pos.close_time is not None:
            groups.setdefault((pos.key, kind, pos.close_time), []).append(pos)
    found: list[Protection] = []
    for ((code, mode, side), kind, when), group in groups.items():
        first = group[0]
        found.append(
            Protection(
                f"{first.sub_position_id}{_KIND_DIGIT[kind]}",
                kind,
                code,
                mode,
                side,
                None,
                sum((p.volume for p in group), _ZERO),
                first.open_time,
                "effective",
                when,
            )
        )
    found.sort(key=lambda a: (a.updated or 0, a.algo_id), reverse=True)
    return found


_TYPES = {"tp": frozenset({"tp"}), "sl": frozenset({"sl"}), "tpsl": frozenset({"tp", "sl"})}


def tpsl_kinds(kinds: str | None) -> frozenset[str]:
    """Return the TP/SL kinds an algo ``type`` selects (``trigger``, ``trailing_stop``: none)."""
    return _TYPES.get(kinds or "tpsl", frozenset())


def algo_order(ctx: ServiceContext, uid: int, algo_id: str, kind: str | None) -> list[Protection]:
    """Return one take-profit/stop-loss order, armed or fired; ``OrderNotFound`` otherwise."""
    wanted = tpsl_kinds(kind)
    with ctx.reads() as reads:
        account = reads.account(uid)
        if account is None:
            raise UnknownUser(uid)
        armed = [p for p in protections(account) if p.algo_id == algo_id]
        closed = [] if armed else list(reads.user_report(uid).closed_positions)
    found = armed or [p for p in fired_protections(closed) if p.algo_id == algo_id]
    found = [p for p in found if p.kind in wanted]
    if not found:
        raise OrderNotFound(algo_id)
    return found


@dataclass(frozen=True, slots=True)
class AlgoHistoryQuery:
    """``algo/order/history`` filters: contract, margin mode, type, states, time, size."""

    contract_code: str | None
    margin_mode: MarginMode | None
    kind: str | None
    states: frozenset[str] | None
    start: int
    end: int
    limit: int


def algo_history(ctx: ServiceContext, uid: int, query: AlgoHistoryQuery) -> list[Protection]:
    """Return the take-profit/stop-loss orders that fired, newest first.

    Cancelled ones are not kept by the store (disarming clears the trigger): ``canceled``
    selects nothing [INF].
    """
    if query.contract_code is not None:
        ctx.spec(query.contract_code)
    if query.states is not None and not query.states & {"effective", "triggered"}:
        return []
    wanted = tpsl_kinds(query.kind)
    with ctx.reads() as reads:
        if reads.user(uid) is None:
            raise UnknownUser(uid)
        closed = list(reads.user_report(uid).closed_positions)
    return [
        p
        for p in fired_protections(closed)
        if p.kind in wanted
        and query.contract_code in (None, p.contract_code)
        and query.margin_mode in (None, p.margin_mode)
        and query.start <= (p.updated or 0) <= query.end
    ][: query.limit]


def protections(account: Account, contract_code: str | None = None) -> list[Protection]:
    """Return the account's take-profit and stop-loss orders, oldest position first."""
    groups: dict[tuple[Any, ...], list[SubPosition]] = {}
    for pos in sorted(account.positions.values(), key=lambda p: p.sub_position_id):
        if pos.lead_uid is None and contract_code in (None, pos.contract_code):
            groups.setdefault(pos.key, []).append(pos)
    found: list[Protection] = []
    for (code, mode, side), positions in groups.items():
        for kind in ("tp", "sl"):
            armed = [
                p
                for p in positions
                if (p.tp_trigger_price if kind == "tp" else p.sl_trigger_price) is not None
            ]
            if not armed:
                continue
            first = armed[0]
            trigger = first.tp_trigger_price if kind == "tp" else first.sl_trigger_price
            found.append(
                Protection(
                    f"{first.sub_position_id}{_KIND_DIGIT[kind]}",
                    kind,
                    code,
                    mode,
                    side,
                    trigger,
                    sum((p.volume for p in armed), _ZERO),
                    first.open_time,
                )
            )
    return found


@retry_conflicts
def set_protection(
    ctx: ServiceContext,
    uid: int,
    contract_code: str,
    margin_mode: MarginMode,
    side: PositionSide,
    take_profit: Decimal | None,
    stop_loss: Decimal | None,
) -> list[Protection]:
    """Arm take profit and/or stop loss on every lead sub position of the key.

    The followers' copies close with the lead's when one fires.
    """
    ctx.spec(contract_code)
    with ctx.uow() as uow:
        account = _account(uow, uid)
        positions = [
            p
            for p in account.open_positions((contract_code, margin_mode, side))
            if p.lead_uid is None
        ]
        if not positions:
            raise PositionNotFound(f"{contract_code} {margin_mode.value} {side.value}")
        mark = ctx.markets(uow.markets.marks())[contract_code].mark
        long = side is PositionSide.LONG
        if take_profit is not None and (take_profit <= mark if long else take_profit >= mark):
            raise InvalidTakeProfit(take_profit, mark, above=long)
        if stop_loss is not None and (stop_loss >= mark if long else stop_loss <= mark):
            raise InvalidStopLoss(stop_loss, mark, above=not long)
        env = ctx.env()
        for pos in positions:
            if take_profit is not None:
                pos.tp_trigger_price = take_profit
            if stop_loss is not None:
                pos.sl_trigger_price = stop_loss
            env.changes.save_position(pos)
        uow.accounts.save(env.changes)
        uow.commit()
    kinds = {k for k, v in (("tp", take_profit), ("sl", stop_loss)) if v is not None}
    return [
        p
        for p in protections(account, contract_code)
        if p.kind in kinds and (p.margin_mode, p.position_side) == (margin_mode, side)
    ]


@retry_conflicts
def cancel_protections(
    ctx: ServiceContext, uid: int, contract_code: str, algo_ids: tuple[str, ...]
) -> list[tuple[str, bool]]:
    """Disarm the given take-profit/stop-loss orders; return (algo id, whether cancelled)."""
    ctx.spec(contract_code)
    with ctx.uow() as uow:
        account = _account(uow, uid)
        env = ctx.env()
        done = disarm(account, contract_code, algo_ids, env)
        uow.accounts.save(env.changes)
        uow.commit()
    return done


def disarm(
    account: Account, contract_code: str, algo_ids: tuple[str, ...], env: Env
) -> list[tuple[str, bool]]:
    """Disarm the account's take-profit/stop-loss orders among ``algo_ids`` (in ``env``)."""
    current = {p.algo_id: p for p in protections(account, contract_code)}
    done: list[tuple[str, bool]] = []
    for algo_id in algo_ids:
        found = current.get(algo_id)
        done.append((algo_id, found is not None))
        if found is None:
            continue
        key = (found.contract_code, found.margin_mode, found.position_side)
        for pos in account.open_positions(key):
            if pos.lead_uid is None:
                if found.kind == "tp":
                    pos.tp_trigger_price = None
                else:
                    pos.sl_trigger_price = None
                env.changes.save_position(pos)
    return done


def open_protections(ctx: ServiceContext, uid: int, contract_code: str | None) -> list[Protection]:
    """Return the account's armed take-profit and stop-loss orders."""
    return protections(_read_account(ctx, uid)[0], contract_code)
