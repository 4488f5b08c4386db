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

**CPU-time tail.** On this shared host most of a wall-clock tail can be the kernel running
someone else's process while a request waits (the process descheduled, not the server slow). So
each request also records this process's CPU time (``time.process_time``) at its start and end:
the *CPU latency* is the server work done while it was in flight (its own, the requests queued
before it, GC passes, commits), without the time the process was off the CPU. Its p99/p50
(``cpu p99/p50``) is what the server's code decides; the wall p99/p50 adds the host's noise.
``on-cpu`` is process CPU ÷ wall time of the run (1.0 = never descheduled), ``nivcsw`` the
involuntary context switches (preemptions) during the run.

``--ab OLD NEW --repeat R`` runs R rounds, each one run of each side in a fresh subprocess, the
order alternating round by round, and ends with every side's median and range over the rounds.

Usage::

    .venv/bin/python bench/prof_tail.py [--cycles 6000] [--concurrency 32]
    .venv/bin/python bench/prof_tail.py --ab OLD_SRC NEW_SRC --repeat 6   # alternating rounds

Time: ~10-20 s per side and round.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import statistics
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


FIGURES = "figures: "  # prefix of the line a side's subprocess prints for the --ab summary


async def measure(
    cycles: int, concurrency: int, slow_commit_ms: float, freeze: bool = True
) -> dict[str, float]:
    """Serve the cycles, print the tail and what overlapped it; return the figures.

    Keys: ``tail`` (wall p99/p50), ``cpu_tail`` (CPU-time p99/p50), ``rate`` (req/s),
    ``cpu_us`` (process CPU µs per request), ``on_cpu``, ``nivcsw``, ``gc0``/``gc1``/``gc2``
    (passes), ``gc_ms`` (all passes), ``commits``, ``slow_commits``, ``loop_max_ms``.

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
            cpu_latencies: list[float] = []  # process CPU seconds while each was in flight
            clock, cpu_clock = time.perf_counter, time.process_time

            async def client(mine: list[Any], count: int) -> None:
                for i in range(count):
                    for request in mine[i % len(mine)]:
                        cpu_started, started = cpu_clock(), clock()
                        status, body = await server.call(request)
                        latencies.append((started, clock()))
                        cpu_latencies.append(cpu_clock() - cpu_started)
                        if status != 200 or not body.startswith(b'{"code":200'):
                            raise RuntimeError(f"{request[1]} refused: {body[:200]!r}")

            tick = asyncio.get_running_loop().create_task(ticker())
            gc.callbacks.append(on_gc)
            usage0 = resource.getrusage(resource.RUSAGE_SELF)
            cpu_began = time.process_time()
            began = time.perf_counter()
            try:
                shares = [work[i::concurrency] for i in range(concurrency)]
                await asyncio.gather(*(client(m, cycles // concurrency) for m in shares))
            finally:
                gc.callbacks.remove(on_gc)
                running = False
                await tick
            elapsed = time.perf_counter() - began
            cpu_used = time.process_time() - cpu_began
            nivcsw = resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw - usage0.ru_nivcsw
        finally:
            await server.stop()

    ms = [(end - start) * 1000 for start, end in latencies]
    p50, p90, p99 = _pct(ms, 0.5), _pct(ms, 0.9), _pct(ms, 0.99)
    print(
        f"{len(ms)} requests in {elapsed:.1f} s ({len(ms) / elapsed:.0f} req/s): "
        f"p50 {p50:.2f} ms, p90 {p90:.2f}, p99 {p99:.2f}, max {max(ms):.2f}; "
        f"p99/p50 {p99 / p50:.2f}"
    )
    cpu_ms = [c * 1000 for c in cpu_latencies]
    c50, c99 = _pct(cpu_ms, 0.5), _pct(cpu_ms, 0.99)
    print(
        f"  cpu time in flight: p50 {c50:.2f} ms, p99 {c99:.2f}, max {max(cpu_ms):.2f}; "
        f"cpu p99/p50 {c99 / c50:.2f}; {cpu_used / len(ms) * 1e6:.0f} µs CPU/request, "
        f"on-cpu {cpu_used / elapsed:.2f}, nivcsw {nivcsw}"
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
    passes = {g: [(e - s) * 1000 for gg, s, e in gcs if gg == g] for g in (0, 1, 2)}
    return {
        "tail": p99 / p50,
        "cpu_tail": c99 / c50,
        "p50": p50,
        "p99": p99,
        "rate": len(ms) / elapsed,
        "cpu_us": cpu_used / len(ms) * 1e6,
        "on_cpu": cpu_used / elapsed,
        "nivcsw": float(nivcsw),
        "gc0": float(len(passes[0])),
        "gc1": float(len(passes[1])),
        "gc2": float(len(passes[2])),
        "gc_ms": sum(sum(v) for v in passes.values()),
        "commits": float(len(commits)),
        "slow_commits": float(sum(1 for _, s, e in commits if (e - s) * 1000 >= slow_commit_ms)),
        "loop_max_ms": max(gaps, default=0.0) * 1000,
    }


SUMMARY = (
    ("tail", "wall p99/p50", ".2f"),
    ("cpu_tail", "cpu p99/p50", ".2f"),
    ("p50", "wall p50 ms", ".2f"),
    ("p99", "wall p99 ms", ".2f"),
    ("rate", "req/s", ".0f"),
    ("cpu_us", "CPU µs/request", ".0f"),
    ("on_cpu", "on-cpu", ".2f"),
    ("nivcsw", "nivcsw", ".0f"),
    ("gc0", "gc gen0 passes", ".0f"),
    ("gc1", "gc gen1 passes", ".0f"),
    ("gc2", "gc gen2 passes", ".0f"),
    ("gc_ms", "gc ms in all", ".1f"),
    ("commits", "commits", ".0f"),
    ("slow_commits", "slow commits", ".0f"),
    ("loop_max_ms", "longest loop turn ms", ".2f"),
)


def summarise(runs: dict[str, list[dict[str, float]]]) -> str:
    """Return each figure's median (min-max) per side over the rounds, and new/old medians."""
    labels = list(runs)
    head = f"{'median (min-max)':<22}" + "".join(f"{lab:>24}" for lab in labels)
    if len(labels) == 2:
        head += f"{'new/old':>9}"
    lines = [head]
    for key, name, fmt in SUMMARY:
        line = f"{name:<22}"
        medians = []
        for lab in labels:
            values = [r[key] for r in runs[lab]]
            med = statistics.median(values)
            medians.append(med)
            cell = f"{format(med, fmt)} ({format(min(values), fmt)}-{format(max(values), fmt)})"
            line += f"{cell:>24}"
        if len(labels) == 2:
            line += f"{medians[1] / medians[0]:>9.2f}" if medians[0] else f"{'—':>9}"
        lines.append(line)
    return "\n".join(lines)


def main() -> None:
    """Run one side here, or each ``--ab`` side in a subprocess with its ``src``, alternating."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cycles", type=int, default=6000)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--slow-commit-ms", type=float, default=5.0)
    p.add_argument("--ab", nargs=2, metavar=("OLD_SRC", "NEW_SRC"))
    p.add_argument("--repeat", type=int, default=1, help="--ab rounds (order alternates)")
    args = p.parse_args()
    if not args.ab:
        figures = asyncio.run(measure(args.cycles, args.concurrency, args.slow_commit_ms))
        print(FIGURES + json.dumps(figures), flush=True)
        return
    sides = list(zip(("old", "new"), args.ab, strict=True))
    runs: dict[str, list[dict[str, float]]] = {name: [] for name, _ in sides}
    for rnd in range(args.repeat):
        for name, src in sides if rnd % 2 == 0 else sides[::-1]:
            print(f"round {rnd + 1} {name}: {src}", flush=True)
            out = subprocess.run(
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
                capture_output=True,
                text=True,
            ).stdout
            for line in out.splitlines():
                if line.startswith(FIGURES):
                    runs[name].append(json.loads(line[len(FIGURES) :]))
                else:
                    print(line, flush=True)
    print()
    print(summarise(runs))


if __name__ == "__main__":
    main()
