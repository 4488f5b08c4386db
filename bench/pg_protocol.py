"""The trading transaction's protocol cost alone: psycopg cursors vs libpq pipelines.

A transaction shaped like a trading command (lock an account row ``FOR UPDATE``, then one
statement that updates it and inserts a fill into a table with three indexes, then commit) run
``--count`` times on one connection, three ways, rounds alternating:

* ``psycopg``: as the unit of work did before ``pgwire``: psycopg's own ``BEGIN``, a cursor for
  the lock, a ``RawCursor`` for the write, ``commit()`` (four round trips);
* ``libpq x4``: prepared statements on ``pgconn`` directly, still four round trips;
* ``libpq x2``: ``BEGIN`` + lock, then write + ``COMMIT``, each one pipeline (``pgwire``'s way).

Prints this process's user/system µs and the backend's per transaction (``/proc``, 10 ms ticks:
use a few thousand transactions). It creates and drops its own database beside ``--postgres``.

Usage::

    .venv/bin/python bench/pg_protocol.py [--postgres URL] [--count 2000] [--rounds 4]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg import RawCursor

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

from copytrade.adapters.db.pgwire import Wire

LOCK = "SELECT uid, balance, version FROM acc WHERE uid = ANY($1::bigint[]) ORDER BY uid FOR UPDATE"
WRITE = (
    "WITH w0 AS (UPDATE acc SET balance = $1::text, version = $2::bigint WHERE uid = $3::bigint) "
    "INSERT INTO fills VALUES ($4::bigint, $5::bigint, $6::bigint, $7::text, $8::text, "
    "$9::text, $10::bigint)"
)


class Ids:
    """Fresh fill ids."""

    def __init__(self) -> None:
        """Start high (each way inserts its own)."""
        self.next = 0

    def params(self, uid: int) -> list[Any]:
        """Return the write's parameters for ``uid``."""
        self.next += 1
        return ["999", self.next, uid, self.next, uid, 5, "BTC-USDT", "100.5", "1", 123]


def via_psycopg(conn: psycopg.Connection[Any], ids: Ids, uid: int) -> None:
    """The cursor path."""
    conn.execute(LOCK.replace("$1::bigint[]", "%s"), [[uid]]).fetchall()
    cur = RawCursor(conn)
    cur.execute(WRITE, ids.params(uid))
    cur.close()
    conn.commit()


def via_libpq_4(wire: Wire, ids: Ids, uid: int) -> None:
    """Prepared statements on libpq, one round trip each."""
    wire.run([], begin=True)
    wire.run([(LOCK, [[uid]])])
    wire.run([(WRITE, ids.params(uid))])
    wire.run([], commit=True)


def via_libpq_2(wire: Wire, ids: Ids, uid: int) -> None:
    """Two pipelines."""
    wire.run([(LOCK, [[uid]])], begin=True)
    wire.run([(WRITE, ids.params(uid))], commit=True)


def _backend_cpu(pid: int) -> tuple[float, float]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / 100, int(fields[12]) / 100


def main() -> None:
    """Run the three ways, alternating, and print medians."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--postgres", default=harness.DEFAULT_PG, metavar="URL")
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=4)
    args = p.parse_args()
    name = f"copytrade_bench_proto_{os.getpid()}"
    base = args.postgres.rsplit("/", 1)[0]
    with psycopg.connect(args.postgres, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(f"{base}/{name}", autocommit=True) as conn:
            conn.execute("CREATE TABLE acc (uid bigint PRIMARY KEY, balance text, version bigint)")
            conn.execute(
                "CREATE TABLE fills (trade_id bigint PRIMARY KEY, uid bigint, sub bigint, "
                "code text, price text, vol text, ts bigint)"
            )
            conn.execute("CREATE INDEX ON fills (sub)")
            conn.execute("CREATE INDEX ON fills (code, trade_id)")
            conn.execute("INSERT INTO acc SELECT g, '1000', 0 FROM generate_series(1, 100) g")
        results: dict[str, list[tuple[float, float, float, float]]] = {}
        ids = Ids()
        ways: list[tuple[str, bool]] = [("psycopg", False), ("libpq x4", True), ("libpq x2", True)]
        for _ in range(args.rounds):
            for label, raw in ways:
                with psycopg.connect(
                    f"{base}/{name}", autocommit=raw, prepare_threshold=None if raw else 5
                ) as conn:
                    wire = Wire(conn)
                    step: Callable[[int], None]
                    if label == "psycopg":
                        step = lambda uid, c=conn: via_psycopg(c, ids, uid)  # noqa: E731
                    elif label == "libpq x4":
                        step = lambda uid, w=wire: via_libpq_4(w, ids, uid)  # noqa: E731
                    else:
                        step = lambda uid, w=wire: via_libpq_2(w, ids, uid)  # noqa: E731
                    for i in range(200):  # warm-up (prepares)
                        step(i % 100 + 1)
                    pid = conn.info.backend_pid
                    t0, b0 = os.times(), _backend_cpu(pid)
                    for i in range(args.count):
                        step(i % 100 + 1)
                    t1, b1 = os.times(), _backend_cpu(pid)
                n = args.count / 1e6
                results.setdefault(label, []).append(
                    (
                        (t1.user - t0.user) / n,
                        (t1.system - t0.system) / n,
                        (b1[0] - b0[0]) / n,
                        (b1[1] - b0[1]) / n,
                    )
                )
        print(f"µs per transaction, median of {args.rounds} rounds of {args.count}")
        heads = ("client usr", "client sys", "backend usr", "backend sys")
        print(f"{'way':10} " + " ".join(f"{h:>11}" for h in heads))
        for label, _raw in ways:
            rows = results[label]
            cells = [statistics.median(r[i] for r in rows) for i in range(4)]
            print(f"{label:10} " + " ".join(f"{c:>11.0f}" for c in cells))
    finally:
        with psycopg.connect(args.postgres, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
