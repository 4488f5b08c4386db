"""HTX's wire vocabulary as enums: the one definition shared by the domain, server and SDK.

Every member's value is its wire value (``"isolated"``, ``1``), so a member compares equal to
what HTX sends and renders as it. String vocabularies are :class:`enum.StrEnum`, numeric ones
:class:`enum.IntEnum`. The domain re-exports these (``copytrade.domain.enums``) rather than
defining its own: one identity per concept, and this module imports only the stdlib.
"""

from __future__ import annotations

import enum


class MarginMode(enum.StrEnum):
    """``margin_mode``: isolated or cross margin."""

    ISOLATED = "isolated"
    CROSS = "cross"


class PositionSide(enum.StrEnum):
    """``position_side``: the hedge-mode side of a position."""

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


class CloseType(enum.IntEnum):
    """``close_type`` of a closed sub position (spec §6.12, §8.6 Q11)."""

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


class Direct(enum.StrEnum):
    """Paging direction: ``next`` oldest first, ``prev`` newest first."""

    NEXT = "next"
    PREV = "prev"


class MarginAdjustType(enum.IntEnum):
    """``add_margin`` ``type``."""

    ADD = 1
    REDUCE = 2


class TransferType(enum.IntEnum):
    """``account_transfer`` ``type``."""

    FUTURES_TO_COPY = 1
    COPY_TO_FUTURES = 2
    SPOT_TO_COPY = 3
    COPY_TO_SPOT = 4


class TriggerType(enum.StrEnum):
    """``trigger_type`` of a TP/SL order: fires when the price is ``ge``/``le`` the trigger."""

    GE = "ge"
    LE = "le"


class TpslOrderType(enum.StrEnum):
    """``tpsl_order_type``: take-profit or stop-loss."""

    TAKE_PROFIT = "tp"
    STOP_LOSS = "sl"
