"""Explicit row <-> domain conversions (no ORM instrumentation of domain classes)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Row

from copytrade.domain.enums import (
    CloseType,
    MarginMode,
    OrderPriceType,
    OrderStatus,
    PositionSide,
)
from copytrade.domain.model import Order, SubPosition

_ZERO = Decimal(0)


def position_from_row(r: Row[Any]) -> SubPosition:
    """Build a sub position from a ``positions`` row."""
    return SubPosition(
        sub_position_id=r.sub_position_id,
        uid=r.uid,
        contract_code=r.contract_code,
        margin_mode=MarginMode(r.margin_mode),
        side=PositionSide(r.side),
        lever=r.lever,
        volume=r.volume,
        open_avg_price=r.open_avg_price,
        open_fee=r.open_fee,
        position_margin=r.position_margin,
        open_order_id=r.open_order_id,
        open_time=r.open_time,
        tp_trigger_price=r.tp_trigger_price,
        sl_trigger_price=r.sl_trigger_price,
        lead_uid=r.lead_uid,
        lead_sub_position_id=r.lead_sub_position_id,
        is_open=r.is_open,
        close_time=r.close_time,
        close_avg_price=r.close_avg_price,
        close_fee=r.close_fee,
        profit=r.profit,
        close_type=CloseType(r.close_type) if r.close_type else None,
        follow_takes=r.follow_takes,
    )


def position_to_row(p: SubPosition) -> dict[str, Any]:
    """Return the ``positions`` row of a sub position."""
    return {
        "sub_position_id": p.sub_position_id,
        "uid": p.uid,
        "contract_code": p.contract_code,
        "margin_mode": p.margin_mode.value,
        "side": p.side.value,
        "lever": p.lever,
        "volume": p.volume,
        "open_avg_price": p.open_avg_price,
        "open_fee": p.open_fee,
        "position_margin": p.position_margin,
        "open_order_id": p.open_order_id,
        "open_time": p.open_time,
        "tp_trigger_price": p.tp_trigger_price,
        "sl_trigger_price": p.sl_trigger_price,
        "lead_uid": p.lead_uid,
        "lead_sub_position_id": p.lead_sub_position_id,
        "is_open": p.is_open,
        "close_time": p.close_time,
        "close_avg_price": p.close_avg_price,
        "close_fee": p.close_fee,
        "profit": p.profit,
        "close_type": int(p.close_type) if p.close_type is not None else None,
        "follow_takes": p.follow_takes,
    }


def order_from_row(r: Row[Any]) -> Order:
    """Build an order from an ``orders`` row."""
    return Order(
        order_id=r.order_id,
        uid=r.uid,
        contract_code=r.contract_code,
        margin_mode=MarginMode(r.margin_mode),
        side=PositionSide(r.side),
        price_type=OrderPriceType(r.price_type),
        price=r.price,
        volume=r.volume,
        lever=r.lever,
        created_at=r.created_at,
        tp_trigger_price=r.tp_trigger_price,
        sl_trigger_price=r.sl_trigger_price,
        filled=r.filled,
        filled_notional=r.filled_notional,
        fee=r.fee,
        status=OrderStatus(r.status),
        sub_position_id=r.sub_position_id,
        lead_uid=r.lead_uid,
        lead_sub_position_id=r.lead_sub_position_id,
    )


def order_to_row(o: Order) -> dict[str, Any]:
    """Return the ``orders`` row of an order."""
    return {
        "order_id": o.order_id,
        "uid": o.uid,
        "contract_code": o.contract_code,
        "margin_mode": o.margin_mode.value,
        "side": o.side.value,
        "price_type": int(o.price_type),
        "price": o.price,
        "volume": o.volume,
        "lever": o.lever,
        "created_at": o.created_at,
        "tp_trigger_price": o.tp_trigger_price,
        "sl_trigger_price": o.sl_trigger_price,
        "filled": o.filled,
        "filled_notional": o.filled_notional,
        "fee": o.fee,
        "status": o.status.value,
        "sub_position_id": o.sub_position_id,
        "lead_uid": o.lead_uid,
        "lead_sub_position_id": o.lead_sub_position_id,
    }
