"""SQL helpers shared by both database stores: column lists, statement text, driver calls.

Hot paths (loading accounts, writing change sets) run on the driver's cursor: SQLAlchemy's
statement building and per-cell processing cost more than the database's own work there.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from copytrade.adapters.db import schema as t

UID_START = 10_000_000
"""The first UID handed out (the ``uid`` counter starts above the largest one in use)."""


@dataclass(frozen=True, slots=True)
class Flavour:
    """How to write SQL for one database: placeholder style and array parameters."""

    style: str
    arrays: bool

    @property
    def mark(self) -> str:
        """Return the driver's placeholder."""
        return "?" if self.style == "qmark" else "%s"

    def uid_scope(self, count: int) -> str:
        """Return a ``WHERE`` condition on ``uid`` for ``count`` uids (see :meth:`uid_params`)."""
        if self.arrays:  # one array parameter, however many accounts
            return f"uid = ANY({self.mark})"
        return f"uid IN ({', '.join(self.mark for _ in range(count))})"

    def uid_params(self, uids: list[int]) -> list[Any]:
        """Return the parameters of :meth:`uid_scope`."""
        return [uids] if self.arrays else uids

    def followers_scope(self) -> str:
        """Return a ``WHERE`` condition on ``uid``: the active followers of one trader."""
        return (
            "uid IN (SELECT follower_uid FROM follows "  # noqa: S608 - our own names
            f"WHERE trader_uid = {self.mark} AND active)"
        )


SQLITE = Flavour("qmark", arrays=False)
POSTGRES = Flavour("format", arrays=True)


@functools.cache
def columns(table: str) -> tuple[str, ...]:
    """Return a table's column names in schema order."""
    return tuple(c.name for c in t.metadata.tables[table].columns)


# Columns a row never changes after its insert: a sub position's or order's identity.
_IDENTITY = {
    "positions": frozenset(
        {
            "uid",
            "contract_code",
            "margin_mode",
            "side",
            "open_order_id",
            "open_time",
            "lead_uid",
            "lead_sub_position_id",
        }
    ),
    "orders": frozenset(
        {
            "uid",
            "contract_code",
            "margin_mode",
            "side",
            "price_type",
            "created_at",
            "lead_uid",
            "lead_sub_position_id",
        }
    ),
}


@functools.cache
def mutable(table: str) -> tuple[int, ...]:
    """Return the positions (in column order) of the columns an update may set.

    An identity column set to its own value still rewrites its index entries.
    """
    fixed = _IDENTITY.get(table, frozenset())
    names = columns(table)
    return tuple(i for i in range(1, len(names)) if names[i] not in fixed)


@functools.cache
def insert_sql(mark: str, table: str) -> str:
    """Return an ``INSERT`` of whole rows (schema column order)."""
    names = ", ".join(f'"{n}"' for n in columns(table))
    marks = ", ".join(mark for _ in columns(table))
    return f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 - our own names


@functools.cache
def update_sql(mark: str, table: str, cols: tuple[str, ...], key: str) -> str:
    """Return an ``UPDATE`` of ``cols`` by ``key``; rows are ``(*values, key)``."""
    sets = ", ".join(f'"{c}" = {mark}' for c in cols)
    return f'UPDATE {table} SET {sets} WHERE "{key}" = {mark}'  # noqa: S608 - our own names


def driver(conn: Connection) -> Any:
    """Return the driver's connection under ``conn`` (inside its transaction)."""
    raw = conn.connection.driver_connection
    assert raw is not None
    return raw


def query(conn: Connection, sql: str, params: Sequence[Any]) -> list[Any]:
    """Run one query on the driver's cursor; return its tuples."""
    cursor = driver(conn).cursor()
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def whole_rows(conn: Connection, table: str, where: str, params: list[Any]) -> list[Any]:
    """Return ``table``'s whole rows (schema column order) matching ``where``, as tuples."""
    names = ", ".join(f'"{c}"' for c in columns(table))
    return query(conn, f"SELECT {names} FROM {table} WHERE {where}", params)  # noqa: S608


def executemany(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run one statement for many rows on the driver's cursor."""
    cursor = driver(conn).cursor()
    try:
        cursor.executemany(sql, rows)
    finally:
        cursor.close()
