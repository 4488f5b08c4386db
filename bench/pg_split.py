"""Where the PostgreSQL cycle's CPU goes: server threads and backends, user vs system, switches.

``cycle.py`` gives one figure per side: the server's CPU µs per request and the backends'. This
splits each of them, per signed request (place_order or close_all_position), from ``/proc``:

* the server process by **thread** (the event loop, the database threads ``copytrade-db_*``,
  others), each as user µs, system µs and context switches (voluntary: it blocked, e.g. waiting
  for PostgreSQL or the interpreter lock; involuntary: preempted);
* the PostgreSQL backends serving the benchmark's database, user and system µs and switches;
* PostgreSQL's own helpers (WAL writer, checkpointer, …), which serve every database on the
  host: only a hint, other helpers' tests run there too.

With ``--ab OLD_SRC NEW_SRC`` (or ``--compare-ref REF``) both sides' servers run at once over
their own databases and every run alternates which goes first, as ``table.py`` does.

Usage::

    .venv/bin/python bench/pg_split.py [--postgres URL] [--runs 4] [--seconds 4]
    .venv/bin/python bench/pg_split.py --compare-ref main

Time: ~``runs`` × ``seconds`` × sides + 20 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cpu
import harness
import loadgen
from cycle import CycleLoad
from harness import Server, Side

Sample = dict[str, tuple[float, float, int, int]]
"""label -> (user s, system s, voluntary switches, involuntary switches)."""


def _task(path: Path) -> tuple[float, float, int, int] | None:
    try:
        stat = (path / "stat").read_text().rsplit(")", 1)[1].split()
        status = (path / "status").read_text()
    except OSError:
        return None
    vol = invol = 0
    for line in status.splitlines():
        if line.startswith("voluntary_ctxt_switches:"):
            vol = int(line.split()[1])
        elif line.startswith("nonvoluntary_ctxt_switches:"):
            invol = int(line.split()[1])
    return int(stat[11]) / cpu.TICKS, int(stat[12]) / cpu.TICKS, vol, invol


def _add(out: Sample, label: str, values: tuple[float, float, int, int]) -> None:
    old = out.get(label, (0.0, 0.0, 0, 0))
    out[label] = (old[0] + values[0], old[1] + values[1], old[2] + values[2], old[3] + values[3])


def _thread_label(name: str, pid: int, tid: int) -> str:
    if tid == pid:
        return "server: event loop"
    if name in ("python", "python3") or name.startswith("copytrade-db"):
        return "server: other threads (the database pool)"  # Python names no OS thread
    return f"server: other ({name})"


def sample(server: Server, db_name: str) -> Sample:
    """Return the CPU and switches so far of the server's threads and the PostgreSQL processes."""
    out: Sample = {}
    for pid in server.pids():
        tasks = cpu.PROC / str(pid) / "task"
        try:
            tids = [int(t.name) for t in tasks.iterdir()]
        except OSError:
            continue
        for tid in tids:
            values = _task(tasks / str(tid))
            if values is None:
                continue
            try:
                name = (tasks / str(tid) / "comm").read_text().strip()
            except OSError:
                name = "?"
            _add(out, _thread_label(name, pid, tid), values)
    ours = set(cpu.cmdline_has(f" {db_name} "))
    for pid in ours:
        values = _task(cpu.PROC / str(pid))
        if values is not None:
            _add(out, "postgres: backends", values)
    for pid in cpu.named("postgres"):
        if pid in ours:
            continue
        try:
            title = (cpu.PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "walwriter" in title or "checkpointer" in title or "background writer" in title:
            values = _task(cpu.PROC / str(pid))
            if values is not None:
                _add(out, "postgres: wal/ckpt/bgwriter (host-wide)", values)
    return out


def measure(load: CycleLoad, seconds: float) -> tuple[int, dict[str, tuple[float, ...]]]:
    """Run the signed cycle for ``seconds``; return requests and per-request figures by label."""
    server = load.server
    db_name = server.db_name
    scripts = load.scripts()
    before = sample(server, db_name)
    result = loadgen.run("127.0.0.1", server.port, scripts, seconds)
    after = sample(server, db_name)
    n = max(result.requests, 1)
    figures: dict[str, tuple[float, ...]] = {}
    for label, a in after.items():
        b = before.get(label, (0.0, 0.0, 0, 0))
        figures[label] = (
            (a[0] - b[0]) / n * 1e6,
            (a[1] - b[1]) / n * 1e6,
            (a[2] - b[2]) / n,
            (a[3] - b[3]) / n,
        )
    if result.errors:
        print(f"errors met: {result.errors}", file=sys.stderr)
    return result.requests, figures


def report(label: str, runs: list[tuple[int, dict[str, tuple[float, ...]]]]) -> None:
    """Print the medians over ``runs``."""
    by: dict[str, list[tuple[float, ...]]] = defaultdict(list)
    for _n, figures in runs:
        for key, values in figures.items():
            by[key].append(values)
    rates = [n for n, _f in runs]
    print(f"\n== {label}: median of {len(runs)} runs ({statistics.median(rates):.0f} requests/run)")
    print(f"{'user µs':>8} {'sys µs':>8} {'total':>8} {'vol sw':>7} {'invol':>6}  per request")
    totals = {"server": 0.0, "postgres: backends": 0.0}
    for key in sorted(by):
        rows = by[key]
        user = statistics.median(r[0] for r in rows)
        system = statistics.median(r[1] for r in rows)
        vol = statistics.median(r[2] for r in rows)
        invol = statistics.median(r[3] for r in rows)
        print(f"{user:>8.0f} {system:>8.0f} {user + system:>8.0f} {vol:>7.2f} {invol:>6.2f}  {key}")
    for key in totals:
        per_run = [
            sum(v[0] + v[1] for k, v in figures.items() if k.startswith(key))
            for _n, figures in runs
        ]
        totals[key] = statistics.median(per_run)
    print(
        f"server total {totals['server']:.0f} µs/req, "
        f"backends {totals['postgres: backends']:.0f} µs/req"
    )


def main() -> None:
    """Measure one side, or two interleaved."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--postgres", default=harness.DEFAULT_PG, metavar="URL")
    p.add_argument("--runs", type=int, default=4)
    p.add_argument("--seconds", type=float, default=4.0)
    p.add_argument("--keys", type=int, default=1000)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--ab", nargs=2, metavar=("OLD_SRC", "NEW_SRC"))
    p.add_argument("--compare-ref", metavar="GITREF")
    p.add_argument(
        "--env-new",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="environment of the new side's server only (e.g. COPYTRADE_DB_THREADS=2)",
    )
    args = p.parse_args()
    env_new = dict(item.split("=", 1) for item in args.env_new)
    with ExitStack() as stack:
        if args.compare_ref:
            old_src = stack.enter_context(harness.export_ref(args.compare_ref))
            sides = [Side("old", old_src), Side("new", harness.REPO / "src")]
        elif args.ab:
            sides = [Side("old", Path(args.ab[0])), Side("new", Path(args.ab[1]))]
        else:
            sides = [Side("this")]
        loads = []
        for side in sides:
            print(f"{side.label}: {side.check()}")
            url = stack.enter_context(harness.database(side, args.postgres))
            env = env_new if side.label == "new" else None
            server = stack.enter_context(Server(side, url, env=env))
            loads.append(CycleLoad(server, args.keys, args.connections))
        runs: list[list[tuple[int, dict[str, tuple[float, ...]]]]] = [[] for _ in sides]
        for i in range(args.runs):
            order = list(range(len(sides)))
            if i % 2:
                order.reverse()
            for j in order:
                runs[j].append(measure(loads[j], args.seconds))
        for side, side_runs in zip(sides, runs, strict=True):
            report(side.label, side_runs)


if __name__ == "__main__":
    main()
