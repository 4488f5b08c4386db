"""The shared store's change-set writer (PostgreSQL).

A change set goes out as one statement (:mod:`.pgwrite`), or through ``COPY`` for the tables
with many rows (a lead fill copied to thousands of followers). Every account whose state changed
gets its version moved on, so that other processes' kept copies of it expire
(:mod:`.versions`).
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection

from copytrade.adapters.db import schema as t
from copytrade.adapters.db.pgwrite import OneStatement
from copytrade.adapters.db.records import upsert
from copytrade.adapters.db.rows import (
    CLOSED_COLUMNS,
    algo_values,
    closed_values,
    fill_values,
    order_values,
    position_values,
    share_values,
    skip_values,
    tag_values,
)
from copytrade.adapters.db.sql import columns, driver, executemany, insert_sql, mutable, update_sql
from copytrade.domain.model import Account, ChangeSet, SubPosition

_ALGO_SQL = (
    'INSERT INTO algo_orders ("algo_id", "uid", "contract_code", "state", "created_time", '
    '"updated_time", "body") VALUES (%s, %s, %s, %s, %s, %s, %s) '
    'ON CONFLICT ("algo_id") DO UPDATE SET "state" = excluded."state", '
    '"updated_time" = excluded."updated_time", "body" = excluded."body"'
)

COPY_THRESHOLD = 200
"""From this many rows, a table's writes go through ``COPY`` (one round trip)."""

Part = tuple[str, str, tuple[str, ...], str, list[Any]]
"""(kind, table, columns, key, rows): kind is ``insert``, ``update`` or ``bump``."""


def write_change_set(
    conn: Connection,
    changes: ChangeSet,
    version_of: dict[int, int],
    identity: dict[int, Account],
    defer: Callable[[str, list[Any]], None] | None = None,
) -> None:
    """Write everything a command changed.

    ``version_of`` holds the versions of the accounts the unit of work locked (moved on here);
    ``identity`` its loaded accounts. ``defer``: when the change set is one statement and
    nothing else, it is handed there instead of run now (the unit of work sends it with its
    ``COMMIT``, :mod:`.pgwire`).
    """
    parts = _parts(changes, version_of, identity)
    if not _copy_any(changes):
        one = OneStatement()
        for kind, table, cols, key, rows in parts:
            one.add(kind, table, cols, key, rows)
        sql = one.sql()
        if sql is not None:
            if defer is not None and not written_after(changes):
                defer(sql, one.params)
                return
            _execute(conn, sql, one.params)
    else:
        for kind, table, cols, key, rows in parts:
            if kind == "insert":
                _insert(conn, table, rows)
            elif kind == "update":
                _update(conn, table, cols, key, rows)
            elif rows:
                executemany(
                    conn,
                    "UPDATE accounts SET version = version + 1 WHERE uid = %s",
                    [(uid,) for uid in rows],
                )
    for (uid, code, mode), lever in changes.levers.items():
        upsert(
            conn,
            t.levers,
            {"uid": uid, "contract_code": code, "margin_mode": mode.value, "lever": lever},
            ["uid", "contract_code", "margin_mode"],
        )
    if changes.algos:
        executemany(conn, _ALGO_SQL, [algo_values(a) for a in changes.algos.values()])
    for uid, one_way in changes.modes.items():
        upsert(
            conn,
            t.position_modes,
            {"uid": uid, "position_mode": "single_side" if one_way else "dual_side"},
            ["uid"],
        )


ONE_STATEMENT_FIELDS = frozenset(
    {
        "accounts",
        "positions",
        "new_positions",
        "orders",
        "new_orders",
        "fills",
        "skips",
        "profit_shares",
        "order_tags",
        "closed",
        "book_takes",  # kept by no store
    }
)
"""The ``ChangeSet`` fields the one statement (:func:`_parts`) writes; the others are written
after it (:func:`written_after`)."""


def written_after(changes: ChangeSet) -> bool:
    """Return whether ``changes`` holds writes that follow the one statement.

    Only a change set without them may be deferred to ``COMMIT``: the writes after it must
    stay after it. (``tests/unit/adapters/test_pg_writer_fields.py`` fails when a ``ChangeSet``
    field is in neither list.)
    """
    return bool(changes.levers or changes.algos or changes.modes)


def _parts(
    changes: ChangeSet, version_of: dict[int, int], identity: dict[int, Account]
) -> list[Part]:
    """Return the change set's writes, table by table.

    Return the change set's writes; ``insert`` rows are whole rows in schema order,
    ``update`` rows ``(*columns, key)``, ``bump`` rows the uids whose version only moves on.
    """
    versioned, blind = _versioned_accounts(changes, version_of, identity)
    parts: list[Part] = [
        ("update", "accounts", ("balance", "spot", "futures", "version"), "uid", versioned),
        ("bump", "accounts", (), "uid", blind),
    ]
    positions: Iterable[SubPosition] = changes.positions.values()
    if changes.closed:  # close-only rows set just what a close changes
        closed = changes.closed
        positions = [p for p in positions if p.sub_position_id not in closed]
        narrow = [(False, None, None, *closed_values(changes.positions[i])) for i in closed]
        parts.append(("update", "positions", CLOSED_COLUMNS, "sub_position_id", narrow))
    for table, rows, new in (
        ("positions", map(position_values, positions), changes.new_positions),
        ("orders", map(order_values, changes.orders.values()), changes.new_orders),
    ):
        cols, setting, names = columns(table), mutable(table), _mutable_names(table)
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        for row in rows:
            if row[0] in new:
                inserts.append(row)
            else:
                updates.append((*[row[i] for i in setting], row[0]))
        parts.append(("insert", table, cols, "", inserts))
        parts.append(("update", table, names, cols[0], updates))
    for table, records in (
        ("fills", map(fill_values, changes.fills)),
        ("copy_skips", map(skip_values, changes.skips)),
        ("profit_shares", map(share_values, changes.profit_shares)),
        ("v5_orders", map(tag_values, changes.order_tags)),
    ):
        parts.append(("insert", table, columns(table), "", list(records)))
    return parts


@functools.cache
def _mutable_names(table: str) -> tuple[str, ...]:
    """Return the names of the columns an update of ``table`` sets (:func:`mutable`)."""
    cols = columns(table)
    return tuple(cols[i] for i in mutable(table))


def _versioned_accounts(
    changes: ChangeSet, version_of: dict[int, int], identity: dict[int, Account]
) -> tuple[list[tuple[Any, ...]], list[int]]:
    """Return the account rows to write and the uids whose version only moves on.

    Return the (balance, spot, futures, version, uid) rows of the accounts whose state
    changed, each with its version moved on, and the uids of those the unit did not lock
    (version only moved on).
    """
    uids = set(changes.accounts)
    uids.update(p.uid for p in changes.positions.values())
    uids.update(o.uid for o in changes.orders.values())
    uids.update(uid for uid, _code, _mode in changes.levers)
    uids.update(changes.modes)
    uids.update(a.uid for a in changes.algos.values())  # kept copies hold the resting ones
    rows: list[tuple[Any, ...]] = []
    blind: list[int] = []
    for uid in sorted(uids):  # one order for every writer's row locks
        account = changes.accounts.get(uid) or identity.get(uid)
        version = version_of.get(uid)
        if account is None or version is None:  # not locked by this unit: just expire it
            version_of.pop(uid, None)
            blind.append(uid)
            continue
        version_of[uid] = version + 1
        rows.append(
            (
                format(account.balance, "f"),
                format(account.spot, "f"),
                format(account.futures, "f"),
                version + 1,
                uid,
            )
        )
    return rows, blind


def _copy_any(changes: ChangeSet) -> bool:
    """Return whether some part must go through ``COPY``.

    Return whether some table is large enough to go through ``COPY`` (which one statement
    cannot carry).
    """
    accounts = (
        len(changes.accounts) + len(changes.positions) + len(changes.orders) + len(changes.levers)
    )
    most = max(accounts, len(changes.fills), len(changes.skips), len(changes.profit_shares))
    return most >= COPY_THRESHOLD


def _execute(conn: Connection, sql: str, params: Sequence[Any]) -> None:
    """Run one statement with native ``$n`` placeholders, in the open transaction."""
    from psycopg import RawCursor  # psycopg is the ``postgres`` extra

    cursor = RawCursor(driver(conn))
    try:
        cursor.execute(sql, params)
    finally:
        cursor.close()


def _insert(conn: Connection, table: str, rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    if len(rows) >= COPY_THRESHOLD:
        _copy_inserts(conn, table, rows)
        return
    executemany(conn, insert_sql("%s", table), rows)


def _update(
    conn: Connection, table: str, cols: tuple[str, ...], key: str, rows: list[tuple[Any, ...]]
) -> None:
    if not rows:
        return
    if len(rows) < COPY_THRESHOLD:
        executemany(conn, update_sql("%s", table, cols, key), rows)
        return
    # many rows: COPY them into a temporary twin holding just these columns (LIKE would copy
    # the NOT NULL constraints of the columns left out), then one UPDATE … FROM
    names = ", ".join(f'"{c}"' for c in (*cols, key))
    stage = f"_stage_{table}_{zlib.crc32(names.encode()):08x}"
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "  # noqa: S608
        f"SELECT {names} FROM {table} WITH NO DATA"
    )
    conn.exec_driver_sql(f"DELETE FROM {stage}")  # noqa: S608 - our own names
    _copy(conn, stage, (*cols, key), rows)
    sets = ", ".join(f'"{c}" = s."{c}"' for c in cols)
    conn.exec_driver_sql(
        f'UPDATE {table} AS d SET {sets} FROM {stage} AS s WHERE d."{key}" = s."{key}"'  # noqa: S608
    )


# Columns a new row of a market fill (a copy wave's order and sub position) leaves NULL: COPY
# leaves them out (they default to NULL), which spares formatting and sending them per row.
_NULL_WHEN_FRESH: dict[str, tuple[int, ...]] = {
    "positions": (12, 13, 17, 18, 20, 21),  # tp, sl, close time, close price, profit, type
    "orders": (6, 10, 11),  # price, tp, sl
}


def _copy_inserts(conn: Connection, table: str, rows: list[tuple[Any, ...]]) -> None:
    nulls = _NULL_WHEN_FRESH.get(table)
    if nulls is None:
        _copy(conn, table, columns(table), rows)
        return
    cols = columns(table)
    kept = tuple(i for i in range(len(cols)) if i not in nulls)
    pick = itemgetter(*kept)
    fresh: list[tuple[Any, ...]] = []
    other: list[tuple[Any, ...]] = []
    for row in rows:
        if all(row[i] is None for i in nulls):
            fresh.append(pick(row))
        else:
            other.append(row)
    if fresh:
        _copy(conn, table, tuple(cols[i] for i in kept), fresh)
    if other:
        _copy(conn, table, cols, other)


def _copy(conn: Connection, table: str, cols: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    names = ", ".join(f'"{c}"' for c in cols)
    with driver(conn).cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
