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
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


async def main(followers: int, top: int, sample_ms: float = 0) -> None:
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
            samples: list[tuple[float, str]] = []
            sampler = None
            if sample_ms:
                sampler = _Sampler(samples, started, sample_ms / 1000)
                sampler.start()
            for wave, request in (
                ("open", inproc.signed(lead, inproc.PLACE, inproc.ORDER)),
                ("close", inproc.signed(lead, inproc.CLOSE_ALL, inproc.CLOSE)),
            ):
                t0 = time.perf_counter()
                _status, body = await server.call(request)
                print(f"{wave}: {(time.perf_counter() - t0) * 1000:.0f} ms wall, {body[:40]!r}")
            running = False
            await task
            if sampler is not None:
                sampler.stop = True
                sampler.join()
        finally:
            await server.stop()
    print(f"longest loop iterations during the waves (ms, at s), of {len(gaps)}:")
    for gap, at in sorted(gaps, reverse=True)[:top]:
        print(f"  {gap * 1000:8.1f} ms at {at:.3f} s")
        if sample_ms:  # where the loop's thread was meanwhile (innermost copytrade frames)
            counts: dict[str, int] = {}
            for when, where in samples:
                if at - gap <= when <= at:
                    counts[where] = counts.get(where, 0) + 1
            for where, n in sorted(counts.items(), key=lambda kv: -kv[1])[:6]:
                print(f"      {n:4d} x {where}")


class _Sampler(threading.Thread):
    """Samples the loop thread's stack every ``every`` seconds (its innermost copytrade frames)."""

    def __init__(self, out: list[tuple[float, str]], started: float, every: float) -> None:
        super().__init__(daemon=True)
        self.out, self.started, self.every = out, started, every
        self.target = threading.get_ident()
        self.stop = False

    def run(self) -> None:
        while not self.stop:
            time.sleep(self.every)
            frame = sys._current_frames().get(self.target)
            names: list[str] = []
            while frame is not None and len(names) < 3:
                code = frame.f_code
                if "copytrade" in code.co_filename:
                    names.append(f"{Path(code.co_filename).stem}.{code.co_name}")
                frame = frame.f_back
            self.out.append((time.perf_counter() - self.started, " < ".join(names) or "-"))


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--followers", type=int, default=10_000)
    p.add_argument("--top", type=int, default=10)
    p.add_argument(
        "--sample-ms",
        type=float,
        default=0,
        help="also sample the loop thread's stack this often; print where each long gap was",
    )
    args = p.parse_args()
    asyncio.run(main(args.followers, args.top, args.sample_ms))
