"""In-process profile of the signed PostgreSQL cycle: yappi per function, and every SQL statement.

The app runs in this process (``bench/inproc.py``: no HTTP, no client) over a fresh, migrated
PostgreSQL database, serves ``--cycles`` signed place_order + close_all_position cycles after a
warm-up, and prints

1. **statements per request**: every statement psycopg sent during the measured cycles
   (``Cursor.execute`` / ``executemany``, whoever called it: SQLAlchemy or a raw cursor), counted
   per request, with the rows of each ``executemany``. Each round trip costs ~120 µs of latency
   here, and each statement CPU on both sides, so this list is what "fewer statements per
   command" is measured by;
2. **functions by own CPU time** (yappi, CPU clock, every thread: the use cases run on database
   threads, which ``cProfile`` would not see), in µs per request: ``self`` is time in the function
   itself, ``incl`` with its callees, ``calls/req`` how often it runs per request.

``--sqlite`` profiles the SQLite path instead (no statement counts: sqlite3 is C).

Usage::

    .venv/bin/pip install -e '.[bench]'            # yappi
    .venv/bin/python bench/prof_pg.py [--postgres URL] [--cycles 300] [--top 40]
    .venv/bin/python bench/prof_pg.py --sqlite --sort incl

Time: ~10-20 s. Absolute µs under yappi are inflated (~2×) by the profiler itself; compare
functions with each other, and old with new, not with ``bench/cycle.py``'s µs per request.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness
import inproc

_SPACES = re.compile(r"\s+")


class StatementCounter:
    """Counts the statements psycopg sends while :attr:`on` (patching ``psycopg.Cursor``)."""

    def __init__(self) -> None:
        """Nothing counted yet; call :meth:`install` to start listening."""
        self.on = False
        self.calls: Counter[str] = Counter()
        self.rows: Counter[str] = Counter()
        self.round_trips = 0

    def _count(self, key: str, rows: int = 1) -> None:
        self.calls[key] += 1
        self.rows[key] += rows

    def _key(self, cursor: Any, query: Any) -> str:
        if isinstance(query, bytes):
            text = query.decode(errors="replace")
        elif isinstance(query, str):
            text = query
        else:  # psycopg.sql.Composed
            text = query.as_string(cursor.connection)
        return _SPACES.sub(" ", text).strip()[:110]

    @contextmanager
    def install(self) -> Iterator[StatementCounter]:
        """Patch ``psycopg.Cursor.execute``/``executemany`` for the block."""
        import psycopg
        from psycopg._connection_base import BaseConnection

        execute, executemany = psycopg.Cursor.execute, psycopg.Cursor.executemany
        command = BaseConnection._exec_command
        counter = self

        def counted_execute(cur: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            if counter.on:
                counter._count(counter._key(cur, query))
                counter.round_trips += 1
            return execute(cur, query, *args, **kwargs)

        def counted_executemany(cur: Any, query: Any, params: Any, *a: Any, **kw: Any) -> Any:
            if counter.on:
                params = list(params)
                counter._count(counter._key(cur, query), len(params))
                counter.round_trips += 1
            return executemany(cur, query, params, *a, **kw)

        def counted_command(conn: Any, sql: Any, *args: Any, **kwargs: Any) -> Any:
            # psycopg's own BEGIN / COMMIT / ROLLBACK (each a round trip of its own)
            if counter.on:
                counter._count(f"({counter._key(conn, sql)}, psycopg's own)")
                counter.round_trips += 1
            return command(conn, sql, *args, **kwargs)

        psycopg.Cursor.execute = counted_execute  # type: ignore[method-assign]
        psycopg.Cursor.executemany = counted_executemany  # type: ignore[method-assign]
        BaseConnection._exec_command = counted_command  # type: ignore[method-assign]
        restore_wire = self._install_wire()
        try:
            yield self
        finally:
            psycopg.Cursor.execute = execute  # type: ignore[method-assign]
            psycopg.Cursor.executemany = executemany  # type: ignore[method-assign]
            BaseConnection._exec_command = command  # type: ignore[method-assign]
            restore_wire()

    def _install_wire(self) -> Any:
        """Count the pipelines of ``copytrade.adapters.db.pgwire`` (absent in older code)."""
        try:
            from copytrade.adapters.db import pgwire
        except ImportError:
            return lambda: None
        run = pgwire.Wire.run
        counter = self

        def counted_run(
            wire: Any, statements: Any, *, begin: bool = False, commit: bool = False
        ) -> Any:
            if counter.on:
                counter.round_trips += 1
                tag = " (pipelined)"
                if begin:
                    counter._count("BEGIN" + tag)
                for sql, _params in statements:
                    counter._count(_SPACES.sub(" ", sql).strip()[:110] + tag)
                if commit:
                    counter._count("COMMIT" + tag)
            return run(wire, statements, begin=begin, commit=commit)

        pgwire.Wire.run = counted_run  # type: ignore[method-assign]

        def restore() -> None:
            pgwire.Wire.run = run  # type: ignore[method-assign]

        return restore

    def report(self, requests: int) -> str:
        """Return the statements, most frequent first, per request."""
        total = sum(self.calls.values())
        lines = [
            f"statements per request: {total / requests:.2f} ({total} in {requests} requests), "
            f"BEGIN and COMMIT included; round trips per request: {self.round_trips / requests:.2f}"
        ]
        lines.append(f"{'per req':>8} {'rows/req':>8}  statement")
        for key, n in self.calls.most_common():
            lines.append(f"{n / requests:>8.2f} {self.rows[key] / requests:>8.2f}  {key}")
        return "\n".join(lines)


def profile_report(requests: int, top: int, sort: str) -> str:
    """Return yappi's function stats, in µs and calls per request."""
    import yappi

    stats = yappi.get_func_stats()
    stats.sort("tsub" if sort == "self" else "ttot", "desc")
    lines = [
        f"functions by {sort} CPU (yappi, all threads), per request:",
        f"{'self µs':>8} {'incl µs':>8} {'calls/req':>9}  function",
    ]
    for stat in list(stats)[:top]:
        where = f"{Path(stat.module).name}:{stat.lineno}"
        lines.append(
            f"{stat.tsub / requests * 1e6:>8.1f} {stat.ttot / requests * 1e6:>8.1f} "
            f"{stat.ncall / requests:>9.2f}  {stat.name} ({where})"
        )
    return "\n".join(lines)


async def split_commands(server: Any, work: list[Any], counter: StatementCounter) -> None:
    """Print the statements of place_order and of close_all_position apart (50 of each)."""
    kinds = [StatementCounter(), StatementCounter()]
    saved = counter.calls, counter.rows, counter.round_trips
    for i in range(50):
        for kind, request in zip(kinds, work[i % len(work)], strict=True):
            counter.calls, counter.rows, counter.round_trips = (
                kind.calls,
                kind.rows,
                kind.round_trips,
            )
            counter.on = True
            status, body = await server.call(request)
            counter.on = False
            kind.round_trips = counter.round_trips
            if status != 200 or not body.startswith(b'{"code":200'):
                raise RuntimeError(f"{request[1]} refused: {body[:200]!r}")
    counter.calls, counter.rows, counter.round_trips = saved
    for name, kind in zip(("place_order", "close_all_position"), kinds, strict=True):
        print(f"-- {name}: " + kind.report(50), end="\n\n")


async def session(url: str, args: argparse.Namespace, counter: StatementCounter) -> None:
    """Warm up, then profile ``args.cycles`` cycles."""
    import yappi

    server = inproc.InProcess(url)
    await server.start()
    try:
        work = inproc.cycles(await server.traders(args.keys))
        await inproc.run_cycles(server, work, 2 * len(work))  # warm-up: every key twice
        requests = 2 * args.cycles
        yappi.set_clock_type("cpu")
        yappi.clear_stats()
        counter.on = True
        yappi.start(builtins=False, profile_threads=True)
        await inproc.run_cycles(server, work, args.cycles)
        yappi.stop()
        counter.on = False
        if counter.calls:
            print(counter.report(requests), end="\n\n")
            if args.split:
                await split_commands(server, work, counter)
        elif not args.sqlite:
            print("no statement went through psycopg.Cursor (another driver?): none counted\n")
        print(profile_report(requests, args.top, args.sort))
    finally:
        await server.stop()


def main() -> None:
    """Profile the PostgreSQL (or ``--sqlite``) cycle and print the reports."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--postgres", default=harness.DEFAULT_PG, metavar="URL")
    p.add_argument("--sqlite", action="store_true", help="profile the SQLite path instead")
    p.add_argument("--cycles", type=int, default=300)
    p.add_argument("--keys", type=int, default=20)
    p.add_argument("--top", type=int, default=40)
    p.add_argument("--sort", choices=("self", "incl"), default="self")
    p.add_argument(
        "--split", action="store_true", help="also count place_order's and close_all's apart"
    )
    args = p.parse_args()
    counter = StatementCounter()
    if args.sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(session(f"sqlite:///{tmp}/bench.db", args, counter))
        return
    with harness.database(harness.Side("this"), args.postgres) as url, counter.install():
        asyncio.run(session(url, args, counter))


if __name__ == "__main__":
    main()
