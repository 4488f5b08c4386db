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
    └── InvalidOrderTransition(order_id, state, event)
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
