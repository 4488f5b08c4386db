"""A change set is stored exactly, on SQLite (a statement per part) and on PostgreSQL (one
statement for the whole set, or ``COPY`` for large parts): every part, with one row and with
several, read back through a plain query."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from copytrade.adapters.db import schema as t
from copytrade.adapters.db.engine import make_engine, migrate
from copytrade.adapters.db.pg_uow import SharedUnitOfWork
from copytrade.adapters.db.rows import fill_values, order_values, position_values
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


def _close(p: SubPosition, n: int) -> None:
    p.is_open = False
    p.close_time = 1_800_000_000_000 + n
    p.close_avg_price = Decimal("61000.5")
    p.close_fee = Decimal("0.0366")
    p.profit = Decimal("-1.25") if n % 2 else Decimal("2.000000000000000001")
    p.close_type = CloseType.CLOSE_ALL
    p.tp_trigger_price = p.sl_trigger_price = None


@pytest.mark.parametrize("count", [1, 300])
def test_close_only_positions_are_stored_exactly(engine: Engine, count: int) -> None:
    """Positions a change set marks close-only (``ChangeSet.closed``) are written with just the
    close's columns (SQLite a narrow UPDATE, PostgreSQL one statement or COPY into a stage):
    the rows read back are the closed positions, tp and sl cleared, nothing else touched."""
    owner = UIDS[0]
    opened = [
        position(
            1_000 + i,
            owner,
            **({"tp_trigger_price": Decimal("70000.5")} if i % 7 == 0 else {}),
            **({"sl_trigger_price": Decimal("50000")} if i % 3 == 0 else {}),
        )
        for i in range(count)
    ]
    changes = ChangeSet()
    changes.touch(Account(owner, Decimal("1")))
    for p in opened:
        changes.save_position(p, new=True)
    persist(engine, changes, [owner])

    changes = ChangeSet()
    changes.touch(Account(owner, Decimal("2")))
    for n, p in enumerate(opened):
        _close(p, n)
        changes.save_position(p)
        changes.closed.add(p.sub_position_id)
    persist(engine, changes, [owner])
    assert rows(engine, t.positions) == [
        tuple(_stored(v) for v in position_values(p)) for p in opened
    ]


def test_a_commit_group_closes_rows_written_earlier_in_it(tmp_path: Path) -> None:
    """SQLite merges a commit group's rows: a close-only row after a whole row of the same
    position (new or updated earlier in the group) becomes the whole closed row; a whole row
    after a close-only one replaces it."""
    made = make_engine(f"sqlite:///{tmp_path / 'group.db'}")
    migrate(made)
    owner = UIDS[0]
    with made.begin() as conn:
        conn.execute(t.accounts.insert(), [{"uid": owner, "balance": Decimal(1), "version": 0}])
    old = [position(1, owner, tp_trigger_price=Decimal("7")), position(2, owner)]
    first = ChangeSet()
    for p in old:
        first.save_position(p, new=True)
    with made.begin() as conn:
        write_rows(conn, ChangeRows.of(first))

    def step(*saves: tuple[SubPosition, bool, bool]) -> ChangeRows:
        changes = ChangeSet()
        for p, new, close_only in saves:
            changes.save_position(p, new=new)
            if close_only:
                changes.closed.add(p.sub_position_id)
        return ChangeRows.of(changes)

    fresh = position(3, owner, sl_trigger_price=Decimal("1"))
    old[0].volume = Decimal("0.5")  # changed earlier in the group, then closed
    group = step((fresh, True, False), (old[0], False, False))
    for n, p in enumerate((fresh, *old)):
        _close(p, n)
    group.merge(step((fresh, False, True), (old[0], False, True), (old[1], False, True)))
    assert set(group.closed) == {2}  # the others were whole rows already
    assert group.new_positions == {3}
    old[1].follow_takes = Decimal("0.25")  # a whole row after the close-only one
    group.merge(step((old[1], False, False)))
    assert set(group.closed) == set()
    with made.begin() as conn:
        write_rows(conn, group)
    try:
        assert rows(made, t.positions) == [
            tuple(_stored(v) for v in position_values(p)) for p in (*old, fresh)
        ]
    finally:
        made.dispose()


def test_many_records_with_shared_columns_are_stored_exactly(engine: Engine) -> None:
    """Hundreds of fills, skips and profit shares repeating most columns (a fan-out's): SQLite
    writes the repeated ones as literals (quotes and backslashes included), each row is stored
    exactly."""
    owner = UIDS[0]
    changes = ChangeSet()
    changes.touch(Account(owner, Decimal("1")))
    changes.fills.extend(
        FillRecord(
            9_000 + n,
            owner,
            None,
            100 + n,
            "BTC-USDT",
            PositionSide.SHORT,
            "close",
            Decimal("61000.50"),
            Decimal("2") if n % 5 else Decimal("3"),
            Decimal("0.0366"),
            Liquidity.TAKER,
            1_800_000_000_000,
        )
        for n in range(300)
    )
    detail = "below 'min' \\ \"0.01\""
    changes.skips.extend(
        CopySkipped(
            20_000 + n,
            owner,
            UIDS[1],
            100,
            "BTC-USDT",
            MarginMode.CROSS,
            PositionSide.LONG,
            Decimal("0.5"),
            SkipReason.BELOW_MINIMUM,
            detail,
            5,
        )
        for n in range(300)
    )
    changes.profit_shares.extend(
        ProfitShare(30_000 + n, owner, UIDS[1], 100, Decimal("0.10"), "USDT", 6) for n in range(300)
    )
    persist(engine, changes, [owner])
    fills = rows(engine, t.fills)
    assert [(r[0], r[2], r[6], str(r[7]), str(r[8]), str(r[9]), r[11]) for r in fills] == [
        (
            9_000 + n,
            None,
            "close",
            "61000.50",
            "3" if n % 5 == 0 else "2",
            "0.0366",
            1_800_000_000_000,
        )
        for n in range(300)
    ]
    assert [(r[0], r[9]) for r in rows(engine, t.copy_skips)] == [
        (20_000 + n, detail) for n in range(300)
    ]
    assert [(r[0], str(r[4])) for r in rows(engine, t.profit_shares)] == [
        (30_000 + n, "0.10") for n in range(300)
    ]


def test_a_waves_few_odd_rows_are_stored_exactly(engine: Engine) -> None:
    """Hundreds of rows equal in most columns but a few rows (a wave's lead row among its
    copies, a follower with other funds): SQLite writes the columns shared by all but those as
    literals and the odd rows whole; every row is stored exactly."""
    owner = UIDS[0]
    with engine.begin() as conn:
        conn.execute(
            t.accounts.insert(),
            [{"uid": 20_000 + n, "balance": Decimal(5), "version": 0} for n in range(300)],
        )
    changes = ChangeSet()
    for n in range(300):
        funds = {"spot": Decimal("7.5"), "futures": Decimal(0)} if n in (3, 150) else {}
        changes.touch(Account(20_000 + n, Decimal(f"{n}.5"), **funds))
    odd = {
        0: {"lead_uid": None, "volume": Decimal("3")},  # the lead's own
        150: {"tp_trigger_price": Decimal("70000.5")},
        151: {"volume": Decimal("1.50")},  # equal value, other text
        299: {"lead_uid": 42, "open_fee": Decimal("0.1")},
    }
    fresh = [
        position(5_000 + n, owner if n == 0 else 20_000 + n, **odd.get(n, {})) for n in range(300)
    ]
    for p in fresh:
        changes.save_position(p, new=True)
    persist(engine, changes, [owner, *(20_000 + n for n in range(300))])
    assert rows(engine, t.positions) == [
        tuple(_stored(v) for v in position_values(p)) for p in fresh
    ]
    stored = {r[0]: (r[1], r[3], r[4]) for r in rows(engine, t.accounts) if r[0] < 30_000}
    assert stored == {
        20_000 + n: (
            Decimal(f"{n}.5"),
            Decimal("7.5") if n in (3, 150) else Decimal(0),
            Decimal(0),
        )
        for n in range(300)
    }


def test_rows_around_a_prepared_wave_are_written_in_order(tmp_path: Path) -> None:
    """A fan-out's large parts are prepared as statements at render; in a commit group the
    rows staged before it are written before it and the rows staged after it after it, so the
    later state of each row wins (an account's balance, a copy updated, then closed)."""
    made = make_engine(f"sqlite:///{tmp_path / 'chain.db'}")
    migrate(made)
    uids = [30_000 + n for n in range(100)]
    with made.begin() as conn:
        conn.execute(
            t.accounts.insert(), [{"uid": u, "balance": Decimal(1), "version": 0} for u in uids]
        )
    before = ChangeSet()
    before.touch(Account(uids[0], Decimal("111")))
    before.touch(Account(uids[1], Decimal("222")))
    wave = ChangeSet()
    copies = [position(40_000 + n, u) for n, u in enumerate(uids)]
    for u in uids[1:]:
        wave.touch(Account(u, Decimal("5.5")))
    for p in copies:
        wave.save_position(p, new=True)
    after = ChangeSet()
    after.touch(Account(uids[2], Decimal("7.25")))
    grown = copies[3]
    grown.volume = Decimal("4")
    after.save_position(grown)
    shut = copies[4]
    _close(shut, 1)
    after.save_position(shut)
    after.closed.add(shut.sub_position_id)
    group = ChangeRows.of(before)
    prepared = ChangeRows.of(wave)
    assert prepared.bulk
    assert not prepared.positions
    group.merge(prepared)
    group.merge(ChangeRows.of(after))
    with made.begin() as conn:
        write_rows(conn, group)
    try:
        balances = {r[0]: r[1] for r in rows(made, t.accounts)}
        assert balances[uids[0]] == Decimal("111")  # before the wave, untouched by it
        assert balances[uids[1]] == Decimal("5.5")  # the wave's, after the earlier row
        assert balances[uids[2]] == Decimal("7.25")  # the later row's
        assert rows(made, t.positions) == [
            tuple(_stored(v) for v in position_values(p)) for p in copies
        ]
    finally:
        made.dispose()


def test_a_close_waves_alike_rows_are_stored_exactly(engine: Engine) -> None:
    """A close wave's change set: hundreds of copies closed with the same decimal objects
    (price, fee, profit) and their fills alike but for ids, a few closed or filled otherwise.
    SQLite writes the alike ones with the shared values as literals and just their ids; every
    row is stored exactly."""
    uids = [50_000 + n for n in range(200)]
    with engine.begin() as conn:
        conn.execute(
            t.accounts.insert(), [{"uid": u, "balance": Decimal(1), "version": 0} for u in uids]
        )
    opened = [position(60_000 + n, u) for n, u in enumerate(uids)]
    first = ChangeSet()
    for p in opened:
        first.save_position(p, new=True)
    first.touch(Account(uids[0], Decimal(1)))
    persist(engine, first, uids[:1])

    price, fee, profit = Decimal("61000.50"), Decimal("0.0366"), Decimal("-1.25")
    wave = ChangeSet()
    for n, (u, p) in enumerate(zip(uids, opened, strict=True)):
        wave.touch(Account(u, Decimal(f"{n}.75")))
        p.is_open, p.close_time, p.close_type = False, 1_800_000_000_000, CloseType.CLOSE_ALL
        p.close_avg_price, p.close_fee, p.profit = price, fee, profit
        p.tp_trigger_price = p.sl_trigger_price = None
        if n in (7, 150):  # equal values, other objects or texts
            p.close_fee, p.profit = Decimal("0.0366"), Decimal("-1.250")
        wave.positions[p.sub_position_id] = p
        wave.closed.add(p.sub_position_id)
        wave.fills.append(
            FillRecord(
                70_000 + n,
                u,
                None if n % 3 else 90_000 + n,
                p.sub_position_id,
                "BTC-USDT",
                PositionSide.LONG,
                "close",
                price if n != 9 else Decimal("61000.5"),
                opened[0].volume,
                fee,
                Liquidity.TAKER,
                1_800_000_000_000 + (n == 11),
            )
        )
    # (the SQLite writer's alike path: ids alone for all but the odd rows)
    prepared = {
        sql.split()[1 if sql.startswith("UPDATE") else 2]: len(params[0])
        for sql, params in ChangeRows.of(wave).bulk
    }
    assert prepared["positions"] == 1
    assert prepared["fills"] == 4
    persist(engine, wave, uids)
    assert rows(engine, t.positions) == [
        tuple(_stored(v) for v in position_values(p)) for p in opened
    ]
    assert rows(engine, t.fills) == [tuple(_stored(v) for v in fill_values(f)) for f in wave.fills]
    assert {r[0]: r[1] for r in rows(engine, t.accounts) if r[0] in uids} == {
        u: Decimal(f"{n}.75") for n, u in enumerate(uids)
    }


def test_an_open_waves_alike_rows_are_stored_exactly(engine: Engine) -> None:
    """An open wave's change set: hundreds of new copies and their orders and fills made of the
    same decimal objects (as the copy fan-out books them), the lead's own rows and a few copies
    made otherwise among them. SQLite writes the alike rows with the shared values as literals
    and just their ids; every row is stored exactly."""
    uids = [80_000 + n for n in range(150)]
    with engine.begin() as conn:
        conn.execute(
            t.accounts.insert(), [{"uid": u, "balance": Decimal(1), "version": 0} for u in uids]
        )
    volume, price, fee, margin = Decimal("2"), Decimal("60000.5"), Decimal("0.06"), Decimal("120")
    zero, notional = Decimal(0), Decimal("1200.01")
    changes = ChangeSet()
    positions, orders, fills = [], [], []
    for n, u in enumerate(uids):
        lead = n == 0
        changes.touch(Account(u, Decimal(f"{n}.125")))
        p = SubPosition(
            100_000 + n, u, "BTC-USDT", MarginMode.CROSS, PositionSide.LONG, 5,
            Decimal("3") if lead else volume, price, fee, margin, 200_000 + n, 1_700_000_000_000,
            lead_uid=None if lead else uids[0], lead_sub_position_id=None if lead else 100_000,
            follow_takes=zero, close_fee=zero,
        )  # fmt: skip
        if n == 70:
            p.position_margin = Decimal("120.0")  # equal, written otherwise
        o = Order(
            200_000 + n, u, "BTC-USDT", MarginMode.CROSS, PositionSide.LONG,
            OrderPriceType.MARKET, None, p.volume, 5, 1_700_000_000_000, filled=p.volume,
            filled_notional=notional, fee=fee, status=OrderStatus.FILLED,
            sub_position_id=p.sub_position_id, lead_uid=p.lead_uid,
            lead_sub_position_id=p.lead_sub_position_id,
        )  # fmt: skip
        if n == 90:
            o.tp_trigger_price = Decimal("70000")
        f = FillRecord(
            300_000 + n, u, o.order_id, p.sub_position_id, "BTC-USDT", PositionSide.LONG,
            "open", price, p.volume, fee, Liquidity.TAKER, 1_700_000_000_000,
        )  # fmt: skip
        changes.save_position(p, new=True)
        changes.save_order(o, new=True)
        changes.fills.append(f)
        positions.append(p)
        orders.append(o)
        fills.append(f)
    # (the SQLite writer's alike path: ids alone for all but the odd rows)
    bulk = ChangeRows.of(changes).bulk
    alike = [(sql.split()[2], len(params)) for sql, params in bulk if sql.startswith("INSERT")]
    assert alike[:3] == [("positions", 148), ("orders", 148), ("fills", 149)]
    persist(engine, changes, uids)
    assert rows(engine, t.positions) == [
        tuple(_stored(v) for v in position_values(p)) for p in positions
    ]
    assert rows(engine, t.orders) == [tuple(_stored(v) for v in order_values(o)) for o in orders]
    assert rows(engine, t.fills) == [tuple(_stored(v) for v in fill_values(f)) for f in fills]


# Values a row may differ by, for fields that are None in the rows below (any other field is
# changed from its own value). A new stored field that is None here needs an entry: the test
# says so rather than pass without checking it.
_OTHER_WHEN_NONE: dict[str, Any] = {
    "tp_trigger_price": Decimal("70000.5"),
    "sl_trigger_price": Decimal("50000.5"),
    "close_time": 1_700_000_000_500,
    "close_avg_price": Decimal("61000.5"),
    "profit": Decimal("1.25"),
    "close_type": next(iter(CloseType)),
    "price": Decimal("60100.5"),
    "order_id": 999_999,
    "sub_position_id": 999_998,
    "lead_uid": 42,
    "lead_sub_position_id": 999_997,
}


def _other(name: str, value: Any) -> Any:
    """A value of ``name`` unlike ``value`` (a new object where it is a decimal)."""
    if value is None:
        if name not in _OTHER_WHEN_NONE:
            pytest.fail(f"add a value for the new field {name!r} to _OTHER_WHEN_NONE")
        return _OTHER_WHEN_NONE[name]
    if isinstance(value, Enum):
        return next(m for m in type(value) if m is not value)
    if isinstance(value, bool):
        return not value
    if isinstance(value, Decimal):
        return value + Decimal("0.5")
    if isinstance(value, int):
        return value + 500_000  # an id stays unique
    if isinstance(value, str):
        return {"BTC-USDT": "ETH-USDT", "open": "close"}.get(value, value + "X")
    pytest.fail(f"no other value known for {name}={value!r}")


@pytest.mark.parametrize("kind", ["positions", "orders", "fills"])
def test_a_row_unlike_its_wave_in_any_stored_field_is_stored_exactly(
    tmp_path: Path, kind: str
) -> None:
    """The SQLite writer writes a wave's rows alike but for their ids as one statement with the
    shared values as literals, telling them alike field by field. For every field of the
    record, one row of a wave differs in just that field: it must be stored as it is, never
    with its neighbours' value (a field added to the record but not to that comparison)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'alike.db'}")
    migrate(engine)
    table = {"positions": t.positions, "orders": t.orders, "fills": t.fills}[kind]
    values = {"positions": position_values, "orders": order_values, "fills": fill_values}[kind]
    volume, price, fee, zero = Decimal("2"), Decimal("60000.5"), Decimal("0.06"), Decimal(0)

    def record(n: int) -> Any:
        uid = 1_000 + n
        if kind == "positions":
            return SubPosition(
                n, uid, "BTC-USDT", MarginMode.CROSS, PositionSide.LONG, 5, volume, price, fee,
                price, 100_000 + n, 1_700_000_000_000, lead_uid=None, follow_takes=zero,
                close_fee=zero,
            )  # fmt: skip
        if kind == "orders":
            return Order(
                n, uid, "BTC-USDT", MarginMode.CROSS, PositionSide.LONG, OrderPriceType.MARKET,
                None, volume, 5, 1_700_000_000_000, filled=volume, filled_notional=price,
                fee=fee, status=OrderStatus.FILLED, sub_position_id=None,
            )  # fmt: skip
        return FillRecord(
            n, uid, None, 200_000, "BTC-USDT", PositionSide.LONG, "open", price, volume, fee,
            Liquidity.TAKER, 1_700_000_000_000,
        )  # fmt: skip

    odd_row = 150
    for wave, f in enumerate(dataclasses.fields(record(0))):
        base = wave * 1_000
        records = [record(base + n) for n in range(300)]
        probe = records[odd_row]
        changed = _other(f.name, getattr(probe, f.name))
        if kind == "fills":  # frozen
            records[odd_row] = dataclasses.replace(probe, **{f.name: changed})
        else:
            setattr(probe, f.name, changed)
        changes = ChangeSet()
        for r in records:
            changes.touch(Account(r.uid, Decimal(1)))  # a wave: many accounts
            if kind == "positions":
                changes.save_position(r, new=True)
            elif kind == "orders":
                changes.save_order(r, new=True)
            else:
                changes.fills.append(r)
        bulk = ChangeRows.of(changes).bulk
        alike = [len(p) for sql, p in bulk if sql.startswith("INSERT") and f" {kind} " in sql]
        assert alike, f"{kind}: the wave did not take the alike path (changing {f.name})"
        with engine.begin() as conn:
            write_rows(conn, ChangeRows.of(changes))
        key = next(iter(table.primary_key.columns))
        with engine.connect() as conn:
            stored = conn.execute(
                select(table).where(key.in_([values(r)[0] for r in records])).order_by(key)
            )
            got = {row[0]: tuple(row) for row in stored}
        want = {values(r)[0]: tuple(_stored(v) for v in values(r)) for r in records}
        assert got == want, f"{kind}: a row differing only in {f.name} was stored otherwise"
    engine.dispose()
