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
    "CopyMode",
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
    "Wallet",
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
    NONE = "none"
    """Not a trade: a funding payment booked with the fills (offset ``funding``)."""


class SkipReason(enum.Enum):
    """Why a follower's copy was not made."""

    BELOW_MINIMUM = "below_minimum"
    INSUFFICIENT_MARGIN = "insufficient_margin"
    ABOVE_ORDER_LIMIT = "above_order_limit"
    NO_LIQUIDITY = "no_liquidity"
    CONTRACT_NOT_FOLLOWED = "contract_not_followed"
    SLIPPAGE = "slippage"
    """Market impact on: the copy's expected price is worse than the lead's past the limit."""


class CopyMode(enum.Enum):
    """How a follower sizes its copies (spec §8.1)."""

    RATIO = "ratio"  # copy = floor(ratio × lead change)
    FIXED_AMOUNT = "fixed_amount"  # each copied lead open commits this much margin


class Wallet(enum.Enum):
    """The three USDT balances of a UID."""

    SPOT = "spot"
    FUTURES = "futures"
    COPY_TRADING = "copy_trading"
