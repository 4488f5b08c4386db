"""HTX vocabulary as enums."""

from __future__ import annotations

import enum


class MarginMode(enum.Enum):
    """Isolated or cross margin."""

    ISOLATED = "isolated"
    CROSS = "cross"


class PositionSide(enum.Enum):
    """Hedge-mode position side."""

    LONG = "long"
    SHORT = "short"

    @property
    def opposite(self) -> PositionSide:
        """Return the other side."""
        return PositionSide.SHORT if self is PositionSide.LONG else PositionSide.LONG


class OrderDirection(enum.IntEnum):
    """``order_direction``: 1 buy opens a long, 2 sell opens a short."""

    BUY = 1
    SELL = 2

    @property
    def opens(self) -> PositionSide:
        """Return the side this direction opens."""
        return PositionSide.LONG if self is OrderDirection.BUY else PositionSide.SHORT


class OrderPriceType(enum.IntEnum):
    """``order_price_type`` codes accepted by ``place_order`` (spec §7.1)."""

    LIMIT = 1
    OPPONENT = 2
    OPTIMAL_20 = 6
    FOK = 8
    OPPONENT_FOK = 13
    OPTIMAL_20_FOK = 16
    MARKET = 17

    @property
    def needs_price(self) -> bool:
        """Return whether the type carries a limit price."""
        return self in (OrderPriceType.LIMIT, OrderPriceType.FOK)

    @property
    def fill_or_kill(self) -> bool:
        """Return whether the order fills completely at once or not at all."""
        return self in (
            OrderPriceType.FOK,
            OrderPriceType.OPPONENT_FOK,
            OrderPriceType.OPTIMAL_20_FOK,
        )

    @property
    def rests(self) -> bool:
        """Return whether an unfilled remainder rests on the book."""
        return self in (OrderPriceType.LIMIT, OrderPriceType.OPPONENT, OrderPriceType.OPTIMAL_20)


class OrderStatus(enum.Enum):
    """Lifecycle of an opening order."""

    OPEN = "open"
    FILLED = "filled"
    CANCELLED = "cancelled"


class CloseType(enum.IntEnum):
    """``close_type`` of a closed sub position (spec §8.6 Q11)."""

    CLOSE_ORDER = 1
    CLOSE_ALL = 2
    TAKE_PROFIT = 3
    STOP_LOSS = 4
    LIQUIDATION = 5
    SYSTEM = 6
    UNFOLLOW = 7
    COPY_TAKE_PROFIT = 8
    COPY_STOP_LOSS = 9
    COPY_TOTAL_STOP = 10


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
    CONTRACT_NOT_FOLLOWED = "contract_not_followed"


class CopyMode(enum.Enum):
    """How a follower sizes its copies (spec §8.1)."""

    RATIO = "ratio"  # copy = floor(ratio × lead change)
    FIXED_AMOUNT = "fixed_amount"  # each copied lead open commits this much margin


class MarginAdjust(enum.IntEnum):
    """``add_margin.type``: 1 adds margin to an isolated position, 2 reduces it."""

    ADD = 1
    REDUCE = 2


class TransferType(enum.IntEnum):
    """``account_transfer.type`` (spec §6.6): which account pays and which receives."""

    FUTURES_TO_COPY = 1
    COPY_TO_FUTURES = 2
    SPOT_TO_COPY = 3
    COPY_TO_SPOT = 4


class Wallet(enum.Enum):
    """The three USDT balances of a UID."""

    SPOT = "spot"
    FUTURES = "futures"
    COPY_TRADING = "copy_trading"


class TpslKind(enum.Enum):
    """``tpsl_order_type`` of a trigger."""

    TAKE_PROFIT = "tp"
    STOP_LOSS = "sl"


class TriggerType(enum.Enum):
    """``trigger_type``: fire when the price is ≥ (``ge``) or ≤ (``le``) the trigger."""

    GE = "ge"
    LE = "le"
