"""The embedded mode's unit of work: accounts kept in memory, changes committed in groups.

SQLite serves one server process (``--workers 1``), so that process is the only writer and an
in-memory copy of the accounts it has loaded stays exact. Commands then read nothing from the
database on the hot path; their change sets are merged into the running group
(:mod:`batching`) and written with ``executemany`` when the group commits.

Direct writes (admin: users, keys, follows, prices, reset) go to the group's transaction inside a
savepoint, so a refused admin call leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Connection, Engine, NestedTransaction, and_, select

from copytrade.adapters.db import schema as t
from copytrade.adapters.db.batching import Batch, GroupExecutor, merge_changes
from copytrade.adapters.db.uow import SqlUnitOfWork
from copytrade.adapters.secrets import SecretBox
from copytrade.domain.copytrading import Follow
from copytrade.domain.model import Account, ChangeSet, SubPosition
from copytrade.service.ports import FollowerRow, Page, User

_CHUNK = 5000


@dataclass(slots=True)
class AccountCache:
    """Accounts, active follows per trader and marks, as committed (or about to be)."""

    accounts: dict[int, Account] = field(default_factory=dict)
    follows: dict[int, list[Follow]] = field(default_factory=dict)
    marks: dict[str, Decimal] | None = None

    def clear(self) -> None:
        """Forget everything (after a failed group or a reset)."""
        self.accounts.clear()
        self.follows.clear()
        self.marks = None


def write_changes(engine: Engine, secrets: SecretBox) -> Callable[[Connection, ChangeSet], None]:
    """Return the group's flush function: write a change set on a connection."""

    def flush(conn: Connection, changes: ChangeSet) -> None:
        uow = SqlUnitOfWork(engine, secrets)
        uow._conn = conn
        uow.persist(changes)

    return flush


class CachedUnitOfWork(SqlUnitOfWork):
    """A unit of work inside the current group (or standalone, outside the database thread)."""

    def __init__(
        self, engine: Engine, secrets: SecretBox, executor: GroupExecutor, cache: AccountCache
    ) -> None:
        """Bind to the group executor and the shared cache."""
        super().__init__(engine, secrets)
        self._executor = executor
        self._cache = cache
        self._batch: Batch | None = None
        self._own = False
        self._changes: ChangeSet | None = None
        self._savepoint: NestedTransaction | None = None
        self._after_commit: list[Callable[[], object]] = []

    def __enter__(self) -> Self:
        """Join the running group, or open a standalone transaction."""
        batch = self._executor.current()
        self._own = batch is None
        if batch is None:
            conn = self._engine.connect()
            conn.begin()
            batch = Batch(conn)
        self._batch = batch
        self._conn = batch.conn
        self._committed = False
        self._changes = None
        self._savepoint = None
        self._after_commit = []
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Drop this unit's changes unless committed; close a standalone transaction."""
        try:
            if not self._committed and self._savepoint is not None:
                self._savepoint.rollback()
        finally:
            if self._own:
                conn = self.conn
                try:
                    if not self._committed:
                        conn.rollback()
                finally:
                    conn.close()
            self._conn = None
            self._batch = None

    @property
    def batch(self) -> Batch:
        """Return the group this unit belongs to."""
        if self._batch is None:
            raise RuntimeError("unit of work used outside its `with` block")
        return self._batch

    def commit(self) -> None:
        """Hand this unit's changes to its group (standalone: write and commit now)."""
        if self._changes is not None:
            merge_changes(self.batch.pending, self._changes)
            self._changes = None
        if self._savepoint is not None:
            self._savepoint.commit()
            self._savepoint = None
        if self._own:
            self._executor.flush_pending(self.batch)
            self.conn.commit()
        self._committed = True
        for action in self._after_commit:
            action()

    def _flush(self) -> None:
        self._executor.flush_pending(self.batch)

    def _direct_write(self) -> None:
        self._flush()
        if self._savepoint is None:
            self._savepoint = self.conn.begin_nested()

    # -- cached state --------------------------------------------------------------------
    def marks(self) -> dict[str, Decimal]:
        """Return the marks (cached)."""
        if self._cache.marks is None:
            self._cache.marks = super().marks()
        return self._cache.marks

    def set_mark(self, contract_code: str, price: Decimal, now: int) -> None:
        """Store a mark."""
        self._direct_write()
        super().set_mark(contract_code, price, now)
        # re-read within this transaction; a rollback leaves it unset, so it is read again
        self._cache.marks = None

    def account(self, uid: int) -> Account | None:
        """Return an account from the cache, loading it on a miss."""
        return self.accounts([uid]).get(uid)

    def accounts(self, uids: Sequence[int]) -> dict[int, Account]:
        """Return accounts from the cache, loading the missing ones in chunks."""
        cached = self._cache.accounts
        missing = [u for u in set(uids) if u not in cached]
        for start in range(0, len(missing), _CHUNK):
            self._identity = {}
            cached.update(super().accounts(missing[start : start + _CHUNK]))
        return {u: cached[u] for u in uids if u in cached}

    def followers_of(self, trader_uid: int) -> tuple[list[Follow], dict[int, Account]]:
        """Return a trader's follows (cached) and its followers' accounts."""
        follows = self._cache.follows.get(trader_uid)
        if follows is None:
            follows = self._load_follows(trader_uid)
            self._cache.follows[trader_uid] = follows
        if not follows:
            return [], {}
        return follows, self.accounts([f.follower_uid for f in follows])

    def _load_follows(self, trader_uid: int) -> list[Follow]:
        f = t.follows
        rows = self.conn.execute(
            select(f.c.follower_uid, f.c.ratio)
            .where(and_(f.c.trader_uid == trader_uid, f.c.active.is_(True)))
            .order_by(f.c.follow_id)
        ).all()
        return [Follow(r.follower_uid, trader_uid, r.ratio) for r in rows]

    def persist(self, changes: ChangeSet) -> None:
        """Keep this unit's changes until it commits."""
        if self._changes is None:
            self._changes = changes  # the usual case: one change set per command
        else:
            merge_changes(self._changes, changes)

    def set_balance(self, uid: int, balance: Decimal) -> None:
        """Overwrite a balance in the database and in the cache."""
        self._direct_write()
        super().set_balance(uid, balance)
        self._after_commit.append(lambda: self._cache.accounts.pop(uid, None))

    # -- direct writes -------------------------------------------------------------------
    def add_users(self, users: Sequence[User], balance: Decimal) -> None:
        """Create users (directly)."""
        self._direct_write()
        super().add_users(users, balance)

    def allocate_uids(self, count: int) -> int:
        """Reserve UIDs (a direct write)."""
        self._direct_write()
        return super().allocate_uids(count)

    def add_key(self, key: Any) -> None:
        """Store a key (directly)."""
        self._direct_write()
        super().add_key(key)

    def follow(self, follow_id: int, follow: Follow, now: int) -> None:
        """Start a follow; the trader's cached follow list is refreshed after commit."""
        self._direct_write()
        super().follow(follow_id, follow, now)
        self._after_commit.append(lambda: self._cache.follows.pop(follow.trader_uid, None))

    def follow_many(self, rows: Sequence[tuple[int, Follow]], now: int) -> None:
        """Start follows; the cached follow lists are refreshed after commit."""
        self._direct_write()
        super().follow_many(rows, now)
        self._after_commit.append(self._cache.follows.clear)

    def end_follow(self, follower_uid: int, now: int) -> None:
        """End a follow; the cached follow lists are refreshed after commit."""
        self._direct_write()
        super().end_follow(follower_uid, now)
        self._after_commit.append(self._cache.follows.clear)

    def set_meta(self, key: str, value: str) -> None:
        """Write a setting (directly)."""
        self._direct_write()
        super().set_meta(key, value)

    def reset(self) -> None:
        """Delete everything; the cache is emptied after commit."""
        self._direct_write()
        super().reset()
        self._after_commit.append(self._cache.clear)

    # -- reads that must see the group's pending writes -----------------------------------
    def accounts_with_exposure(self, contract_code: str) -> list[int]:
        """Return exposed UIDs (after writing pending changes)."""
        self._flush()
        return super().accounts_with_exposure(contract_code)

    def positions_page(
        self, uid: int, contract_code: str, is_open: bool, page: Page
    ) -> list[SubPosition]:
        """Return a page of positions (after writing pending changes)."""
        self._flush()
        return super().positions_page(uid, contract_code, is_open, page)

    def followers_page(self, trader_uid: int, page: Page) -> list[FollowerRow]:
        """Return a page of followers (after writing pending changes)."""
        self._flush()
        return super().followers_page(trader_uid, page)

    def user_report(self, uid: int) -> dict[str, object]:
        """Return a user's history (after writing pending changes)."""
        self._flush()
        return super().user_report(uid)
