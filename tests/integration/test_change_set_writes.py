"""A change set is stored exactly, on SQLite (a statement per part) and on PostgreSQL (one
statement for the whole set, or ``COPY`` for large parts): every part, with one row and with
several, read back through a plain query."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from copytrade.adapters.db import schema as t
from copytrade.adapters.db.engine import make_engine, migrate
from copytrade.adapters.db.pg_uow import SharedUnitOfWork
from copytrade.adapters.db.rows import order_values, position_values
from copytrade.adapters.db.sqlite_writer import ChangeRows, write_rows
from copytrade.adapters.secrets import SecretBox
from copytrade.domain.enums import (
    CloseType,
    Liquidity,
    MarginMode,
    OrderPriceType,
    OrderStatus,
    PositionSide,
    SkipReason,
)
from copytrade.domain.model import (
    Account,
    ChangeSet,
    CopySkipped,
    FillRecord,
    Order,
    ProfitShare,
    SubPosition,
)

BOX = SecretBox(secrets.token_hex(32))
UIDS = [10_000_001, 10_000_002, 10_000_003]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'writes.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
    made = make_engine(url)
    migrate(made)
    with made.begin() as conn:  # each test starts from empty tables (the database is shared)
        for table in (t.accounts, t.positions, t.orders, t.fills, t.levers):
            conn.execute(table.delete())
        for table in (t.copy_skips, t.profit_shares):
            conn.execute(table.delete())
        conn.execute(
            t.accounts.insert(), [{"uid": u, "balance": Decimal(1000), "version": 0} for u in UIDS]
        )
    try:
        yield made
    finally:
        made.dispose()


def position(pid: int, uid: int, **changes: Any) -> SubPosition:
    p = SubPosition(
        pid, uid, "BTC-USDT", MarginMode.CROSS, PositionSide.LONG, 10, Decimal("1.5"),
        Decimal("60000.12345678"), Decimal("0.054"), Decimal("9000.018518517"), 900 + pid,
        1_700_000_000_000, lead_uid=UIDS[0] if uid != UIDS[0] else None,
    )  # fmt: skip
    for name, value in changes.items():
        setattr(p, name, value)
    return p


def order(oid: int, uid: int, **changes: Any) -> Order:
    o = Order(
        oid, uid, "ETH-USDT", MarginMode.ISOLATED, PositionSide.SHORT, OrderPriceType.LIMIT,
        Decimal("3000.5"), Decimal("2"), 5, 1_700_000_000_001,
    )  # fmt: skip
    for name, value in changes.items():
        setattr(o, name, value)
    return o


def fill(n: int, uid: int) -> FillRecord:
    return FillRecord(
        7_000 + n, uid, None if n % 2 else 900 + n, 100 + n, "BTC-USDT", PositionSide.LONG,
        "open", Decimal("60000.1"), Decimal("0.5"), Decimal("-0.01"), Liquidity.TAKER, 1_000 + n,
    )  # fmt: skip


def rows(engine: Engine, table: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        key = next(iter(table.primary_key.columns))
        return [tuple(r) for r in conn.execute(select(table).order_by(key))]


def persist(engine: Engine, changes: ChangeSet, lock: list[int]) -> None:
    """Persist as each store does: on SQLite the embedded writer's rows in one transaction, on
    PostgreSQL a unit of work that locked ``lock``."""
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            write_rows(conn, ChangeRows.of(changes))
        return
    with SharedUnitOfWork(engine, BOX) as uow:
        uow.accounts.get_many(lock)
        uow.accounts.save(changes)
        uow.commit()


@pytest.mark.parametrize("count", [1, 3])
def test_every_part_of_a_change_set_is_stored_exactly(engine: Engine, count: int) -> None:
    owners = UIDS[:count]
    changes = ChangeSet()
    for uid in owners:
        changes.touch(
            Account(uid, Decimal("1234.56789012"), spot=Decimal("0.1"), futures=Decimal("2E+3"))
        )
    new_positions = [position(100 + i, uid) for i, uid in enumerate(owners)]
    for p in new_positions:
        changes.save_position(p, new=True)
    new_orders = [order(200 + i, uid) for i, uid in enumerate(owners)]
    for o in new_orders:
        changes.save_order(o, new=True)
    for uid in owners:
        changes.set_lever(uid, ("ETH-USDT", MarginMode.ISOLATED), 7)
    changes.fills.extend(fill(i, uid) for i, uid in enumerate(owners))
    changes.skips.extend(
        CopySkipped(
            300 + i,
            UIDS[0],
            uid,
            100,
            "BTC-USDT",
            MarginMode.CROSS,
            PositionSide.LONG,
            Decimal("0.001"),
            SkipReason.BELOW_MINIMUM,
            "below 'min' \\ \"0.01\"",
            5 + i,
        )
        for i, uid in enumerate(owners)
    )
    changes.profit_shares.extend(
        ProfitShare(400 + i, UIDS[0], uid, 100, Decimal("0.12345678"), "USDT", 6 + i)
        for i, uid in enumerate(owners)
    )
    persist(engine, changes, owners)

    assert [(r[0], str(r[1]), str(r[3]), str(r[4])) for r in rows(engine, t.accounts)][:count] == [
        (uid, "1234.56789012", "0.1", "2000") for uid in owners
    ]  # exact text, no exponent
    assert rows(engine, t.positions) == [
        tuple(_stored(v) for v in position_values(p)) for p in new_positions
    ]
    assert rows(engine, t.orders) == [
        tuple(_stored(v) for v in order_values(o)) for o in new_orders
    ]
    assert [(r[0], r[2], r[3]) for r in rows(engine, t.levers)] == [
        (uid, "isolated", 7) for uid in owners
    ]
    assert [(r[0], r[2], str(r[9])) for r in rows(engine, t.fills)] == [
        (7_000 + i, None if i % 2 else 900 + i, "-0.01") for i in range(count)
    ]
    assert [r[9] for r in rows(engine, t.copy_skips)] == ["below 'min' \\ \"0.01\""] * count
    assert [str(r[4]) for r in rows(engine, t.profit_shares)] == ["0.12345678"] * count

    # then the same rows change: updates of one row and of several
    closed = [
        position(
            100 + i,
            uid,
            volume=Decimal(0),
            is_open=False,
            close_time=1_800_000_000_000,
            close_avg_price=Decimal("61000.5"),
            close_fee=Decimal("0.0366"),
            profit=Decimal("-1.25"),
            close_type=CloseType.CLOSE_ALL,
            follow_takes=Decimal("0.1"),
        )
        for i, uid in enumerate(owners)
    ]
    filled = [
        order(200 + i, uid, filled=Decimal("2"), status=OrderStatus.FILLED, sub_position_id=9)
        for i, uid in enumerate(owners)
    ]
    changes = ChangeSet()
    for p in closed:
        changes.save_position(p)
    for o in filled:
        changes.save_order(o)
    persist(engine, changes, owners[:1])  # the others' rows change without their lock

    assert rows(engine, t.positions) == [
        tuple(_stored(v) for v in position_values(p)) for p in closed
    ]
    assert rows(engine, t.orders) == [tuple(_stored(v) for v in order_values(o)) for o in filled]
    if engine.dialect.name == "postgresql":
        # every write of an account's state moves its version on, so that other processes'
        # kept copies expire: locked ones with their balance, the others by a bare bump
        assert [r[2] for r in rows(engine, t.accounts)] == [2] * count + [0] * (3 - count)


def _stored(value: Any) -> Any:
    """A row value as a plain select returns it (decimals are stored as text)."""
    return Decimal(value) if isinstance(value, str) and value[:1] in "-0123456789" else value


def test_a_copy_waves_rows_are_stored_exactly(engine: Engine) -> None:
    """Hundreds of new rows: the bulk paths (SQLite binds only what differs between fresh
    rows, PostgreSQL copies fresh rows without their NULL columns) store each row exactly,
    fresh or not."""
    owner = UIDS[0]
    changes = ChangeSet()
    changes.touch(Account(owner, Decimal("1")))
    positions = [
        position(
            1_000 + i,
            owner,
            **({"tp_trigger_price": Decimal("70000.5")} if i % 7 == 0 else {}),
            **({"follow_takes": Decimal("0.5")} if i % 11 == 0 else {}),
        )
        for i in range(300)
    ]
    orders = [
        order(5_000 + i, owner, **({} if i % 5 == 0 else {"price": None})) for i in range(300)
    ]
    for p in positions:
        changes.save_position(p, new=True)
    for o in orders:
        changes.save_order(o, new=True)
    persist(engine, changes, [owner])
    assert rows(engine, t.positions) == [
        tuple(_stored(v) for v in position_values(p)) for p in positions
    ]
    assert rows(engine, t.orders) == [tuple(_stored(v) for v in order_values(o)) for o in orders]
