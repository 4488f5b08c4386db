"""Group commit for the embedded (SQLite, one process) mode.

:class:`GroupCommitExecutor` is the one database thread. It takes every call queued while it was
busy, runs them in arrival order inside one transaction, merges their change sets, writes them
with ``executemany`` and commits once; only then are the callers answered, so no reply ever
reports a change that is not durable. A domain error fails only its own call (operations check
before they mutate); any other error rolls the whole group back, empties the account cache and
fails every call of the group.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

from sqlalchemy import Connection, Engine

from copytrade.domain.errors import DomainError
from copytrade.domain.model import ChangeSet

_STOP = object()


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


class GroupCommitExecutor(Executor):
    """A single database thread that commits queued calls in groups."""

    def __init__(
        self,
        engine: Engine,
        flush: Callable[[Connection, ChangeSet], None],
        on_abort: Callable[[], None],
        max_group: int = 512,
    ) -> None:
        """Start the thread; ``flush`` writes a change set, ``on_abort`` empties caches."""
        self._engine = engine
        self._flush = flush
        self._on_abort = on_abort
        self._max = max_group
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._local = threading.local()
        self._shutdown = False
        self._thread = threading.Thread(target=self._loop, name="copytrade-db", daemon=True)
        self._thread.start()

    def current(self) -> Batch | None:
        """Return the group being run, when called on the database thread."""
        return getattr(self._local, "batch", None)

    def flush_pending(self, batch: Batch) -> None:
        """Write the group's pending changes into its open transaction (no commit)."""
        if batch.is_dirty():
            pending, batch.pending = batch.pending, ChangeSet()
            self._flush(batch.conn, pending)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Queue a call; its future resolves after its group has committed."""
        if self._shutdown:
            raise RuntimeError("executor is shut down")
        future: Future[Any] = Future()
        self._queue.put((future, fn, args, kwargs))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop after the queued calls."""
        if not self._shutdown:
            self._shutdown = True
            self._queue.put(_STOP)
        if wait:
            self._thread.join()

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            group = [first]
            stop = False
            while len(group) < self._max:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                group.append(item)
            self._run_group(group)
            if stop:
                return

    def _run_group(self, group: list[Any]) -> None:
        outcomes: list[tuple[Future[Any], bool, Any]] = []
        try:
            conn = self._engine.connect()
        except Exception as exc:  # database unreachable: fail the group
            for future, *_ in group:
                if future.set_running_or_notify_cancel():
                    future.set_exception(exc)
            return
        batch = Batch(conn)
        self._local.batch = batch
        failure: BaseException | None = None
        try:
            conn.begin()
            for future, fn, args, kwargs in group:
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    outcomes.append((future, True, fn(*args, **kwargs)))
                except DomainError as exc:
                    outcomes.append((future, False, exc))
            self.flush_pending(batch)
            conn.commit()
        except BaseException as exc:
            failure = exc
            try:
                conn.rollback()
            finally:
                self._on_abort()
        finally:
            self._local.batch = None
            conn.close()
        if failure is not None:
            for future, *_ in group:
                started = future.running() or (
                    not future.done() and future.set_running_or_notify_cancel()
                )
                if started:
                    future.set_exception(failure)
            return
        for future, ok, value in outcomes:
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
