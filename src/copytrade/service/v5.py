"""v5 trading use cases (spec ``htx-v5-v6.md`` §6.8-§6.15) over the same core as v1.

Opening orders go through :func:`copytrade.service.handlers.open_with_copies` and closes through
:func:`copytrade.service.handlers.close_with_copies`: a lead's v5 fills are copied exactly as its
v1 ones. Accounts are hedge-mode (``dual_side``), as HTX's copy-trading accounts are.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

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
    InvalidLever,
    InvalidStopLoss,
    InvalidTakeProfit,
    LeverMismatch,
    OrderNotFound,
    PositionNotFound,
    PostOnlyWouldTake,
)
from copytrade.domain.margin import pnl
from copytrade.domain.model import Account, FillRecord, Order, SubPosition
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
from copytrade.service.handlers import close_with_copies, open_with_copies, report_open
from copytrade.service.journal import Entry, entry_for
from copytrade.service.ports import UnitOfWork
from copytrade.service.retry import retry_conflicts

DEFAULT_LEVER = 5
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class V5Order:
    """A ``/v5/trade/order`` request, parsed.

    Attributes:
        opening: Whether it opens (else reduces) ``position_side``.
        kind: ``market``, ``limit``, ``post_only``; ``tif``: ``gtc``, ``ioc``, ``fok``.
    """

    contract_code: str
    margin_mode: MarginMode
    direction: OrderDirection
    position_side: PositionSide
    opening: bool
    kind: str
    tif: str
    volume: Decimal
    price: Decimal | None
    tp_trigger_price: Decimal | None
    sl_trigger_price: Decimal | None
    client_order_id: str | None


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


@retry_conflicts
def place_order(ctx: ServiceContext, uid: int, req: V5Order) -> Placed:
    """Place a v5 order: open (copied to followers) or reduce (followers reduce with it)."""
    spec = ctx.spec(req.contract_code)
    with ctx.uow() as uow:
        trader = _account(uow, uid)
        markets = ctx.markets(uow.markets.marks())
        market = markets[spec.contract_code]
        env = ctx.env()
        if req.opening:
            lever = trader.levers.get((spec.contract_code, req.margin_mode), DEFAULT_LEVER)
            request = OpenRequest(
                spec.contract_code,
                req.direction,
                req.volume,
                req.margin_mode,
                _price_type(req),
                req.price,
                lever,
                tp_trigger_price=req.tp_trigger_price,
                sl_trigger_price=req.sl_trigger_price,
            )
            check_order_shape(spec, request)
            if req.kind == "post_only":
                _check_post_only(market, req)
            order, copies, skipped, fan_out = open_with_copies(
                ctx, uow, trader, request, markets, env
            )
            if req.tif == "ioc" and order.status is OrderStatus.OPEN:
                order.apply("cancel")  # immediate-or-cancel: the remainder does not rest
                trader.orders.pop(order.order_id, None)
                env.changes.save_order(order)
            placed = Placed(order.order_id, req.client_order_id, order.filled, copies, skipped)
            entry = Entry(
                replace(order),
                "buy" if req.direction is OrderDirection.BUY else "sell",
                False,
                req.kind,
                req.tif,
                req.client_order_id,
                env.now,
            )
        else:
            placed = _reduce(ctx, uow, trader, req, market, markets, env)
            entry = _reduce_entry(trader, req, placed, env)
        uow.accounts.save(env.changes)
        uow.commit()
    ctx.committed(env.changes)
    ctx.journal.annotate(entry)
    if req.opening:
        report_open(ctx, env, fan_out)
    return placed


def _reduce_entry(trader: Account, req: V5Order, placed: Placed, env: Env) -> Entry:
    """Return a reducing order as a filled order of its own (the core books only closes)."""
    closes = [f for f in env.changes.fills if f.uid == trader.uid and f.offset == "close"]
    order = Order(
        order_id=placed.order_id,
        uid=trader.uid,
        contract_code=req.contract_code,
        margin_mode=req.margin_mode,
        side=req.position_side,
        price_type=OrderPriceType.MARKET,
        price=None,
        volume=req.volume,
        lever=trader.levers.get((req.contract_code, req.margin_mode), DEFAULT_LEVER),
        created_at=env.now,
        filled=sum((f.volume for f in closes), _ZERO),
        filled_notional=sum((f.volume * f.price for f in closes), _ZERO),
        fee=sum((f.fee for f in closes), _ZERO),
        status=OrderStatus.FILLED,
    )
    side = "buy" if req.direction is OrderDirection.BUY else "sell"
    return Entry(order, side, True, "market", req.tif, req.client_order_id, env.now)


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
    market: Market,
    markets: dict[str, Market],
    env: Env,
) -> Placed:
    """Close ``req.volume`` of the position at market; the followers' copies shrink with it."""
    key = (req.contract_code, req.margin_mode, req.position_side)
    _follows, followers = uow.accounts.followers_of(trader.uid)
    pieces = reduce_pieces(trader, key, req.volume, followers, env)
    result = close_with_copies(
        ctx, uow, trader, pieces, market, markets, CloseType.CLOSE_ORDER, env
    )
    return Placed(env.next_id(), req.client_order_id, req.volume, result.copies_closed, 0)


@retry_conflicts
def close_position(
    ctx: ServiceContext,
    uid: int,
    contract_code: str,
    margin_mode: MarginMode,
    side: PositionSide | None,
) -> int:
    """Close every position of (contract, margin mode[, side]) and the copies, atomically.

    Without a side (ccxt sends none) every side holding a position closes. Returns the id of
    the closing order.
    """
    ctx.spec(contract_code)
    sides = (side,) if side is not None else (PositionSide.LONG, PositionSide.SHORT)
    with ctx.uow() as uow:
        trader = _account(uow, uid)
        markets = ctx.markets(uow.markets.marks())
        env = ctx.env()
        closed = 0
        for s in sides:
            positions = [
                p
                for p in trader.open_positions((contract_code, margin_mode, s))
                if p.lead_uid is None
            ]
            if positions:
                close_with_copies(
                    ctx,
                    uow,
                    trader,
                    positions,
                    markets[contract_code],
                    markets,
                    CloseType.CLOSE_ALL,
                    env,
                )
                closed += 1
        if not closed:
            raise PositionNotFound(f"{contract_code} {margin_mode.value}")
        uow.accounts.save(env.changes)
        uow.commit()
    ctx.committed(env.changes)
    return env.next_id()


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


def _view(ctx: ServiceContext, order: Order) -> Entry:
    known = ctx.journal.get(order.uid, order.order_id)
    now = ctx.clock.now_ms()
    return entry_for(order, now) if known is None else replace(known, order=replace(order))


def open_orders(ctx: ServiceContext, uid: int, contract_code: str | None) -> list[Entry]:
    """Return the account's resting orders (of one contract when given), oldest first."""
    account, _marks = _read_account(ctx, uid)
    live = sorted(
        (o for o in account.orders.values() if contract_code in (None, o.contract_code)),
        key=lambda o: o.order_id,
    )
    return [_view(ctx, o) for o in live]


def _by_client_id(ctx: ServiceContext, uid: int, client_order_id: str) -> int:
    for entry in reversed(ctx.journal.of(uid)):
        if entry.client_order_id == client_order_id:
            return entry.order.order_id
    raise OrderNotFound(client_order_id)


def order(
    ctx: ServiceContext,
    uid: int,
    contract_code: str,
    order_id: int | None,
    client_order_id: str | None = None,
) -> Entry:
    """Return one order: resting, or finished and still remembered; else ``OrderNotFound``."""
    if order_id is None:
        order_id = _by_client_id(ctx, uid, client_order_id or "")
    for live in open_orders(ctx, uid, contract_code):
        if live.order.order_id == order_id:
            return live
    done = ctx.journal.get(uid, order_id)
    if done is None or done.order.contract_code != contract_code:
        raise OrderNotFound(str(order_id))
    return done


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """``order/history`` filters: states (``None``: every finished one), time, size."""

    contract_code: str
    margin_mode: MarginMode
    states: frozenset[str] | None
    start: int
    end: int
    limit: int


def state_of(order: Order) -> str:
    """Return v5's order state."""
    if order.status is OrderStatus.OPEN:
        return "new" if order.filled == 0 else "partially_filled"
    if order.status is OrderStatus.FILLED:
        return "filled"
    return "canceled" if order.filled == 0 else "partially_canceled"


def order_history(ctx: ServiceContext, uid: int, query: HistoryQuery) -> list[Entry]:
    """Return finished orders of (contract, margin mode), newest first."""
    ctx.spec(query.contract_code)
    live = set(_read_account(ctx, uid)[0].orders)
    found = [
        e
        for e in ctx.journal.of(uid)
        if e.order.order_id not in live
        and e.order.status is not OrderStatus.OPEN
        and e.order.contract_code == query.contract_code
        and e.order.margin_mode is query.margin_mode
        and query.start <= e.order.created_at <= query.end
        and (query.states is None or state_of(e.order) in query.states)
    ]
    return found[::-1][: query.limit]


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
    return PositionsView(rows, marks, opened)


@dataclass(frozen=True, slots=True)
class FillView:
    """One of the account's fills with the margin mode of its position."""

    fill: FillRecord
    margin_mode: MarginMode


def _fill_record(row: Any) -> FillRecord:
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


def _report_part(report: Any, name: str) -> list[Any]:
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
    for closed in _report_part(report, "closed_positions"):
        modes[closed.sub_position_id] = closed.margin_mode
    found = [
        FillView(f, modes.get(f.sub_position_id, MarginMode.CROSS))
        for f in map(_fill_record, _report_part(report, "fills"))
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
    trigger: Decimal
    volume: Decimal
    created: int


_KIND_DIGIT = {"tp": "1", "sl": "2"}


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
            assert trigger is not None
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
        current = {p.algo_id: p for p in protections(account, contract_code)}
        env = ctx.env()
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
        uow.accounts.save(env.changes)
        uow.commit()
    return done


def open_protections(ctx: ServiceContext, uid: int, contract_code: str | None) -> list[Protection]:
    """Return the account's armed take-profit and stop-loss orders."""
    return protections(_read_account(ctx, uid)[0], contract_code)
