"""Structures of the emulator's own ``/_sim/`` API, declared like HTX's (plain JSON, not HTX).

Field names follow HTX's where it has one; every decimal is printed exactly (``DEC``).
"""

from __future__ import annotations

from decimal import Decimal

from copytrade.protocol.enums import CloseType, MarginMode, PositionSide
from copytrade.protocol.schema import DEC, ID, INT, INT_STR, STR, Struct, structure, wire


@structure
class SimPosition(Struct):
    """A sub position, open or closed, with the copy link of a follower's copy."""

    label = "sim position"
    sub_position_id: str = wire(ID)
    contract_code: str = wire(STR)
    margin_mode: MarginMode = wire()
    position_side: PositionSide = wire()
    lever: int = wire(INT_STR)
    volume: Decimal = wire(DEC)
    open_avg_price: Decimal = wire(DEC)
    open_fee: Decimal = wire(DEC)
    position_margin: Decimal = wire(DEC)
    open_time: int = wire(INT)
    open_order_id: str = wire(ID)
    lead_uid: int | None = wire(INT)
    lead_sub_position_id: str | None = wire(ID)
    close_time: int | None = wire(INT)
    close_avg_price: Decimal | None = wire(DEC)
    close_fee: Decimal = wire(DEC)
    profit: Decimal | None = wire(DEC)
    close_type: CloseType | None = wire()
    follow_takes: Decimal = wire(DEC)


@structure
class SimOrder(Struct):
    """A resting opening order."""

    label = "sim order"
    order_id: str = wire(ID)
    contract_code: str = wire(STR)
    margin_mode: MarginMode = wire()
    position_side: PositionSide = wire()
    price: Decimal | None = wire(DEC)
    volume: Decimal = wire(DEC)
    filled: Decimal = wire(DEC)
    lever: int = wire(INT)


@structure
class SimAccount(Struct):
    """A user's balances (``balance``: copy trading; ``spot``, ``futures``), positions, orders."""

    label = "sim account"
    balance: Decimal = wire(DEC)
    positions: tuple[SimPosition, ...] = wire()
    open_orders: tuple[SimOrder, ...] = wire()
    spot: Decimal = wire(DEC)
    futures: Decimal = wire(DEC)
