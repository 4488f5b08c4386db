"""Entities of the trading core: accounts, sub positions, orders, and the change set.

An :class:`Account` is the aggregate: a UID's copy-trading wallet ``W`` with its open sub
positions, resting orders and leverage settings. Operations in :mod:`trading` mutate accounts and
record every change in a :class:`ChangeSet`, which the unit of work persists in one transaction.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from copytrade.domain.algo import AlgoOrder
from copytrade.domain.enums import (
    CloseType,
    Liquidity,
    MarginMode,
    OrderPriceType,
    OrderStatus,
    PositionSide,
    SkipReason,
)
from copytrade.domain.errors import InvalidOrderTransition
from copytrade.domain.margin import div, initial_margin

if TYPE_CHECKING:
    from copytrade.domain.impact import TakenDepth

_ZERO = Decimal(0)
_F = TypeVar("_F")

PositionKey = tuple[str, MarginMode, PositionSide]
LeverKey = tuple[str, MarginMode]


@dataclass(slots=True)
class SubPosition:
    """One copy-tracked position created by one filled opening order (HTX's sub position).

    ``position_margin`` is, for isolated, ``IM − open_fee`` plus adjustments; for cross, the
    initial margin at the open price. A follower's copy carries ``lead_uid`` and
    ``lead_sub_position_id``, the lead sub position it copies.
    """

    sub_position_id: int
    uid: int
    contract_code: str
    margin_mode: MarginMode
    side: PositionSide
    lever: int
    volume: Decimal
    open_avg_price: Decimal
    open_fee: Decimal
    position_margin: Decimal
    open_order_id: int
    open_time: int
    tp_trigger_price: Decimal | None = None
    sl_trigger_price: Decimal | None = None
    lead_uid: int | None = None
    lead_sub_position_id: int | None = None
    is_open: bool = True
    close_time: int | None = None
    close_avg_price: Decimal | None = None
    close_fee: Decimal = _ZERO
    profit: Decimal | None = None
    close_type: CloseType | None = None
    follow_takes: Decimal = _ZERO

    @property
    def key(self) -> PositionKey:
        """Return (contract_code, margin_mode, position_side)."""
        return (self.contract_code, self.margin_mode, self.side)

    def initial_margin(self, contract_size: Decimal) -> Decimal:
        """Return ``v × cs × P_open / L``."""
        return initial_margin(self.volume, contract_size, self.open_avg_price, self.lever)


_ORDER_TRANSITIONS: dict[tuple[OrderStatus, str], OrderStatus] = {
    (OrderStatus.OPEN, "fill"): OrderStatus.OPEN,
    (OrderStatus.OPEN, "complete"): OrderStatus.FILLED,
    (OrderStatus.OPEN, "cancel"): OrderStatus.CANCELLED,
}


@dataclass(slots=True)
class Order:
    """An opening (lead or copy) order; a resting one shows in ``open_orders``."""

    order_id: int
    uid: int
    contract_code: str
    margin_mode: MarginMode
    side: PositionSide
    price_type: OrderPriceType
    price: Decimal | None
    volume: Decimal
    lever: int
    created_at: int
    tp_trigger_price: Decimal | None = None
    sl_trigger_price: Decimal | None = None
    filled: Decimal = _ZERO
    filled_notional: Decimal = _ZERO
    fee: Decimal = _ZERO
    status: OrderStatus = OrderStatus.OPEN
    sub_position_id: int | None = None
    lead_uid: int | None = None
    lead_sub_position_id: int | None = None

    @property
    def remaining(self) -> Decimal:
        """Return the contracts not yet filled."""
        return self.volume - self.filled

    @property
    def avg_price(self) -> Decimal | None:
        """Return the average fill price, ``None`` before any fill."""
        if self.filled == 0:
            return None
        return div(self.filled_notional, self.filled)

    def apply(self, event: str) -> None:
        """Move along the transition table; an illegal event raises."""
        target = _ORDER_TRANSITIONS.get((self.status, event))
        if target is None:
            raise InvalidOrderTransition(self.order_id, self.status.value, event)
        self.status = target

    def frozen(self, contract_size: Decimal, taker_rate: Decimal) -> Decimal:
        """Return the margin plus estimated taker fee this resting order holds back."""
        if self.status is not OrderStatus.OPEN or self.price is None:
            return _ZERO
        value = self.remaining * contract_size * self.price
        return div(value, Decimal(self.lever)) + value * taker_rate


@dataclass(slots=True)
class Account:
    """A UID's accounts: the copy-trading wallet with its positions, and spot and futures.

    ``balance`` is the copy-trading wallet ``W``, with the open sub positions, resting orders and
    leverage settings; ``spot`` and ``futures`` (USDT-M futures) are the UID's two other USDT
    balances, which only transfers touch (spec §6.6).
    """

    uid: int
    balance: Decimal
    positions: dict[int, SubPosition] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    levers: dict[LeverKey, int] = field(default_factory=dict)
    spot: Decimal = _ZERO
    futures: Decimal = _ZERO
    one_way: bool = False
    algos: dict[int, AlgoOrder] = field(default_factory=dict)
    """The resting trigger and trailing orders (:mod:`copytrade.domain.algo`)."""

    def open_positions(self, key: PositionKey) -> list[SubPosition]:
        """Return the open sub positions of exactly ``key``, oldest first."""
        found = [p for p in self.positions.values() if p.key == key]
        found.sort(key=lambda p: p.sub_position_id)
        return found

    def has_exposure(self, contract_code: str, margin_mode: MarginMode) -> bool:
        """Return whether a position or resting order exists in (contract, margin mode)."""
        return any(
            p.contract_code == contract_code and p.margin_mode is margin_mode
            for p in self.positions.values()
        ) or any(
            o.contract_code == contract_code and o.margin_mode is margin_mode
            for o in self.orders.values()
        )


def quick_init(cls: type[_F]) -> type[_F]:
    """Give a frozen slotted dataclass an ``__init__`` that sets its slots directly.

    The generated one calls ``object.__setattr__`` per field, which made a fan-out's 10,000
    fill records a visible part of the wave (~3x the cost of an unfrozen one, measured with
    ``bench/prof_fanout.py``). Same signature and defaults (no default factories), same
    instances; still frozen.
    """
    found = fields(cls)  # type: ignore[arg-type]
    assert all(f.default_factory is MISSING for f in found)
    names = [f.name for f in found]
    space: dict[str, object] = {f"_set_{n}": getattr(cls, n).__set__ for n in names}
    params = []
    for f in found:
        if f.default is MISSING:
            params.append(f.name)
        else:
            space[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
    body = "".join(f"    _set_{n}(self, {n})\n" for n in names)
    exec(f"def __init__(self, {', '.join(params)}):\n{body}", space)  # noqa: S102 - our names
    init: Any = space["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


@quick_init
@dataclass(frozen=True, slots=True)
class FillRecord:
    """One entry of an account's fills: an open or close fill with its fee, or a funding payment.

    ``offset`` is ``open``, ``close`` or ``funding``. A funding row (spec §7.11) is no trade:
    ``price`` is the mark it settled at, ``volume`` the position's, ``fee`` what the position
    paid (negative: it received), ``order_id`` ``None`` and ``liquidity`` ``none``. Keeping
    funding in the fills ledger avoids a schema change; trade views leave these rows out.
    """

    trade_id: int
    uid: int
    order_id: int | None
    sub_position_id: int
    contract_code: str
    side: PositionSide
    offset: str
    price: Decimal
    volume: Decimal
    fee: Decimal
    liquidity: Liquidity
    ts: int


@quick_init
@dataclass(frozen=True, slots=True)
class CopySkipped:
    """A follower copy that was not made, with its reason (never silently dropped)."""

    skip_id: int
    trader_uid: int
    follower_uid: int
    lead_sub_position_id: int
    contract_code: str
    margin_mode: MarginMode
    side: PositionSide
    wanted_volume: Decimal
    reason: SkipReason
    detail: str
    ts: int


@quick_init
@dataclass(frozen=True, slots=True)
class ProfitShare:
    """A follower's profit share paid to its trader for one closed copy."""

    item_id: int
    trader_uid: int
    follower_uid: int
    lead_sub_position_id: int
    amount: Decimal
    currency: str
    ts: int


@dataclass(frozen=True, slots=True)
class OrderTag:
    """What a v5 order says beyond the core's :class:`Order` (kept for the v5 order queries).

    Attributes:
        direction: ``buy`` or ``sell``.
        position_side: ``long``, ``short`` (hedge mode) or ``both`` (one-way mode).
        reduce_only: Whether it reduced a position (the core books such an order as closes).
        kind: ``market``, ``limit`` or ``post_only``; ``tif``: ``gtc``, ``ioc`` or ``fok``.
    """

    order_id: int
    uid: int
    direction: str
    position_side: str
    reduce_only: bool
    kind: str
    tif: str
    client_order_id: str | None


@dataclass(slots=True)
class ChangeSet:
    """Everything one command changed, for the unit of work to persist atomically."""

    accounts: dict[int, Account] = field(default_factory=dict)
    positions: dict[int, SubPosition] = field(default_factory=dict)
    new_positions: set[int] = field(default_factory=set)
    orders: dict[int, Order] = field(default_factory=dict)
    new_orders: set[int] = field(default_factory=set)
    levers: dict[tuple[int, str, MarginMode], int] = field(default_factory=dict)
    fills: list[FillRecord] = field(default_factory=list)
    skips: list[CopySkipped] = field(default_factory=list)
    profit_shares: list[ProfitShare] = field(default_factory=list)
    book_takes: list[TakenDepth] = field(default_factory=list)
    """Depth the command took from the market maker's book (market impact), for the shared
    ledger once it commits; no store keeps it."""
    order_tags: list[OrderTag] = field(default_factory=list)
    modes: dict[int, bool] = field(default_factory=dict)
    """Accounts whose position mode changed: uid -> one-way."""
    algos: dict[int, AlgoOrder] = field(default_factory=dict)
    """Trigger and trailing orders to write (new or changed: one row per order, upserted)."""
    closed: set[int] = field(default_factory=set)
    """Positions in ``positions`` whose only change is their close (the close fields, tp and sl
    cleared): a store may write just those columns. Any later ``save_position`` drops the id."""

    def touch(self, account: Account) -> None:
        """Mark an account's wallet as changed."""
        self.accounts[account.uid] = account

    def save_position(self, position: SubPosition, *, new: bool = False) -> None:
        """Record a position to insert (``new``) or update."""
        self.positions[position.sub_position_id] = position
        if self.closed:
            self.closed.discard(position.sub_position_id)
        if new:
            self.new_positions.add(position.sub_position_id)

    def save_order(self, order: Order, *, new: bool = False) -> None:
        """Record an order to insert (``new``) or update."""
        self.orders[order.order_id] = order
        if new:
            self.new_orders.add(order.order_id)

    def save_algo(self, algo: AlgoOrder) -> None:
        """Record a trigger or trailing order to insert or update."""
        self.algos[algo.algo_id] = algo

    def set_lever(self, uid: int, key: LeverKey, lever: int) -> None:
        """Record a leverage setting."""
        self.levers[(uid, key[0], key[1])] = lever
