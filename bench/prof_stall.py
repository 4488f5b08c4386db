"""What holds the event loop during a copy wave: the longest gaps between loop iterations.

The app runs in process (``bench/inproc.py``: SQLite, no HTTP, startup heap frozen as
``copytrade serve`` does); a trader gets N followers, and while its ``place_order`` (open) and
``close_all_position`` (close) are served, a ticker task yielding with ``asyncio.sleep(0)``
records how long each loop iteration took. A gap is a stretch during which no other client could
have been served. Each group commit slower than 20 ms is printed with its wall time, so the gaps
it explains can be told from the ones the fan-out's own steps leave (a step between two pauses
should stay a few ms).

Usage::

    .venv/bin/python bench/prof_stall.py [--followers 10000] [--top 10]

Wall-clock figures: on a loaded shared host they inflate by the load factor (compare the gaps
with each other, and the commit lines with the largest gaps). Time: ~10 s at 10k.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


async def main(followers: int, top: int) -> None:
    """Serve one wave pair with the ticker running; print the waves, commits and gaps."""
    sys.path.insert(0, str(HERE))
    import inproc

    with tempfile.TemporaryDirectory() as tmp:
        server = inproc.InProcess(f"sqlite:///{tmp}/stall.db")
        await server.start()
        try:  # as `copytrade serve` does (freeze, then the raised thresholds)
            from copytrade.cli.serving import freeze_startup_heap
        except ImportError:
            gc.collect()
            gc.freeze()
        else:
            freeze_startup_heap()
        try:
            lead = (await server.traders(1))[0]
            await server.admin(
                "/_sim/followers/bulk",
                {
                    "trader_uid": lead["uid"],
                    "count": followers,
                    "balance": "1000000",
                    "ratio": "1",
                },
            )
            executor: Any = server.services.store.executor
            started = time.perf_counter()
            observer = executor.on_commit

            def on_commit(calls: int, seconds: float) -> None:
                if seconds > 0.02:
                    at = time.perf_counter() - started
                    print(f"  commit of {calls} call(s): {seconds * 1000:.1f} ms, at {at:.3f} s")
                if observer is not None:
                    observer(calls, seconds)

            executor.on_commit = on_commit
            gaps: list[tuple[float, float]] = []
            running = True

            async def ticker() -> None:
                last = time.perf_counter()
                while running:
                    await asyncio.sleep(0)
                    now = time.perf_counter()
                    gaps.append((now - last, now - started))
                    last = now

            task = asyncio.ensure_future(ticker())
            for wave, request in (
                ("open", inproc.signed(lead, inproc.PLACE, inproc.ORDER)),
                ("close", inproc.signed(lead, inproc.CLOSE_ALL, inproc.CLOSE)),
            ):
                t0 = time.perf_counter()
                _status, body = await server.call(request)
                print(f"{wave}: {(time.perf_counter() - t0) * 1000:.0f} ms wall, {body[:40]!r}")
            running = False
            await task
        finally:
            await server.stop()
    print(f"longest loop iterations during the waves (ms, at s), of {len(gaps)}:")
    for gap, at in sorted(gaps, reverse=True)[:top]:
        print(f"  {gap * 1000:8.1f} ms at {at:.3f} s")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--followers", type=int, default=10_000)
    p.add_argument("--top", type=int, default=10)
    args = p.parse_args()
    asyncio.run(main(args.followers, args.top))
