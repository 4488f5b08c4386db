"""The shared store's database threads: results, errors, cancellation, shutdown."""

from __future__ import annotations

import asyncio
import threading

import pytest

from copytrade.adapters.db.dbthreads import DbThreads


def test_submit_returns_the_result_or_the_error_of_a_call_on_another_thread() -> None:
    threads = DbThreads(2)
    try:
        assert threads.submit(threading.get_ident).result(timeout=5) != threading.get_ident()
        with pytest.raises(ZeroDivisionError):
            threads.submit(lambda: 1 / 0).result(timeout=5)
    finally:
        threads.shutdown()


def test_a_coroutine_awaits_the_call_and_gets_its_result_or_error() -> None:
    threads = DbThreads(2)

    async def go() -> None:
        loop = asyncio.get_running_loop()
        assert await threads.call(loop, pow, (2, 10)) == 1024
        with pytest.raises(KeyError):
            await threads.call(loop, {}.__getitem__, ("missing",))

    try:
        asyncio.run(go())
    finally:
        threads.shutdown()


def test_a_call_cancelled_before_a_thread_takes_it_never_runs() -> None:
    threads = DbThreads(1)
    gate = threading.Event()
    ran: list[int] = []

    async def go() -> None:
        loop = asyncio.get_running_loop()
        blocker = threads.call(loop, gate.wait, (5,))  # holds the only thread
        queued = threads.call(loop, ran.append, (1,))
        queued.cancel()
        gate.set()
        await blocker
        await threads.call(loop, ran.append, (2,))  # behind the cancelled one

    try:
        asyncio.run(go())
    finally:
        threads.shutdown()
    assert ran == [2]


def test_after_shutdown_no_call_is_taken() -> None:
    threads = DbThreads(2)
    done = threads.submit(lambda: "before")
    threads.shutdown()
    assert done.result(timeout=5) == "before"
    with pytest.raises(RuntimeError, match="shutdown"):
        threads.submit(lambda: "after")
