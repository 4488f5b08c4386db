"""Engines and migrations: SQLite pragmas (WAL, foreign keys, busy timeout, durability).

PostgreSQL runs through psycopg 3 at READ COMMITTED: the unit of work serialises a trader's
commands with row locks (see :mod:`copytrade.adapters.db.pg_uow` and ``docs/scale-out.md``).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from types import MappingProxyType
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

from copytrade.adapters.db import schema as t
from copytrade.adapters.db.checkpoint import FALLBACK_PAGES
from copytrade.adapters.ids import MAX_WORKER

MIGRATIONS = Path(__file__).parent / "migrations"
IDLE_PING_SECONDS = 2.0
"""PostgreSQL: a pooled connection idle longer than this is pinged before use."""


class SchemaBehind(RuntimeError):
    """The database schema is older than this code's migrations."""


class SchemaAhead(SchemaBehind):
    """The database schema is newer than this code's migrations (a newer copytrade ran)."""


_PG_SCHEMES = frozenset({"postgresql", "postgres"})


def normalize_url(url: str) -> str:
    """Return ``url`` with PostgreSQL mapped to the psycopg 3 driver.

    Users write ``postgresql://user@host/db`` (or ``postgres://``); SQLAlchemy needs
    ``postgresql+psycopg://``. Other URLs, and PostgreSQL URLs naming a driver, pass unchanged.
    """
    scheme, sep, rest = url.partition("://")
    if sep and scheme.lower() in _PG_SCHEMES:
        return f"postgresql+psycopg://{rest}"
    return url


def is_sqlite(url: str) -> bool:
    """Return whether ``url`` names a SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def fast_sqlite_binds() -> None:
    """Let the ``sqlite3`` driver bind ``None`` and ``bool`` without its failed adapter search.

    The driver binds ``int``, ``float``, ``str`` and ``bytes`` directly; any other value (a
    ``None`` column, ``is_open``) goes through its adapter protocol, which, finding no adapter,
    tries ``__adapt__`` and ``__conform__`` on the value and costs ~3,300 instructions a value:
    ~4 % of a signed request's (``bench/prof_callgrind.py``). With an adapter registered the
    search stops at the first look-up. What is bound does not change: ``None`` stays ``None``
    (bound as NULL) and a ``bool`` becomes the ``int`` the driver bound it as anyway (``bool``
    is not one of the base types whose adaptation would slow every other bind).
    """
    sqlite3.register_adapter(type(None), _NO_KEYS.get)  # C-level identity for None: get(None)
    sqlite3.register_adapter(bool, int)


_NO_KEYS: MappingProxyType[Any, Any] = MappingProxyType({})


def make_engine(
    url: str,
    *,
    sqlite_synchronous: str = "NORMAL",
    pool_size: int = 8,
    background_checkpoint: bool = False,
    idle_ping_seconds: float = IDLE_PING_SECONDS,
) -> Engine:
    """Build an engine; SQLite gets WAL, ``synchronous`` as configured and a busy timeout.

    With ``background_checkpoint`` commits leave WAL checkpoints to a
    :class:`~copytrade.adapters.db.checkpoint.WalCheckpointer` (the caller starts it), keeping
    the commit-time one only as a fallback for a log far larger than usual.

    With WAL, ``synchronous=NORMAL`` loses nothing when the process crashes (only an OS crash or
    power loss can drop the last commits); ``FULL`` also survives those, at about 6x the cost
    per commit.
    """
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "isolation_level": None}
        )
        fast_sqlite_binds()
        sync = sqlite_synchronous.upper()
        if sync not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError(f"unknown SQLite synchronous setting {sqlite_synchronous!r}")

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={sync}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.execute("PRAGMA cache_size=-32768")
            if background_checkpoint:
                cur.execute(f"PRAGMA wal_autocheckpoint={FALLBACK_PAGES}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # pysqlite's own transaction handling is off (isolation_level=None); take the
            # write lock at BEGIN so that two writers never deadlock on lock upgrade.
            # (on the driver's connection: SQLAlchemy's statement path cost more than the BEGIN)
            conn.connection.driver_connection.execute("BEGIN IMMEDIATE")

        return engine
    # READ COMMITTED: every statement sees what committed before it, so a command that waited
    # for a trader's row lock then reads that trader's positions as the previous holder left them.
    # prepare_threshold None: psycopg prepares nothing itself. Its prepared statements made it
    # send DEALLOCATE ALL after every ROLLBACK (a read's end), which also dropped the ones the
    # trading path prepares under its own names (:mod:`.pgwire`).
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        isolation_level="READ COMMITTED",
        connect_args={"prepare_threshold": None},
    )
    _ping_when_idle(engine, idle_ping_seconds)
    return engine


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Ping a pooled connection before use only when it sat idle ``idle_seconds`` or more.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: a round trip per command, ~8 % of
    a busy server's CPU, spent on connections used a millisecond earlier. A connection lost
    while in use is handled by the unit of work instead (rerun on a fresh connection).
    Raising :class:`DisconnectionError` here makes the pool connect afresh and retry.
    """

    @event.listens_for(engine, "checkin")
    def _checkin(dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.get("checked_in")
        if since is None or time.monotonic() - since < idle_seconds:
            return
        if not _alive(engine, dbapi_connection):
            raise DisconnectionError("pooled connection lost while idle")


def _alive(engine: Engine, dbapi_connection: Any) -> bool:
    try:
        return bool(engine.dialect.do_ping(dbapi_connection))
    except Exception:  # any failure of the ping means a dead connection
        return False


class ConnectionKeeper:
    """PostgreSQL: each database thread keeps its connection from one command to the next.

    Checking a connection out of SQLAlchemy's pool and back in (events, reset, queue) cost
    ~60 µs of CPU per command, about 7 % of a busy server's. A thread's kept connection is
    used again while it was idle less than ``idle_seconds``; past that it is pinged first, as
    the pool does (:func:`_ping_when_idle`). A connection lost in use is never kept (the unit
    of work closes it). :meth:`close` returns every kept connection to the pool.
    """

    def __init__(self, engine: Engine, idle_seconds: float = IDLE_PING_SECONDS) -> None:
        """Keep connections of ``engine``."""
        self._engine = engine
        self._idle = idle_seconds
        self._local = threading.local()
        self._kept: set[Connection] = set()
        self._lock = threading.Lock()

    def take(self) -> Connection:
        """Return this thread's kept connection if usable, else a new one from the pool."""
        local = self._local
        kept: Connection | None = getattr(local, "conn", None)
        if kept is not None:
            local.conn = None
            if not kept.invalidated and not kept.closed:
                if time.monotonic() - local.since < self._idle:
                    return kept
                if _alive(self._engine, kept.connection.dbapi_connection):
                    return kept
                kept.invalidate()
            self.drop(kept)
        conn = self._engine.connect()
        with self._lock:
            self._kept.add(conn)
        return conn

    def keep(self, conn: Connection) -> None:
        """Keep ``conn`` (outside any transaction) for this thread's next command."""
        self._local.conn = conn
        self._local.since = time.monotonic()

    def drop(self, conn: Connection) -> None:
        """Close ``conn`` (back to the pool, unless invalidated) and forget it."""
        with self._lock:
            self._kept.discard(conn)
        conn.close()

    def close(self) -> None:
        """Return every kept connection to the pool (their threads are done with them)."""
        with self._lock:
            kept, self._kept = list(self._kept), set()
        for conn in kept:
            conn.close()


def allocate_worker(engine: Engine) -> int:
    """Return a snowflake worker number (0–1023) that no other running process holds.

    One atomic ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` increments the ``counters`` row
    ``snowflake_worker``; the result modulo 1024 is this process's number, so up to 1,024
    processes started one after another never share one. The table is not emptied by the
    admin reset, so numbers stay unique across resets.
    """
    c = t.counters
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(c).values(name="snowflake_worker", value=0)
    stmt = stmt.on_conflict_do_update(
        index_elements=[c.c.name], set_={"value": c.c.value + 1}
    ).returning(c.c.value)
    with engine.begin() as conn:
        value = conn.execute(stmt).scalar_one()
    return int(value) % (MAX_WORKER + 1)


def _config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def head_revision() -> str:
    """Return the newest migration revision of this code."""
    script = ScriptDirectory.from_config(_config_for_script())
    head = script.get_current_head()
    assert head is not None
    return head


def _refuse_ahead(engine: Engine, current: str | None) -> None:
    """Raise :class:`SchemaAhead` when ``current`` is a revision this code does not know."""
    if current is not None and not _known_revision(current):
        raise SchemaAhead(
            f"database schema is at revision {current}, newer than this server's "
            f"{head_revision()}: upgrade copytrade (a downgrade of the schema would lose data)"
        )


def _known_revision(revision: str) -> bool:
    """Return whether ``revision`` is one of this code's migrations."""
    script = ScriptDirectory.from_config(_config_for_script())
    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False


def _config_for_script() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def current_revision(engine: Engine) -> str | None:
    """Return the database's migration revision (``None`` for an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` (default: the newest).

    Raises :class:`SchemaAhead` when a newer copytrade has migrated the database already.
    """
    _refuse_ahead(engine, current_revision(engine))
    cfg = _config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def require_current_schema(engine: Engine) -> None:
    """Check that the database is at this code's schema revision.

    Raise :class:`SchemaBehind` unless the database is at this code's head revision, or
    :class:`SchemaAhead` when a newer copytrade has migrated it past what this code knows.
    """
    current = current_revision(engine)
    head = head_revision()
    _refuse_ahead(engine, current)
    if current != head:
        raise SchemaBehind(
            f"database schema is at revision {current or 'none'}, this server needs {head}: "
            f"run `copytrade migrate --db URL` first"
        )
