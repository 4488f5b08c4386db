"""The embedded store (SQLite): one server process, accounts in memory, group commit.

Composed of the account loader (:mod:`.loader`), the store's memory (:mod:`.sqlite_cache`),
the change-set writer (:mod:`.sqlite_writer`), the group executor (:mod:`.batching`), the unit
of work (:mod:`.sqlite_uow`) and the background WAL checkpointer (:mod:`.checkpoint`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Connection, Engine

from copytrade.adapters.db import readmodel
from copytrade.adapters.db.batching import Batch, InlineGroupExecutor
from copytrade.adapters.db.checkpoint import WalCheckpointer
from copytrade.adapters.db.engine import (
    current_revision,
    head_revision,
    migrate,
    require_current_schema,
)
from copytrade.adapters.db.loader import load_accounts
from copytrade.adapters.db.overview import SqlOverviewReader
from copytrade.adapters.db.records import active_follow_of, key_of, marks_of, user_of
from copytrade.adapters.db.sql import SQLITE
from copytrade.adapters.db.sqlite_cache import AccountCache
from copytrade.adapters.db.sqlite_uow import EmbeddedUnitOfWork
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


class EmbeddedReadModel:
    """The embedded store's read model, which never evicts anything.

    Reads inside the running group (accounts and marks from memory, pending rows written
    first), or on a connection of its own off the loop thread. Never evicts anything.
    """

    def __init__(
        self, engine: Engine, secrets: SecretBox, executor: InlineGroupExecutor, cache: AccountCache
    ) -> None:
        """Bind to the group executor and the store's memory."""
        self._engine = engine
        self._secrets = secrets
        self._executor = executor
        self._cache = cache
        self._batch: Batch | None = None
        self._own: Connection | None = None

    def __enter__(self) -> Self:
        """Join the running group, or open a connection of its own."""
        self._batch = self._executor.current()
        if self._batch is None:
            self._own = self._engine.connect()
            self._own.begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close a connection of its own."""
        own, self._own, self._batch = self._own, None, None
        if own is not None:
            try:
                own.rollback()
            finally:
                own.close()

    @property
    def conn(self) -> Connection:
        """Return the connection to read on."""
        if self._batch is not None:
            return self._batch.conn
        if self._own is None:
            raise RuntimeError("read model used outside its `with` block")
        return self._own

    def _fresh(self) -> Connection:
        """Return the connection with every pending row of the group written."""
        if self._batch is not None:
            self._batch.flush()
        return self.conn

    def account(self, uid: int) -> Account | None:
        """Return an account (from memory inside the group)."""
        if self._batch is None:
            return load_accounts(self.conn, SQLITE, [uid]).get(uid)
        if uid in self._executor.claims:  # being changed by a suspended call: as committed
            return load_accounts(self._fresh(), SQLITE, [uid]).get(uid)
        cached = self._cache.accounts
        account = cached.get(uid)
        if account is None:
            account = load_accounts(self._fresh(), SQLITE, [uid]).get(uid)
            if account is not None:
                cached[uid] = account
        return account

    def accounts(self, uids: Sequence[int]) -> dict[int, Account]:
        """Return the accounts of ``uids`` (from memory inside the group), in one read."""
        wanted = sorted(set(uids))
        if self._batch is None:
            return load_accounts(self.conn, SQLITE, wanted)
        cached = self._cache.accounts
        found = {uid: cached[uid] for uid in wanted if uid in cached}
        missing = [uid for uid in wanted if uid not in found]
        if missing:
            loaded = load_accounts(self._fresh(), SQLITE, missing)
            cached.update(loaded)
            found.update(loaded)
        return found

    def marks(self) -> dict[str, Decimal]:
        """Return the marks (from memory inside the group)."""
        if self._batch is None:
            return marks_of(self.conn)
        if self._cache.marks is None:
            self._cache.marks = marks_of(self.conn)
        return self._cache.marks

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
        """Return a page of positions."""
        return readmodel.positions_page(self._fresh(), uid, contract_code, is_open, page)

    def followers_page(self, trader_uid: int, page: Page) -> list[FollowerRow]:
        """Return a page of followers."""
        return readmodel.followers_page(self._fresh(), trader_uid, page)

    def followers_ever(self, trader_uid: int) -> int:
        """Return how many distinct followers have ever followed the trader."""
        return readmodel.followers_ever(self._fresh(), trader_uid)

    def user_report(self, uid: int) -> UserReport:
        """Return a user's history."""
        return readmodel.user_report(self._fresh(), uid)

    def v5_orders(self, uid: int, query: OrderQuery) -> list[TaggedOrder]:
        """Return a UID's v5 orders, newest first."""
        return readmodel.v5_orders(self._fresh(), uid, query)

    def algo_orders(self, uid: int, query: AlgoQuery) -> list[AlgoOrder]:
        """Return a UID's trigger and trailing orders, newest first."""
        return readmodel.algo_orders(self._fresh(), uid, query)

    def recent_trades(self, contract_code: str, limit: int) -> list[Trade]:
        """Return a contract's newest trades."""
        return readmodel.recent_trades(self._fresh(), contract_code, limit)

    def recent_marks(self, contract_code: str, limit: int) -> list[tuple[int, Decimal]]:
        """Return a contract's newest mark moves."""
        return readmodel.recent_marks(self._fresh(), contract_code, limit)


class EmbeddedStore:
    """SQLite: one process, one writer; accounts kept in memory, commands committed in groups."""

    kind = "sqlite"

    worker = 0  # one process: snowflake worker 0

    def __init__(
        self,
        engine: Engine,
        secrets: SecretBox,
        *,
        window_s: float,
        checkpoint_file: str | None,
        migrate_schema: bool = True,
    ) -> None:
        """Migrate (or check) the schema, start the group executor and the checkpointer."""
        if migrate_schema:
            migrate(engine)
        else:
            require_current_schema(engine)
        self.engine = engine
        self.secrets = secrets
        self.cache = AccountCache()
        self.executor = InlineGroupExecutor(
            engine, self.cache.clear, self.cache.evict, window_s=window_s
        )
        # the engine's commits leave checkpoints to this thread (see adapters.db.checkpoint)
        self.checkpointer = (
            WalCheckpointer(checkpoint_file).start() if checkpoint_file is not None else None
        )

    def uow(self) -> EmbeddedUnitOfWork:
        """Return a unit of work."""
        return EmbeddedUnitOfWork(self.engine, self.secrets, self.executor, self.cache)

    admin = uow

    def reads(self) -> EmbeddedReadModel:
        """Return a read."""
        return EmbeddedReadModel(self.engine, self.secrets, self.executor, self.cache)

    def overview(self) -> SqlOverviewReader:
        """Return the dashboard's reader (committed rows, on a connection of its own)."""
        return SqlOverviewReader(self.engine)

    def pause(self) -> None:
        """Let the event loop serve others in the middle of a long command (``Env.pause``)."""
        self.executor.pause()

    def runner(self) -> Callable[..., Awaitable[Any]]:
        """Return the group executor's ``start`` (calls join the current commit group).

        Its future is awaited as ``run`` would be, without a coroutine per call.
        """
        return self.executor.start

    def describe(self) -> str:
        """Return the database URL."""
        return self.engine.url.render_as_string(hide_password=True)

    def schema_revisions(self) -> tuple[str | None, str | None]:
        """Return the database's schema revision and this code's head."""
        return current_revision(self.engine), head_revision()

    def observe_commits(self, listener: Callable[[int, float], None]) -> None:
        """Report each commit group's size and commit time to ``listener``."""
        self.executor.on_commit = listener

    def close(self) -> None:
        """Commit a group left open, stop the checkpointer, dispose of the engine."""
        self.executor.shutdown(wait=True)
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.engine.dispose()
