"""CPU per signed PostgreSQL request, in process and precise: old vs new, rounds alternating.

``cycle.py`` and ``pg_split.py`` measure a real server under HTTP load; on this shared 2-core
host their µs per request move 30 % with the neighbours' load, because contention (the
interpreter lock, cache, run queues) is billed as CPU too. This runs the app in process
(``bench/inproc.py``: no HTTP, no uvicorn) over its own fresh PostgreSQL database, serves
``--cycles`` signed place_order + close_all_position cycles after a warm-up, and reads the CPU
time from ``/proc/<pid>/schedstat`` (nanoseconds on CPU, not 10 ms ticks) of

* this process (the request path and the database threads; the client's share is tiny: requests
  are built once and replayed), and
* the PostgreSQL backends serving that database.

``--concurrency N`` serves N clients at once (requests overlap on the database threads as
under HTTP load); the default 1 is the cost of the work itself, without contention.

Each side runs in a subprocess with ``PYTHONPATH`` at its ``src`` (``--ab OLD NEW`` or
``--compare-ref REF`` against this worktree); rounds alternate which side goes first.

Usage::

    .venv/bin/python bench/pg_cost.py --compare-ref main [--rounds 5] [--cycles 1000]

Time: ~``rounds`` × 2 × (10 s + cycles × 2 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cpu
import harness
from harness import Side


def _on_cpu_seconds(pids: list[int], *, threads: bool = False) -> float:
    """Return the time ``pids`` (and, with ``threads``, all their threads) spent on a CPU."""
    total = 0
    for pid in pids:
        paths = [cpu.PROC / str(pid)]
        if threads:
            try:
                paths = list((cpu.PROC / str(pid) / "task").iterdir())
            except OSError:
                continue
        for path in paths:
            try:
                total += int((path / "schedstat").read_text().split()[0])
            except (OSError, IndexError, ValueError):
                continue
    return total / 1e9


async def _inner(url: str, cycles: int, keys: int, concurrency: int) -> dict[str, Any]:
    import inproc

    server = inproc.InProcess(url)
    await server.start()
    try:
        work = inproc.cycles(await server.traders(keys))
        await inproc.run_cycles(server, work, 2 * len(work))  # warm-up: every key twice
        db_name = url.rsplit("/", 1)[-1]
        backends = cpu.cmdline_has(f" {db_name} ")
        me = [os.getpid()]
        server0 = _on_cpu_seconds(me, threads=True)
        db0 = _on_cpu_seconds(backends)
        if concurrency > 1:
            await inproc.run_concurrent(server, work, cycles, concurrency)
        else:
            await inproc.run_cycles(server, work, cycles)
        server_s = _on_cpu_seconds(me, threads=True) - server0
        db_s = _on_cpu_seconds(backends) - db0
    finally:
        await server.stop()
    requests = 2 * cycles
    return {"server_us": server_s / requests * 1e6, "db_us": db_s / requests * 1e6}


def _run_side(side: Side, url: str, args: argparse.Namespace) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--inner",
            url,
            "--cycles",
            str(args.cycles),
            "--keys",
            str(args.keys),
            "--concurrency",
            str(args.concurrency),
        ],
        env=side.env(),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    """Measure one side, or two alternating."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--postgres", default=harness.DEFAULT_PG, metavar="URL")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--cycles", type=int, default=1000)
    p.add_argument("--keys", type=int, default=20)
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--ab", nargs=2, metavar=("OLD_SRC", "NEW_SRC"))
    p.add_argument("--compare-ref", metavar="GITREF")
    p.add_argument("--inner", metavar="URL", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.inner:
        figures = asyncio.run(_inner(args.inner, args.cycles, args.keys, args.concurrency))
        print(json.dumps(figures))
        return
    with ExitStack() as stack:
        if args.compare_ref:
            old_src = stack.enter_context(harness.export_ref(args.compare_ref))
            sides = [Side("old", old_src), Side("new", harness.REPO / "src")]
        elif args.ab:
            sides = [Side("old", Path(args.ab[0])), Side("new", Path(args.ab[1]))]
        else:
            sides = [Side("this", harness.REPO / "src")]
        results: list[list[dict[str, Any]]] = [[] for _ in sides]
        for side in sides:
            print(f"{side.label}: {side.check()}", flush=True)
        for r in range(args.rounds):
            order = list(range(len(sides)))
            if r % 2:
                order.reverse()
            for j in order:
                with harness.database(sides[j], args.postgres) as url:
                    got = _run_side(sides[j], url, args)
                results[j].append(got)
                print(
                    f"round {r + 1} {sides[j].label}: server {got['server_us']:.0f} µs/req, "
                    f"backends {got['db_us']:.0f} µs/req",
                    flush=True,
                )
        medians = []
        for side, rows in zip(sides, results, strict=True):
            server = statistics.median(x["server_us"] for x in rows)
            db = statistics.median(x["db_us"] for x in rows)
            medians.append((server, db))
            print(
                f"{side.label}: server {server:.0f} µs/req, backends {db:.0f} µs/req, "
                f"sum {server + db:.0f} (median of {len(rows)}, concurrency {args.concurrency})"
            )
        if len(medians) == 2:
            (s0, d0), (s1, d1) = medians
            print(
                f"new/old: server {s1 / s0:.2f}, backends {d1 / d0:.2f}, "
                f"sum {(s1 + d1) / (s0 + d0):.2f}"
            )


if __name__ == "__main__":
    main()
