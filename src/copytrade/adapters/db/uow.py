"""The SQL unit of work: one transaction per command, on SQLite or PostgreSQL.

Writes are serialised per trader by locking the account rows the command loads
(``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite ``BEGIN IMMEDIATE`` takes the database's one
write lock). Followers are locked after their trader, always in that order, so two commands never
wait on each other in a cycle.

Why READ COMMITTED and row locks are enough on PostgreSQL (``docs/scale-out.md``):

* The trader's ``accounts`` row is the per-trader mutex. Every trading command locks it first,
  before it reads any position or order, and holds it to commit. Under READ COMMITTED each
  statement sees everything committed before it started, so the command that waited for the lock
  reads the trader's positions exactly as the previous holder left them: a second
  ``close_all_position`` on the same key finds nothing (1046) instead of closing twice.
* A follower follows one trader at a time, and is locked (in uid order) only after that trader,
  by commands that already hold the trader's lock. Lock order is always trader → followers, so
  trading commands never wait on each other in a cycle. Admin commands that lock many accounts in
  uid order (a mark price move) can still deadlock with them; PostgreSQL then aborts one, which
  this class reports as :class:`~copytrade.service.ports.WriteConflict` and the use case reruns
  (:mod:`copytrade.service.retry`).
* REPEATABLE READ or SERIALIZABLE would add nothing but aborts: the locks already order writers,
  and a stale snapshot taken before the lock wait would be wrong, not safer.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Sequence
from decimal import Decimal
from types import TracebackType
from typing import Any, Self

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from copytrade.adapters.db import schema as t
from copytrade.adapters.db.engine import ConnectionKeeper
from copytrade.adapters.db.pgwrite import OneStatement
from copytrade.adapters.db.rows import (
    fill_values,
    order_from_row,
    order_values,
    position_from_row,
    position_values,
    share_values,
    skip_values,
)
from copytrade.adapters.db.versions import AccountVersions, first_version
from copytrade.adapters.secrets import SecretBox
from copytrade.domain.copytrading import Follow
from copytrade.domain.enums import MarginMode
from copytrade.domain.model import Account, ChangeSet, SubPosition
from copytrade.service.ports import (
    ApiKey,
    FollowerRow,
    Page,
    ServiceBusy,
    User,
    WriteConflict,
)

UID_START = 10_000_000
# From this many rows, PostgreSQL writes go through COPY (one round trip) instead of a
# statement per row.
COPY_THRESHOLD = 200


def _dec(value: Decimal) -> str:
    return format(value, "f")


@functools.cache
def _columns(table: str) -> tuple[str, ...]:
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
def _mutable(table: str) -> tuple[int, ...]:
    """Return the positions (in column order) of the columns an update may set."""
    fixed = _IDENTITY.get(table, frozenset())
    columns = _columns(table)
    return tuple(i for i in range(1, len(columns)) if columns[i] not in fixed)


def _marker(style: str) -> str:
    return "?" if style == "qmark" else "%s"


@functools.cache
def _insert_sql(style: str, table: str) -> str:
    names = ", ".join(f'"{n}"' for n in _columns(table))
    marks = ", ".join(_marker(style) for _ in _columns(table))
    return f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 - our own names


@functools.cache
def _update_sql(style: str, table: str, columns: tuple[str, ...], key: str) -> str:
    m = _marker(style)
    sets = ", ".join(f'"{c}" = {m}' for c in columns)
    return f'UPDATE {table} SET {sets} WHERE "{key}" = {m}'  # noqa: S608 - our own names


# deadlock_detected, serialization_failure: the transaction can simply run again
_RERUNNABLE = frozenset({"40P01", "40001"})
_MARKS_VERSION = "(SELECT value FROM counters WHERE name = 'marks')"


class SqlUnitOfWork:
    """A unit of work on one connection; rolls back unless :meth:`commit` was called."""

    def __init__(
        self,
        engine: Engine,
        secrets: SecretBox,
        versions: AccountVersions | None = None,
        keeper: ConnectionKeeper | None = None,
    ) -> None:
        """Bind to an engine; the transaction begins on ``__enter__``.

        ``versions`` (PostgreSQL): this process's committed accounts, used when their row
        version shows nobody wrote them since (:mod:`copytrade.adapters.db.versions`).
        ``keeper`` (PostgreSQL): the thread's connection is kept for its next unit of work.
        """
        self._engine = engine
        self._keeper = keeper
        self._secrets = secrets
        self._conn: Connection | None = None
        self._committed = False
        self._commit_sent = False
        # PostgreSQL: lock the accounts a command loads, and version every write of them
        self._lock = engine.dialect.name != "sqlite"
        self._identity: dict[int, Account] = {}
        self._versions = versions
        self._version_of: dict[int, int] = {}  # locked accounts: their version at commit
        self._follows_of: dict[int, list[Follow]] = {}  # locked traders: their active follows
        self._marks_version: int | None = None  # PostgreSQL: as the lock query saw it
        self._marks_read: tuple[int, dict[str, Decimal]] | None = None  # read with its version
        self._marks_written = False
        self._forget_after_commit = False

    def __enter__(self) -> Self:
        """Begin the transaction."""
        try:
            keeper = self._keeper
            self._conn = keeper.take() if keeper is not None else self._engine.connect()
        except DBAPIError as exc:  # the database is down or restarting: HTX's "system busy"
            raise ServiceBusy("database unreachable") from exc
        self._conn.begin()
        self._committed = False
        self._commit_sent = False
        self._identity = {}
        self._version_of = {}
        self._follows_of = {}
        self._marks_version = None
        self._marks_read = None
        self._marks_written = False
        self._forget_after_commit = False
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back unless committed, and release the connection.

        A deadlock or serialisation failure leaves as :class:`WriteConflict` (rerunnable).
        """
        conn = self.conn
        lost = exc is not None and self._connection_lost(conn, exc)
        keeper = self._keeper
        keep = False
        try:
            if lost:
                conn.invalidate()  # never back into the pool
            elif not self._committed:
                conn.rollback()
            keep = not lost
        finally:
            self._conn = None
            if keeper is not None and keep:
                keeper.keep(conn)
            elif keeper is not None:
                keeper.drop(conn)
            else:
                conn.close()
        if lost:
            # The server went away (restart, failover, killed backend): its pooled siblings
            # are most likely gone too, so the pool starts afresh. Before COMMIT was sent the
            # server rolled the transaction back: rerunning the command is safe. During COMMIT
            # the outcome is unknown: the caller is told the system is busy, never to rerun.
            self._engine.dispose(close=False)
            if not self._commit_sent:
                raise WriteConflict("database connection lost; rerun on a new one") from exc
            raise ServiceBusy("database connection lost during commit") from exc
        # SQLAlchemy wraps the driver's error; statements run on the driver's cursor do not
        driver_error = exc.orig if isinstance(exc, DBAPIError) else exc
        if getattr(driver_error, "sqlstate", None) in _RERUNNABLE:
            raise WriteConflict(str(driver_error)) from exc

    @staticmethod
    def _connection_lost(conn: Connection, exc: BaseException) -> bool:
        """Return whether ``exc`` came with the loss of the database connection."""
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            return True
        if conn.invalidated:
            return True
        # errors of statements run on the driver's cursor bypass SQLAlchemy: ask the driver
        # (psycopg marks a connection that the server dropped as ``broken``)
        raw = conn.connection.driver_connection
        return bool(getattr(raw, "broken", False))

    @property
    def conn(self) -> Connection:
        """Return the open connection."""
        if self._conn is None:
            raise RuntimeError("unit of work used outside its `with` block")
        return self._conn

    def commit(self) -> None:
        """Commit the transaction; keep the accounts it locked for the next command."""
        self._commit_sent = True
        self.conn.commit()
        self._committed = True
        versions = self._versions
        if versions is not None:
            if self._forget_after_commit:
                versions.forget()
            elif self._version_of:
                identity = self._identity
                follows = self._follows_of
                versions.put(
                    {u: (v, identity[u], follows.get(u)) for u, v in self._version_of.items()}
                )
            if self._marks_read is not None:  # committed now: other commands may use them
                versions.put_marks(*self._marks_read)

    # -- markets -------------------------------------------------------------------------
    def marks(self) -> dict[str, Decimal]:
        """Return every contract's mark price.

        PostgreSQL: the marks this process committed last are used when the ``marks`` version
        the lock query returned still matches them (:mod:`copytrade.adapters.db.versions`).
        """
        versions = self._versions
        if not self._lock or versions is None:
            rows = self._raw_query("SELECT contract_code, mark_price FROM markets", [])
            return {code: Decimal(price) for code, price in rows}
        if self._marks_version is not None and not self._marks_written:
            kept = versions.marks_at(self._marks_version)
            if kept is not None:
                return kept
        rows = self._raw_query(
            f"SELECT contract_code, mark_price, {_MARKS_VERSION} FROM markets",  # noqa: S608
            [],
        )
        marks = {code: Decimal(price) for code, price, _version in rows}
        if rows and rows[0][2] is not None:
            self._marks_read = (rows[0][2], marks)
        return dict(marks)

    def set_mark(self, contract_code: str, price: Decimal, now: int) -> None:
        """Store a contract's mark price, and move the marks version on."""
        self._upsert(
            t.markets,
            {"contract_code": contract_code, "mark_price": price, "updated_at": now},
            ["contract_code"],
        )
        self._marks_changed()

    def _marks_changed(self) -> None:
        """Move the ``marks`` version on: every process's kept marks expire."""
        self.conn.execute(
            text(
                "INSERT INTO counters (name, value) VALUES ('marks', 1) "
                "ON CONFLICT (name) DO UPDATE SET value = counters.value + 1"
            )
        )
        self._marks_written = True

    # -- users and keys ------------------------------------------------------------------
    def user(self, uid: int) -> User | None:
        """Return a user."""
        r = self.conn.execute(select(t.users).where(t.users.c.uid == uid)).first()
        if r is None:
            return None
        return User(r.uid, r.role, r.name, r.profit_share_ratio, r.created_at)

    def allocate_uids(self, count: int) -> int:
        """Reserve ``count`` consecutive new UIDs; return the first.

        One atomic upsert of the ``uid`` counter (a row lock on PostgreSQL), so server
        processes creating users at the same time never hand out the same UID. The counter
        starts above the largest UID already in use.
        """
        value = self.conn.execute(
            text(
                "INSERT INTO counters (name, value) "
                "SELECT 'uid', COALESCE(MAX(uid), :start) + :n FROM users WHERE true "
                "ON CONFLICT (name) DO UPDATE SET value = counters.value + :n "
                "RETURNING value"
            ),
            {"start": UID_START, "n": count},
        ).scalar_one()
        return int(value) - count + 1

    def add_user(self, user: User, balance: Decimal) -> None:
        """Create a user and its account."""
        self.add_users([user], balance)

    def add_users(self, users: Sequence[User], balance: Decimal) -> None:
        """Create several users with the same starting balance."""
        if not users:
            return
        self.conn.execute(
            insert(t.users),
            [
                {
                    "uid": u.uid,
                    "role": u.role,
                    "name": u.name,
                    "profit_share_ratio": u.profit_share_ratio,
                    "created_at": u.created_at,
                }
                for u in users
            ],
        )
        self.conn.execute(
            insert(t.accounts),
            [{"uid": u.uid, "balance": balance, "version": first_version()} for u in users],
        )

    def add_key(self, key: ApiKey) -> None:
        """Store an API key; the HMAC secret is encrypted at rest."""
        self.conn.execute(
            insert(t.api_keys).values(
                access_key=key.access_key,
                uid=key.uid,
                method=key.method,
                secret_enc=self._secrets.encrypt(key.secret) if key.secret is not None else None,
                public_key_hex=key.public_key_hex,
                permissions="trade" if key.can_trade else "read",
                created_at=0,
            )
        )

    def key(self, access_key: str) -> ApiKey | None:
        """Return an API key with its secret decrypted."""
        keys, users = t.api_keys, t.users
        r = self.conn.execute(
            select(keys, users.c.role)
            .join(users, users.c.uid == keys.c.uid)
            .where(keys.c.access_key == access_key)
        ).first()
        if r is None:
            return None
        secret = self._secrets.decrypt(r.secret_enc) if r.secret_enc is not None else None
        return ApiKey(
            r.access_key,
            r.uid,
            r.method,
            secret,
            r.public_key_hex,
            r.permissions == "trade",
            r.role,
        )

    # -- accounts ------------------------------------------------------------------------
    def account(self, uid: int) -> Account | None:
        """Load one account (locked)."""
        return self._load(f"uid = {_marker(self._style)}", [uid], [uid]).get(uid)

    def accounts(self, uids: Sequence[int]) -> dict[int, Account]:
        """Load several accounts (locked, in uid order)."""
        ordered = sorted(set(uids))
        if not ordered:
            return {}
        params: list[Any] = [ordered] if self._lock else ordered
        return self._load(self._uid_scope(len(ordered)), params, ordered)

    def followers_of(self, trader_uid: int) -> tuple[list[Follow], dict[int, Account]]:
        """Return a trader's active follows and its followers' accounts (locked).

        PostgreSQL: for a trader this unit locked, the follows kept with its account are used
        when its version matched (every write of ``follows`` moves the trader's version on).
        """
        locked = trader_uid in self._version_of
        follows = self._follows_of.get(trader_uid) if locked else None
        if follows is None:
            m = _marker(self._style)
            rows = self._raw_query(
                "SELECT follower_uid, ratio FROM follows "  # noqa: S608 - our own names
                f"WHERE trader_uid = {m} AND active ORDER BY follow_id",
                [trader_uid],
            )
            follows = [Follow(uid, trader_uid, Decimal(ratio)) for uid, ratio in rows]
            if locked:
                self._follows_of[trader_uid] = follows
        if not follows:
            return [], {}
        return list(follows), self._load(self._followers_scope(), [trader_uid], None, trader_uid)

    def _uid_scope(self, count: int) -> str:
        """Return a ``WHERE`` condition on ``uid`` for ``count`` parameters."""
        m = _marker(self._style)
        if self._lock:  # PostgreSQL: one array parameter, however many accounts
            return f"uid = ANY({m})"
        return f"uid IN ({', '.join(m for _ in range(count))})"

    def _followers_scope(self) -> str:
        """Return a ``WHERE`` condition on ``uid``: the active followers of one trader."""
        m = _marker(self._style)
        return f"uid IN (SELECT follower_uid FROM follows WHERE trader_uid = {m} AND active)"  # noqa: S608

    def _load(
        self,
        scope: str,
        params: list[Any],
        uids: Sequence[int] | None,
        follower_of: int | None = None,
    ) -> dict[int, Account]:
        """Load (and lock) accounts with their open positions, open orders and levers.

        ``scope`` (with ``params``) selects the ``accounts`` rows; ``uids`` lists them, or is
        ``None`` for the active followers of ``follower_of``. Every read goes through the
        driver's cursor: SQLAlchemy's statement building and per-cell processing cost several
        times the round trip itself, on every command.
        """
        # PostgreSQL: the rows are locked, and the marks version comes along (one round trip)
        lock = " ORDER BY uid FOR UPDATE" if self._lock else ""
        extra = f", {_MARKS_VERSION}" if self._lock else ""
        # identity map: an account loaded twice in one unit of work is the same object
        identity = self._identity
        versions = self._versions if self._lock else None
        found: dict[int, Account] = {}
        fresh: dict[int, Account] = {}
        rows = self._raw_query(
            f"SELECT uid, balance, version{extra} FROM accounts WHERE {scope}{lock}",  # noqa: S608
            params,
        )
        if rows and self._lock and not self._marks_written:
            self._marks_version = rows[0][3]
        for uid, balance, version, *_marks in rows:
            known = identity.get(uid)
            if known is None:
                if self._lock:
                    self._version_of[uid] = version
                    kept = versions.take(uid, version) if versions is not None else None
                    if kept is not None:
                        known, follows = kept
                        if follows is not None:
                            self._follows_of[uid] = follows
                if known is None:
                    known = fresh[uid] = Account(uid, Decimal(balance))
                identity[uid] = known
            found[uid] = known
        if not fresh:
            return found
        accounts = fresh
        m = _marker(self._style)
        if uids is None and len(fresh) == len(found):
            # followers are selected by sub-query, so no 10,000-long parameter list
            scope = self._followers_scope()
            params = [follower_of]
        else:
            scope = self._uid_scope(len(accounts))
            params = [list(accounts)] if self._lock else list(accounts)
        # through the driver's cursor: SQLAlchemy's per-cell processing cost more than SQL
        for row in self._raw_rows("positions", f"{scope} AND is_open = {m}", [*params, True]):
            accounts[row[1]].positions[row[0]] = position_from_row(row)
        # the literal, not a parameter: only then may the planner use the open-orders index
        for row in self._raw_rows("orders", f"{scope} AND status = 'open'", params):
            accounts[row[1]].orders[row[0]] = order_from_row(row)
        for uid, code, mode, lever in self._raw_rows("levers", scope, params):
            accounts[uid].levers[(code, MarginMode(mode))] = lever
        return found

    def _raw_rows(self, table: str, where: str, params: list[Any]) -> list[Any]:
        """Return ``table``'s whole rows (schema column order) matching ``where``, as tuples."""
        names = ", ".join(f'"{c}"' for c in _columns(table))
        return self._raw_query(f"SELECT {names} FROM {table} WHERE {where}", params)  # noqa: S608

    def _raw_query(self, sql: str, params: list[Any]) -> list[Any]:
        """Run one query on the driver's cursor, inside our transaction; return its tuples."""
        raw = self.conn.connection.driver_connection
        assert raw is not None
        cursor = raw.cursor()
        try:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def accounts_with_exposure(self, contract_code: str) -> list[int]:
        """Return the UIDs holding positions or resting orders in a contract."""
        p, o = t.positions, t.orders
        held = select(p.c.uid).where(
            and_(p.c.contract_code == contract_code, p.c.is_open.is_(True))
        )
        # a literal status, so that the planner may scan the open-orders index
        resting = select(o.c.uid).where(
            and_(o.c.contract_code == contract_code, text("orders.status = 'open'"))
        )
        uids = {r[0] for r in self.conn.execute(held.union(resting))}
        return sorted(uids)

    def set_balance(self, uid: int, balance: Decimal) -> None:
        """Overwrite a wallet balance."""
        a = t.accounts
        self.conn.execute(
            update(a).where(a.c.uid == uid).values(balance=balance, version=a.c.version + 1)
        )
        # an account this unit loaded no longer matches its row: never keep it
        self._version_of.pop(uid, None)
        self._identity.pop(uid, None)

    # -- writing a change set ------------------------------------------------------------
    def persist(self, changes: ChangeSet) -> None:
        """Write everything a command (or a group of them) changed.

        PostgreSQL: one statement for the whole change set (:mod:`.pgwrite`), or ``COPY`` for
        the tables with many rows. SQLite: one ``executemany`` per part, with the SQL built
        once and rows passed as plain tuples (SQLAlchemy's per-row parameter processing cost
        more than SQLite itself).
        """
        parts = self._parts(changes)
        if self._lock and not self._copy_any(changes):
            one = OneStatement()
            for kind, table, columns, key, rows in parts:
                one.add(kind, table, columns, key, rows)
            sql = one.sql()
            if sql is not None:
                self._execute(sql, one.params)
        else:
            for kind, table, columns, key, rows in parts:
                if kind == "insert":
                    self._insert(table, rows)
                elif kind == "update":
                    self._update(table, columns, key, rows)
                elif rows:
                    m = _marker(self._style)
                    self._executemany(
                        f"UPDATE accounts SET version = version + 1 WHERE uid = {m}",  # noqa: S608
                        [(uid,) for uid in rows],
                    )
        for (uid, code, mode), lever in changes.levers.items():
            self._upsert(
                t.levers,
                {"uid": uid, "contract_code": code, "margin_mode": mode.value, "lever": lever},
                ["uid", "contract_code", "margin_mode"],
            )

    def _parts(self, changes: ChangeSet) -> list[tuple[str, str, tuple[str, ...], str, list[Any]]]:
        """Return the change set's writes as (kind, table, columns, key, rows).

        ``insert`` rows are whole rows in schema column order; ``update`` rows are
        ``(*columns, key)``; ``bump`` rows are the uids whose account version moves on.
        """
        parts: list[tuple[str, str, tuple[str, ...], str, list[Any]]] = []
        if self._lock:
            versioned, blind = self._versioned_accounts(changes)
            parts.append(("update", "accounts", ("balance", "version"), "uid", versioned))
            parts.append(("bump", "accounts", (), "uid", blind))
        else:
            balances = [(format(a.balance, "f"), a.uid) for a in changes.accounts.values()]
            parts.append(("update", "accounts", ("balance",), "uid", balances))
        for table, rows, new in (
            ("positions", map(position_values, changes.positions.values()), changes.new_positions),
            ("orders", map(order_values, changes.orders.values()), changes.new_orders),
        ):
            columns = _columns(table)
            mutable = _mutable(table)
            inserts: list[tuple[Any, ...]] = []
            updates: list[tuple[Any, ...]] = []
            # updates set only the columns that can change (:func:`_mutable`): an identity
            # column set to its own value still rewrites its index entries
            for row in rows:
                if row[0] in new:
                    inserts.append(row)
                else:
                    updates.append((*[row[i] for i in mutable], row[0]))
            parts.append(("insert", table, columns, "", inserts))
            parts.append(("update", table, tuple(columns[i] for i in mutable), columns[0], updates))
        for table, records in (
            ("fills", map(fill_values, changes.fills)),
            ("copy_skips", map(skip_values, changes.skips)),
            ("profit_shares", map(share_values, changes.profit_shares)),
        ):
            parts.append(("insert", table, _columns(table), "", list(records)))
        return parts

    def _versioned_accounts(self, changes: ChangeSet) -> tuple[list[tuple[Any, ...]], list[int]]:
        """PostgreSQL: return the (balance, version, uid) rows of the accounts whose state
        (balance, positions, orders or levers) changed, each with its version moved on so
        that other processes' copies expire, and the uids of those this unit did not lock
        (their version is only moved on)."""
        uids = set(changes.accounts)
        uids.update(p.uid for p in changes.positions.values())
        uids.update(o.uid for o in changes.orders.values())
        uids.update(uid for uid, _code, _mode in changes.levers)
        rows: list[tuple[Any, ...]] = []
        blind: list[int] = []
        version_of, identity = self._version_of, self._identity
        for uid in sorted(uids):  # one order for every writer's row locks
            account = changes.accounts.get(uid) or identity.get(uid)
            version = version_of.get(uid)
            if account is None or version is None:  # not locked by this unit: just expire it
                version_of.pop(uid, None)
                blind.append(uid)
                continue
            version_of[uid] = version + 1
            rows.append((_dec(account.balance), version + 1, uid))
        return rows, blind

    @property
    def _style(self) -> str:
        return str(self._engine.dialect.paramstyle)

    def _insert(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        """Insert whole rows (in schema column order)."""
        if not rows:
            return
        if self._copy_ok(rows):
            self._copy(table, _columns(table), rows)
            return
        self._executemany(_insert_sql(self._style, table), rows)

    def _update(
        self, table: str, columns: tuple[str, ...], key: str, rows: list[tuple[Any, ...]]
    ) -> None:
        """Update ``columns`` of rows found by ``key``; each row is (*values, key)."""
        if not rows:
            return
        if self._copy_ok(rows):
            # PostgreSQL, many rows: COPY them into a temporary twin, then one UPDATE … FROM.
            # one temporary table per column set, holding just those columns (LIKE would copy
            # the NOT NULL constraints of columns an update leaves out)
            names = ", ".join(f'"{c}"' for c in (*columns, key))
            stage = f"_stage_{table}_{zlib.crc32(names.encode()):08x}"
            self.conn.exec_driver_sql(
                f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "  # noqa: S608
                f"SELECT {names} FROM {table} WITH NO DATA"
            )
            self.conn.exec_driver_sql(f"DELETE FROM {stage}")  # noqa: S608 - our own names
            self._copy(stage, (*columns, key), rows)
            sets = ", ".join(f'"{c}" = s."{c}"' for c in columns)
            self.conn.exec_driver_sql(
                f'UPDATE {table} AS d SET {sets} FROM {stage} AS s WHERE d."{key}" = s."{key}"'  # noqa: S608
            )
            return
        self._executemany(_update_sql(self._style, table, columns, key), rows)

    def _executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """Run one statement for many rows on the driver's cursor, inside our transaction.

        SQLAlchemy's execution context cost more per call than SQLite's own executemany.
        """
        raw = self.conn.connection.driver_connection
        assert raw is not None
        cursor = raw.cursor()
        try:
            cursor.executemany(sql, rows)
        finally:
            cursor.close()

    def _execute(self, sql: str, params: Sequence[Any]) -> None:
        """PostgreSQL: run one statement with native ``$n`` placeholders, in our transaction."""
        from psycopg import RawCursor  # PostgreSQL only: psycopg is the ``postgres`` extra

        raw = self.conn.connection.driver_connection
        assert raw is not None
        cursor = RawCursor(raw)
        try:
            cursor.execute(sql, params)
        finally:
            cursor.close()

    @staticmethod
    def _copy_any(changes: ChangeSet) -> bool:
        """Return whether some table of ``changes`` is large enough to go through ``COPY``
        (which a pipeline cannot carry)."""
        # versioned account rows: at most one per account, position, order and lever changed
        accounts = (
            len(changes.accounts)
            + len(changes.positions)
            + len(changes.orders)
            + len(changes.levers)
        )
        most = max(accounts, len(changes.fills), len(changes.skips), len(changes.profit_shares))
        return most >= COPY_THRESHOLD

    def _copy_ok(self, rows: list[tuple[Any, ...]]) -> bool:
        return len(rows) >= COPY_THRESHOLD and self._engine.dialect.name == "postgresql"

    def _copy(self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        names = ", ".join(f'"{c}"' for c in columns)
        raw = self.conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def _upsert(self, table: Any, values: dict[str, Any], keys: list[str]) -> None:
        dialect = postgresql if self._engine.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(table).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=keys,
            set_={k: v for k, v in values.items() if k not in keys},
        )
        self.conn.execute(stmt)

    # -- follows -------------------------------------------------------------------------
    def follow(self, follow_id: int, follow: Follow, now: int) -> None:
        """Start a follow."""
        self._follows_changed([follow.trader_uid])
        self.conn.execute(
            insert(t.follows).values(
                follow_id=follow_id,
                follower_uid=follow.follower_uid,
                trader_uid=follow.trader_uid,
                ratio=follow.ratio,
                started_at=now,
                active=True,
            )
        )

    def follow_many(self, rows: Sequence[tuple[int, Follow]], now: int) -> None:
        """Start several follows."""
        if rows:
            self._follows_changed(sorted({f.trader_uid for _fid, f in rows}))
            self.conn.execute(
                insert(t.follows),
                [
                    {
                        "follow_id": fid,
                        "follower_uid": f.follower_uid,
                        "trader_uid": f.trader_uid,
                        "ratio": f.ratio,
                        "started_at": now,
                        "ended_at": None,
                        "active": True,
                    }
                    for fid, f in rows
                ],
            )

    def active_follow_of(self, follower_uid: int) -> Follow | None:
        """Return the follower's current follow."""
        f = t.follows
        r = self.conn.execute(
            select(f).where(and_(f.c.follower_uid == follower_uid, f.c.active.is_(True)))
        ).first()
        return Follow(r.follower_uid, r.trader_uid, r.ratio) if r else None

    def end_follow(self, follower_uid: int, now: int) -> None:
        """End the follower's current follow."""
        f = t.follows
        m = _marker(self._style)
        traders = self._raw_query(
            f"SELECT trader_uid FROM follows WHERE follower_uid = {m} AND active",  # noqa: S608
            [follower_uid],
        )
        self._follows_changed(sorted(uid for (uid,) in traders))
        self.conn.execute(
            update(f)
            .where(and_(f.c.follower_uid == follower_uid, f.c.active.is_(True)))
            .values(active=False, ended_at=now)
        )

    def _follows_changed(self, trader_uids: Sequence[int]) -> None:
        """Move the traders' versions on: a copy of their follows kept anywhere expires."""
        m = _marker(self._style)
        self._executemany(
            f"UPDATE accounts SET version = version + 1 WHERE uid = {m}",  # noqa: S608
            [(uid,) for uid in trader_uids],
        )
        for uid in trader_uids:  # and never keep this unit's copy of them
            self._version_of.pop(uid, None)
            self._identity.pop(uid, None)
            self._follows_of.pop(uid, None)

    # -- settings ------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        """Read an emulator setting."""
        value = self.conn.execute(select(t.meta.c.value).where(t.meta.c.key == key)).scalar()
        return str(value) if value is not None else None

    def set_meta(self, key: str, value: str) -> None:
        """Write an emulator setting."""
        self._upsert(t.meta, {"key": key, "value": value}, ["key"])

    def reset(self) -> None:
        """Delete all state (markets included; the caller seeds them again).

        UIDs start again from the first; the snowflake worker numbers of running processes
        stay reserved.
        """
        for table in reversed(t.ALL_DATA_TABLES):
            self.conn.execute(delete(table))
        self.conn.execute(delete(t.counters).where(t.counters.c.name == "uid"))
        self._marks_changed()  # the markets went with the rest
        self._identity, self._version_of, self._follows_of = {}, {}, {}
        self._forget_after_commit = True

    # -- read side -----------------------------------------------------------------------
    def positions_page(
        self, uid: int, contract_code: str, is_open: bool, page: Page
    ) -> list[SubPosition]:
        """Return a page of open or closed sub positions, by id (spec §6.11 paging)."""
        p = t.positions
        conds = [
            p.c.uid == uid,
            p.c.contract_code == contract_code,
            p.c.is_open.is_(is_open),
            p.c.open_time >= page.start_time,
            p.c.open_time <= page.end_time,
        ]
        if page.from_id is not None:
            conds.append(
                p.c.sub_position_id > page.from_id
                if page.ascending
                else p.c.sub_position_id < page.from_id
            )
        order = p.c.sub_position_id.asc() if page.ascending else p.c.sub_position_id.desc()
        rows = self.conn.execute(select(p).where(and_(*conds)).order_by(order).limit(page.limit))
        return [position_from_row(r) for r in rows]

    def followers_page(self, trader_uid: int, page: Page) -> list[FollowerRow]:
        """Return a page of current followers with committed funds and realised copy PnL."""
        f, u, a, p = t.follows, t.users, t.accounts, t.positions
        conds = [
            f.c.trader_uid == trader_uid,
            f.c.active.is_(True),
            f.c.started_at >= page.start_time,
            f.c.started_at <= page.end_time,
        ]
        if page.from_id is not None:
            conds.append(
                f.c.follow_id > page.from_id if page.ascending else f.c.follow_id < page.from_id
            )
        order = f.c.follow_id.asc() if page.ascending else f.c.follow_id.desc()
        rows = self.conn.execute(
            select(f.c.follow_id, f.c.follower_uid, f.c.started_at, u.c.name, a.c.balance)
            .join(u, u.c.uid == f.c.follower_uid)
            .join(a, a.c.uid == f.c.follower_uid)
            .where(and_(*conds))
            .order_by(order)
            .limit(page.limit)
        ).all()
        # realised copy PnL of the whole page in one query (decimals are summed exactly here)
        totals: dict[int, Decimal] = {r.follower_uid: Decimal(0) for r in rows}
        if totals:
            closed = self.conn.execute(
                select(p.c.uid, p.c.profit).where(
                    and_(
                        p.c.uid.in_(list(totals)),
                        p.c.lead_uid == trader_uid,
                        p.c.is_open.is_(False),
                    )
                )
            )
            for uid, profit in closed:
                if profit is not None:
                    totals[uid] += profit
        out = [
            FollowerRow(
                r.follow_id,
                r.follower_uid,
                r.name,
                r.started_at,
                r.balance,
                totals[r.follower_uid],
            )
            for r in rows
        ]
        return out

    def user_report(self, uid: int) -> dict[str, object]:
        """Return fills, skipped copies, closed positions and profit shares of a UID."""
        c = self.conn
        return {
            "fills": [
                dict(r._mapping)
                for r in c.execute(
                    # every fill belongs to a sub position of its UID (fills are indexed by
                    # sub position, positions by UID)
                    select(t.fills)
                    .where(
                        t.fills.c.sub_position_id.in_(
                            select(t.positions.c.sub_position_id).where(t.positions.c.uid == uid)
                        ),
                        t.fills.c.uid == uid,
                    )
                    .order_by(t.fills.c.trade_id)
                )
            ],
            "skipped_copies": [
                dict(r._mapping)
                for r in c.execute(
                    select(t.copy_skips)
                    .where(t.copy_skips.c.follower_uid == uid)
                    .order_by(t.copy_skips.c.skip_id)
                )
            ],
            "closed_positions": [
                position_from_row(r)
                for r in c.execute(
                    select(t.positions)
                    .where(and_(t.positions.c.uid == uid, t.positions.c.is_open.is_(False)))
                    .order_by(t.positions.c.sub_position_id)
                )
            ],
            "profit_shares_received": [
                dict(r._mapping)
                for r in c.execute(
                    select(t.profit_shares)
                    .where(t.profit_shares.c.trader_uid == uid)
                    .order_by(t.profit_shares.c.item_id)
                )
            ],
            "profit_shares_paid": [
                dict(r._mapping)
                for r in c.execute(
                    select(t.profit_shares)
                    .where(t.profit_shares.c.follower_uid == uid)
                    .order_by(t.profit_shares.c.item_id)
                )
            ],
        }
