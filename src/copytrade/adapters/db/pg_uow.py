"""The shared store's unit of work (PostgreSQL): one transaction per command, rows locked.

Writes are serialised per trader by locking the account rows a command loads (``SELECT … FOR
UPDATE``, in uid order). Followers are locked after their trader, always in that order, so two
commands never wait on each other in a cycle.

Why READ COMMITTED and row locks are enough (``docs/scale-out.md``):

* The trader's ``accounts`` row is the per-trader mutex. Every trading command locks it first,
  before it reads any position or order, and holds it to commit. Under READ COMMITTED each
  statement sees everything committed before it started, so the command that waited for the lock
  reads the trader's positions exactly as the previous holder left them: a second
  ``close_all_position`` on the same key finds nothing (1046) instead of closing twice.
* A follower follows one trader at a time, and is locked (in uid order) only after that trader,
  by commands that already hold the trader's lock. Admin commands that lock many accounts in uid
  order (a mark price move) can still deadlock with them; PostgreSQL then aborts one, which this
  unit reports as :class:`~copytrade.service.ports.WriteConflict` and the use case reruns
  (:mod:`copytrade.service.retry`).
* REPEATABLE READ or SERIALIZABLE would add nothing but aborts: the locks already order writers,
  and a stale snapshot taken before the lock wait would be wrong, not safer.

Accounts this process committed are kept with their row version (:mod:`.versions`): when the
lock query returns the same version, the kept copy is used and the account is not read again.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from types import TracebackType
from typing import Any, Self

from psycopg.pq import TransactionStatus
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from copytrade.adapters.db.engine import ConnectionKeeper
from copytrade.adapters.db.loader import (
    MARKS_VERSION,
    account_of,
    fill_accounts,
    select_heads,
)
from copytrade.adapters.db.pg_writer import write_change_set
from copytrade.adapters.db.pgwire import PREPARED_GONE, Statement, Wire, wire_of
from copytrade.adapters.db.records import SqlAdmin, SqlFollows, SqlUsers, exposed_to, follows_of
from copytrade.adapters.db.records import SqlMarkets as _SqlMarkets
from copytrade.adapters.db.sql import POSTGRES, driver, query
from copytrade.adapters.db.versions import AccountVersions
from copytrade.adapters.secrets import SecretBox
from copytrade.domain.copytrading import Follow
from copytrade.domain.model import Account, ChangeSet
from copytrade.service.ports import ServiceBusy, WriteConflict

# deadlock_detected, serialization_failure, and a statement prepared by :mod:`.pgwire` that
# was deallocated (it is prepared afresh): the transaction can simply run again
_RERUNNABLE = frozenset({"40P01", "40001", PREPARED_GONE})
IDLE = TransactionStatus.IDLE

LOCK_HEADS = (
    f"SELECT uid, balance, version, spot, futures, {MARKS_VERSION} FROM accounts "  # noqa: S608
    "WHERE uid = ANY($1::bigint[]) ORDER BY uid FOR UPDATE"
)
""":func:`~copytrade.adapters.db.loader.select_heads` with ``lock``, for :mod:`.pgwire`."""


def _heads(result: Any) -> list[tuple[Any, ...]]:
    """Return the rows of :data:`LOCK_HEADS` (text format) as :func:`select_heads` returns them."""
    value = result.get_value
    rows = []
    for i in range(result.ntuples):
        marks = value(i, 5)
        rows.append(
            (
                int(value(i, 0)),
                value(i, 1).decode(),
                int(value(i, 2)),
                value(i, 3).decode(),
                value(i, 4).decode(),
                None if marks is None else int(marks),
            )
        )
    return rows


def open_connection(engine: Engine, keeper: ConnectionKeeper | None) -> Connection:
    """Return a connection (the thread's kept one if any); ``ServiceBusy`` when unreachable."""
    try:
        return keeper.take() if keeper is not None else engine.connect()
    except DBAPIError as exc:  # the database is down or restarting: HTX's "system busy"
        raise ServiceBusy("database unreachable") from exc


def connection_lost(conn: Connection, exc: BaseException) -> bool:
    """Return whether ``exc`` came with the loss of the database connection."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if conn.invalidated:
        return True
    # errors of statements run on the driver's cursor bypass SQLAlchemy: ask the driver
    # (psycopg marks a connection that the server dropped as ``broken``)
    raw = conn.connection.driver_connection
    return bool(getattr(raw, "broken", False))


def release(
    engine: Engine,
    keeper: ConnectionKeeper | None,
    conn: Connection,
    exc: BaseException | None,
    *,
    committed: bool,
    commit_sent: bool,
) -> None:
    """End ``conn``'s transaction (rollback unless committed) and give the connection back.

    A lost connection leaves as :class:`WriteConflict` before COMMIT was sent (the server rolled
    back: rerunning is safe) or :class:`ServiceBusy` during COMMIT (outcome unknown). A deadlock
    or serialisation failure leaves as :class:`WriteConflict`.
    """
    lost = exc is not None and connection_lost(conn, exc)
    keep = False
    try:
        if lost:
            conn.invalidate()  # never back into the pool
        elif not committed:
            conn.rollback()
            _driver_rollback(conn)
        keep = not lost
    finally:
        if keeper is not None and keep:
            keeper.keep(conn)
        elif keeper is not None:
            keeper.drop(conn)
        else:
            conn.close()
    if lost:
        # the server went away (restart, failover, killed backend): its pooled siblings are
        # most likely gone too, so the pool starts afresh
        engine.dispose(close=False)
        if not commit_sent:
            raise WriteConflict("database connection lost; rerun on a new one") from exc
        raise ServiceBusy("database connection lost during commit") from exc
    # SQLAlchemy wraps the driver's error; statements run on the driver's cursor do not
    driver_error = exc.orig if isinstance(exc, DBAPIError) else exc
    if getattr(driver_error, "sqlstate", None) in _RERUNNABLE:
        raise WriteConflict(str(driver_error)) from exc


def _driver_rollback(conn: Connection) -> None:
    """Roll back a transaction SQLAlchemy did not begin (one :mod:`.pgwire` began)."""
    raw = conn.connection.driver_connection
    if raw is not None and raw.pgconn.transaction_status != IDLE:
        raw.rollback()


class _Locks:
    """What one unit of work locked: accounts (with versions), their follows, the marks."""

    __slots__ = (
        "follows_of",
        "forget_all",
        "identity",
        "marks_read",
        "marks_version",
        "version_of",
    )

    def __init__(self) -> None:
        self.identity: dict[int, Account] = {}
        self.version_of: dict[int, int] = {}
        self.follows_of: dict[int, list[Follow]] = {}
        self.marks_version: int | None = None  # as the lock query saw it (None: written)
        self.marks_read: tuple[int, dict[str, Decimal]] | None = None
        self.forget_all = False

    def drop(self, uid: int) -> None:
        """Never keep this unit's copy of ``uid`` (its row changed behind the copy)."""
        self.version_of.pop(uid, None)
        self.identity.pop(uid, None)
        self.follows_of.pop(uid, None)


class PgAccounts:
    """Accounts, locked in uid order; kept copies used when their version matches."""

    def __init__(self, unit: SharedUnitOfWork) -> None:
        """Belong to ``unit``."""
        self._unit = unit

    def get(self, uid: int) -> Account | None:
        """Load (and lock) one account."""
        return self._load_rows(self._unit.lock_heads([uid])).get(uid)

    def get_many(self, uids: Sequence[int]) -> dict[int, Account]:
        """Load (and lock) several accounts."""
        ordered = sorted(set(uids))
        if not ordered:
            return {}
        return self._load_rows(self._unit.lock_heads(ordered))

    def followers_of(self, trader_uid: int) -> tuple[list[Follow], dict[int, Account]]:
        """Return a trader's active follows and its followers' accounts (locked).

        For a trader this unit locked, the follows kept with its account are used when its
        version matched (every write of ``follows`` moves the trader's version on).
        """
        locks = self._unit.locks
        locked = trader_uid in locks.version_of
        follows = locks.follows_of.get(trader_uid) if locked else None
        if follows is None:
            follows = follows_of(self._unit.conn, POSTGRES, trader_uid)
            if locked:
                locks.follows_of[trader_uid] = follows
        if not follows:
            return [], {}
        return list(follows), self._load(POSTGRES.followers_scope(), [trader_uid], trader_uid)

    def exposed_to(self, contract_code: str) -> list[int]:
        """Return the UIDs holding positions or resting orders in a contract."""
        return exposed_to(self._unit.conn, contract_code)

    def save(self, changes: ChangeSet) -> None:
        """Write a change set now (one statement), in the unit's transaction."""
        locks = self._unit.locks
        unit = self._unit
        write_change_set(unit.conn, changes, locks.version_of, locks.identity, unit.defer)

    def _load(
        self, scope: str, params: list[Any], follower_of: int | None = None
    ) -> dict[int, Account]:
        """Lock the accounts of ``scope``; load those no kept copy vouches for."""
        rows = select_heads(self._unit.conn, scope, params, lock=True)
        return self._load_rows(rows, follower_of)

    def _load_rows(self, rows: list[Any], follower_of: int | None = None) -> dict[int, Account]:
        """Use the locked ``rows``: kept copies their version vouches for, the rest loaded."""
        unit = self._unit
        locks, versions = unit.locks, unit.versions
        if rows and not unit.marks_written:  # the marks version came along
            locks.marks_version = rows[0][5]
        identity = locks.identity
        found: dict[int, Account] = {}
        fresh: dict[int, Account] = {}
        for row in rows:
            uid, version = row[0], row[2]
            known = identity.get(uid)
            if known is None:
                locks.version_of[uid] = version
                kept = versions.take(uid, version) if versions is not None else None
                if kept is not None:
                    known, follows = kept
                    if follows is not None:
                        locks.follows_of[uid] = follows
                if known is None:
                    known = fresh[uid] = account_of(row)
                identity[uid] = known
            found[uid] = known
        whole = follower_of is not None and len(fresh) == len(found)
        fill_accounts(unit.conn, POSTGRES, fresh, follower_of if whole else None)
        return found


class PgMarkets:
    """Mark prices; the ones this process committed last are used while their version holds."""

    def __init__(self, unit: SharedUnitOfWork) -> None:
        """Belong to ``unit``."""
        self._unit = unit

    def marks(self) -> dict[str, Decimal]:
        """Return every contract's mark price."""
        unit = self._unit
        locks, versions = unit.locks, unit.versions
        if versions is not None and locks.marks_version is not None and not unit.marks_written:
            kept = versions.marks_at(locks.marks_version)
            if kept is not None:
                return kept
        rows = query(
            unit.conn,
            f"SELECT contract_code, mark_price, {MARKS_VERSION} FROM markets",  # noqa: S608
            [],
        )
        marks = {code: Decimal(price) for code, price, _version in rows}
        if rows and rows[0][2] is not None:
            locks.marks_read = (rows[0][2], marks)
        return dict(marks)

    def set_mark(self, contract_code: str, price: Decimal, now: int) -> None:
        """Store a contract's mark price (and move the marks version on)."""
        unit = self._unit
        _SqlMarkets(unit.connection, unit).set_mark(contract_code, price, now)


class SharedUnitOfWork:
    """One PostgreSQL transaction on one connection; rolls back unless committed."""

    def __init__(
        self,
        engine: Engine,
        secrets: SecretBox,
        versions: AccountVersions | None = None,
        keeper: ConnectionKeeper | None = None,
    ) -> None:
        """Bind to an engine; the transaction begins on ``__enter__``.

        ``versions``: this process's committed accounts, used when their row version shows
        nobody wrote them since. ``keeper``: the thread's connection is kept between units.
        """
        self._engine = engine
        self._keeper = keeper
        self.versions = versions
        self._conn: Connection | None = None
        self._wire: Wire | None = None
        self._pending: Statement | None = None  # the change set's statement, sent with COMMIT
        self._committed = False
        self._commit_sent = False
        self.marks_written = False
        self.locks = _Locks()
        self._secrets = secrets
        self.accounts = PgAccounts(self)
        self.markets = PgMarkets(self)
        # made on first use: a trading command needs none of them
        self._users: SqlUsers | None = None
        self._follows: SqlFollows | None = None
        self._admin: SqlAdmin | None = None

    def connection(self) -> Connection:
        """Return the open connection (for repositories made on first use)."""
        return self.conn

    @property
    def users(self) -> SqlUsers:
        """Users and API keys."""
        if self._users is None:
            self._users = SqlUsers(self.connection, self._secrets)
        return self._users

    @property
    def follows(self) -> SqlFollows:
        """Follows (every write moves the traders' versions on)."""
        if self._follows is None:
            self._follows = SqlFollows(self.connection, POSTGRES, self)
        return self._follows

    @property
    def admin(self) -> SqlAdmin:
        """Admin operations."""
        if self._admin is None:
            self._admin = SqlAdmin(self.connection, self)
        return self._admin

    @property
    def conn(self) -> Connection:
        """Return the open connection (a deferred write is sent first: statements keep order)."""
        if self._conn is None:
            raise RuntimeError("unit of work used outside its `with` block")
        if self._pending is not None:
            self._send_pending()
        return self._conn

    def wire(self) -> Wire:
        """Return the libpq path of this unit's connection (:mod:`.pgwire`)."""
        if self._conn is None:
            raise RuntimeError("unit of work used outside its `with` block")
        if self._wire is None:
            self._wire = wire_of(driver(self._conn))
        return self._wire

    def lock_heads(self, uids: list[int]) -> list[tuple[Any, ...]]:
        """Lock ``uids``' account rows; return them as :func:`select_heads` does.

        The first statement of the unit: ``BEGIN`` goes in the same round trip.
        """
        if self._pending is not None:
            self._send_pending()
        wire = self.wire()
        return _heads(wire.run([(LOCK_HEADS, [uids])], begin=wire.idle)[0])

    def defer(self, sql: str, params: list[Any]) -> None:
        """Keep the change set's statement to send with ``COMMIT`` (one round trip for both)."""
        if self._pending is not None:
            self._send_pending()
        self._pending = (sql, params)

    def _send_pending(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            wire = self.wire()
            wire.run([pending], begin=wire.idle)

    def __enter__(self) -> Self:
        """Begin the transaction."""
        # no SQLAlchemy ``begin()``: the trading path begins on libpq (:meth:`lock_heads`), and
        # SQLAlchemy begins its own bookkeeping when a statement goes through it (autobegin)
        self._conn = open_connection(self._engine, self._keeper)
        self._wire = None
        self._pending = None
        self._committed = self._commit_sent = self.marks_written = False
        self.locks = _Locks()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back unless committed, and release the connection."""
        self._pending = None  # never sent: rolled back with the rest
        conn, self._conn = self.conn, None
        self._wire = None
        release(
            self._engine,
            self._keeper,
            conn,
            exc,
            committed=self._committed,
            commit_sent=self._commit_sent,
        )

    def commit(self) -> None:
        """Commit; keep the accounts this unit locked for the next command.

        The deferred change set and ``COMMIT`` go in one round trip; SQLAlchemy's commit then
        only ends its own transaction (psycopg finds none open and sends nothing).
        """
        self._commit_sent = True
        pending, self._pending = self._pending, None
        wire = self.wire()
        if pending is not None:
            wire.run([pending], begin=wire.idle, commit=True)
        elif not wire.idle:
            wire.run([], commit=True)
        conn = self.conn
        if conn.in_transaction():  # SQLAlchemy's bookkeeping (nothing left to send)
            conn.commit()
        self._committed = True
        versions, locks = self.versions, self.locks
        if versions is None:
            return
        if locks.forget_all:
            versions.forget()
        elif locks.version_of:
            identity, follows = locks.identity, locks.follows_of
            versions.put({u: (v, identity[u], follows.get(u)) for u, v in locks.version_of.items()})
        if locks.marks_read is not None:  # committed now: other commands may use them
            versions.put_marks(*locks.marks_read)

    def rollback(self) -> None:
        """Drop this unit's writes now (the transaction stays open for more)."""
        self._pending = None
        conn = self.conn
        conn.rollback()
        _driver_rollback(conn)
        self.locks = _Locks()

    # -- what the record repositories report -------------------------------------------------
    def follows_changed(self, trader_uids: Sequence[int]) -> None:
        """Read these traders' follows again; their accounts stay this unit's own.

        The follows write moved each trader's version on by one (``SqlFollows._bump``). A trader
        this unit locked keeps its loaded account, now at that version: dropping it instead
        would make a later change set of this unit skip the trader's balance (a profit share
        credited after ``end`` or ``change``) as the write of an account it never locked.
        """
        locks = self.locks
        for uid in trader_uids:
            version = locks.version_of.get(uid)
            if version is None or uid not in locks.identity:
                locks.drop(uid)
                continue
            locks.version_of[uid] = version + 1
            locks.follows_of.pop(uid, None)

    def balance_set(self, uid: int) -> None:
        """Never keep this unit's copy of ``uid`` (its balance was overwritten)."""
        self.locks.drop(uid)

    def marks_changed(self) -> None:
        """The marks changed: never use or keep a copy of them in this unit."""
        self.marks_written = True
        self.locks.marks_read = None

    def was_reset(self) -> None:
        """Everything went: forget every kept copy after commit."""
        self.marks_changed()
        self.locks = _Locks()
        self.locks.forget_all = True
