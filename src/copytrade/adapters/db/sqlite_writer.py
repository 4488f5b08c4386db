"""The embedded store's change-set writer (SQLite).

A command's change set is rendered into rows when the command commits (:meth:`ChangeRows.of`):
from then on it is plain data, which no later mutation of the live accounts can touch. The rows
of a commit group are merged (the later state of a row wins) and written with one
``executemany`` per table and kind when the group commits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from copytrade.adapters.db.rows import (
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
_LEVER_SQL = (
    'INSERT INTO levers ("uid", "contract_code", "margin_mode", "lever") VALUES (?, ?, ?, ?) '
    'ON CONFLICT ("uid", "contract_code", "margin_mode") DO UPDATE SET "lever" = excluded."lever"'
)


class ChangeRows:
    """The rows of one or more change sets, keyed so that a later row replaces an earlier one."""

    __slots__ = (
        "balances",
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
        self.new_positions: set[int] = set()
        self.orders: dict[int, tuple[Any, ...]] = {}
        self.new_orders: set[int] = set()
        self.levers: dict[tuple[int, str, str], int] = {}
        self.fills: list[tuple[Any, ...]] = []
        self.skips: list[tuple[Any, ...]] = []
        self.shares: list[tuple[Any, ...]] = []
        self.tags: list[tuple[Any, ...]] = []
        self.modes: dict[int, str] = {}

    @classmethod
    def of(cls, changes: ChangeSet) -> ChangeRows:
        """Render a change set's rows (decimals as their exact text).

        Once per command on the hot path: no empty container made twice, and nothing built
        for the parts a command left empty.
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
        rows.positions = {i: position_values(p) for i, p in positions.items()} if positions else {}
        rows.new_positions = set(changes.new_positions)
        orders = changes.orders
        rows.orders = {i: order_values(o) for i, o in orders.items()} if orders else {}
        rows.new_orders = set(changes.new_orders)
        levers = changes.levers
        rows.levers = {(u, c, m._value_): lv for (u, c, m), lv in levers.items()} if levers else {}
        rows.fills = [fill_values(f) for f in changes.fills] if changes.fills else []
        rows.skips = [skip_values(s) for s in changes.skips] if changes.skips else []
        shares = changes.profit_shares
        rows.shares = [share_values(s) for s in shares] if shares else []
        tags = changes.order_tags
        rows.tags = [tag_values(g) for g in tags] if tags else []
        modes = changes.modes
        rows.modes = {uid: _mode(one) for uid, one in modes.items()} if modes else {}
        return rows

    def merge(self, later: ChangeRows) -> None:
        """Fold ``later`` in (its rows replace this one's)."""
        self.balances.update(later.balances)
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


def write_rows(conn: Connection, rows: ChangeRows) -> None:
    """Write the rows in the open transaction: one ``executemany`` per table and kind."""
    if rows.balances:
        executemany(
            conn,
            update_sql("?", "accounts", ("balance", "spot", "futures"), "uid"),
            [(*funds, uid) for uid, funds in rows.balances.items()],
        )
    for table, keyed, new in (
        ("positions", rows.positions, rows.new_positions),
        ("orders", rows.orders, rows.new_orders),
    ):
        if not keyed:
            continue
        setting = mutable(table)
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        for key, row in keyed.items():
            if key in new:
                inserts.append(row)
            else:
                updates.append((*[row[i] for i in setting], key))
        if inserts:
            executemany(conn, insert_sql("?", table), inserts)
        if updates:
            cols = columns(table)
            executemany(
                conn, update_sql("?", table, tuple(cols[i] for i in setting), cols[0]), updates
            )
    for table, records in (
        ("fills", rows.fills),
        ("copy_skips", rows.skips),
        ("profit_shares", rows.shares),
        ("v5_orders", rows.tags),
    ):
        if records:
            executemany(conn, insert_sql("?", table), records)
    if rows.levers:
        executemany(conn, _LEVER_SQL, [(*key, lever) for key, lever in rows.levers.items()])
    if rows.modes:
        executemany(conn, _MODE_SQL, list(rows.modes.items()))


def _mode(one_way: bool) -> str:
    return "single_side" if one_way else "dual_side"
