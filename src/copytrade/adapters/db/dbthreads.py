"""The shared store's database threads: use cases handed over from the event loop, lean.

``loop.run_in_executor`` on a ``ThreadPoolExecutor`` wraps each call in a
``concurrent.futures.Future`` (a condition variable taken ~9 times per call), chains it to an
asyncio future through two callbacks and a state copy, and wakes the loop for each. On the
PostgreSQL cycle that came to ~10 % of the server's CPU per request (``bench/prof_pg.py``:
``submit``, ``_chain_future``, ``_copy_future_state``, ``Future.set_result``). Here a call is
a closure on a ``SimpleQueue`` and its result goes back with one ``call_soon_threadsafe``.

:class:`DbThreads` is also a ``concurrent.futures.Executor`` (``submit``), for callers outside
the event loop (admin paths, tests).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from queue import SimpleQueue
from typing import Any


def _resolve(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():  # the awaiting task may have been cancelled meanwhile
        future.set_result(result)


def _reject(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


class DbThreads(Executor):
    """``threads`` threads running calls in the order they were handed over."""

    def __init__(self, threads: int, name: str = "copytrade-db") -> None:
        """Start the threads."""
        self._queue: SimpleQueue[Callable[[], None] | None] = SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}_{i}", daemon=True)
            for i in range(max(1, threads))
        ]
        for thread in self._threads:
            thread.start()

    def _work(self) -> None:
        get = self._queue.get
        while (call := get()) is not None:
            call()

    def _put(self, call: Callable[[], None]) -> None:
        if self._closed:
            raise RuntimeError("cannot schedule new calls after shutdown")
        self._queue.put(call)

    def call(
        self, loop: asyncio.AbstractEventLoop, fn: Callable[..., Any], args: tuple[Any, ...]
    ) -> asyncio.Future[Any]:
        """Run ``fn(*args)`` on a database thread; return an asyncio future of ``loop``.

        A call whose future was cancelled before a thread took it up is not run (as
        ``run_in_executor`` drops a call not yet started).
        """
        future = loop.create_future()

        def run() -> None:
            if future.cancelled():
                return
            try:
                result = fn(*args)
            except BaseException as exc:
                settle: Callable[[asyncio.Future[Any], Any], None] = _reject
                value: Any = exc
            else:
                settle, value = _resolve, result
            try:  # noqa: SIM105 - cheaper than contextlib.suppress, once per command
                loop.call_soon_threadsafe(settle, future, value)
            except RuntimeError:  # the loop closed meanwhile: nobody waits any more
                pass

        self._put(run)
        return future

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Run ``fn(*args, **kwargs)`` on a database thread; return its future."""
        future: Future[Any] = Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)

        self._put(run)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the threads after the calls already handed over (``cancel_futures``: ignored)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for _ in self._threads:
            self._queue.put(None)
        if wait:
            for thread in self._threads:
                thread.join()
