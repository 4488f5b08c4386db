"""The embedded store's change-set writer (SQLite).

A command's change set is rendered into rows when the command commits (:meth:`ChangeRows.of`):
from then on it is plain data, which no later mutation of the live accounts can touch. The rows
of a commit group are merged (the later state of a row wins) and written with one
``executemany`` per table and kind when the group commits.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import Connection

from copytrade.adapters.db.rows import (
    algo_values,
    closed_values,
    fill_values,
    order_values,
    position_values,
    share_values,
    skip_values,
    tag_values,
)
from copytrade.adapters.db.sql import columns, executemany, insert_sql, mutable, update_sql
from copytrade.domain.model import ChangeSet

_MODE_SQL = (
    'INSERT INTO position_modes ("uid", "position_mode") VALUES (?, ?) '
    'ON CONFLICT ("uid") DO UPDATE SET "position_mode" = excluded."position_mode"'
)
_ALGO_SQL = (
    'INSERT INTO algo_orders ("algo_id", "uid", "contract_code", "state", "created_time", '
    '"updated_time", "body") VALUES (?, ?, ?, ?, ?, ?, ?) '
    'ON CONFLICT ("algo_id") DO UPDATE SET "state" = excluded."state", '
    '"updated_time" = excluded."updated_time", "body" = excluded."body"'
)
_LEVER_SQL = (
    'INSERT INTO levers ("uid", "contract_code", "margin_mode", "lever") VALUES (?, ?, ?, ?) '
    'ON CONFLICT ("uid", "contract_code", "margin_mode") DO UPDATE SET "lever" = excluded."lever"'
)


class ChangeRows:
    """The rows of one or more change sets, keyed so that a later row replaces an earlier one."""

    __slots__ = (
        "algos",
        "balances",
        "closed",
        "fills",
        "levers",
        "modes",
        "new_orders",
        "new_positions",
        "orders",
        "positions",
        "shares",
        "skips",
        "tags",
    )

    def __init__(self) -> None:
        """Start empty."""
        self.balances: dict[int, tuple[str, str, str]] = {}
        self.positions: dict[int, tuple[Any, ...]] = {}
        self.closed: dict[int, tuple[Any, ...]] = {}  # close-only rows: see closed_values
        self.new_positions: set[int] = set()
        self.orders: dict[int, tuple[Any, ...]] = {}
        self.new_orders: set[int] = set()
        self.levers: dict[tuple[int, str, str], int] = {}
        self.fills: list[tuple[Any, ...]] = []
        self.skips: list[tuple[Any, ...]] = []
        self.shares: list[tuple[Any, ...]] = []
        self.tags: list[tuple[Any, ...]] = []
        self.modes: dict[int, str] = {}
        self.algos: dict[int, tuple[Any, ...]] = {}

    @classmethod
    def of(cls, changes: ChangeSet, pause: Callable[[], None] | None = None) -> ChangeRows:
        """Render a change set's rows (decimals as their exact text).

        Once per command on the hot path: no empty container made twice, and nothing built
        for the parts a command left empty. A fan-out's thousands of rows are rendered in
        chunks with ``pause()`` between them (the store may serve others there).
        """
        rows = cls.__new__(cls)
        accounts = changes.accounts
        rows.balances = (
            {
                uid: (format(a.balance, "f"), format(a.spot, "f"), format(a.futures, "f"))
                for uid, a in accounts.items()
            }
            if accounts
            else {}
        )
        positions = changes.positions
        closed = changes.closed
        if closed:
            rows.closed = _keyed({i: positions[i] for i in closed}, closed_values, pause)
            positions = {i: p for i, p in positions.items() if i not in closed}
        else:
            rows.closed = {}
        rows.positions = _keyed(positions, position_values, pause) if positions else {}
        rows.new_positions = set(changes.new_positions)
        orders = changes.orders
        rows.orders = _keyed(orders, order_values, pause) if orders else {}
        rows.new_orders = set(changes.new_orders)
        levers = changes.levers
        rows.levers = {(u, c, m._value_): lv for (u, c, m), lv in levers.items()} if levers else {}
        rows.fills = _listed(changes.fills, fill_values, pause) if changes.fills else []
        rows.skips = _listed(changes.skips, skip_values, pause) if changes.skips else []
        shares = changes.profit_shares
        rows.shares = _listed(shares, share_values, pause) if shares else []
        tags = changes.order_tags
        rows.tags = [tag_values(g) for g in tags] if tags else []
        modes = changes.modes
        rows.modes = {uid: _mode(one) for uid, one in modes.items()} if modes else {}
        algos = changes.algos
        rows.algos = {i: algo_values(a) for i, a in algos.items()} if algos else {}
        return rows

    def merge(self, later: ChangeRows) -> None:
        """Fold ``later`` in (its rows replace this one's)."""
        self.balances.update(later.balances)
        closed = self.closed
        if closed:
            for key in later.positions.keys() & closed.keys():
                del closed[key]
        for key, narrow in later.closed.items():
            row = self.positions.get(key)
            if row is None:
                closed[key] = narrow
            else:  # a whole row written earlier in the group: close it in place
                self.positions[key] = _with_close(row, narrow)
        self.positions.update(later.positions)
        self.new_positions |= later.new_positions
        self.orders.update(later.orders)
        self.new_orders |= later.new_orders
        self.levers.update(later.levers)
        self.fills.extend(later.fills)
        self.skips.extend(later.skips)
        self.shares.extend(later.shares)
        self.tags.extend(later.tags)
        self.modes.update(later.modes)
        self.algos.update(later.algos)


_MANY = 64
"""From this many rows, the columns equal in every row are written as literals (see
:func:`_shared_columns`): binding costs ~0.4 us a column a row (bench/prof_fanout.py), and a
fan-out's rows mostly repeat the same price, fee, time and kind."""

# A close-only row is closed_values(): the close also sets is_open false and clears tp and sl.
_CLOSED_SET = '"is_open" = 0, "tp_trigger_price" = NULL, "sl_trigger_price" = NULL'
_CLOSED_COLUMNS = ("close_time", "close_avg_price", "close_fee", "profit", "close_type")


def _write_closed(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Update close-only positions: just the close's columns, the shared ones as literals."""
    shared = _shared_columns(rows, len(_CLOSED_COLUMNS)) if len(rows) >= _MANY else {}
    sets = [_CLOSED_SET]
    for i, name in enumerate(_CLOSED_COLUMNS):
        sets.append(f'"{name}" = {_sql_literal(shared[i]) if i in shared else "?"}')
    sql = f'UPDATE positions SET {", ".join(sets)} WHERE "sub_position_id" = ?'  # noqa: S608
    executemany(conn, sql, _without(rows, shared))


def _shared_columns(rows: list[tuple[Any, ...]], count: int) -> dict[int, Any]:
    """Return the first ``count`` columns holding one value (None, int or str) in every row."""
    first = rows[0]
    n = len(rows)
    shared: dict[int, Any] = {}
    for i, column in enumerate(zip(*rows, strict=True)):
        if i >= count:
            break
        value = first[i]
        kind = type(value)
        # (a column holds one type in every row: no bool among ints, no int among texts)
        if (value is None or kind is int or kind is str) and column.count(value) == n:
            shared[i] = value
    return shared


def _without(rows: list[tuple[Any, ...]], shared: dict[int, Any]) -> list[tuple[Any, ...]]:
    """Return the rows without their ``shared`` columns."""
    if not shared:
        return rows
    kept = [i for i in range(len(rows[0])) if i not in shared]
    if len(kept) == 1:
        (only,) = kept
        return [(row[only],) for row in rows]
    pick = itemgetter(*kept)
    return [pick(row) for row in rows]


def _sql_literal(value: Any) -> str:
    """Return ``value`` (None, int or str) as an SQL literal."""
    if value is None:
        return "NULL"
    if type(value) is int:
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _insert_shared(conn: Connection, table: str, rows: list[tuple[Any, ...]]) -> None:
    """Insert many rows, the columns equal in every row as literals."""
    names = columns(table)
    shared = _shared_columns(rows, len(names))
    if not shared:
        executemany(conn, insert_sql("?", table), rows)
        return
    values = ", ".join(_sql_literal(shared[i]) if i in shared else "?" for i in range(len(names)))
    quoted = ", ".join(f'"{n}"' for n in names)
    sql = f"INSERT INTO {table} ({quoted}) VALUES ({values})"  # noqa: S608 - our own names
    executemany(conn, sql, _without(rows, shared))


def _with_close(row: tuple[Any, ...], narrow: tuple[Any, ...]) -> tuple[Any, ...]:
    """Return a whole ``positions`` row with a later close applied."""
    return (*row[:12], None, None, *row[14:16], False, *narrow[:5], *row[22:])


# A new row's columns that hold the same value in every row of a fresh market fill (a copy
# wave's order and sub position): they go into the statement as literals instead of being
# bound once per row; binding costs ~0.4 us a column a row (bench/prof_fanout.py).
_FRESH: dict[str, dict[int, Any]] = {
    # tp, sl, is_open, close_time, close_avg_price, close_fee, profit, close_type, follow_takes
    "positions": {
        12: None,
        13: None,
        16: True,
        17: None,
        18: None,
        19: "0",
        20: None,
        21: None,
        22: "0",
    },
    # price, tp, sl
    "orders": {6: None, 10: None, 11: None},
}


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if value is True:
        return "1"
    return f"'{value}'"


@functools.cache
def _fresh_sql(table: str) -> tuple[str, tuple[int, ...]]:
    """Return the ``INSERT`` of a fresh row with its constants inline, and the bound columns."""
    fixed = _FRESH[table]
    names = columns(table)
    values = [_literal(fixed[i]) if i in fixed else "?" for i in range(len(names))]
    quoted = ", ".join(f'"{n}"' for n in names)
    sql = f"INSERT INTO {table} ({quoted}) VALUES ({', '.join(values)})"  # noqa: S608
    return sql, tuple(i for i in range(len(names)) if i not in fixed)


def _insert(conn: Connection, table: str, rows: list[tuple[Any, ...]]) -> None:
    """Insert rows; a large batch binds only what differs between fresh rows."""
    fixed = _FRESH.get(table)
    if fixed is None or len(rows) < 64:
        executemany(conn, insert_sql("?", table), rows)
        return
    sql, bound = _fresh_sql(table)
    pick = itemgetter(*bound)
    checks = tuple(fixed.items())
    fresh: list[tuple[Any, ...]] = []
    other: list[tuple[Any, ...]] = []
    for row in rows:
        for i, value in checks:
            if row[i] is not value and row[i] != value:
                other.append(row)
                break
        else:
            fresh.append(pick(row))
    if fresh:
        executemany(conn, sql, fresh)
    if other:
        executemany(conn, insert_sql("?", table), other)


_T = TypeVar("_T")
PAUSE_ROWS = 2000
"""Rows rendered between two pauses."""


def _keyed(
    items: dict[int, _T], render: Callable[[_T], tuple[Any, ...]], pause: Callable[[], None] | None
) -> dict[int, tuple[Any, ...]]:
    if pause is None or len(items) <= PAUSE_ROWS:
        return {i: render(x) for i, x in items.items()}
    out: dict[int, tuple[Any, ...]] = {}
    for n, (i, x) in enumerate(items.items(), 1):
        out[i] = render(x)
        if not n % PAUSE_ROWS:
            pause()
    return out


def _listed(
    items: list[_T], render: Callable[[_T], tuple[Any, ...]], pause: Callable[[], None] | None
) -> list[tuple[Any, ...]]:
    if pause is None or len(items) <= PAUSE_ROWS:
        return [render(x) for x in items]
    out: list[tuple[Any, ...]] = []
    for start in range(0, len(items), PAUSE_ROWS):
        if start:
            pause()
        out += [render(x) for x in items[start : start + PAUSE_ROWS]]
    return out


def write_rows(conn: Connection, rows: ChangeRows) -> None:
    """Write the rows in the open transaction: one ``executemany`` per table and kind."""
    if rows.balances:
        executemany(
            conn,
            update_sql("?", "accounts", ("balance", "spot", "futures"), "uid"),
            [(*funds, uid) for uid, funds in rows.balances.items()],
        )
    if rows.closed:
        _write_closed(conn, list(rows.closed.values()))
    for table, keyed, new in (
        ("positions", rows.positions, rows.new_positions),
        ("orders", rows.orders, rows.new_orders),
    ):
        if keyed:
            _write_keyed(conn, table, keyed, new)
    for table, records in (
        ("fills", rows.fills),
        ("copy_skips", rows.skips),
        ("profit_shares", rows.shares),
        ("v5_orders", rows.tags),
    ):
        if len(records) >= _MANY:
            _insert_shared(conn, table, records)
        elif records:
            executemany(conn, insert_sql("?", table), records)
    if rows.levers:
        executemany(conn, _LEVER_SQL, [(*key, lever) for key, lever in rows.levers.items()])
    if rows.modes:
        executemany(conn, _MODE_SQL, list(rows.modes.items()))
    if rows.algos:
        executemany(conn, _ALGO_SQL, list(rows.algos.values()))


def _mode(one_way: bool) -> str:
    return "single_side" if one_way else "dual_side"


def _write_keyed(
    conn: Connection, table: str, keyed: dict[int, tuple[Any, ...]], new: set[int]
) -> None:
    """Insert the new rows, update the others (every column an update may set)."""
    setting = mutable(table)
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    for key, row in keyed.items():
        if key in new:
            inserts.append(row)
        else:
            updates.append((*[row[i] for i in setting], key))
    if inserts:
        _insert(conn, table, inserts)
    if updates:
        cols = columns(table)
        executemany(conn, update_sql("?", table, tuple(cols[i] for i in setting), cols[0]), updates)
