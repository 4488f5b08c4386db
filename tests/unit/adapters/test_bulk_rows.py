"""A fan-out's change set (many accounts) is rendered by the embedded writer's bulk renderers,
which format each decimal object once: the rows are exactly rows.py's, field for field, with
shared and distinct decimals, None and set optional fields, closed and whole positions; its
large parts are prepared as statements at render."""

from __future__ import annotations

from decimal import Decimal

from copytrade.adapters.db.rows import (
    closed_values,
    fill_values,
    order_values,
    position_values,
)
from copytrade.adapters.db.sqlite_writer import (
    _MANY,
    ChangeRows,
    _balance_rows,
    _closed_rows,
    _fill_rows,
    _order_rows,
    _position_rows,
    _split_shared,
    _Texts,
)
from copytrade.domain.enums import (
    CloseType,
    Liquidity,
    MarginMode,
    OrderPriceType,
    OrderStatus,
    PositionSide,
)
from copytrade.domain.model import Account, ChangeSet, FillRecord, Order, SubPosition

SHARED = Decimal("60000.10")
ZERO = Decimal(0)


def _changes(count: int) -> ChangeSet:
    changes = ChangeSet()
    for n in range(count):
        uid = 1_000 + n
        # a decimal shared by every row, one per row, and equal values written differently
        volume = Decimal("2") if n % 3 else Decimal(f"{n}.500")
        changes.touch(Account(uid, Decimal(f"{n}.25"), spot=ZERO, futures=Decimal("1E+2")))
        p = SubPosition(
            10_000 + n, uid, "BTC-USDT", MarginMode.CROSS if n % 2 else MarginMode.ISOLATED,
            PositionSide.LONG if n % 4 else PositionSide.SHORT, 5, volume, SHARED,
            Decimal("0.0300"), Decimal(n), 20_000 + n, 1_700_000_000_000,
            tp_trigger_price=Decimal("70000") if n % 5 == 0 else None,
            sl_trigger_price=SHARED if n % 7 == 0 else None,
            lead_uid=1 if n else None, lead_sub_position_id=9 if n else None,
        )  # fmt: skip
        if n % 6 == 0:
            p.is_open, p.close_time, p.close_avg_price = False, 5 + n, SHARED
            p.close_fee, p.profit, p.close_type = Decimal("0.1"), Decimal(-n), CloseType.CLOSE_ALL
        changes.save_position(p, new=n % 2 == 0)
        if n % 6 == 3:
            p.is_open, p.close_time, p.close_avg_price = False, 7, SHARED
            p.profit, p.close_type = Decimal("1.000"), CloseType.TAKE_PROFIT
            changes.closed.add(p.sub_position_id)
        o = Order(
            20_000 + n, uid, "BTC-USDT", MarginMode.CROSS, PositionSide.LONG,
            OrderPriceType.LIMIT if n % 3 == 0 else OrderPriceType.MARKET,
            SHARED if n % 3 == 0 else None, volume, 5, 1_700_000_000_000,
            tp_trigger_price=Decimal("1.5") if n % 8 == 0 else None,
            filled=volume, filled_notional=Decimal("12.5"), fee=ZERO,
            status=OrderStatus.FILLED, sub_position_id=p.sub_position_id,
        )  # fmt: skip
        changes.save_order(o, new=n % 2 == 1)
        fill = FillRecord(
            30_000 + n, uid, o.order_id, p.sub_position_id, "BTC-USDT", PositionSide.LONG,
            "open", SHARED, volume, Decimal(f"-0.{n}1"), Liquidity.TAKER, 1_700_000_000_000,
        )  # fmt: skip
        changes.fills.append(fill)
    return changes


def test_a_fan_outs_rows_are_rows_py_rows() -> None:
    changes = _changes(3 * _MANY)
    closed = changes.closed
    assert closed
    positions = changes.positions
    texts = _Texts()
    assert _balance_rows(changes.accounts, texts) == {
        uid: (format(a.balance, "f"), format(a.spot, "f"), format(a.futures, "f"))
        for uid, a in changes.accounts.items()
    }
    assert _closed_rows([positions[i] for i in closed], texts) == [
        closed_values(positions[i]) for i in closed
    ]
    assert _position_rows(list(positions.values()), texts) == [
        position_values(p) for p in positions.values()
    ]
    orders = list(changes.orders.values())
    assert _order_rows(orders, texts) == [order_values(o) for o in orders]
    assert _fill_rows(changes.fills, texts) == [fill_values(f) for f in changes.fills]
    # rendered in full: the parts too mixed to prepare stay keyed (updates among new rows)
    rows = ChangeRows.of(changes, pause=lambda: None)
    assert rows.positions == {
        i: position_values(p) for i, p in positions.items() if i not in closed
    }
    assert rows.new_positions == changes.new_positions
    assert rows.orders == {i: order_values(o) for i, o in changes.orders.items()}
    assert rows.closed == {i: closed_values(positions[i]) for i in closed}  # too few
    assert not rows.fills  # prepared
    assert not rows.balances
    assert [sql.split()[:3] for sql, _ in rows.bulk] == [
        ["UPDATE", "accounts", "SET"],
        ["INSERT", "INTO", "fills"],
    ]


def test_a_column_shared_but_by_a_few_rows_is_shared_and_those_rows_are_set_apart() -> None:
    rows = [(n, "BTC", "1", None, 5) for n in range(320)]
    rows[0] = (0, "BTC", "3", 7, 5)  # the lead's row: differs in two columns
    rows[200] = (200, "BTC", "1", 8, 5)
    rows[201] = (201, "ETH", "1", None, 5)
    whole = list(rows)
    shared, outliers = _split_shared(rows, 5)
    assert shared == {1: "BTC", 2: "1", 3: None, 4: 5}
    assert outliers == [whole[0], whole[200], whole[201]]
    assert rows == [r for n, r in enumerate(whole) if n not in (0, 200, 201)]
    # too many odd rows: the column is bound (its rows stay)
    rows = [(n, n % 3) for n in range(320)]
    assert _split_shared(rows, 2) == ({}, [])
    assert len(rows) == 320
