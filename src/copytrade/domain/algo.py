"""Trigger and trailing orders: v5 conditional ("algo") orders that rest untriggered. Pure.

Spec ``htx-v5-v6.md`` §6.9-§6.11. Both watch the mark (the price the take-profit/stop-loss
triggers watch, :mod:`copytrade.domain.tpsl`) and, when they fire, place an ordinary order
(the caller sends it down the v5 order path, so a lead's fired order is copied like any other).

* **Trigger order** (``trigger_price``): fires when the mark reaches the trigger price from the
  side it stood at when the order was placed: a trigger above the mark then fires at
  ``mark ≥ trigger`` (``ge``), one below at ``mark ≤ trigger`` (``le``) [INF: v5 documents no
  ``trigger_type``; the official SDKs may send v1's ``ge``/``le``, which is then used]. It places
  a limit order at its order price, or a market order.
* **Trailing order** (``callback_rate``, optional ``active_price``): once active it tracks the
  extreme mark (the highest for a sell, the lowest for a buy) and fires when the mark retraces
  from it by the callback rate: a sell at ``mark ≤ highest × (1 − rate)``, a buy at
  ``mark ≥ lowest × (1 + rate)``. Without an activation price it is active from placement (the
  extreme starts at that mark); with one it activates when the mark reaches it (a sell at
  ``mark ≥ active_price``, a buy at ``mark ≤ active_price``). It places a market order.

States: ``active`` (resting), ``effective`` (fired; its order placed), ``canceled`` (by the
owner, or because its order could not be placed when it fired: ``reason`` says why).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from copytrade.domain.enums import MarginMode, OrderDirection, PositionSide

TRIGGER = "trigger"
TRAILING = "trailing_stop"
ACTIVE, EFFECTIVE, CANCELED = "active", "effective", "canceled"

CALLBACK_MIN = Decimal("0.001")
CALLBACK_MAX = Decimal("0.05")
"""The callback rates accepted (0.1 % to 5 %): HTX's bounds for trailing orders [DOC v1 track
order; INF for v5, whose pages give none]."""


@dataclass(slots=True)
class AlgoOrder:
    """A trigger or trailing order of one account.

    Attributes:
        kind: :data:`TRIGGER` or :data:`TRAILING`.
        position_side: ``long``/``short`` as sent; ``None`` when absent or ``both`` (the
            account's position mode decides when it fires, as for ``/v5/trade/order``).
        both: ``position_side`` was sent as ``both``.
        order_type: ``market`` or ``limit`` (a trailing order: ``market``).
        order_price: The limit price of the order it places (``None``: market).
        trigger_price: A trigger order's trigger price (``None`` for a trailing order).
        rises: A trigger order fires at ``mark ≥ trigger_price`` (else ``≤``); a trailing
            order is a buy (tracks the lowest mark and fires on a rebound).
        activated: A trailing order tracks the extreme (a trigger order: always true).
        extreme: The extreme mark a trailing order has seen since it activated.
        order_id: The order it placed when it fired.
        reason: Why it was cancelled without placing its order (``None``: by its owner).
    """

    algo_id: int
    uid: int
    kind: str
    contract_code: str
    margin_mode: MarginMode
    direction: OrderDirection
    position_side: PositionSide | None
    both: bool
    reduce_only: bool
    volume: Decimal
    order_type: str
    order_price: Decimal | None
    trigger_price: Decimal | None
    rises: bool
    callback_rate: Decimal | None
    active_price: Decimal | None
    activated: bool
    extreme: Decimal | None
    state: str
    created: int
    updated: int
    client_order_id: str | None = None
    order_id: int | None = None
    reason: str | None = None

    @property
    def is_active(self) -> bool:
        """Return whether it still rests untriggered."""
        return self.state == ACTIVE

    @property
    def trigger_type(self) -> str | None:
        """Return ``ge`` or ``le`` for a trigger order (v1's names), ``None`` for trailing."""
        if self.kind != TRIGGER:
            return None
        return "ge" if self.rises else "le"


def trigger_rises(trigger_price: Decimal, mark: Decimal, trigger_type: str | None) -> bool | None:
    """Return whether a trigger order fires on a rise (``ge``); ``None``: it cannot rest.

    ``trigger_type`` (``ge``/``le``) decides when sent; otherwise the side of the mark the
    trigger stands on. A trigger at the mark without a type would fire at once: ``None``.
    """
    if trigger_type is not None:
        return trigger_type == "ge"
    if trigger_price == mark:
        return None
    return trigger_price > mark


def activates(direction: OrderDirection, active_price: Decimal | None, mark: Decimal) -> bool:
    """Return whether a trailing order is active at ``mark``."""
    if active_price is None:
        return True
    return mark <= active_price if direction is OrderDirection.BUY else mark >= active_price


def observe(algo: AlgoOrder, mark: Decimal) -> tuple[bool, bool]:
    """Show ``mark`` to a resting order; return (it fires, its tracking state changed).

    A trailing order activates (the extreme starts at that mark) or moves its extreme; a
    trigger order only compares. The caller places the order of one that fires.
    """
    if not algo.is_active:
        return False, False
    if algo.kind == TRIGGER:
        assert algo.trigger_price is not None
        hit = mark >= algo.trigger_price if algo.rises else mark <= algo.trigger_price
        return hit, False
    buy = algo.direction is OrderDirection.BUY
    if not algo.activated or algo.extreme is None:
        if not activates(algo.direction, algo.active_price, mark):
            return False, False
        algo.activated, algo.extreme = True, mark
        return False, True
    if mark < algo.extreme if buy else mark > algo.extreme:
        algo.extreme = mark
        return False, True
    bound = fire_price(algo)
    assert bound is not None
    return (mark >= bound if buy else mark <= bound), False


def fire_price(algo: AlgoOrder) -> Decimal | None:
    """Return the mark an active trailing order fires at (``None``: not trailing, not active).

    Its extreme moved back by the callback rate; the v5 replies show it as ``formula_price``.
    """
    if algo.kind != TRAILING or algo.extreme is None:
        return None
    rate = algo.callback_rate if algo.callback_rate is not None else CALLBACK_MIN
    buy = algo.direction is OrderDirection.BUY
    return algo.extreme * (1 + rate) if buy else algo.extreme * (1 - rate)


def finish(
    algo: AlgoOrder, state: str, now: int, *, order_id: int | None = None, reason: str | None = None
) -> None:
    """Move a resting order to ``effective`` or ``canceled`` at ``now``."""
    algo.state, algo.updated = state, now
    algo.order_id, algo.reason = order_id, reason
