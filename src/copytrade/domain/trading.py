"""Trading operations on accounts: open orders, fills, closes, cross figures. Pure."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from copytrade.domain.book import Book, quote_book
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
    AmountAboveLimit,
    ContractNotCopyEnabled,
    CrossNotSupported,
    InsufficientMargin,
    InvalidAmount,
    InvalidLever,
    InvalidPrice,
    InvalidStopLoss,
    InvalidTakeProfit,
    LeverMismatch,
)
from copytrade.domain.impact import DepthLedger
from copytrade.domain.instruments import ContractSpec, FeeSchedule
from copytrade.domain.margin import (
    div,
    fee,
    maintenance_margin,
    notional,
    pnl,
    to_money,
)
from copytrade.domain.matching import (
    Fill,
    average_price,
    match_close,
    match_open,
    reference_price,
    vwap,
)
from copytrade.domain.model import Account, ChangeSet, FillRecord, Order, SubPosition

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Market:
    """A contract with its mark price and the market maker's book around it."""

    spec: ContractSpec
    mark: Decimal
    book: Book

    @classmethod
    def at(cls, spec: ContractSpec, mark: Decimal) -> Market:
        """Quote the book for ``spec`` at ``mark``."""
        return cls(spec, mark, quote_book(spec, mark))


def _no_pause() -> None:
    """Do nothing: the default of :attr:`Env.pause`."""


@dataclass(slots=True)
class Env:
    """What every operation needs besides the accounts: fees, time, ids and the change set.

    ``pause`` is called between chunks of a long fan-out: a store that serves other commands
    meanwhile (the embedded store's event loop) gets its turn there; by default it does nothing.
    """

    fees: FeeSchedule
    now: int
    next_id: Callable[[], int]
    changes: ChangeSet
    depth: DepthLedger | None = None
    """With market impact on: this command's fork of the depth ledger (its takes land in
    ``changes.book_takes``)."""
    pause: Callable[[], None] = _no_pause
    next_ids: Callable[[int], int] | None = None
    """The first of n fresh consecutive ids (see :func:`pooled`); ``None``: ``next_id`` only."""


ID_BLOCK = 64
"""Ids a fan-out takes from the generator at once (see :func:`pooled`)."""


class _IdPool:
    """Hands out a block of consecutive ids one by one, without the generator's lock."""

    __slots__ = ("_end", "_next", "_take")

    def __init__(self, take: Callable[[int], int]) -> None:
        self._take = take
        self._next = self._end = 0

    def __call__(self) -> int:
        n = self._next
        if n < self._end:
            self._next = n + 1
            return n
        n = self._take(ID_BLOCK)
        self._next, self._end = n + 1, n + ID_BLOCK
        return n

    def drop(self) -> None:
        """Forget the ids left (the next one comes from a new block)."""
        self._next = self._end = 0


def pooled(env: Env) -> Env:
    """Return ``env`` for a fan-out: its ids come in blocks of :data:`ID_BLOCK` (one lock each).

    The same ids in the same order as one ``next_id`` call each, except that the ids left in
    a block are dropped at each ``pause``, so that no id taken before another command ran is
    used after it. ``env`` itself when its generator has no blocks.
    """
    if env.next_ids is None:
        return env
    pool = _IdPool(env.next_ids)
    pause = env.pause

    def paused() -> None:
        pool.drop()
        pause()

    return Env(env.fees, env.now, pool, env.changes, env.depth, paused, env.next_ids)


@dataclass(frozen=True, slots=True)
class OpenRequest:
    """An opening order as the core sees it (already parsed from the wire)."""

    contract_code: str
    direction: OrderDirection
    volume: Decimal
    margin_mode: MarginMode
    price_type: OrderPriceType
    price: Decimal | None
    lever: int
    tp_trigger_price: Decimal | None = None
    sl_trigger_price: Decimal | None = None
    lead_uid: int | None = None
    lead_sub_position_id: int | None = None
    sub_position_id: int | None = None


@dataclass(frozen=True, slots=True)
class CrossFigures:
    """A UID's cross-margin totals at current marks."""

    equity: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal
    frozen: Decimal

    @property
    def available(self) -> Decimal:
        """Return ``cross_equity − Σ IM(cross) − frozen``."""
        return self.equity - self.initial_margin - self.frozen


def check_order_shape(
    spec: ContractSpec, req: OpenRequest, copy_contracts: tuple[str, ...] = ()
) -> None:
    """Apply the rules that need only the contract spec (spec §6.1).

    ``copy_contracts`` are the contracts open to copy trading, named in the 1505 refusal.
    """
    if not spec.copy_enabled:
        raise ContractNotCopyEnabled(spec.contract_code, copy_contracts)
    if req.margin_mode is MarginMode.CROSS and not spec.cross_enabled:
        raise CrossNotSupported(spec.contract_code)
    if not spec.lever_min <= req.lever <= spec.lever_max:
        raise InvalidLever(req.lever, spec.lever_min, spec.lever_max)
    if req.volume <= 0 or req.volume != req.volume.to_integral_value():
        raise InvalidAmount(req.volume)
    if req.volume > spec.max_order_volume:
        raise AmountAboveLimit(req.volume, spec.max_order_volume)
    bad_price = req.price is None or req.price <= 0 or req.price % spec.price_tick != 0
    if req.price_type.needs_price and bad_price:
        raise InvalidPrice(req.price if req.price is not None else _ZERO, spec.price_tick)


def check_triggers(req: OpenRequest, reference: Decimal) -> None:
    """TP above and SL below the reference for a buy; the reverse for a sell (1405/1407)."""
    buy = req.direction is OrderDirection.BUY
    tp, sl = req.tp_trigger_price, req.sl_trigger_price
    if tp is not None and (tp <= 0 or (tp <= reference if buy else tp >= reference)):
        raise InvalidTakeProfit(tp, reference, above=buy)
    if sl is not None and (sl <= 0 or (sl >= reference if buy else sl <= reference)):
        raise InvalidStopLoss(sl, reference, above=not buy)


def cross_figures(
    account: Account, markets: Mapping[str, Market], fees: FeeSchedule
) -> CrossFigures:
    """Return cross equity, Σ IM and Σ MM of cross positions, and margin frozen by orders."""
    unreal = _ZERO
    im = _ZERO
    mm = _ZERO
    for pos in account.positions.values():
        if pos.margin_mode is not MarginMode.CROSS:
            continue
        market = markets[pos.contract_code]
        cs = market.spec.contract_size
        unreal += pnl(pos.side, pos.open_avg_price, market.mark, pos.volume, cs)
        im += pos.initial_margin(cs)
        mm += maintenance_margin(
            market.spec.adjustment_factor, pos.volume, cs, market.mark, pos.lever
        )
    frozen = sum(
        (
            o.frozen(markets[o.contract_code].spec.contract_size, fees.taker)
            for o in account.orders.values()
        ),
        _ZERO,
    )
    return CrossFigures(account.balance + unreal, im, mm, frozen)


def open_order(
    account: Account,
    req: OpenRequest,
    market: Market,
    markets: Mapping[str, Market],
    env: Env,
) -> Order:
    """Check, match and book an opening order; return it (resting if a remainder rests)."""
    spec = market.spec
    lever_key = (req.contract_code, req.margin_mode)
    current = account.levers.get(lever_key)
    if (
        req.lead_uid is None
        and current is not None
        and current != req.lever
        and (account.has_exposure(*lever_key))
    ):
        raise LeverMismatch(req.lever, current)
    buy = req.direction is OrderDirection.BUY
    reference = reference_price(
        market.book,
        buy,
        OrderPriceType.OPPONENT if req.price_type is OrderPriceType.MARKET else req.price_type,
        req.price,
        spec.contract_code,
    )
    check_triggers(req, reference)
    value = notional(req.volume, spec.contract_size, reference)
    required = div(value, Decimal(req.lever)) + value * env.fees.taker
    available = cross_figures(account, markets, env.fees).available
    if required > available:
        raise InsufficientMargin(required, available)
    result = match_open(market.book, buy, req.volume, req.price_type, req.price, spec.contract_code)
    # The order may sweep deeper than the reference quote: check what it really costs (fills
    # plus the margin a resting remainder holds back) before anything changes.
    spent = sum((notional(f.volume, spec.contract_size, f.price) for f in result.fills), _ZERO)
    if result.rest_price is not None:
        spent += notional(result.remaining, spec.contract_size, result.rest_price)
    cost = div(spent, Decimal(req.lever)) + spent * env.fees.taker
    if cost > available:
        raise InsufficientMargin(cost, available)
    order = Order(
        order_id=env.next_id(),
        uid=account.uid,
        contract_code=spec.contract_code,
        margin_mode=req.margin_mode,
        side=req.direction.opens,
        price_type=req.price_type,
        price=result.rest_price if result.rest_price is not None else req.price,
        volume=req.volume,
        lever=req.lever,
        created_at=env.now,
        tp_trigger_price=req.tp_trigger_price,
        sl_trigger_price=req.sl_trigger_price,
        lead_uid=req.lead_uid,
        lead_sub_position_id=req.lead_sub_position_id,
        sub_position_id=req.sub_position_id,
    )
    if req.lead_uid is None and account.levers.get(lever_key) != req.lever:
        account.levers[lever_key] = req.lever
        env.changes.set_lever(account.uid, lever_key, req.lever)
    if result.fills:
        apply_open_fills(account, order, result.fills, Liquidity.TAKER, spec, env)
    if order.remaining > 0 and result.rest_price is None:
        order.apply("cancel")  # market / IOC remainder
    elif order.remaining == 0:
        order.apply("complete")
    if order.status is OrderStatus.OPEN:
        account.orders[order.order_id] = order
    env.changes.save_order(order, new=True)
    return order


def apply_open_fills(
    account: Account,
    order: Order,
    fills: tuple[Fill, ...] | list[Fill],
    liquidity: Liquidity,
    spec: ContractSpec,
    env: Env,
) -> SubPosition:
    """Book fills of an opening order into its sub position (created on the first fill)."""
    cs = spec.contract_size
    rate = env.fees.taker if liquidity is Liquidity.TAKER else env.fees.maker
    volume = sum((f.volume for f in fills), _ZERO)
    value = sum((notional(f.volume, cs, f.price) for f in fills), _ZERO)
    paid = value * rate  # exact: fill prices sit on the tick grid
    im = to_money(div(value, Decimal(order.lever)))  # moved out of W: kept to 18 decimals
    isolated = order.margin_mode is MarginMode.ISOLATED
    position = account.positions.get(order.sub_position_id) if order.sub_position_id else None
    if position is None:
        position = SubPosition(
            sub_position_id=env.next_id(),
            uid=account.uid,
            contract_code=order.contract_code,
            margin_mode=order.margin_mode,
            side=order.side,
            lever=order.lever,
            volume=volume,
            open_avg_price=vwap(fills),
            open_fee=paid,
            position_margin=im - paid if isolated else im,
            open_order_id=order.order_id,
            open_time=env.now,
            tp_trigger_price=order.tp_trigger_price,
            sl_trigger_price=order.sl_trigger_price,
            lead_uid=order.lead_uid,
            lead_sub_position_id=order.lead_sub_position_id,
        )
        account.positions[position.sub_position_id] = position
        order.sub_position_id = position.sub_position_id
        env.changes.save_position(position, new=True)
    else:
        old_value = notional(position.volume, cs, position.open_avg_price)
        position.volume += volume
        position.open_avg_price = average_price(old_value + value, position.volume * cs)
        position.open_fee += paid
        position.position_margin += (im - paid) if isolated else im
        env.changes.save_position(position)
    account.balance -= im if isolated else paid
    env.changes.touch(account)
    order.filled += volume
    order.filled_notional += value / cs
    order.fee += paid
    for f in fills:
        env.changes.fills.append(
            FillRecord(
                env.next_id(),
                account.uid,
                order.order_id,
                position.sub_position_id,
                order.contract_code,
                order.side,
                "open",
                f.price,
                f.volume,
                notional(f.volume, cs, f.price) * rate,
                liquidity,
                env.now,
            )
        )
    return position


def close_position(
    account: Account,
    position: SubPosition,
    price: Decimal,
    spec: ContractSpec,
    close_type: CloseType,
    env: Env,
) -> SubPosition:
    """Close a whole sub position at ``price`` (taker), realise PnL and move it to history.

    An isolated position never loses more than its margin: a shortfall beyond it is absorbed
    (insurance fund, not modelled), spec §7.10.
    """
    cs = spec.contract_size
    # computed amounts truncated at 18 decimals (§7.6), so W and the margins add them exactly
    close_fee = to_money(fee(position.volume, cs, price, env.fees.taker))
    gross = to_money(pnl(position.side, position.open_avg_price, price, position.volume, cs))
    if position.margin_mode is MarginMode.ISOLATED:
        returned = position.position_margin + gross - close_fee
        if returned < 0:
            gross -= returned  # the shortfall beyond the margin is absorbed, not realised
            returned = _ZERO
        account.balance += returned
    else:
        account.balance += gross - close_fee
    position.is_open = False
    position.close_time = env.now
    position.close_avg_price = price
    position.close_fee = close_fee
    position.profit = gross - position.open_fee - close_fee
    position.close_type = close_type
    position.tp_trigger_price = None
    position.sl_trigger_price = None
    account.positions.pop(position.sub_position_id, None)
    env.changes.touch(account)
    env.changes.save_position(position)
    env.changes.fills.append(
        FillRecord(
            env.next_id(),
            account.uid,
            None,
            position.sub_position_id,
            position.contract_code,
            position.side,
            "close",
            price,
            position.volume,
            close_fee,
            Liquidity.TAKER,
            env.now,
        )
    )
    return position


def close_at_market(
    account: Account,
    positions: list[SubPosition],
    market: Market,
    close_type: CloseType,
    env: Env,
) -> list[SubPosition]:
    """Close ``positions`` (one side of one contract) with one market order for Σ volume.

    The fills are allocated pro rata, so every sub position closes at the order's average price.
    """
    if not positions:
        return []
    price = close_price(market, positions)
    return [close_position(account, p, price, market.spec, close_type, env) for p in positions]


def close_price(market: Market, positions: list[SubPosition]) -> Decimal:
    """Return the average price of one market order closing ``positions`` (one side)."""
    total = sum((p.volume for p in positions), _ZERO)
    closing_buy = positions[0].side is PositionSide.SHORT
    return vwap(match_close(market.book, closing_buy, total, market.mark))


def fill_resting_orders(account: Account, market: Market, env: Env) -> list[SubPosition]:
    """Fill (as maker, at their limit) the account's resting orders the new book crosses."""
    touched: list[SubPosition] = []
    code = market.spec.contract_code
    for order in sorted(account.orders.values(), key=lambda o: o.order_id):
        if order.contract_code != code or order.price is None:
            continue
        buy = order.side is PositionSide.LONG
        levels = market.book.side_for(buy)
        if not levels or (levels[0].price > order.price if buy else levels[0].price < order.price):
            continue
        fills = [Fill(order.price, order.remaining)]
        touched.append(apply_open_fills(account, order, fills, Liquidity.MAKER, market.spec, env))
        order.apply("complete")
        account.orders.pop(order.order_id, None)
        env.changes.save_order(order)
    return touched
