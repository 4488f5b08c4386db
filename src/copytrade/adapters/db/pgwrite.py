"""PostgreSQL: a change set written in one statement.

A command's change set touches a few tables with a row or two each: the trader's account, a new
order, its fill, a position. Written as one ``executemany`` per table, each statement paid
psycopg's per-statement Python (query conversion, prepare bookkeeping, a pipeline sync) and
PostgreSQL's per-statement work (bind, snapshot, executor start and end), which together cost
more than the rows themselves. Here every part becomes one data-modifying ``WITH`` clause of a
single statement with typed parameters. Measured side by side on the bench machine (interleaved
1-worker runs over HTTP): less CPU per request in the server process and in PostgreSQL alike.

* The statement's text depends only on which parts are present and how many rows each holds
  (its *shape*). A command's shape repeats, so psycopg prepares it and PostgreSQL keeps a
  generic plan.
* Placeholders are PostgreSQL's own ``$n``, run on a ``psycopg.RawCursor``: psycopg would
  otherwise parse the query for ``%s`` on every call once it has over 50 parameters.
* Each placeholder carries its column's type, so that a multi-row ``VALUES`` list is typed
  whatever the driver sends (``None``, a small int, text for a decimal).
* The parts of one statement see the same snapshot and not each other's writes. That is safe
  here because they never touch the same row: an order or position is either inserted or
  updated, and an account either gets its new balance or only a version bump.
* Large parts (``COPY_THRESHOLD`` rows) do not come here; they go through ``COPY``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Boolean, Integer
from sqlalchemy.types import TypeEngine

from copytrade.adapters.db import schema as t


def _cast(kind: TypeEngine[Any]) -> str:
    """Return a column's type as a cast."""
    if isinstance(kind, BigInteger):  # before Integer: BigInteger is one
        return "::bigint"
    if isinstance(kind, Integer):
        return "::integer"
    if isinstance(kind, Boolean):
        return "::boolean"
    return "::text"  # strings and decimals (stored as their exact text)


@functools.cache
def _casts(table: str) -> dict[str, str]:
    """Return each column's cast (ids are ``BigInteger`` with an SQLite variant)."""
    return {c.name: _cast(c.type) for c in t.metadata.tables[table].columns}


class _Numbers:
    """Hands out PostgreSQL's native placeholders ``$1``, ``$2``, … in statement order."""

    def __init__(self) -> None:
        self.next = 0

    def __call__(self, cast: str) -> str:
        self.next += 1
        return f"${self.next}{cast}"


def _row(table: str, columns: Sequence[str], n: _Numbers) -> str:
    casts = _casts(table)
    return "(" + ", ".join(n(casts[c]) for c in columns) + ")"


def insert_sql(table: str, columns: Sequence[str], count: int, n: _Numbers) -> str:
    """Insert ``count`` rows, each in ``columns`` order."""
    names = ", ".join(f'"{c}"' for c in columns)
    rows = ", ".join(_row(table, columns, n) for _ in range(count))
    return f"INSERT INTO {table} ({names}) VALUES {rows}"  # noqa: S608 - our own names


def update_sql(table: str, columns: Sequence[str], key: str, count: int, n: _Numbers) -> str:
    """Set ``columns`` of ``count`` rows found by ``key``; each row is ``(*values, key)``."""
    casts = _casts(table)
    if count == 1:
        sets = ", ".join(f'"{c}" = {n(casts[c])}' for c in columns)
        return f'UPDATE {table} SET {sets} WHERE "{key}" = {n(casts[key])}'  # noqa: S608
    sets = ", ".join(f'"{c}" = v."{c}"' for c in columns)
    names = ", ".join(f'"{c}"' for c in (*columns, key))
    rows = ", ".join(_row(table, (*columns, key), n) for _ in range(count))
    return (
        f"UPDATE {table} AS d SET {sets} FROM (VALUES {rows}) AS v ({names}) "  # noqa: S608
        f'WHERE d."{key}" = v."{key}"'
    )


def bump_sql(count: int, n: _Numbers) -> str:
    """Move on the version of ``count`` accounts, given by uid."""
    marks = ", ".join(n("::bigint") for _ in range(count))
    return f"UPDATE accounts SET version = version + 1 WHERE uid IN ({marks})"  # noqa: S608


Part = tuple[str, str, tuple[str, ...], str, int]
"""(kind, table, columns, key, rows): kind is ``insert``, ``update`` or ``bump``."""


@functools.cache
def statement(shape: tuple[Part, ...]) -> str:
    """Return the one statement that writes every part of ``shape``.

    Its placeholders are PostgreSQL's own (``$1`` …, parameters in part and row order), for a
    ``psycopg.RawCursor``: psycopg rewrites ``%s`` placeholders by parsing the query, and keeps
    the result only for statements of at most 50 parameters, which an order with its position
    and fill already passes.
    """
    n = _Numbers()
    sqls = []
    for kind, table, columns, key, count in shape:
        if kind == "insert":
            sqls.append(insert_sql(table, columns, count, n))
        elif kind == "update":
            sqls.append(update_sql(table, columns, key, count, n))
        else:
            sqls.append(bump_sql(count, n))
    if len(sqls) == 1:
        return sqls[0]
    clauses = ", ".join(f"w{i} AS ({sql})" for i, sql in enumerate(sqls[:-1]))
    return f"WITH {clauses} {sqls[-1]}"


class OneStatement:
    """Collects a change set's parts, then writes them with :func:`statement`."""

    __slots__ = ("params", "shape")

    def __init__(self) -> None:
        """Start empty."""
        self.shape: list[Part] = []
        self.params: list[Any] = []

    def add(
        self, kind: str, table: str, columns: tuple[str, ...], key: str, rows: Sequence[Any]
    ) -> None:
        """Add a part (nothing if ``rows`` is empty); ``bump`` rows are bare uids."""
        if not rows:
            return
        if kind == "bump":
            self.params.extend(rows)
        else:
            for row in rows:
                self.params.extend(row)
        self.shape.append((kind, table, columns, key, len(rows)))

    def sql(self) -> str | None:
        """Return the statement, or ``None`` when there is nothing to write."""
        return statement(tuple(self.shape)) if self.shape else None
