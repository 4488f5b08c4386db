"""A signed command leaves no cyclic garbage: the server frees it by reference counting alone.

Cyclic garbage is what fills the collector's young generation between requests; each pass
then holds the event loop for milliseconds (3-8 ms measured under load, one every ~1,500
requests when the SQLite unit of work reached itself through its accounts), which is what the
latency tail (p99) was made of. Real parts: the app in process over a real SQLite file.
"""

from __future__ import annotations

import asyncio
import gc
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import inproc  # noqa: E402


def test_signed_place_order_and_close_all_leave_no_reference_cycles(tmp_path: Path) -> None:
    async def go() -> int:
        server = inproc.InProcess(f"sqlite:///{tmp_path}/garbage.db")
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

    unreachable = asyncio.run(go())
    # six objects a command (unit of work, its accounts and markets, their lists) before
    assert unreachable < 20, f"{unreachable} objects in reference cycles after 80 requests"
