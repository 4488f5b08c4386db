"""Group commit for the embedded (SQLite, one process) mode.

Calls that arrive together run in arrival order inside one transaction; their change sets are
merged, written with ``executemany`` and committed once, and only then are the callers
answered, so no reply ever reports a change that is not durable.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, Protocol

from sqlalchemy import Connection, Engine

from copytrade.domain.errors import DomainError
from copytrade.domain.model import ChangeSet


def merge_changes(into: ChangeSet, changes: ChangeSet) -> None:
    """Fold ``changes`` into ``into`` (the later state of an object wins)."""
    into.accounts.update(changes.accounts)
    into.positions.update(changes.positions)
    into.new_positions |= changes.new_positions
    into.orders.update(changes.orders)
    into.new_orders |= changes.new_orders
    into.levers.update(changes.levers)
    into.fills.extend(changes.fills)
    into.skips.extend(changes.skips)
    into.profit_shares.extend(changes.profit_shares)


class GroupExecutor(Protocol):
    """What a unit of work needs from the executor that runs its group."""

    def current(self) -> Batch | None:
        """Return the group being run on this thread."""
        ...

    def flush_pending(self, batch: Batch) -> None:
        """Write the group's pending changes into its open transaction."""
        ...


class Batch:
    """One group: an open transaction and the changes not yet written to it."""

    def __init__(self, conn: Connection) -> None:
        """Hold the group's connection (its transaction is open)."""
        self.conn = conn
        self.pending = ChangeSet()

    def is_dirty(self) -> bool:
        """Return whether changes wait to be written."""
        p = self.pending
        return bool(
            p.accounts
            or p.positions
            or p.orders
            or p.levers
            or p.fills
            or p.skips
            or p.profit_shares
        )


class InlineGroupExecutor(Executor):
    """Group commit on the event loop's own thread: the embedded mode's one writer.

    :meth:`run` (and :meth:`submit`) runs a call at once, inside the group the current loop
    iteration has opened; the group commits in a callback scheduled behind the requests that
    arrived with it, and only then are the callers answered. No second thread, so no handoff of
    the interpreter lock between the server and the database. Calls from a thread without a
    running loop run as a group of their own, under the same lock.

    Errors of the ``expected`` types (raised before a call changes anything: domain and wire
    refusals) fail only their call. Any other error rolls the whole group back, empties the
    account cache (``on_abort``) and fails every call of the group.
    """

    def __init__(
        self,
        engine: Engine,
        flush: Callable[[Connection, ChangeSet], None],
        on_abort: Callable[[], None],
        expected: tuple[type[BaseException], ...] = (DomainError,),
        window_s: float = 0.0,
    ) -> None:
        """Prepare; nothing runs until the first call.

        ``window_s`` holds a group open that long after its first call, but only while the
        previous group had company (under load), so a lone client never waits for it.
        """
        self._engine = engine
        self._flush = flush
        self._on_abort = on_abort
        self._expected = expected
        self._window = window_s
        self._busy = False
        self._lock = threading.RLock()
        self._batch: Batch | None = None
        self._outcomes: list[tuple[Any, bool, Any]] = []
        self._owner: int | None = None
        # one connection for every group (checking one out of the pool and returning it cost
        # more per group than the empty BEGIN and COMMIT themselves); replaced after an abort
        self._conn: Connection | None = None
        # observer of each commit: (calls in the group, seconds to write and commit)
        self.on_commit: Callable[[int, float], None] | None = None

    def current(self) -> Batch | None:
        """Return the open group when called on the thread that runs it."""
        if self._owner == threading.get_ident():
            return self._batch
        return None

    def flush_pending(self, batch: Batch) -> None:
        """Write the group's pending changes into its open transaction (no commit)."""
        if batch.is_dirty():
            pending, batch.pending = batch.pending, ChangeSet()
            self._flush(batch.conn, pending)

    async def run(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        """Run ``fn(*args)`` in the current group; return its result once the group commits."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._join(loop)
        self._call(future, fn, args, {})
        return await future

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Run ``fn`` in the current group; the future resolves after the group commits."""
        future: Future[Any] = Future()
        future.set_running_or_notify_cancel()
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:
            with self._lock:
                self._open()
                self._call(future, fn, args, kwargs)
                self._commit()
            return future
        self._join(loop)
        self._call(future, fn, args, kwargs)
        return future

    def _join(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._batch is None or self._owner != threading.get_ident():
            self._lock.acquire()
            self._open()
            if self._busy and self._window > 0:
                loop.call_later(self._window, self._commit_and_release)
            else:
                loop.call_soon(self._commit_and_release)

    def _open(self) -> None:
        conn = self._conn
        if conn is None:
            conn = self._conn = self._engine.connect()
        conn.begin()
        self._batch = Batch(conn)
        self._owner = threading.get_ident()
        self._outcomes = []

    def _call(self, future: Any, fn: Callable[..., Any], args: Any, kwargs: Any) -> None:
        if self._batch is None:  # an earlier call of this group aborted it
            self._open()
        try:
            self._outcomes.append((future, True, fn(*args, **kwargs)))
        except self._expected as exc:
            self._outcomes.append((future, False, exc))
        except BaseException as exc:  # any other error aborts the group
            self._outcomes.append((future, False, exc))
            self._abort(exc)

    def _commit_and_release(self) -> None:
        try:
            self._commit()
        finally:
            self._lock.release()

    def _commit(self) -> None:
        batch = self._batch
        if batch is None:
            self._settle()
            return
        started = time.perf_counter()
        try:
            self.flush_pending(batch)
            batch.conn.commit()
        except BaseException as exc:
            self._abort(exc)
            return
        finally:
            if self._batch is batch:
                self._batch = None
                self._owner = None
        if self.on_commit is not None:
            self.on_commit(len(self._outcomes), time.perf_counter() - started)
        self._settle()

    def _abort(self, exc: BaseException) -> None:
        batch, self._batch, self._owner = self._batch, None, None
        if batch is not None:
            try:
                batch.conn.rollback()
            finally:
                # a fresh connection for the next group, whatever state this one is in
                self._conn = None
                batch.conn.close()
                self._on_abort()
        outcomes, self._outcomes = self._outcomes, []
        for future, _ok, _value in outcomes:
            if not future.done():
                future.set_exception(exc)

    def _settle(self) -> None:
        outcomes, self._outcomes = self._outcomes, []
        self._busy = len(outcomes) > 1
        for future, ok, value in outcomes:
            if future.done():  # the caller went away (client disconnected)
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Commit a group left open (the loop stopped before its callback ran); disconnect."""
        with self._lock:
            if self._batch is not None:
                self._commit()
            if self._conn is not None:
                self._conn.close()
                self._conn = None
