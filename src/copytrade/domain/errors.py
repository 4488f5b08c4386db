"""Domain errors. Each carries the values that explain it; none knows HTTP or HTX codes.

Hierarchy::

    DomainError
    ├── UnknownContract(contract_code)
    ├── ContractNotCopyEnabled(contract_code, allowed)
    ├── CrossNotSupported(contract_code)
    ├── InvalidLever(lever, low, high)
    ├── LeverMismatch(requested, current)
    ├── InvalidPrice(price, tick)
    ├── InvalidAmount(amount)
    ├── AmountAboveLimit(amount, limit)
    ├── NoOpponentPrice(contract_code)
    ├── InvalidTakeProfit(trigger, reference, above)
    ├── InvalidStopLoss(trigger, reference, above)
    ├── InsufficientMargin(required, available)
    ├── PositionNotFound(detail)
    ├── OrderNotFillable(reason)           FOK orders that could not fill whole
    ├── InvalidOrderTransition(order_id, state, event)
    ├── IllegalParameter(name, value)      a value outside its rule (HTX's "Illegal parameter")
    ├── TriggerMissing()                   tpsl_order without either trigger
    ├── LeverChangeBlocked(contract_code, margin_mode, orders)
    ├── NoIsolatedPosition(contract_code, side)
    ├── InvalidTransferType(value)
    ├── InvalidTransferAmount(amount)
    ├── TransferPrecision(amount, places)
    ├── UnknownCurrency(currency)
    ├── InsufficientTransferable(amount, available)
    ├── UnknownFollower(follower_uid)
    ├── InvalidFollowSettings(field, reason)
    └── OneWayPositionMode(uid)            v1 place_order on an account in one-way mode
"""

from __future__ import annotations

from decimal import Decimal


class DomainError(Exception):
    """Base of every rule the trading core refuses."""


class UnknownContract(DomainError):
    """No such contract is configured."""

    def __init__(self, contract_code: str) -> None:
        super().__init__(contract_code)
        self.contract_code = contract_code


class ContractNotCopyEnabled(DomainError):
    """The contract exists but is not open to copy trading."""

    def __init__(self, contract_code: str, allowed: tuple[str, ...]) -> None:
        super().__init__(contract_code)
        self.contract_code = contract_code
        self.allowed = allowed


class CrossNotSupported(DomainError):
    """Cross margin was asked on an isolated-only contract."""

    def __init__(self, contract_code: str) -> None:
        super().__init__(contract_code)
        self.contract_code = contract_code


class InvalidLever(DomainError):
    """The leverage is outside the contract's range."""

    def __init__(self, lever: int, low: int, high: int) -> None:
        super().__init__(lever, low, high)
        self.lever, self.low, self.high = lever, low, high


class LeverMismatch(DomainError):
    """The order's leverage differs from the current one while positions or orders exist."""

    def __init__(self, requested: int, current: int) -> None:
        super().__init__(requested, current)
        self.requested, self.current = requested, current


class InvalidPrice(DomainError):
    """The price is not positive or not a multiple of the tick."""

    def __init__(self, price: Decimal, tick: Decimal) -> None:
        super().__init__(price, tick)
        self.price, self.tick = price, tick


class InvalidAmount(DomainError):
    """The amount is not a positive whole number of contracts."""

    def __init__(self, amount: Decimal) -> None:
        super().__init__(amount)
        self.amount = amount


class AmountAboveLimit(DomainError):
    """The amount exceeds the per-order maximum."""

    def __init__(self, amount: Decimal, limit: Decimal) -> None:
        super().__init__(amount, limit)
        self.amount, self.limit = amount, limit


class NoOpponentPrice(DomainError):
    """A non-limit order met an empty opposite book."""

    def __init__(self, contract_code: str) -> None:
        super().__init__(contract_code)
        self.contract_code = contract_code


class InvalidTakeProfit(DomainError):
    """The take-profit trigger is on the wrong side of the reference price."""

    def __init__(self, trigger: Decimal, reference: Decimal, above: bool) -> None:
        super().__init__(trigger, reference, above)
        self.trigger, self.reference, self.above = trigger, reference, above


class InvalidStopLoss(DomainError):
    """The stop-loss trigger is on the wrong side of the reference price."""

    def __init__(self, trigger: Decimal, reference: Decimal, above: bool) -> None:
        super().__init__(trigger, reference, above)
        self.trigger, self.reference, self.above = trigger, reference, above


class InsufficientMargin(DomainError):
    """The account cannot afford the margin and fees an action needs."""

    def __init__(self, required: Decimal, available: Decimal) -> None:
        super().__init__(required, available)
        self.required, self.available = required, available


class PositionNotFound(DomainError):
    """Nothing open matches (unknown sub position, or nothing to close)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class OrderNotFillable(DomainError):
    """A fill-or-kill order could not fill completely at once."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidOrderTransition(DomainError):
    """An order event is not allowed in the order's state."""

    def __init__(self, order_id: int, state: str, event: str) -> None:
        super().__init__(order_id, state, event)
        self.order_id, self.state, self.event = order_id, state, event


class CloseAboveHolding(DomainError):
    """A reducing order asks to close more contracts than the position holds."""

    def __init__(self, requested: Decimal, held: Decimal) -> None:
        super().__init__(requested, held)
        self.requested, self.held = requested, held


class OrderNotFound(DomainError):
    """No open order of the account has that id."""

    def __init__(self, order_id: str) -> None:
        super().__init__(order_id)
        self.order_id = order_id


class PostOnlyWouldTake(DomainError):
    """A post-only order's price would take liquidity from the book."""

    def __init__(self, price: Decimal, best: Decimal) -> None:
        super().__init__(price, best)
        self.price, self.best = price, best


class IllegalParameter(DomainError):
    """A parameter's value breaks its rule (e.g. a non-positive margin amount)."""

    def __init__(self, name: str, value: object) -> None:
        super().__init__(name, value)
        self.name, self.value = name, value


class TriggerMissing(DomainError):
    """A TP/SL request named neither a take-profit nor a stop-loss trigger."""

    def __init__(self) -> None:
        super().__init__("tp_trigger_price")
        self.name = "tp_trigger_price"


class LeverChangeBlocked(DomainError):
    """Leverage cannot change while orders rest in (contract, margin mode)."""

    def __init__(self, contract_code: str, margin_mode: str, orders: int) -> None:
        super().__init__(contract_code, margin_mode, orders)
        self.contract_code, self.margin_mode, self.orders = contract_code, margin_mode, orders


class NoIsolatedPosition(DomainError):
    """Margin can be added or reduced only on an open isolated position."""

    def __init__(self, contract_code: str, side: str) -> None:
        super().__init__(contract_code, side)
        self.contract_code, self.side = contract_code, side


class InvalidTransferType(DomainError):
    """A transfer ``type`` outside 1–4."""

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value


class InvalidTransferAmount(DomainError):
    """A transfer amount that is not positive."""

    def __init__(self, amount: Decimal) -> None:
        super().__init__(amount)
        self.amount = amount


class TransferPrecision(DomainError):
    """A transfer amount with more decimal places than allowed."""

    def __init__(self, amount: Decimal, places: int) -> None:
        super().__init__(amount, places)
        self.amount, self.places = amount, places


class UnknownCurrency(DomainError):
    """Only USDT moves between the accounts."""

    def __init__(self, currency: str) -> None:
        super().__init__(currency)
        self.currency = currency


class InsufficientTransferable(DomainError):
    """The paying account holds less than the transfer (available balance for copy trading)."""

    def __init__(self, amount: Decimal, available: Decimal) -> None:
        super().__init__(amount, available)
        self.amount, self.available = amount, available


class UnknownFollower(DomainError):
    """The UID is not a current follower of this trader."""

    def __init__(self, follower_uid: int | str) -> None:
        super().__init__(follower_uid)
        self.follower_uid = follower_uid


class InvalidFollowSettings(DomainError):
    """A follower setting breaks its rule (admin API)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field, reason)
        self.field, self.reason = field, reason


class OneWayPositionMode(DomainError):
    """A hedge-only operation (v1 ``place_order``) on an account switched to one-way mode."""

    def __init__(self, uid: int) -> None:
        super().__init__(uid)
        self.uid = uid
