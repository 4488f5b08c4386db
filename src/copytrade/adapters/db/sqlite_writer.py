"""The embedded store's change-set writer (SQLite).

A command's change set is rendered into rows when the command commits (:meth:`ChangeRows.of`):
from then on it is plain data, which no later mutation of the live accounts can touch. The rows
of a commit group are merged (the later state of a row wins) and written with one
``executemany`` per table and kind when the group commits.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import partial
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
from copytrade.domain.model import Account, ChangeSet, FillRecord, Order, SubPosition

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
        "bulk",
        "chain",
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
        # a fan-out's parts, prepared at render: written before the rows above
        self.bulk: Statements = []
        # rows merged in after prepared ones: written after these, in order
        self.chain: list[ChangeRows] = []

    @classmethod
    def of(cls, changes: ChangeSet, pause: Callable[[], None] | None = None) -> ChangeRows:
        """Render a change set's rows (decimals as their exact text).

        Once per command on the hot path: no empty container made twice, and nothing built
        for the parts a command left empty. A fan-out's thousands of rows are rendered in
        chunks with ``pause()`` between them (the store may serve others there).
        """
        rows = cls.__new__(cls)
        rows.bulk, rows.chain = [], []
        accounts = changes.accounts
        if len(accounts) >= _MANY:
            texts = _Texts()
            rows.balances = rows._balances_alike(accounts, texts, pause)
            return rows._of_many(changes, texts, pause)
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
        rows._of_rest(changes, pause)
        fills = changes.fills
        rows.fills = _listed(fills, fill_values, pause) if fills else []
        return rows

    def _of_many(
        self, changes: ChangeSet, texts: _Texts, pause: Callable[[], None] | None
    ) -> ChangeRows:
        """Render a fan-out's change set: each decimal object formatted once (see _Texts)."""
        positions = changes.positions
        closed = changes.closed
        if closed:
            picked = [positions[i] for i in closed]
            if len(picked) >= _MANY:
                picked = self._closed_alike(picked, pause)
            self.closed = _chunked(
                {p.sub_position_id: p for p in picked}, _closed_rows, texts, pause
            )
            positions = {i: p for i, p in positions.items() if i not in closed}
        else:
            self.closed = {}
        new = changes.new_positions
        if _all_new(positions, new):  # a wave's new copies
            positions = self._positions_alike(positions, pause)
            new = new & positions.keys()
        self.positions = _chunked(positions, _position_rows, texts, pause) if positions else {}
        self.new_positions = set(new)
        orders = changes.orders
        new = changes.new_orders
        if _all_new(orders, new):
            if pause is not None:
                pause()
            orders = self._orders_alike(orders, pause)
            new = new & orders.keys()
        self.orders = _chunked(orders, _order_rows, texts, pause) if orders else {}
        self.new_orders = set(new)
        self._of_rest(changes, pause)
        fills = changes.fills
        if len(fills) >= _MANY:
            if pause is not None:
                pause()
            fills = self._fills_alike(fills, pause)
        self.fills = []
        for start in range(0, len(fills), PAUSE_ROWS):
            if start and pause is not None:
                pause()
            self.fills += _fill_rows(fills[start : start + PAUSE_ROWS], texts)
        self._prepare(pause)
        return self

    # A wave's closes and fills repeat the same objects (time, price, fee, profit, kind) in
    # all but their ids: told by identity, each is written as a statement with those values
    # as literals, and just its ids, without rendering a whole row first. Return the others.

    def _balances_alike(
        self, accounts: dict[int, Account], texts: _Texts, pause: Callable[[], None] | None
    ) -> dict[int, tuple[str, str, str]]:
        probe = list(accounts.values())[len(accounts) // 2]
        spot, futures = probe.spot, probe.futures
        rows: list[tuple[Any, ...]] = []
        others: dict[int, Account] = {}
        for n, (uid, a) in enumerate(accounts.items(), 1):
            if pause is not None and not n % PAUSE_ROWS:
                pause()
            if a.spot is spot and a.futures is futures:
                rows.append((format(a.balance, "f"), uid))
            else:
                others[uid] = a
        if len(rows) < _MANY:
            return _balance_rows(accounts, texts, pause)
        shared = f'"spot" = {_sql_literal(format(spot, "f"))}, "futures" = ' + _sql_literal(
            format(futures, "f")
        )
        sql = f'UPDATE accounts SET "balance" = ?, {shared} WHERE "uid" = ?'  # noqa: S608
        self.bulk.append((sql, rows))
        return _balance_rows(others, texts, pause)

    def _closed_alike(
        self, items: list[SubPosition], pause: Callable[[], None] | None
    ) -> list[SubPosition]:
        probe = items[len(items) // 2]
        time, price, fee = probe.close_time, probe.close_avg_price, probe.close_fee
        profit, kind = probe.profit, probe.close_type
        keys: list[tuple[Any, ...]] = []
        others: list[SubPosition] = []
        for n, p in enumerate(items, 1):
            if pause is not None and not n % PAUSE_ROWS:
                pause()
            if (
                p.close_avg_price is price
                and p.close_fee is fee
                and p.profit is profit
                and p.close_type is kind
                and p.close_time == time
            ):
                keys.append((p.sub_position_id,))
            else:
                others.append(p)
        if len(keys) < _MANY:
            return items
        values = closed_values(probe)
        sets = [f"{name} = {literal}" for name, literal in _CLOSED_SET]
        sets += [
            f'"{c}" = {_sql_literal(v)}' for c, v in zip(_CLOSED_COLUMNS, values, strict=False)
        ]
        sql = f'UPDATE positions SET {", ".join(sets)} WHERE "sub_position_id" = ?'  # noqa: S608
        self.bulk.append((sql, keys))
        return others

    def _positions_alike(
        self, items: dict[int, SubPosition], pause: Callable[[], None] | None
    ) -> dict[int, SubPosition]:
        values = list(items.values())
        q = values[len(values) // 2]
        rows: list[tuple[Any, ...]] = []
        others: dict[int, SubPosition] = {}
        for n, (key, p) in enumerate(items.items(), 1):
            if pause is not None and not n % PAUSE_ROWS:
                pause()
            if (
                p.volume is q.volume
                and p.open_avg_price is q.open_avg_price
                and p.open_fee is q.open_fee
                and p.position_margin is q.position_margin
                and p.follow_takes is q.follow_takes
                and p.close_fee is q.close_fee
                and p.tp_trigger_price is q.tp_trigger_price
                and p.sl_trigger_price is q.sl_trigger_price
                and p.close_avg_price is q.close_avg_price
                and p.profit is q.profit
                and p.margin_mode is q.margin_mode
                and p.side is q.side
                and p.close_type is q.close_type
                and p.is_open is q.is_open
                and p.lever == q.lever
                and p.open_time == q.open_time
                and p.close_time == q.close_time
                and p.lead_uid == q.lead_uid
                and p.lead_sub_position_id == q.lead_sub_position_id
                and p.contract_code == q.contract_code
            ):
                rows.append((p.sub_position_id, p.uid, p.open_order_id))
            else:
                others[key] = p
        if len(rows) < _MANY:
            return items
        self.bulk.append((_alike_sql("positions", position_values(q), (0, 1, 10)), rows))
        return others

    def _orders_alike(
        self, items: dict[int, Order], pause: Callable[[], None] | None
    ) -> dict[int, Order]:
        values = list(items.values())
        q = values[len(values) // 2]
        rows: list[tuple[Any, ...]] = []
        others: dict[int, Order] = {}
        for n, (key, o) in enumerate(items.items(), 1):
            if pause is not None and not n % PAUSE_ROWS:
                pause()
            if (
                o.volume is q.volume
                and o.filled is q.filled
                and o.filled_notional is q.filled_notional
                and o.fee is q.fee
                and o.price is q.price
                and o.tp_trigger_price is q.tp_trigger_price
                and o.sl_trigger_price is q.sl_trigger_price
                and o.margin_mode is q.margin_mode
                and o.side is q.side
                and o.price_type is q.price_type
                and o.status is q.status
                and o.lever == q.lever
                and o.created_at == q.created_at
                and o.lead_uid == q.lead_uid
                and o.lead_sub_position_id == q.lead_sub_position_id
                and o.contract_code == q.contract_code
            ):
                rows.append((o.order_id, o.uid, o.sub_position_id))
            else:
                others[key] = o
        if len(rows) < _MANY:
            return items
        self.bulk.append((_alike_sql("orders", order_values(q), (0, 1, 16)), rows))
        return others

    def _fills_alike(
        self, items: list[FillRecord], pause: Callable[[], None] | None
    ) -> list[FillRecord]:
        probe = items[len(items) // 2]
        code, side, offset, price = probe.contract_code, probe.side, probe.offset, probe.price
        volume, fee, liquidity, ts = probe.volume, probe.fee, probe.liquidity, probe.ts
        rows: list[tuple[Any, ...]] = []
        others: list[FillRecord] = []
        for n, f in enumerate(items, 1):
            if pause is not None and not n % PAUSE_ROWS:
                pause()
            if (
                f.price is price
                and f.volume is volume
                and f.fee is fee
                and f.side is side
                and f.liquidity is liquidity
                and f.ts == ts
                and f.contract_code == code
                and f.offset == offset
            ):
                rows.append((f.trade_id, f.uid, f.order_id, f.sub_position_id))
            else:
                others.append(f)
        if len(rows) < _MANY:
            return items
        self.bulk.append((_alike_sql("fills", fill_values(probe), (0, 1, 2, 3)), rows))
        return others

    def _prepare(self, pause: Callable[[], None] | None) -> None:
        """Turn the large parts into their statements now (see :attr:`bulk`).

        Finding the shared columns and projecting thousands of rows then happens in the
        call, between pauses, not in the group's commit, which holds the loop: only the
        statements' execution is left there. A part leaves its keyed rows (and ``new`` marks)
        empty, so that rows merged in later are written after it.
        """
        bulk = self.bulk
        parts: list[Callable[[], Statements]] = []
        if len(self.balances) >= _MANY:
            funds = [(*row, uid) for uid, row in self.balances.items()]
            self.balances = {}
            parts.append(
                partial(_updates, "accounts", ("balance", "spot", "futures"), "uid", funds)
            )
        if len(self.closed) >= _MANY:
            closed = list(self.closed.values())
            self.closed = {}
            parts.append(
                partial(
                    _updates, "positions", _CLOSED_COLUMNS, "sub_position_id", closed, _CLOSED_SET
                )
            )
        if _all_new(self.positions, self.new_positions):
            parts.append(partial(_inserts, "positions", list(self.positions.values())))
            self.positions, self.new_positions = {}, set()
        if _all_new(self.orders, self.new_orders):
            parts.append(partial(_inserts, "orders", list(self.orders.values())))
            self.orders, self.new_orders = {}, set()
        if len(self.fills) >= _MANY:
            parts.append(partial(_inserts, "fills", self.fills))
            self.fills = []
        if len(self.skips) >= _MANY:
            parts.append(partial(_inserts, "copy_skips", self.skips))
            self.skips = []
        if len(self.shares) >= _MANY:
            parts.append(partial(_inserts, "profit_shares", self.shares))
            self.shares = []
        for n, part in enumerate(parts):
            if n and pause is not None:
                pause()
            bulk += part()

    def _of_rest(self, changes: ChangeSet, pause: Callable[[], None] | None) -> None:
        """Render the parts a fan-out has few or none of (levers, skips, shares, tags, modes)."""
        levers = changes.levers
        self.levers = {(u, c, m._value_): lv for (u, c, m), lv in levers.items()} if levers else {}
        self.skips = _listed(changes.skips, skip_values, pause) if changes.skips else []
        shares = changes.profit_shares
        self.shares = _listed(shares, share_values, pause) if shares else []
        tags = changes.order_tags
        self.tags = [tag_values(g) for g in tags] if tags else []
        modes = changes.modes
        self.modes = {uid: _mode(one) for uid, one in modes.items()} if modes else {}
        algos = changes.algos
        self.algos = {i: algo_values(a) for i, a in algos.items()} if algos else {}

    def merge(self, later: ChangeRows) -> None:
        """Fold ``later`` in (its rows replace this one's).

        Prepared statements (:attr:`bulk`) cannot be merged with: rows after them are written
        after them (:attr:`chain`).
        """
        if self.chain:
            self.chain[-1].merge(later)
            return
        if later.bulk or later.chain:
            self.chain.append(later)
            return
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


def _alike_sql(table: str, row: tuple[Any, ...], bound: tuple[int, ...]) -> str:
    """Return the ``INSERT`` binding the columns ``bound``, the others ``row``'s literals."""
    names = columns(table)
    values = ["?" if i in bound else _sql_literal(v) for i, v in enumerate(row)]
    quoted = ", ".join(f'"{n}"' for n in names)
    return f"INSERT INTO {table} ({quoted}) VALUES ({', '.join(values)})"  # noqa: S608


_MANY = 64
"""From this many rows, the columns equal in (nearly) every row are written as literals (see
:func:`_split_shared`): binding a value costs more than SQLite's own work on it, and a
fan-out's rows repeat the same contract, prices, fees, time and kind in all but their ids."""

# A close-only row is closed_values(): the close also sets is_open false and clears tp and sl.
_CLOSED_SET = ('"is_open"', "0"), ('"tp_trigger_price"', "NULL"), ('"sl_trigger_price"', "NULL")
_CLOSED_COLUMNS = ("close_time", "close_avg_price", "close_fee", "profit", "close_type")


def _write_closed(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Update close-only positions: just the close's columns, the shared ones as literals."""
    _update_many(conn, "positions", _CLOSED_COLUMNS, "sub_position_id", rows, _CLOSED_SET)


_LITERAL_TYPES = (type(None), int, str, bool)


def _split_shared(
    rows: list[tuple[Any, ...]], count: int
) -> tuple[dict[int, Any], list[tuple[Any, ...]]]:
    """Find the first ``count`` columns holding one value in all rows but a few outliers.

    Returns ``{column: value}`` and the outliers, rows differing in one of those columns
    (a fan-out's few rows of the lead among thousands of copies): they are taken out of
    ``rows`` (in place) and written with every column bound. Only values written exactly the
    same as a literal count (None, int, bool, str); a column holds one type in every row, so
    ``==`` is the stored equality (``True == 1`` is stored as 1 either way).
    """
    n = len(rows)
    probe = rows[n // 2]
    allowed = n // 32  # outliers a column may have and still be shared
    shared: dict[int, Any] = {}
    odd: set[int] = set()
    for i, column in enumerate(zip(*rows, strict=True)):
        if i >= count:
            break
        value = probe[i]
        if type(value) not in _LITERAL_TYPES or (type(value) is str and "\0" in value):
            continue
        missing = n - column.count(value)
        if missing > allowed:
            continue
        if missing:
            # mostly the same few rows (the lead's) differ in each such column: look at those
            # first, and scan the whole column only when they do not account for all
            found = [j for j in odd if column[j] != value]
            if len(found) != missing:
                found = [j for j, x in enumerate(column) if x != value]
                if len(odd.union(found)) > allowed:
                    continue
            odd.update(found)
        shared[i] = value
    outliers: list[tuple[Any, ...]] = []
    if odd:
        outliers = [rows[j] for j in sorted(odd)]
        keep = [row for j, row in enumerate(rows) if j not in odd]
        rows[:] = keep
    return shared, outliers


def _project(rows: list[tuple[Any, ...]], shared: dict[int, Any]) -> list[tuple[Any, ...]]:
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
    """Return ``value`` (None, int, bool or str) as an SQL literal, stored as binding it is."""
    if value is None:
        return "NULL"
    if value is True:
        return "1"
    if value is False:
        return "0"
    if type(value) is int:
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


Statements = list[tuple[str, list[tuple[Any, ...]]]]
"""Statements with their rows, ready for ``executemany`` in order."""


def _all_new(keyed: dict[int, Any], new: set[int]) -> bool:
    """Return whether ``keyed`` holds many rows, every one new (a wave's)."""
    return len(keyed) >= _MANY and len(new) == len(keyed) and new.issuperset(keyed)


def _insert_many(conn: Connection, table: str, rows: list[tuple[Any, ...]]) -> None:
    """Insert rows; a large batch binds only what differs between its rows (see _split_shared)."""
    for sql, params in _inserts(table, rows):
        executemany(conn, sql, params)


def _inserts(table: str, rows: list[tuple[Any, ...]]) -> Statements:
    """Return the statements of :func:`_insert_many`."""
    if len(rows) < _MANY:
        return [(insert_sql("?", table), rows)]
    names = columns(table)
    rows = list(rows)
    shared, outliers = _split_shared(rows, len(names))
    if not shared:
        return [(insert_sql("?", table), rows + outliers)]
    values = ", ".join(_sql_literal(shared[i]) if i in shared else "?" for i in range(len(names)))
    quoted = ", ".join(f'"{n}"' for n in names)
    sql = f"INSERT INTO {table} ({quoted}) VALUES ({values})"  # noqa: S608 - our own names
    done = [(sql, _project(rows, shared))]
    if outliers:
        done.append((insert_sql("?", table), outliers))
    return done


def _update_many(
    conn: Connection,
    table: str,
    cols: tuple[str, ...],
    key: str,
    rows: list[tuple[Any, ...]],
    fixed: tuple[tuple[str, str], ...] = (),
) -> None:
    """Update ``cols`` by ``key`` (rows ``(*values, key)``), shared values as literals.

    ``fixed``: further ``(quoted column, literal)`` every row sets.
    """
    for sql, params in _updates(table, cols, key, rows, fixed):
        executemany(conn, sql, params)


def _updates(
    table: str,
    cols: tuple[str, ...],
    key: str,
    rows: list[tuple[Any, ...]],
    fixed: tuple[tuple[str, str], ...] = (),
) -> Statements:
    """Return the statements of :func:`_update_many`."""
    head = [f"{name} = {literal}" for name, literal in fixed]
    shared: dict[int, Any] = {}
    outliers: list[tuple[Any, ...]] = []
    if len(rows) >= _MANY:
        rows = list(rows)
        shared, outliers = _split_shared(rows, len(cols))
    sets = head + [
        f'"{c}" = {_sql_literal(shared[i]) if i in shared else "?"}' for i, c in enumerate(cols)
    ]
    sql = f'UPDATE {table} SET {", ".join(sets)} WHERE "{key}" = ?'  # noqa: S608 - our own names
    done = [(sql, _project(rows, shared))]
    if outliers:
        full = head + [f'"{c}" = ?' for c in cols]
        sql = f'UPDATE {table} SET {", ".join(full)} WHERE "{key}" = ?'  # noqa: S608
        done.append((sql, outliers))
    return done


def _with_close(row: tuple[Any, ...], narrow: tuple[Any, ...]) -> tuple[Any, ...]:
    """Return a whole ``positions`` row with a later close applied."""
    return (*row[:12], None, None, *row[14:16], False, *narrow[:5], *row[22:])


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


class _Texts(dict[int, str]):
    """Decimal text by object, for one render of a fan-out's change set.

    A fan-out's thousands of orders, positions and fills share the decimal objects the domain
    computed once (price, volume, fee, margin of equal copies): each is formatted once. Keyed
    by ``id``; the decimals are kept alive here so that no id is reused while cached.
    """

    __slots__ = ("kept",)

    def __init__(self) -> None:
        super().__init__()
        self.kept: list[Decimal] = []

    def text(self, value: Decimal) -> str:
        """Return ``value``'s exact text (``format(value, "f")``), formatting it once."""
        text = self[id(value)] = format(value, "f")
        self.kept.append(value)
        return text


def _chunked(
    items: dict[int, _T],
    render: Callable[[list[_T], _Texts], list[tuple[Any, ...]]],
    texts: _Texts,
    pause: Callable[[], None] | None,
) -> dict[int, tuple[Any, ...]]:
    """Render ``items`` ``PAUSE_ROWS`` at a time, pausing in between; keyed as given."""
    keys = list(items)
    values = list(items.values())
    out: dict[int, tuple[Any, ...]] = {}
    for start in range(0, len(keys), PAUSE_ROWS):
        if start and pause is not None:
            pause()
        end = start + PAUSE_ROWS
        out.update(zip(keys[start:end], render(values[start:end], texts), strict=True))
    return out


# The renderers below give exactly rows.py's tuples (tests/unit/adapters/test_bulk_rows.py),
# each decimal's text looked up by identity first: ``get(id(d)) or text(d)`` (no text is "").


def _balance_rows(
    accounts: dict[int, Account], texts: _Texts, pause: Callable[[], None] | None = None
) -> dict[int, tuple[str, str, str]]:
    get, text = texts.get, texts.text
    out: dict[int, tuple[str, str, str]] = {}
    for n, (uid, a) in enumerate(accounts.items(), 1):
        if pause is not None and not n % PAUSE_ROWS:
            pause()
        out[uid] = (
            format(a.balance, "f"),  # each wallet's own
            get(id(a.spot)) or text(a.spot),
            get(id(a.futures)) or text(a.futures),
        )
    return out


def _position_rows(items: list[SubPosition], texts: _Texts) -> list[tuple[Any, ...]]:
    get, text = texts.get, texts.text
    return [
        (
            p.sub_position_id,
            p.uid,
            p.contract_code,
            p.margin_mode._value_,
            p.side._value_,
            p.lever,
            get(id(p.volume)) or text(p.volume),
            get(id(p.open_avg_price)) or text(p.open_avg_price),
            get(id(p.open_fee)) or text(p.open_fee),
            get(id(p.position_margin)) or text(p.position_margin),
            p.open_order_id,
            p.open_time,
            None if (tp := p.tp_trigger_price) is None else get(id(tp)) or text(tp),
            None if (sl := p.sl_trigger_price) is None else get(id(sl)) or text(sl),
            p.lead_uid,
            p.lead_sub_position_id,
            p.is_open,
            p.close_time,
            None if (cp := p.close_avg_price) is None else get(id(cp)) or text(cp),
            get(id(p.close_fee)) or text(p.close_fee),
            None if (pr := p.profit) is None else get(id(pr)) or text(pr),
            None if (ct := p.close_type) is None else ct._value_,
            get(id(p.follow_takes)) or text(p.follow_takes),
        )
        for p in items
    ]


def _closed_rows(items: list[SubPosition], texts: _Texts) -> list[tuple[Any, ...]]:
    get, text = texts.get, texts.text
    return [
        (
            p.close_time,
            None if (cp := p.close_avg_price) is None else get(id(cp)) or text(cp),
            get(id(p.close_fee)) or text(p.close_fee),
            None if (pr := p.profit) is None else get(id(pr)) or text(pr),
            None if (ct := p.close_type) is None else ct._value_,
            p.sub_position_id,
        )
        for p in items
    ]


def _order_rows(items: list[Order], texts: _Texts) -> list[tuple[Any, ...]]:
    get, text = texts.get, texts.text
    return [
        (
            o.order_id,
            o.uid,
            o.contract_code,
            o.margin_mode._value_,
            o.side._value_,
            o.price_type._value_,
            None if (pc := o.price) is None else get(id(pc)) or text(pc),
            get(id(o.volume)) or text(o.volume),
            o.lever,
            o.created_at,
            None if (tp := o.tp_trigger_price) is None else get(id(tp)) or text(tp),
            None if (sl := o.sl_trigger_price) is None else get(id(sl)) or text(sl),
            get(id(o.filled)) or text(o.filled),
            get(id(o.filled_notional)) or text(o.filled_notional),
            get(id(o.fee)) or text(o.fee),
            o.status._value_,
            o.sub_position_id,
            o.lead_uid,
            o.lead_sub_position_id,
        )
        for o in items
    ]


def _fill_rows(items: list[FillRecord], texts: _Texts) -> list[tuple[Any, ...]]:
    get, text = texts.get, texts.text
    return [
        (
            f.trade_id,
            f.uid,
            f.order_id,
            f.sub_position_id,
            f.contract_code,
            f.side._value_,
            f.offset,
            get(id(f.price)) or text(f.price),
            get(id(f.volume)) or text(f.volume),
            get(id(f.fee)) or text(f.fee),
            f.liquidity._value_,
            f.ts,
        )
        for f in items
    ]


def write_rows(conn: Connection, rows: ChangeRows) -> None:
    """Write the rows in the open transaction: one ``executemany`` per table and kind.

    The prepared statements first, then the keyed rows, then what came after them.
    """
    for sql, params in rows.bulk:
        executemany(conn, sql, params)
    _write_parts(conn, rows)
    for later in rows.chain:
        write_rows(conn, later)


def _write_parts(conn: Connection, rows: ChangeRows) -> None:
    if rows.balances:
        _update_many(
            conn,
            "accounts",
            ("balance", "spot", "futures"),
            "uid",
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
        if records:
            _insert_many(conn, table, records)
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
    if len(new) == len(keyed) and new.issuperset(keyed):  # a wave's: all new
        _insert_many(conn, table, list(keyed.values()))
        return
    setting = mutable(table)
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    for key, row in keyed.items():
        if key in new:
            inserts.append(row)
        else:
            updates.append((*[row[i] for i in setting], key))
    if inserts:
        _insert_many(conn, table, inserts)
    if updates:
        cols = columns(table)
        if len(updates) < _MANY:
            sql = update_sql("?", table, tuple(cols[i] for i in setting), cols[0])
            executemany(conn, sql, updates)
        else:
            _update_many(conn, table, tuple(cols[i] for i in setting), cols[0], updates)
