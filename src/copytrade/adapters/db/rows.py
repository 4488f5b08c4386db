"""Explicit row <-> domain conversions (no ORM instrumentation of domain classes)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from copytrade.domain.algo import AlgoOrder
from copytrade.domain.enums import (
    CloseType,
    MarginMode,
    OrderDirection,
    OrderPriceType,
    OrderStatus,
    PositionSide,
)
from copytrade.domain.model import (
    CopySkipped,
    FillRecord,
    Order,
    OrderTag,
    ProfitShare,
    SubPosition,
)

_ZERO = Decimal(0)


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def position_from_row(r: Sequence[Any]) -> SubPosition:
    """Build a sub position from a ``positions`` row in schema column order.

    The row is a driver tuple (bulk loads read through the driver's cursor: SQLAlchemy's
    per-cell result processing cost more than the rest of loading 10,000 followers) or a
    SQLAlchemy ``Row`` of ``select(positions)``; decimals come as text or as ``Decimal``.
    """
    return SubPosition(
        sub_position_id=r[0],
        uid=r[1],
        contract_code=r[2],
        margin_mode=MarginMode(r[3]),
        side=PositionSide(r[4]),
        lever=r[5],
        volume=Decimal(r[6]),
        open_avg_price=Decimal(r[7]),
        open_fee=Decimal(r[8]),
        position_margin=Decimal(r[9]),
        open_order_id=r[10],
        open_time=r[11],
        tp_trigger_price=_decimal(r[12]),
        sl_trigger_price=_decimal(r[13]),
        lead_uid=r[14],
        lead_sub_position_id=r[15],
        is_open=bool(r[16]),
        close_time=r[17],
        close_avg_price=_decimal(r[18]),
        close_fee=Decimal(r[19]),
        profit=_decimal(r[20]),
        close_type=CloseType(r[21]) if r[21] else None,
        follow_takes=Decimal(r[22]),
    )


def order_from_row(r: Sequence[Any]) -> Order:
    """Build an order from an ``orders`` row in schema column order (see position_from_row)."""
    return Order(
        order_id=r[0],
        uid=r[1],
        contract_code=r[2],
        margin_mode=MarginMode(r[3]),
        side=PositionSide(r[4]),
        price_type=OrderPriceType(r[5]),
        price=_decimal(r[6]),
        volume=Decimal(r[7]),
        lever=r[8],
        created_at=r[9],
        tp_trigger_price=_decimal(r[10]),
        sl_trigger_price=_decimal(r[11]),
        filled=Decimal(r[12]),
        filled_notional=Decimal(r[13]),
        fee=Decimal(r[14]),
        status=OrderStatus(r[15]),
        sub_position_id=r[16],
        lead_uid=r[17],
        lead_sub_position_id=r[18],
    )


def _text(value: Decimal | None) -> str | None:
    """Return a decimal's exact text (how the schema stores money and volumes)."""
    return None if value is None else format(value, "f")


def position_values(p: SubPosition) -> tuple[Any, ...]:
    """Return a sub position's ``positions`` row, in column order, decimals as text.

    Hot path (every write of a position): non-null decimals are formatted in place, and enum
    members give their stored ``_value_`` (``.value`` is a descriptor call).
    """
    return (
        p.sub_position_id,
        p.uid,
        p.contract_code,
        p.margin_mode._value_,
        p.side._value_,
        p.lever,
        format(p.volume, "f"),
        format(p.open_avg_price, "f"),
        format(p.open_fee, "f"),
        format(p.position_margin, "f"),
        p.open_order_id,
        p.open_time,
        _text(p.tp_trigger_price),
        _text(p.sl_trigger_price),
        p.lead_uid,
        p.lead_sub_position_id,
        p.is_open,
        p.close_time,
        _text(p.close_avg_price),
        format(p.close_fee, "f"),
        _text(p.profit),
        p.close_type._value_ if p.close_type is not None else None,
        format(p.follow_takes, "f"),
    )


CLOSED_COLUMNS = (
    "is_open",
    "tp_trigger_price",
    "sl_trigger_price",
    "close_time",
    "close_avg_price",
    "close_fee",
    "profit",
    "close_type",
)
"""The ``positions`` columns a close sets (``ChangeSet.closed``): is_open false, tp and sl
cleared, then the values of :func:`closed_values`."""


def closed_values(p: SubPosition) -> tuple[Any, ...]:
    """Return a closed position's close_time … close_type (columns 17-21), then its key."""
    return (
        p.close_time,
        _text(p.close_avg_price),
        format(p.close_fee, "f"),
        _text(p.profit),
        p.close_type._value_ if p.close_type is not None else None,
        p.sub_position_id,
    )


def order_values(o: Order) -> tuple[Any, ...]:
    """Return an order's ``orders`` row, in column order, decimals as text (as above)."""
    return (
        o.order_id,
        o.uid,
        o.contract_code,
        o.margin_mode._value_,
        o.side._value_,
        o.price_type._value_,
        _text(o.price),
        format(o.volume, "f"),
        o.lever,
        o.created_at,
        _text(o.tp_trigger_price),
        _text(o.sl_trigger_price),
        format(o.filled, "f"),
        format(o.filled_notional, "f"),
        format(o.fee, "f"),
        o.status._value_,
        o.sub_position_id,
        o.lead_uid,
        o.lead_sub_position_id,
    )


def fill_values(f: FillRecord) -> tuple[Any, ...]:
    """Return a fill's ``fills`` row, in column order, decimals as text."""
    return (
        f.trade_id,
        f.uid,
        f.order_id,
        f.sub_position_id,
        f.contract_code,
        f.side._value_,
        f.offset,
        format(f.price, "f"),
        format(f.volume, "f"),
        format(f.fee, "f"),
        f.liquidity._value_,
        f.ts,
    )


def skip_values(s: CopySkipped) -> tuple[Any, ...]:
    """Return a skipped copy's ``copy_skips`` row, in column order, decimals as text."""
    return (
        s.skip_id,
        s.trader_uid,
        s.follower_uid,
        s.lead_sub_position_id,
        s.contract_code,
        s.margin_mode._value_,
        s.side._value_,
        format(s.wanted_volume, "f"),
        s.reason._value_,
        s.detail,
        s.ts,
    )


def share_values(s: ProfitShare) -> tuple[Any, ...]:
    """Return a profit share's ``profit_shares`` row, in column order, decimals as text."""
    return (
        s.item_id,
        s.trader_uid,
        s.follower_uid,
        s.lead_sub_position_id,
        format(s.amount, "f"),
        s.currency,
        s.ts,
    )


def tag_values(g: OrderTag) -> tuple[Any, ...]:
    """Return a v5 order's ``v5_orders`` row, in column order."""
    return (
        g.uid,
        g.order_id,
        g.direction,
        g.position_side,
        g.reduce_only,
        g.kind,
        g.tif,
        g.client_order_id,
    )


def algo_values(a: AlgoOrder) -> tuple[Any, ...]:
    """Return a trigger or trailing order's ``algo_orders`` row, in column order."""
    body = {
        "kind": a.kind,
        "margin_mode": a.margin_mode.value,
        "direction": a.direction.name.lower(),
        "position_side": a.position_side.value if a.position_side is not None else None,
        "both": a.both,
        "reduce_only": a.reduce_only,
        "volume": format(a.volume, "f"),
        "order_type": a.order_type,
        "order_price": _text(a.order_price),
        "trigger_price": _text(a.trigger_price),
        "rises": a.rises,
        "callback_rate": _text(a.callback_rate),
        "active_price": _text(a.active_price),
        "activated": a.activated,
        "extreme": _text(a.extreme),
        "client_order_id": a.client_order_id,
        "order_id": a.order_id,
        "reason": a.reason,
    }
    return (
        a.algo_id,
        a.uid,
        a.contract_code,
        a.state,
        a.created,
        a.updated,
        json.dumps(body, separators=(",", ":")),
    )


def algo_from_row(r: Sequence[Any]) -> AlgoOrder:
    """Build a trigger or trailing order from an ``algo_orders`` row in column order."""
    b = json.loads(r[6])
    side = b["position_side"]
    return AlgoOrder(
        algo_id=r[0],
        uid=r[1],
        kind=b["kind"],
        contract_code=r[2],
        margin_mode=MarginMode(b["margin_mode"]),
        direction=OrderDirection[b["direction"].upper()],
        position_side=PositionSide(side) if side is not None else None,
        both=b["both"],
        reduce_only=b["reduce_only"],
        volume=Decimal(b["volume"]),
        order_type=b["order_type"],
        order_price=_decimal(b["order_price"]),
        trigger_price=_decimal(b["trigger_price"]),
        rises=b["rises"],
        callback_rate=_decimal(b["callback_rate"]),
        active_price=_decimal(b["active_price"]),
        activated=b["activated"],
        extreme=_decimal(b["extreme"]),
        state=r[3],
        created=r[4],
        updated=r[5],
        client_order_id=b["client_order_id"],
        order_id=b["order_id"],
        reason=b["reason"],
    )
