"""Row conversions: what the adapter writes reads back as the same domain object."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import select, text

from copytrade.adapters.db import schema as t
from copytrade.adapters.db.engine import make_engine, migrate
from copytrade.adapters.db.rows import (
    order_from_row,
    order_values,
    position_from_row,
    position_values,
)
from copytrade.domain.enums import (
    CloseType,
    MarginMode,
    OrderPriceType,
    OrderStatus,
    PositionSide,
)
from copytrade.domain.model import Order, SubPosition


def test_sub_positions_and_orders_round_trip_exactly(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'rows.db'}")
    migrate(engine)
    closed = SubPosition(
        sub_position_id=9_000_000_000_000_000_001,
        uid=10_000_001,
        contract_code="BTC-USDT",
        margin_mode=MarginMode.ISOLATED,
        side=PositionSide.SHORT,
        lever=5,
        volume=Decimal(10),
        open_avg_price=Decimal("60506.1"),
        open_fee=Decimal("0.3630366"),
        position_margin=Decimal("120.6491634"),
        open_order_id=42,
        open_time=1_719_304_200_000,
        tp_trigger_price=None,
        sl_trigger_price=Decimal("62000.5"),
        lead_uid=10_000_000,
        lead_sub_position_id=7,
        is_open=False,
        close_time=1_719_304_300_000,
        close_avg_price=Decimal("60493.9"),
        close_fee=Decimal("0.36296340"),
        profit=Decimal("-0.000000000000000001"),
        close_type=CloseType.LIQUIDATION,
        follow_takes=Decimal("0.1"),
    )
    resting = Order(
        order_id=43,
        uid=10_000_001,
        contract_code="ETH-USDT",
        margin_mode=MarginMode.CROSS,
        side=PositionSide.LONG,
        price_type=OrderPriceType.LIMIT,
        price=Decimal("2999.99"),
        volume=Decimal(3),
        lever=20,
        created_at=1,
        filled=Decimal(1),
        filled_notional=Decimal("2999.99"),
        fee=Decimal("0.0059999800"),
        status=OrderStatus.OPEN,
    )
    with engine.begin() as conn:
        for table, row in (
            ("positions", position_values(closed)),
            ("orders", order_values(resting)),
        ):
            names = [c.name for c in t.metadata.tables[table].columns]
            assert len(row) == len(names)
            marks = ", ".join(f":{n}" for n in names)
            conn.execute(
                text(f"INSERT INTO {table} VALUES ({marks})"), dict(zip(names, row, strict=True))
            )
        back_position = position_from_row(conn.execute(select(t.positions)).one())
        back_order = order_from_row(conn.execute(select(t.orders)).one())
    assert back_position == closed
    assert back_order == resting
