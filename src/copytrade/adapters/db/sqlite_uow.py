"""The embedded store's unit of work: accounts from memory, rows committed with the group.

Inside a commit group (:mod:`.batching`) a unit of work reads accounts from the store's memory
(:mod:`.sqlite_cache`), loading only those it has never seen, and stages its change set's rows on
the running call. Direct writes (admin: users, keys, follows, prices, reset) go to the group's
transaction inside a savepoint, so a refused admin call leaves nothing behind. A unit of work on
a thread outside the group runs as a group of its own on its own connection.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine, NestedTransaction

from copytrade.adapters.db.batching import AccountBusy, Batch, Call, InlineGroupExecutor
from copytrade.adapters.db.loader import load_accounts
from copytrade.adapters.db.records import (
    SqlAdmin,
    SqlFollows,
    SqlMarkets,
    SqlUsers,
    exposed_to,
    follows_of,
    marks_of,
)
from copytrade.adapters.db.sql import SQLITE
from copytrade.adapters.db.sqlite_cache import AccountCache
from copytrade.adapters.db.sqlite_writer import ChangeRows
from copytrade.adapters.secrets import SecretBox
from copytrade.domain.copytrading import Follow
from copytrade.domain.model import Account, ChangeSet

CHUNK = 2000
"""Accounts loaded per statement (SQLite limits a statement's parameters); the call may pause
between two (a trader's 10,000 followers load in ~50-100 ms)."""


class EmbeddedAccounts:
    """Accounts from the store's memory; the ones never seen are loaded from the group."""

    __slots__ = ("_cache", "_unit")

    def __init__(self, unit: EmbeddedUnitOfWork) -> None:
        """Belong to ``unit`` (a weak proxy of it: see :class:`EmbeddedUnitOfWork`)."""
        self._unit = unit
        self._cache = unit.cache

    def get(self, uid: int) -> Account | None:
        """Return an account."""
        unit = self._unit
        if unit.claims:
            unit.check_claims((uid,))
        account = self._cache.accounts.get(uid)
        if account is None:
            return self.get_many([uid]).get(uid)
        unit.handed_out.append((uid,))
        return account

    def get_many(self, uids: Sequence[int]) -> dict[int, Account]:
        """Return accounts, loading the missing ones in chunks.

        Raises AccountBusy (before handing anything out) when a suspended call holds one.
        """
        unit = self._unit
        if unit.claims:
            unit.check_claims(uids)
        cached = self._cache.accounts
        missing = [u for u in set(uids) if u not in cached]
        for start in range(0, len(missing), CHUNK):
            if start:
                unit.pause()
            unit.batch.flush()  # an account dropped from memory may have rows pending
            cached.update(load_accounts(unit.conn, SQLITE, missing[start : start + CHUNK]))
        found = {u: cached[u] for u in uids if u in cached}
        unit.handed_out.append(found)
        return found

    def followers_of(self, trader_uid: int) -> tuple[list[Follow], dict[int, Account]]:
        """Return a trader's follows (kept) and its followers' accounts."""
        follows = self._cache.follows.get(trader_uid)
        if follows is None:
            follows = follows_of(self._unit.conn, SQLITE, trader_uid)
            self._cache.follows[trader_uid] = follows
            if len(follows) > CHUNK:  # as between two chunks of accounts (~20 ms per 10,000)
                self._unit.pause()
        if not follows:
            return [], {}
        return follows, self.get_many([f.follower_uid for f in follows])

    def exposed_to(self, contract_code: str) -> list[int]:
        """Return exposed UIDs (after writing pending rows)."""
        self._unit.batch.flush()
        return exposed_to(self._unit.conn, contract_code)

    def save(self, changes: ChangeSet) -> None:
        """Keep a change set; its rows are staged when the unit commits."""
        self._unit.changes.append(changes)


class EmbeddedMarkets:
    """Mark prices, kept in memory until one is written."""

    __slots__ = ("_unit",)

    def __init__(self, unit: EmbeddedUnitOfWork) -> None:
        """Belong to ``unit``."""
        self._unit = unit

    def marks(self) -> dict[str, Decimal]:
        """Return the marks (kept)."""
        cache = self._unit.cache
        if cache.marks is None:
            cache.marks = marks_of(self._unit.conn)
        return cache.marks

    def set_mark(self, contract_code: str, price: Decimal, now: int) -> None:
        """Store a mark (a direct write)."""
        unit = self._unit
        SqlMarkets(unit.read_conn, unit, unit.write_conn).set_mark(contract_code, price, now)


class EmbeddedUnitOfWork:
    """A unit of work inside the current group (or a group of its own off the loop thread).

    Its ``accounts`` and ``markets`` reach it through a weak proxy, and the repositories made on
    first use are dropped at the end of the ``with`` block: a unit is then freed by reference
    counting alone. With strong references both ways, every command left a cycle of six
    objects for the garbage collector, whose young-generation passes (one every ~1,500 signed
    requests, 3-8 ms each with the loop held) landed in the latency tail (``bench/prof_tail.py``).
    """

    __slots__ = (
        "__weakref__",
        "_admin",
        "_batch",
        "_call",
        "_committed",
        "_engine",
        "_executor",
        "_first_handed",
        "_follows",
        "_own",
        "_savepoint",
        "_secrets",
        "_users",
        "accounts",
        "cache",
        "changes",
        "handed_out",
        "markets",
    )

    def __init__(
        self,
        engine: Engine,
        secrets: SecretBox,
        executor: InlineGroupExecutor,
        cache: AccountCache,
    ) -> None:
        """Bind to the group executor and the store's memory."""
        self._engine = engine
        self._executor = executor
        self.cache = cache
        self._batch: Batch | None = None
        self._call: Call | None = None
        self._own = False
        self._committed = False
        self._savepoint: NestedTransaction | None = None
        # the accounts handed out (a list of the call's): dropped from memory if this unit or
        # its call fails; this unit's own start at ``_first_handed``
        self.handed_out: list[Iterable[int]] = []
        self._first_handed = 0
        self.changes: list[ChangeSet] = []
        self._secrets = secrets
        me = weakref.proxy(self)
        self.accounts = EmbeddedAccounts(me)
        self.markets = EmbeddedMarkets(me)
        # made on first use: a trading command needs none of them
        self._users: SqlUsers | None = None
        self._follows: SqlFollows | None = None
        self._admin: SqlAdmin | None = None

    @property
    def users(self) -> SqlUsers:
        """Users and API keys."""
        if self._users is None:
            self._users = SqlUsers(self.read_conn, self._secrets, self.write_conn)
        return self._users

    @property
    def follows(self) -> SqlFollows:
        """Follows."""
        if self._follows is None:
            self._follows = SqlFollows(self.read_conn, SQLITE, self, self.write_conn)
        return self._follows

    @property
    def admin(self) -> SqlAdmin:
        """Admin operations."""
        if self._admin is None:
            self._admin = SqlAdmin(self.write_conn, self)
        return self._admin

    def __enter__(self) -> Self:
        """Join the running group, or open a group of this unit's own."""
        batch = self._executor.current()
        self._own = batch is None
        if batch is None:
            conn = self._engine.connect()
            conn.begin()
            batch = Batch(conn, self.cache.evict)
            batch.call = Call(None, _nothing, (), {})
            batch.call.batch = batch
        call = batch.call
        if call is None:
            raise RuntimeError("unit of work opened in a group but outside its calls")
        self._batch, self._call = batch, call
        self._committed = False
        self._savepoint = None
        self.handed_out = call.handed_out
        self._first_handed = len(call.handed_out)
        self.changes = []
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Undo this unit unless committed; close a group of its own."""
        batch, call = self._batch, self._call
        assert batch is not None and call is not None  # noqa: PT018 - entered first
        try:
            if not self._committed:
                self.rollback()
        finally:
            self._batch = self._call = None
            # the repositories hold this unit's bound methods: made again on next use
            self._users = self._follows = self._admin = None
            if self._own:
                try:
                    if not self._committed:
                        batch.settle(call, RuntimeError("rolled back"))
                        batch.conn.rollback()
                finally:
                    batch.conn.close()

    @property
    def batch(self) -> Batch:
        """Return the group this unit's call runs in now (a call that paused moved on)."""
        call = self._call
        batch = call.batch if call is not None else None
        if batch is None:
            raise RuntimeError("unit of work used outside its `with` block")
        return batch

    @property
    def claims(self) -> dict[int, Call]:
        """Accounts held by suspended calls (uid -> holder); usually empty."""
        return self._executor.claims

    def check_claims(self, uids: Iterable[int]) -> None:
        """Raise AccountBusy if a suspended call other than this unit's holds one of ``uids``."""
        claims, mine = self._executor.claims, self._call
        for uid in uids:
            holder = claims.get(uid)
            if holder is not None and holder is not mine:
                raise AccountBusy(holder)

    def pause(self) -> None:
        """Let the event loop serve others (a no-op where this unit cannot be suspended)."""
        self._executor.pause()

    @property
    def conn(self) -> Connection:
        """Return the group's connection."""
        return self.batch.conn

    def read_conn(self) -> Connection:
        """Return the connection for a read of rows never pending (users, keys, follows)."""
        return self.batch.conn

    def write_conn(self) -> Connection:
        """Return the connection for a direct write.

        Return the connection for a direct write, inside the call's and this unit's
        savepoints (pending rows are written first).
        """
        batch = self.batch
        batch.direct()
        if self._savepoint is None:
            self._savepoint = batch.conn.begin_nested()
        return batch.conn

    def commit(self) -> None:
        """Stage this unit's rows on its call (a group of its own: write and commit now)."""
        batch, call = self._batch, self._call
        if batch is None or call is None:
            raise RuntimeError("unit of work used outside its `with` block")
        if self.changes:
            for changes in self.changes:
                rows = ChangeRows.of(changes, self._executor.pause)
                if call.staged is None:
                    call.staged = rows
                else:
                    call.staged.merge(rows)
            self.changes = []
        if self._savepoint is not None:
            self._savepoint.commit()
            self._savepoint = None
        self._committed = True
        if self._own:
            batch.settle(call, None)
            batch.flush()
            batch.conn.commit()

    def rollback(self) -> None:
        """Drop this unit's writes and the accounts it handed out (they may be mutated)."""
        self.changes = []
        savepoint, self._savepoint = self._savepoint, None
        try:
            if savepoint is not None and savepoint.is_active:
                savepoint.rollback()
        finally:
            mine = self.handed_out[self._first_handed :]
            del self.handed_out[self._first_handed :]
            for uids in mine:
                self.cache.evict(uids)

    def _on_failure(self, undo: Callable[[], object]) -> None:
        """Run ``undo`` now and again if the call fails.

        Run ``undo`` now (the change may be read back from the savepoint) and again if the
        call fails.
        """
        undo()
        assert self._call is not None
        self._call.undo.append(undo)

    # -- what the record repositories report -------------------------------------------------
    def follows_changed(self, trader_uids: Sequence[int]) -> None:
        """Drop the kept follows of these traders."""
        cache, uids = self.cache, list(trader_uids)
        self._on_failure(lambda: cache.forget_follows(uids))

    def balance_set(self, uid: int) -> None:
        """Drop the kept account (its balance was overwritten)."""
        if self.claims:
            self.check_claims((uid,))
        cache = self.cache
        self._on_failure(lambda: cache.evict((uid,)))

    def marks_changed(self) -> None:
        """Drop the kept marks."""
        cache = self.cache

        def forget_marks() -> None:
            cache.marks = None

        self._on_failure(forget_marks)

    def was_reset(self) -> None:
        """Forget everything kept (after the suspended calls, whose accounts it would drop)."""
        if self.claims:
            raise AccountBusy(next(iter(self.claims.values())))
        self._on_failure(self.cache.clear)


def _nothing() -> None:
    """The call of a unit of work running as a group of its own."""
