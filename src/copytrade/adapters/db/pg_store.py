"""The shared store (PostgreSQL): any number of server processes over one database.

Composed of the unit of work (:mod:`.pg_uow`: row locks, version-vouched kept copies, the
one-statement writer), a read model that never locks, kept connections per database thread
and a thread pool running the use cases.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Connection, Engine

from copytrade.adapters.db import readmodel
from copytrade.adapters.db.dbthreads import DbThreads
from copytrade.adapters.db.engine import (
    ConnectionKeeper,
    allocate_worker,
    current_revision,
    head_revision,
    require_current_schema,
)
from copytrade.adapters.db.loader import load_accounts
from copytrade.adapters.db.overview import SqlOverviewReader
from copytrade.adapters.db.pg_uow import SharedUnitOfWork, open_connection, release
from copytrade.adapters.db.records import active_follow_of, key_of, marks_of, user_of
from copytrade.adapters.db.sql import POSTGRES
from copytrade.adapters.db.versions import AccountVersions
from copytrade.adapters.secrets import SecretBox
from copytrade.domain.algo import AlgoOrder
from copytrade.domain.copytrading import Follow
from copytrade.domain.model import Account, SubPosition
from copytrade.service.ports import (
    AlgoQuery,
    ApiKey,
    FollowerRow,
    OrderQuery,
    Page,
    TaggedOrder,
    Trade,
    User,
    UserReport,
)


class SharedReadModel:
    """Reads of committed state: plain ``SELECT``s, no row lock, kept copies left in place."""

    def __init__(self, engine: Engine, secrets: SecretBox, keeper: ConnectionKeeper | None) -> None:
        """Read through ``engine`` (the thread's kept connection when there is one)."""
        self._engine = engine
        self._secrets = secrets
        self._keeper = keeper
        self._conn: Connection | None = None

    @property
    def conn(self) -> Connection:
        """Return the open connection."""
        if self._conn is None:
            raise RuntimeError("read model used outside its `with` block")
        return self._conn

    def __enter__(self) -> Self:
        """Open a read transaction (READ COMMITTED: each statement sees what committed)."""
        self._conn = open_connection(self._engine, self._keeper)
        self._conn.begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """End the read (a rollback: it wrote nothing) and give the connection back."""
        conn, self._conn = self.conn, None
        release(self._engine, self._keeper, conn, exc, committed=False, commit_sent=False)

    def account(self, uid: int) -> Account | None:
        """Return an account as committed, read afresh without a lock."""
        return load_accounts(self.conn, POSTGRES, [uid]).get(uid)

    def marks(self) -> dict[str, Decimal]:
        """Return every contract's mark price."""
        return marks_of(self.conn)

    def accounts(self, uids: Sequence[int]) -> dict[int, Account]:
        """Return the accounts of ``uids`` as committed, in one read without a lock."""
        return load_accounts(self.conn, POSTGRES, sorted(set(uids)))

    def user(self, uid: int) -> User | None:
        """Return a user."""
        return user_of(self.conn, uid)

    def key(self, access_key: str) -> ApiKey | None:
        """Return an API key with its secret decrypted."""
        return key_of(self.conn, self._secrets, access_key)

    def active_follow_of(self, follower_uid: int) -> Follow | None:
        """Return the follower's current follow."""
        return active_follow_of(self.conn, follower_uid)

    def positions_page(
        self, uid: int, contract_code: str, is_open: bool, page: Page
    ) -> list[SubPosition]:
        """Return a page of open or closed sub positions."""
        return readmodel.positions_page(self.conn, uid, contract_code, is_open, page)

    def followers_page(self, trader_uid: int, page: Page) -> list[FollowerRow]:
        """Return a page of current followers."""
        return readmodel.followers_page(self.conn, trader_uid, page)

    def followers_ever(self, trader_uid: int) -> int:
        """Return how many distinct followers have ever followed the trader."""
        return readmodel.followers_ever(self.conn, trader_uid)

    def user_report(self, uid: int) -> UserReport:
        """Return a user's history."""
        return readmodel.user_report(self.conn, uid)

    def v5_orders(self, uid: int, query: OrderQuery) -> list[TaggedOrder]:
        """Return a UID's v5 orders, newest first."""
        return readmodel.v5_orders(self.conn, uid, query)

    def algo_orders(self, uid: int, query: AlgoQuery) -> list[AlgoOrder]:
        """Return a UID's trigger and trailing orders, newest first."""
        return readmodel.algo_orders(self.conn, uid, query)

    def recent_trades(self, contract_code: str, limit: int) -> list[Trade]:
        """Return a contract's newest trades."""
        return readmodel.recent_trades(self.conn, contract_code, limit)

    def recent_marks(self, contract_code: str, limit: int) -> list[tuple[int, Decimal]]:
        """Return a contract's newest mark moves."""
        return readmodel.recent_marks(self.conn, contract_code, limit)


class SharedStore:
    """PostgreSQL: units of work on a thread pool, each thread keeping its connection."""

    kind = "postgresql"

    def __init__(self, engine: Engine, secrets: SecretBox, threads: int) -> None:
        """Check the schema, draw this process's worker number, start the pool."""
        require_current_schema(engine)
        self.engine = engine
        self.secrets = secrets
        self.versions = AccountVersions()  # each process keeps the accounts it committed
        self.keeper = ConnectionKeeper(engine)  # each database thread keeps its connection
        self.worker = allocate_worker(engine)  # each process draws its own snowflake worker
        self.executor = DbThreads(threads)

    def uow(self) -> SharedUnitOfWork:
        """Return a unit of work."""
        return SharedUnitOfWork(self.engine, self.secrets, self.versions, self.keeper)

    admin = uow

    def reads(self) -> SharedReadModel:
        """Return a read of committed state."""
        return SharedReadModel(self.engine, self.secrets, self.keeper)

    def overview(self) -> SqlOverviewReader:
        """Return the dashboard's reader (committed rows, on a connection of its own)."""
        return SqlOverviewReader(self.engine)

    def runner(self) -> Callable[..., Awaitable[Any]]:
        """Return the coroutine function that runs a use case on a database thread."""
        call = self.executor.call

        async def run(fn: Callable[..., Any], /, *args: Any) -> Any:
            return await call(asyncio.get_running_loop(), fn, args)

        return run

    def describe(self) -> str:
        """Return the database URL without its password."""
        return self.engine.url.render_as_string(hide_password=True)

    def schema_revisions(self) -> tuple[str | None, str | None]:
        """Return the database's schema revision and this code's head."""
        return current_revision(self.engine), head_revision()

    def observe_commits(self, listener: Callable[[int, float], None]) -> None:
        """Nothing to observe: each command commits on its own database thread."""

    def close(self) -> None:
        """Stop the pool, return kept connections, dispose of the engine."""
        self.executor.shutdown(wait=True)
        self.keeper.close()
        self.engine.dispose()
