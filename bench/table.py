"""Issue 16's table: every target row with its figure, target and PASS/MISS; old vs new interleaved.

Runs, on SQLite and (with ``--postgres``) PostgreSQL:

* ``bench/cycle.py``'s pairs: signed cycle ÷ raw ASGI, p99/p50 under that load, server CPU µs
  per request (and the database backends' on PostgreSQL);
* ``bench/fanout.py``'s waves: a lead with N followers opens and closes while a bystander trades;
  setup, open, close, RSS growth, the bystander's p50/p99 during each wave and idle.

With ``--ab OLD_SRC NEW_SRC`` (two directories holding ``copytrade/``) or ``--compare-ref REF``
(old = ``REF``'s ``src`` exported to a temporary directory, new = this worktree's ``src``), both
servers run at once, each over its own database, and every measurement alternates between them
(old first, then new first, …), so both columns saw the same machine. The ``new/old`` column is
the interleaved ratio sessions should report (for times and µs, below 1 means faster).
PASS/MISS judges the new (or only) column.

Usage::

    .venv/bin/python bench/table.py --postgres postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/table.py --compare-ref main --postgres postgresql://...
    .venv/bin/python bench/table.py --ref main --postgres postgresql://...   # main's code alone
    .venv/bin/python bench/table.py --small     # ~1 min: tiny sizes, checks the script runs

Time: the full defaults take ~10-15 min on a loaded 2-core host (100k-follower waves dominate;
``--ab`` doubles it). Figures on a shared machine are noisy: quote the interleaved ratios.
"""

from __future__ import annotations

import argparse
import math
import operator
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import harness
from cycle import CycleLoad, CycleSummary, Run
from fanout import Bystander, Summary, Wave, wave
from harness import Server, Side

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Target:
    """``value <op> bound`` passes."""

    op: str
    bound: float

    def check(self, value: float) -> str:
        """Return PASS, MISS, or n/a for a missing figure."""
        if math.isnan(value):
            return "n/a"
        compare: Callable[[float, float], bool] = {"<=": operator.le, ">=": operator.ge}[self.op]
        return "PASS" if compare(value, self.bound) else "MISS"


@dataclass(frozen=True)
class Row:
    """One line of the table: a key into the figures, a label, a unit, a format, a target."""

    key: str
    label: str
    unit: str
    fmt: str = ".1f"
    target: Target | None = None


def _k(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def rows(sqlite_counts: list[int], pg_counts: list[int], postgres: bool) -> list[Row]:
    """Return the rows in print order; the issue's targets sit on the rows they name."""
    out = [
        Row("sq.ratio", "signed cycle ÷ raw ASGI, SQLite", "×", ".3f", Target(">=", 0.22)),
        Row("sq.tail", "p99/p50 under the throughput load, SQLite", "", ".2f", Target("<=", 2)),
        Row("sq.tail_pairs", "the same, median of the pairs' own, SQLite", "", ".2f"),
        Row("sq.rate", "signed req/s, SQLite (absolute: noisy)", "req/s", ".0f"),
        Row("sq.cpu", "server CPU per request, SQLite", "µs", ".0f"),
        Row("sq.idle.p50", "bystander idle p50, SQLite", "ms", ".1f"),
        Row("sq.idle.p99", "bystander idle p99, SQLite", "ms", ".1f"),
    ]
    for n in sqlite_counts:
        big, huge = n == 10_000, n == 100_000
        out += [
            Row(f"sq.{n}.setup", f"{_k(n)} followers setup (bulk), SQLite", "s", ".2f"),
            Row(
                f"sq.{n}.open",
                f"{_k(n)}-follower open, SQLite",
                "ms",
                ".0f",
                Target("<=", 250) if big else None,
            ),
            Row(
                f"sq.{n}.close",
                f"{_k(n)}-follower close_all, SQLite",
                "ms",
                ".0f",
                Target("<=", 150) if big else Target("<=", 2000) if huge else None,
            ),
            Row(f"sq.{n}.open_cpu", f"{_k(n)}-follower open: server CPU, SQLite", "ms", ".0f"),
            Row(
                f"sq.{n}.close_cpu", f"{_k(n)}-follower close_all: server CPU, SQLite", "ms", ".0f"
            ),
            Row(f"sq.{n}.rss", f"{_k(n)}: server RSS growth (setup+open+close), SQLite", "MiB"),
            Row(f"sq.{n}.by_open50", f"bystander p50 during {_k(n)} open, SQLite", "ms", ".0f"),
            Row(
                f"sq.{n}.by_open",
                f"bystander p99 during {_k(n)} open, SQLite",
                "ms",
                ".0f",
                Target("<=", 100) if big else None,
            ),
            Row(
                f"sq.{n}.by_close50", f"bystander p50 during {_k(n)} close_all, SQLite", "ms", ".0f"
            ),
            Row(
                f"sq.{n}.by_close",
                f"bystander p99 during {_k(n)} close_all, SQLite",
                "ms",
                ".0f",
                Target("<=", 100) if big else None,
            ),
            Row(
                f"sq.{n}.ping",
                f"worst raw ping during {_k(n)} waves (loop held), SQLite",
                "ms",
                ".0f",
            ),
        ]
    if not postgres:
        return out
    out += [
        Row("pg.ratio", "signed cycle ÷ raw ASGI, PostgreSQL", "×", ".3f"),
        Row("pg.tail", "p99/p50 under the throughput load, PostgreSQL", "", ".2f"),
        Row("pg.tail_pairs", "the same, median of the pairs' own, PostgreSQL", "", ".2f"),
        Row("pg.cpu", "server CPU per request, PostgreSQL", "µs", ".0f", Target("<=", 400)),
        Row("pg.db", "PostgreSQL backends' CPU per request", "µs", ".0f"),
        Row("pg.idle.p50", "bystander idle p50, PostgreSQL", "ms", ".1f"),
        Row("pg.idle.p99", "bystander idle p99, PostgreSQL", "ms", ".1f"),
    ]
    for n in pg_counts:
        out += [
            Row(f"pg.{n}.open", f"{_k(n)}-follower open, PostgreSQL", "ms", ".0f"),
            Row(
                f"pg.{n}.close",
                f"{_k(n)}-follower close_all, PostgreSQL",
                "ms",
                ".0f",
                Target("<=", 500) if n == 10_000 else None,
            ),
            Row(f"pg.{n}.open_cpu", f"{_k(n)}-follower open: server CPU, PostgreSQL", "ms", ".0f"),
            Row(
                f"pg.{n}.close_cpu", f"{_k(n)}-follower close: server CPU, PostgreSQL", "ms", ".0f"
            ),
            Row(f"pg.{n}.by_open50", f"bystander p50 during {_k(n)} open, PostgreSQL", "ms", ".0f"),
            Row(f"pg.{n}.by_open", f"bystander p99 during {_k(n)} open, PostgreSQL", "ms", ".0f"),
            Row(
                f"pg.{n}.by_close50", f"bystander p50 during {_k(n)} close, PostgreSQL", "ms", ".0f"
            ),
            Row(f"pg.{n}.by_close", f"bystander p99 during {_k(n)} close, PostgreSQL", "ms", ".0f"),
            Row(f"pg.{n}.ping", f"worst raw ping during {_k(n)} waves, PostgreSQL", "ms", ".0f"),
        ]
    return out


Figures = dict[str, dict[str, float]]  # side label -> key -> value


def _record_cycle(figures: dict[str, float], db: str, runs: list[Run]) -> None:
    s = CycleSummary.of(runs)
    figures.update(
        {
            f"{db}.ratio": s.ratio,
            f"{db}.tail": s.tail,
            f"{db}.tail_pairs": s.pair_tail,
            f"{db}.rate": s.rate,
            f"{db}.cpu": s.server_us,
            f"{db}.db": s.db_us,
        }
    )
    if s.errors:
        print(f"    ({db}) error codes during the cycles: {s.errors}", file=sys.stderr)


def _record_waves(figures: dict[str, float], db: str, waves: list[Wave]) -> None:
    s = Summary.of(waves)
    n = s.followers
    figures.update(
        {
            f"{db}.{n}.setup": s.setup,
            f"{db}.{n}.open": s.open * 1000,
            f"{db}.{n}.close": s.close * 1000,
            f"{db}.{n}.rss": s.rss_growth,
            f"{db}.{n}.by_open50": s.open_p50,
            f"{db}.{n}.by_close50": s.close_p50,
            f"{db}.{n}.by_open": s.open_p99,
            f"{db}.{n}.by_close": s.close_p99,
            f"{db}.{n}.ping": s.ping_max,
            f"{db}.{n}.open_cpu": s.open_cpu * 1000,
            f"{db}.{n}.close_cpu": s.close_cpu * 1000,
        }
    )
    if s.notes:
        print(f"    ({db} {n}) {'; '.join(s.notes)}", file=sys.stderr)


def _alternate(sides: list[Side], turn: int) -> list[Side]:
    return sides if turn % 2 == 0 else sides[::-1]


def measure(
    db: str, sides: list[Side], args: argparse.Namespace, counts: list[int], figures: Figures
) -> None:
    """Run the cycles and waves of one database kind for every side, interleaved."""
    postgres = args.postgres if db == "pg" else None
    workers = args.workers if db == "pg" else 1
    with ExitStack() as stack:
        servers: dict[str, Server] = {}
        for side in sides:
            url = stack.enter_context(harness.database(side, postgres))
            servers[side.label] = stack.enter_context(Server(side, url, workers=workers))
        log(f"{db}: servers up ({', '.join(s.label for s in sides)}); signed cycles")
        loads = {s.label: CycleLoad(servers[s.label], args.keys, args.connections) for s in sides}
        runs: dict[str, list[Run]] = {s.label: [] for s in sides}
        for pair in range(args.pairs):
            for side in _alternate(sides, pair):
                runs[side.label].append(loads[side.label].run(args.seconds, pair % 2 == 0))
        for side in sides:
            if runs[side.label]:  # --pairs 0: waves only
                _record_cycle(figures[side.label], db, runs[side.label])
        log(f"{db}: bystander idle")
        bystanders = {
            s.label: Bystander(servers[s.label], args.bystander_connections, args.bystander_ms)
            for s in sides
        }
        for side in sides:
            idle = bystanders[side.label].idle(args.idle_seconds)
            figures[side.label][f"{db}.idle.p50"] = idle.p50
            figures[side.label][f"{db}.idle.p99"] = idle.p99
        for n in counts:
            log(f"{db}: {n}-follower waves")
            waves: dict[str, list[Wave]] = {s.label: [] for s in sides}
            for r in range(args.repeat):
                for side in _alternate(sides, r):
                    waves[side.label].append(wave(servers[side.label], bystanders[side.label], n))
            for side in sides:
                _record_waves(figures[side.label], db, waves[side.label])
                if bystanders[side.label].errors:
                    errors = bystanders[side.label].errors
                    print(
                        f"    ({db} {n} {side.label}) bystander errors: {errors}", file=sys.stderr
                    )
                    errors.clear()


START = time.monotonic()


def log(text: str) -> None:
    """Print progress to stderr, with the seconds since start."""
    print(f"[{time.monotonic() - START:6.0f}s] {text}", file=sys.stderr, flush=True)


def render(table: list[Row], sides: list[Side], figures: Figures) -> str:
    """Return the table as text: one column per side, new/old, target, PASS/MISS."""
    labels = [s.label for s in sides]
    width = max(len(r.label) + len(r.unit) + 3 for r in table)
    head = f"{'what':<{width}}" + "".join(f"{lab:>10}" for lab in labels)
    if len(sides) == 2:
        head += f"{'new/old':>9}"
    head += f"  {'target':<10} result"
    lines = [head, "-" * len(head)]
    for row in table:
        name = f"{row.label} ({row.unit})" if row.unit else row.label
        values = [figures[lab].get(row.key, float("nan")) for lab in labels]
        line = f"{name:<{width}}" + "".join(
            f"{'—' if math.isnan(v) else format(v, row.fmt):>10}" for v in values
        )
        if len(sides) == 2:
            old, new = values
            ratio = new / old if old and not math.isnan(old) else float("nan")
            line += f"{'—' if math.isnan(ratio) else format(ratio, '.2f'):>9}"
        if row.target:
            verdict = row.target.check(values[-1])
            if verdict == "n/a" and row.key not in figures[labels[-1]]:
                verdict = "not run"
            line += f"  {row.target.op} {row.target.bound:<7g} {verdict}"
        lines.append(line)
    return "\n".join(lines)


@contextmanager
def sides_of(args: argparse.Namespace) -> Iterator[list[Side]]:
    """Yield the sides to compare: one (installed), ``--ab`` OLD NEW, or ``--compare-ref``."""
    if args.ab:
        yield [Side("old", Path(args.ab[0]).resolve()), Side("new", Path(args.ab[1]).resolve())]
    elif args.compare_ref:
        with harness.export_ref(args.compare_ref) as old_src:
            yield [Side("old", old_src), Side("new", HERE.parent / "src")]
    elif args.ref:
        with harness.export_ref(args.ref) as src:
            yield [Side(args.ref[:9], src)]
    else:
        with nullcontext():
            yield [Side("this")]


def _commit(ref: str) -> str:
    return subprocess.run(
        ["git", "-C", str(HERE), "rev-parse", "--short", ref], capture_output=True, text=True
    ).stdout.strip()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """Return the command line's options (``--small`` sets tiny sizes)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--postgres", metavar="URL", help="also run on PostgreSQL (base database URL)")
    p.add_argument("--workers", type=int, default=1, help="PostgreSQL server processes")
    p.add_argument("--followers", default="1000,10000,100000", help="SQLite wave sizes")
    p.add_argument("--pg-followers", default="1000,10000", help="PostgreSQL wave sizes")
    p.add_argument("--repeat", type=int, default=3, help="waves per size (medians)")
    p.add_argument("--pairs", type=int, default=3, help="signed/raw pairs per side (0: waves only)")
    p.add_argument("--seconds", type=float, default=4.0, help="seconds per throughput run")
    p.add_argument("--keys", type=int, default=1000)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--bystander-connections", type=int, default=2)
    p.add_argument("--bystander-ms", type=float, default=10.0, help="bystander request interval")
    p.add_argument("--idle-seconds", type=float, default=3.0)
    p.add_argument("--ab", nargs=2, metavar=("OLD_SRC", "NEW_SRC"))
    p.add_argument("--compare-ref", metavar="GITREF", help="old = GITREF, new = this worktree")
    p.add_argument("--ref", metavar="GITREF", help="measure GITREF's code alone (e.g. main)")
    p.add_argument("--small", action="store_true", help="tiny sizes (~1 min): a smoke run")
    small = p.parse_known_args(argv)[0].small
    if small:  # tiny defaults; options given on the command line still win
        p.set_defaults(
            followers="100,1000",
            pg_followers="100,1000",
            repeat=1,
            pairs=1,
            seconds=1.0,
            keys=200,
            idle_seconds=1.0,
        )
    args = p.parse_args(argv)
    return args


def main(argv: list[str] | None = None) -> None:
    """Measure and print the table."""
    args = parse(argv)
    counts = [int(x) for x in args.followers.split(",") if x]
    pg_counts = [int(x) for x in args.pg_followers.split(",") if x]
    with sides_of(args) as sides:
        for side in sides:
            log(f"side {side.label}: copytrade from {side.check()}")
        figures: Figures = {s.label: {} for s in sides}
        measure("sq", sides, args, counts, figures)
        if args.postgres:
            measure("pg", sides, args, pg_counts, figures)
        table = rows(counts, pg_counts, bool(args.postgres))
        keys = {r.key for r in table}
        # every target row of the issue, even when this run skipped its size ("not run")
        table += [
            r for r in rows([10_000, 100_000], [10_000], True) if r.target and r.key not in keys
        ]
        if args.compare_ref:
            print(f"\nold = {args.compare_ref}, new = this worktree ({HERE.parent})")
        elif args.ab:
            print(f"\nold = {args.ab[0]}, new = {args.ab[1]}")
        elif args.ref:
            print(f"\ncode of {args.ref} ({_commit(args.ref)})")
        print(
            f"\ncopytrade issue-16 table: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; "
            f"{args.pairs} pairs × {args.seconds:g}s, {args.keys} keys, {args.connections} "
            f"connections; waves: medians of {args.repeat}; PostgreSQL workers {args.workers}"
        )
        print(render(table, sides, figures))


if __name__ == "__main__":
    main()
