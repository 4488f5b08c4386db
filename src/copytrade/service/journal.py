"""How v5 shows an order: the core's order with what v5 says beyond it.

Orders placed through v5 are kept by the store with their :class:`~copytrade.domain.model.
OrderTag`; other orders (v1's, copies) are shown as :func:`entry_for` derives them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from copytrade.domain.enums import OrderPriceType, PositionSide
from copytrade.domain.model import Order


@dataclass(frozen=True, slots=True)
class Entry:
    """One order as v5 shows it: the core's order (a snapshot) and the v5 attributes.

    Attributes:
        position_side: ``long``/``short``, or ``both`` for an order of a one-way account.
    """

    order: Order
    side: str
    reduce_only: bool
    kind: str
    tif: str
    client_order_id: str | None
    updated: int
    position_side: str = ""

    @property
    def position_side_shown(self) -> str:
        """Return the ``position_side`` v5 shows (the order's side unless recorded)."""
        return self.position_side or self.order.side.value


def entry_for(order: Order, updated: int) -> Entry:
    """Return the entry of an opening order placed without v5 attributes (v1, copies)."""
    market = order.price_type in (OrderPriceType.MARKET, OrderPriceType.OPPONENT_FOK)
    return Entry(
        replace(order),
        "buy" if order.side is PositionSide.LONG else "sell",
        False,
        "market" if market else "limit",
        "fok" if order.price_type.fill_or_kill else "gtc",
        None,
        updated,
    )
