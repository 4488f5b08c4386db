"""Group commit for the embedded (SQLite, one process) store, where a failing call fails alone.

Calls that arrive together run in arrival order inside one transaction; their rows are merged,
written with ``executemany`` and committed once, and only then are the callers answered, so no
reply ever reports a change that is not durable.

A call that raises, whatever it raises and wherever, leaves the others as if it had not been
sent:

* its rows were staged on the call (:attr:`Call.staged`) and join the group only when it returns;
* its direct writes (admin) ran inside the call's savepoint, which is rolled back;
* what it loaded into the store's memory is dropped (:attr:`Call.undo`), since it may have
  mutated those live objects; they are loaded again, from the group's transaction, on next use.

When the database itself fails (an error from a statement, or at commit), the transaction can
no longer be trusted: it is rolled back, memory is emptied, and every call of the group runs
again on its own, each committing alone, so only the call that causes the failure fails.
Nobody has been answered yet, so the rerun is invisible.

A long call does not hold the event loop: calls from the loop run in a greenlet, and a call
that calls :meth:`InlineGroupExecutor.pause` (a fan-out does, every few hundred followers,
through ``Env.pause``) is suspended there and resumed in a later loop iteration, so other
clients are served meanwhile. While suspended it leaves its group (which commits without it)
and *claims* every account it was handed: another call that needs one of them raises
:class:`AccountBusy` before touching it, is undone like any failed call, and runs again once
the holder has finished. The suspended call's rows stay staged on it until it returns, and then
commit with the group it finishes in: all of its changes, or none, are ever visible (reads of
a claimed account see the committed rows, not the live object being changed). A call inside a
direct write (a savepoint) never pauses. If a group fails while calls are suspended, they are
undone and rerun with it: what they read may have been rolled back.
"""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from typing import Any

from greenlet import getcurrent, greenlet
from sqlalchemy import Connection, Engine, NestedTransaction
from sqlalchemy.exc import DBAPIError

from copytrade.adapters.db.sqlite_writer import ChangeRows, write_rows
from copytrade.service.retry import WITHOUT_RERUNS

_DATABASE_ERRORS = (DBAPIError, sqlite3.Error)


_PAUSED = object()
_DONE = object()


class Call:
    """One call of a group: what it staged, and what to undo if it fails."""

    __slots__ = (
        "args",
        "batch",
        "claimed",
        "fn",
        "future",
        "glet",
        "handed_out",
        "kwargs",
        "loop",
        "ok",
        "savepoint",
        "staged",
        "undo",
        "value",
        "waiters",
    )

    def __init__(self, future: Any, fn: Callable[..., Any], args: Any, kwargs: Any) -> None:
        """Hold the call and the future that answers it."""
        self.future = future
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.ok = False
        self.value: Any = None
        self.staged: ChangeRows | None = None
        self.handed_out: list[Iterable[int]] = []  # accounts its units were handed
        self.undo: list[Callable[[], object]] = []  # memory to drop if it fails (direct writes)
        self.savepoint: NestedTransaction | None = None
        self.batch: Batch | None = None  # the group it runs in now
        self.loop: asyncio.AbstractEventLoop | None = None  # set: it runs in a greenlet
        self.glet: greenlet | None = None  # its greenlet while running or suspended
        self.claimed = 0  # entries of handed_out already claimed
        self.waiters: list[Call] = []  # calls to run again once this one ends

    def reset(self) -> None:
        """Forget a run (before it runs again from the start)."""
        self.ok, self.value, self.staged = False, None, None
        self.handed_out, self.undo, self.savepoint = [], [], None
        self.glet, self.claimed = None, 0


class AccountBusy(Exception):
    """A call needs an account that a suspended call holds: it runs again after the holder."""

    def __init__(self, holder: Call) -> None:
        """Name the holder the call waits for."""
        super().__init__("account held by a suspended call")
        self.holder = holder


class Batch:
    """One group: an open transaction, the rows not yet written to it, the running call."""

    __slots__ = ("call", "conn", "evict", "pending")

    def __init__(self, conn: Connection, evict: Callable[[Iterable[int]], object]) -> None:
        """Hold the group's connection (its transaction is open) and the store's eviction."""
        self.conn = conn
        self.evict = evict
        self.pending: ChangeRows | None = None
        self.call: Call | None = None

    def flush(self) -> None:
        """Write the pending rows into the open transaction (no commit)."""
        pending, self.pending = self.pending, None
        if pending is not None:
            write_rows(self.conn, pending)

    def direct(self) -> None:
        """Prepare a direct write: pending rows first, then the call's savepoint."""
        call = self.call
        if call is not None and call.savepoint is None:
            self.flush()
            call.savepoint = self.conn.begin_nested()

    def settle(self, call: Call, exc: BaseException | None) -> None:
        """End a call: keep its rows and writes, or undo them."""
        savepoint, call.savepoint = call.savepoint, None
        staged, call.staged = call.staged, None
        if exc is None:
            if savepoint is not None:
                savepoint.commit()
            if staged is not None:
                if self.pending is None:
                    self.pending = staged
                else:
                    self.pending.merge(staged)
            return
        try:
            if savepoint is not None and savepoint.is_active:
                savepoint.rollback()
        finally:
            for uids in call.handed_out:
                self.evict(uids)
            for undo in call.undo:
                undo()


class GroupFailed(Exception):
    """The group's transaction broke: it must run again, call by call."""


class InlineGroupExecutor(Executor):
    """Group commit on the event loop's own thread: the embedded store's one writer.

    :meth:`run` (and :meth:`submit`) runs a call at once, inside the group the current loop
    iteration has opened; the group commits in a callback scheduled behind the requests that
    arrived with it, and only then are the callers answered. Calls from a thread without a
    running loop run as a group of their own, under the same lock.
    """

    def __init__(
        self,
        engine: Engine,
        forget: Callable[[], None],
        evict: Callable[[Iterable[int]], object] = lambda uids: None,
        window_s: float = 0.0,
    ) -> None:
        """Prepare; nothing runs until the first call.

        ``forget`` empties the store's memory after a broken transaction, ``evict`` drops the
        accounts a failed call was handed. ``window_s`` holds a
        group open that long after its first call, but only while the previous group had
        company (under load), so a lone client never waits for it.
        """
        self._engine = engine
        self._forget = forget
        self._evict = evict
        self._window = window_s
        self._busy = False
        self._lock = threading.RLock()
        self._batch: Batch | None = None
        self._calls: list[Call] = []
        self._owner: int | None = None
        self._broken = False
        # one connection for every group (checking one out of the pool and returning it cost
        # more per group than the empty BEGIN and COMMIT themselves); replaced after a failure
        self._conn: Connection | None = None
        # observer of each commit: (calls in the group, seconds to write and commit)
        self.on_commit: Callable[[int, float], None] | None = None
        # suspended calls and the accounts they hold (uid -> holder)
        self.claims: dict[int, Call] = {}
        self._suspended: list[Call] = []
        self._running: Call | None = None  # the call whose greenlet runs now
        self._gc_held = False  # the collector is off while a fan-out is under way
        self._idle: greenlet | None = None  # a finished call's greenlet, for the next call

    def current(self) -> Batch | None:
        """Return the open group when called on the thread that runs it."""
        if self._owner == threading.get_ident():
            return self._batch
        return None

    async def run(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        """Run ``fn(*args)`` in the current group; return its result once the group commits."""
        return await self.start(fn, *args)

    def start(self, fn: Callable[..., Any], /, *args: Any) -> asyncio.Future[Any]:
        """Do what :meth:`run` does at once, on the running loop; return the call's future.

        The store's runner (``await start(...)`` in the request path): a plain function, so a
        request pays no coroutine of its own for it. The call runs when ``start`` is called.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._join(loop)
        # no WriteConflict here (one writer, no row locks): a use case runs without its reruns
        call = Call(future, getattr(fn, WITHOUT_RERUNS, fn), args, {})
        call.loop = loop
        self._call(call)
        return future

    def pause(self) -> None:
        """Let the loop serve others: suspend the running call until a later loop iteration.

        A no-op outside a call that runs in a greenlet, or inside a direct write.
        """
        call = self._running
        if call is None or call.savepoint is not None or call.glet is not getcurrent():
            return
        parent = call.glet.parent
        assert parent is not None
        parent.switch(_PAUSED)

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
                self._call(Call(future, fn, args, kwargs))
                self._commit()
            return future
        self._join(loop)
        call = Call(future, fn, args, kwargs)
        call.loop = loop
        self._call(call)
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
        self._batch = Batch(conn, self._evict)
        self._owner = threading.get_ident()
        self._calls = []
        self._broken = False

    def _call(self, call: Call) -> None:
        """Run one call in the open group; a failure is settled on the call alone."""
        self._calls.append(call)
        if self._broken:  # the group reruns call by call at commit: this one with them
            return
        batch = self._batch
        assert batch is not None
        batch.call, call.batch = call, batch
        self._running = call
        try:
            finished = self._step(call)
        finally:
            self._running = None
            batch.call = None
        if not finished:
            self._suspend(call)
            return
        exc = None if call.ok else call.value
        if isinstance(exc, AccountBusy):
            self._calls.remove(call)  # answered after it runs again
            self._settle(batch, call, exc)
            self._end(call)
            exc.holder.waiters.append(call)
            return
        self._settle(batch, call, exc)
        self._end(call)

    def _settle(self, batch: Batch, call: Call, exc: BaseException | None) -> None:
        try:
            batch.settle(call, exc)
        except Exception:
            self._broken = True
        if isinstance(exc, _DATABASE_ERRORS):
            self._broken = True  # the transaction may be gone with the statement

    def _step(self, call: Call) -> bool:
        """Run (or resume) the call until it returns or pauses; return whether it returned."""
        if call.loop is None:  # not on the loop: no greenlet, no pause
            try:
                call.value = call.fn(*call.args, **call.kwargs)
                call.ok = True
            except Exception as exc:
                call.value = exc
            return True
        glet = call.glet
        if glet is None:
            glet, self._idle = self._idle, None
            if glet is None or glet.dead:
                glet = greenlet(self._serve)
            call.glet = glet
            outcome = glet.switch(call)
        else:
            outcome = glet.switch()
        if outcome is _PAUSED:
            return False
        call.glet = None
        self._idle = glet  # reused by the next call: a new greenlet costs ~10x a switch
        return True

    @staticmethod
    def _serve(call: Call) -> None:
        """A greenlet's life: run calls one after another, reporting each one's end."""
        while True:
            try:
                call.value = call.fn(*call.args, **call.kwargs)
                call.ok = True
            except Exception as exc:
                call.value, call.ok = exc, False
            parent = getcurrent().parent
            assert parent is not None
            call = parent.switch(_DONE)

    def _suspend(self, call: Call) -> None:
        """Take a paused call out of its group, claim its accounts, resume it next iteration.

        The collector stays off from the first pause until no call is suspended and the group
        the last one ended in has committed (see :meth:`_release_gc`): a fan-out allocates
        its orders, positions, fills and rows by the hundred thousand, nearly all alive until
        its commit, and young collections kept walking them (~10 % of a 10k-follower wave's
        CPU in ``bench/prof_fanout.py``); most are freed by reference counts right after.
        """
        if not self._gc_held and gc.isenabled():
            gc.disable()
            self._gc_held = True
        self._calls.remove(call)
        call.batch = None
        claims = self.claims
        for uids in call.handed_out[call.claimed :]:
            for uid in uids:
                claims[uid] = call
        call.claimed = len(call.handed_out)
        if call not in self._suspended:
            self._suspended.append(call)
        assert call.loop is not None
        call.loop.call_soon(self._resume, call)

    def _resume(self, call: Call) -> None:
        if call not in self._suspended:  # undone meanwhile (a group failed): rerun there
            return
        assert call.loop is not None
        self._join(call.loop)
        if self._broken:  # this group reruns call by call: undo the call, rerun it with them
            self._abort(call)
            self._calls.append(call)
            return
        self._call(call)

    def _end(self, call: Call) -> None:
        """A call that may have been suspended ended: release its claims, restart its waiters."""
        if call in self._suspended:
            self._suspended.remove(call)
            # by scan, not by handed_out: a unit that rolled back has trimmed that list
            claims = self.claims
            for uid in [uid for uid, holder in claims.items() if holder is call]:
                del claims[uid]
        waiters, call.waiters = call.waiters, []
        for waiter in waiters:
            assert waiter.loop is not None
            waiter.loop.call_soon(self._restart, waiter)

    def _restart(self, call: Call) -> None:
        call.reset()
        assert call.loop is not None
        self._join(call.loop)
        self._call(call)

    def _abort(self, call: Call) -> None:
        """Undo a suspended call (it runs again from the start)."""
        glet = call.glet
        if glet is not None and not glet.dead:
            # raised where it paused: its units roll back on the way out, and its greenlet,
            # back in _serve, reports the end (the exception becomes the call's value)
            glet.throw(GroupFailed)
            if self._idle is None:
                self._idle = glet
        for uids in call.handed_out:  # what it changed in memory is dropped
            self._evict(uids)
        for undo in call.undo:
            undo()
        self._end(call)
        call.reset()

    def _commit_and_release(self) -> None:
        try:
            self._commit()
        finally:
            self._lock.release()

    def _commit(self) -> None:
        """Write and commit the group, then answer; on a database failure rerun call by call."""
        batch, calls = self._batch, self._calls
        self._batch, self._owner, self._calls = None, None, []
        if batch is None:
            return
        started = time.perf_counter()
        try:
            if self._broken:
                raise GroupFailed
            batch.flush()
            batch.conn.commit()
        except Exception:
            self._discard(batch)
            undone = list(self._suspended)  # what they read may be gone with this group
            for call in undone:
                self._abort(call)
            calls += undone
            self._rerun_alone(calls)
        if self.on_commit is not None:
            self.on_commit(len(calls), time.perf_counter() - started)
        if self._gc_held and not self._suspended:
            self._release_gc()
        self._busy = len(calls) > 1
        for call in calls:
            future = call.future
            if future.done():  # the caller went away (client disconnected)
                continue
            if call.ok:
                future.set_result(call.value)
            else:
                future.set_exception(call.value)

    def _release_gc(self) -> None:
        """Turn the collector back on (it was on before the first pause)."""
        self._gc_held = False
        gc.enable()

    def _discard(self, batch: Batch) -> None:
        """Roll a broken group back; a fresh connection and empty memory for the next one."""
        try:
            batch.conn.rollback()
        except Exception:  # noqa: S110 - the connection is dropped below either way
            pass
        finally:
            self._conn = None
            batch.conn.close()
            self._forget()

    def _rerun_alone(self, calls: list[Call]) -> None:
        """Run each call as a group of its own; a call whose own commit fails fails alone."""
        for call in calls:
            conn = self._conn = self._conn or self._engine.connect()
            conn.begin()
            batch = self._batch = Batch(conn, self._evict)
            self._owner = threading.get_ident()
            batch.call, call.batch = call, batch
            call.reset()
            try:
                call.value = call.fn(*call.args, **call.kwargs)
                batch.settle(call, None)
                batch.call = None
                batch.flush()
                conn.commit()
                call.ok = True
            except Exception as exc:
                call.ok, call.value = False, exc
                self._discard(batch)
            finally:
                self._batch, self._owner = None, None

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Commit a group left open (the loop stopped before its callback ran); disconnect."""
        with self._lock:
            if self._batch is not None:
                self._commit()
            if self._gc_held:
                self._release_gc()
            if self._conn is not None:
                self._conn.close()
                self._conn = None
