"""What makes the latency tail of the signed SQLite cycle: GC passes, slow commits, long loop turns.

``cycle.py`` reports p99/p50 over HTTP; this finds what the slow requests had in common. The
app runs in process (``bench/inproc.py``, startup heap frozen and GC thresholds set as
``copytrade serve`` does), ``--concurrency`` clients each send their signed place_order +
close_all_position cycles back to back, and each request's latency is recorded, together with:

* every garbage collection (generation, duration), from ``gc.callbacks``;
* every group commit (calls, seconds), from the store's commit observer;
* the loop's longest iterations (a ticker task yielding with ``asyncio.sleep(0)``).

It prints p50/p90/p99/max and p99/p50, the GC passes by generation (count, total and longest
ms), the commits (count, mean calls, longest ms), and how many of the requests slower than p99
overlapped a GC pass or a commit slower than ``--slow-commit-ms``. In process there is no HTTP:
the absolute latencies are lower than ``cycle.py``'s, the causes of the tail the same.

Usage::

    .venv/bin/python bench/prof_tail.py [--cycles 6000] [--concurrency 32]
    .venv/bin/python bench/prof_tail.py --ab OLD_SRC NEW_SRC   # both sides, one after the other

Time: ~10-20 s per side.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(
    cycles: int, concurrency: int, slow_commit_ms: float, freeze: bool = True
) -> float:
    """Serve the cycles, print the tail and what overlapped it; return p99/p50.

    ``freeze``: freeze the startup heap as ``copytrade serve`` does (not in a test process).
    """
    sys.path.insert(0, str(HERE))
    import inproc

    from copytrade.cli.serving import freeze_startup_heap

    with tempfile.TemporaryDirectory() as tmp:
        server = inproc.InProcess(f"sqlite:///{tmp}/tail.db")
        await server.start()
        try:
            work = inproc.cycles(await server.traders(concurrency))
            await inproc.run_cycles(server, work, len(work))
            if freeze:
                freeze_startup_heap()
            gcs: list[tuple[int, float, float]] = []
            gc_started = [0.0]

            def on_gc(phase: str, info: dict[str, Any]) -> None:
                now = time.perf_counter()
                if phase == "start":
                    gc_started[0] = now
                else:
                    gcs.append((info["generation"], gc_started[0], now))

            commits: list[tuple[int, float, float]] = []

            def on_commit(calls: int, seconds: float) -> None:
                now = time.perf_counter()
                commits.append((calls, now - seconds, now))

            server.services.store.observe_commits(on_commit)
            gaps: list[float] = []
            running = True

            async def ticker() -> None:
                last = time.perf_counter()
                while running:
                    await asyncio.sleep(0)
                    now = time.perf_counter()
                    gaps.append(now - last)
                    last = now

            latencies: list[tuple[float, float]] = []  # (start, end)

            async def client(mine: list[Any], count: int) -> None:
                for i in range(count):
                    for request in mine[i % len(mine)]:
                        started = time.perf_counter()
                        status, body = await server.call(request)
                        latencies.append((started, time.perf_counter()))
                        if status != 200 or not body.startswith(b'{"code":200'):
                            raise RuntimeError(f"{request[1]} refused: {body[:200]!r}")

            tick = asyncio.get_running_loop().create_task(ticker())
            gc.callbacks.append(on_gc)
            began = time.perf_counter()
            try:
                shares = [work[i::concurrency] for i in range(concurrency)]
                await asyncio.gather(*(client(m, cycles // concurrency) for m in shares))
            finally:
                gc.callbacks.remove(on_gc)
                running = False
                await tick
            elapsed = time.perf_counter() - began
        finally:
            await server.stop()

    ms = [(end - start) * 1000 for start, end in latencies]
    p50, p90, p99 = _pct(ms, 0.5), _pct(ms, 0.9), _pct(ms, 0.99)
    print(
        f"{len(ms)} requests in {elapsed:.1f} s ({len(ms) / elapsed:.0f} req/s): "
        f"p50 {p50:.2f} ms, p90 {p90:.2f}, p99 {p99:.2f}, max {max(ms):.2f}; "
        f"p99/p50 {p99 / p50:.2f}"
    )
    for gen in (0, 1, 2):
        passes = [(end - start) * 1000 for g, start, end in gcs if g == gen]
        if passes:
            print(
                f"  gc gen{gen}: {len(passes)} passes, {sum(passes):.1f} ms in all, "
                f"longest {max(passes):.2f} ms"
            )
    if commits:
        longest = max((end - start) * 1000 for _, start, end in commits)
        mean = sum(c for c, _, _ in commits) / len(commits)
        print(f"  commits: {len(commits)}, {mean:.1f} calls each, longest {longest:.2f} ms")
    slow = [(s, e) for s, e in latencies if (e - s) * 1000 >= p99]
    slow_gc = dict.fromkeys((0, 1, 2), 0)
    slow_commit = 0
    for start, end in slow:
        for g, gs, ge in gcs:
            if gs < end and ge > start:
                slow_gc[g] += 1
                break
        for _, cs, ce in commits:
            if (ce - cs) * 1000 >= slow_commit_ms and cs < end and ce > start:
                slow_commit += 1
                break
    print(
        f"  of the {len(slow)} requests >= p99: overlapped a gc pass gen0/1/2: "
        f"{slow_gc[0]}/{slow_gc[1]}/{slow_gc[2]}; a commit >= {slow_commit_ms} ms: {slow_commit}"
    )
    top = sorted(gaps, reverse=True)[:5]
    print("  longest loop iterations (ms): " + ", ".join(f"{g * 1000:.2f}" for g in top))
    return p99 / p50


def main() -> None:
    """Run one side here, or each ``--ab`` side in a subprocess with its ``src``."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cycles", type=int, default=6000)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--slow-commit-ms", type=float, default=5.0)
    p.add_argument("--ab", nargs=2, metavar=("OLD_SRC", "NEW_SRC"))
    args = p.parse_args()
    if not args.ab:
        asyncio.run(measure(args.cycles, args.concurrency, args.slow_commit_ms))
        return
    for name, src in zip(("old", "new"), args.ab, strict=True):
        print(f"{name}: {src}", flush=True)
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--cycles",
                str(args.cycles),
                "--concurrency",
                str(args.concurrency),
                "--slow-commit-ms",
                str(args.slow_commit_ms),
            ],
            env={**os.environ, "PYTHONPATH": str(Path(src).resolve())},
            check=True,
            cwd=tempfile.gettempdir(),
        )


if __name__ == "__main__":
    main()
