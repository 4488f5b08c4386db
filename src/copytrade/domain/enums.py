"""HTX vocabulary as enums.

The wire vocabulary (margin modes, sides, directions, price types, close types) is defined once
in :mod:`copytrade.protocol.enums`, a stdlib-only leaf module, and re-exported here: the domain,
the server and the SDK share one class per concept, so nothing converts between twins. The
enums below are the domain's own (they never travel on the wire).
"""

from __future__ import annotations

import enum

from copytrade.protocol.enums import (
    CloseType,
    MarginMode,
    OrderDirection,
    OrderPriceType,
    PositionSide,
    TransferType,
    TriggerType,
)
from copytrade.protocol.enums import MarginAdjustType as MarginAdjust
from copytrade.protocol.enums import TpslOrderType as TpslKind

__all__ = [
    "CloseType",
    "Liquidity",
    "MarginAdjust",
    "MarginMode",
    "OrderDirection",
    "OrderPriceType",
    "OrderStatus",
    "PositionSide",
    "SkipReason",
    "TpslKind",
    "TransferType",
    "TriggerType",
]


class OrderStatus(enum.Enum):
    """Lifecycle of an opening order."""

    OPEN = "open"
    FILLED = "filled"
    CANCELLED = "cancelled"


class Liquidity(enum.Enum):
    """Fee role of a fill."""

    MAKER = "maker"
    TAKER = "taker"


class SkipReason(enum.Enum):
    """Why a follower's copy was not made."""

    BELOW_MINIMUM = "below_minimum"
    INSUFFICIENT_MARGIN = "insufficient_margin"
    ABOVE_ORDER_LIMIT = "above_order_limit"
    NO_LIQUIDITY = "no_liquidity"
