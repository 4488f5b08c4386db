"""A signed command leaves no cyclic garbage: the server frees it by reference counting alone.

Cyclic garbage is what fills the collector's young generation between requests; each pass
then holds the event loop for milliseconds (3-8 ms measured under load, one every ~1,500
requests when the SQLite unit of work reached itself through its accounts), which is what the
latency tail (p99) was made of. The PostgreSQL unit of work had the same cycle (and its
repositories made on first use held its bound methods). Real parts: the app in process over
a real SQLite file, a fresh PostgreSQL database, and the memory store.
"""

from __future__ import annotations

import asyncio
import gc
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import inproc  # noqa: E402


def unreachable_after_80_requests(db_url: str) -> int:
    """Return how many objects ``gc.collect()`` finds unreachable after 80 signed requests."""

    async def go() -> int:
        server = inproc.InProcess(db_url)
        await server.start()
        try:
            work = inproc.cycles(await server.traders(4))
            await inproc.run_concurrent(server, work, 8, 4)  # warm: caches, keys, statements
            gc.collect()
            gc.disable()
            try:
                await inproc.run_concurrent(server, work, 40, 4)  # 80 signed requests
                return gc.collect()
            finally:
                gc.enable()
        finally:
            await server.stop()

    return asyncio.run(go())


def test_signed_place_order_and_close_all_leave_no_reference_cycles(tmp_path: Path) -> None:
    unreachable = unreachable_after_80_requests(f"sqlite:///{tmp_path}/garbage.db")
    # six objects a command (unit of work, its accounts and markets, their lists) before
    assert unreachable < 20, f"{unreachable} objects in reference cycles after 80 requests"


@pytest.mark.postgres
def test_postgres_commands_leave_no_reference_cycles(postgres_database: str) -> None:
    unreachable = unreachable_after_80_requests(postgres_database)
    # six objects a command (unit of work, its accounts, markets, locks, two dicts) before
    assert unreachable < 20, f"{unreachable} objects in reference cycles after 80 requests"


def test_memory_store_commands_leave_no_reference_cycles() -> None:
    unreachable = unreachable_after_80_requests("memory://")
    assert unreachable < 20, f"{unreachable} objects in reference cycles after 80 requests"
