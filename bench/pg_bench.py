"""PostgreSQL scale-out figures: req/s with 1 and 2 workers, and close_all with many followers.

Prints figures; asserts nothing. Needs PostgreSQL (``COPYTRADE_BENCH_POSTGRES_URL``, default
``postgresql://postgres@127.0.0.1:5432/test``): a fresh database is created and dropped.

* Throughput: signed ``place_order`` + ``close_all_position`` cycles over ``--keys`` traders (so
  the 18/s limit never fires), ``--connections`` keep-alive connections, through
  ``bench/loadgen.py``. Runs are interleaved (PG 1 worker, PG 2 workers, …) because this host's
  absolute figures drift; compare the ratios. SQLite runs with 1 worker (2 are refused).
* Under each run, where the machine's CPU went (``bench/cpu.py``): the server's processes,
  PostgreSQL's, this load generator, and idle cores. On a machine that also runs PostgreSQL and
  the load, a second worker can only use what one leaves idle.
* ``close_all_position`` with 1,000 and 10,000 followers on PostgreSQL: one request, timed.

Usage: ``.venv/bin/python bench/pg_bench.py [--seconds 6] [--rounds 2] [--keys 1000]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness
import loadgen
from cpu import CpuMeter, named, tree
from harness import CLOSE_ALL, PLACE, Server, Side

ORDER = {
    "contract_code": "BTC-USDT",
    "amount": "1",
    "margin_mode": "cross",
    "order_price_type": 17,
    "order_direction": 1,
    "lever": 10,
}
CLOSE = {"contract_code": "BTC-USDT", "margin_mode": "cross", "position_side": "long"}
SIDE = Side("installed")


@contextmanager
def fresh_pg(base: str) -> Iterator[str]:
    """Create ``copytrade_bench_<hex>`` (migrated), yield its URL, drop it."""
    with harness.database(SIDE, base) as url:
        yield url


@contextmanager
def server(db_url: str, workers: int) -> Iterator[tuple[int, int]]:
    """Run ``copytrade serve`` with ``workers`` processes; yield its port and pid."""
    with Server(SIDE, db_url, workers=workers) as running:
        yield running.port, running.proc.pid


def signed(creds: dict[str, str], host: str, path: str, body: dict[str, object]) -> bytes:
    """Return a raw signed POST (valid for the server's 300 s timestamp window)."""
    return harness.signed_request(creds, host, path, body)


def make_keys(port: int, count: int) -> list[dict[str, str]]:
    """Create ``count`` traders with plenty of money."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
        return [
            http.post("/_sim/users", json={"role": "trader", "balance": "100000000"}).json()
            for _ in range(count)
        ]


def scripts(keys: Sequence[dict[str, str]], port: int, connections: int) -> list[list[list[bytes]]]:
    """Spread place+close cycles of every key over the connections."""
    host = f"127.0.0.1:{port}"
    per: list[list[list[bytes]]] = [[] for _ in range(connections)]
    for i, k in enumerate(keys):
        per[i % connections].append(
            [signed(k, host, PLACE, ORDER), signed(k, host, CLOSE_ALL, CLOSE)]
        )
    return per


def throughput(
    db_url: str, workers: int, keys: list[dict[str, str]] | None, args: argparse.Namespace
) -> tuple[float, float, dict[int, int], list[dict[str, str]], str]:
    """Return (req/s, p99 ms, error codes, keys, where the CPU went) of one run."""
    with server(db_url, workers) as (port, pid):
        if keys is None:
            keys = make_keys(port, args.keys)
        # warm-up: every key once, so the run measures a server that has seen its traders
        # (API keys and accounts loaded) as a long-running one has, not its first minute
        loadgen.warm("127.0.0.1", port, scripts(keys, port, args.connections))
        work = scripts(keys, port, args.connections)
        meter = CpuMeter(
            {
                "server": lambda: tree(pid),
                "postgres": lambda: named("postgres"),
                "load": lambda: [os.getpid()],
            }
        )
        meter.start()
        result = loadgen.run("127.0.0.1", port, work, args.seconds)
        meter.stop(result.seconds)
        return result.rate, result.percentile(0.99), result.errors, keys, meter.summary()


def close_all_followers(db_url: str, counts: Sequence[int]) -> list[tuple[int, float, str]]:
    """Time one close_all_position of a trader with each number of followers."""
    out = []
    with (
        server(db_url, 1) as (port, _pid),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as http,
    ):
        host = f"127.0.0.1:{port}"
        for n in counts:
            trader = http.post(
                "/_sim/users", json={"role": "trader", "balance": "100000000"}
            ).json()
            http.post(
                "/_sim/followers/bulk",
                json={"trader_uid": trader["uid"], "count": n, "balance": "100000", "ratio": "1"},
            ).raise_for_status()
            _t, body = loadgen.one("127.0.0.1", port, signed(trader, host, PLACE, ORDER))
            assert json.loads(body)["code"] == 200, body
            seconds, body = loadgen.one("127.0.0.1", port, signed(trader, host, CLOSE_ALL, CLOSE))
            out.append((n, seconds, json.loads(body)["code"]))
    return out


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--followers", default="1000,10000")
    args = parser.parse_args()
    base = os.environ.get(
        "COPYTRADE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )
    print(
        f"{os.cpu_count()} CPUs; {args.keys} keys, {args.connections} connections, "
        f"{args.seconds}s runs"
    )
    print("throughput: signed place_order + close_all_position cycles")
    with fresh_pg(base) as pg, tempfile.TemporaryDirectory() as tmp:
        sqlite_url = f"sqlite:///{tmp}/bench.db"
        pg_keys: list[dict[str, str]] | None = None
        sq_keys: list[dict[str, str]] | None = None
        rates: dict[str, list[float]] = {"pg1": [], "pg2": [], "sqlite1": []}
        for r in range(args.rounds):
            for label, url, workers in (("pg1", pg, 1), ("pg2", pg, 2), ("sqlite1", sqlite_url, 1)):
                keys = pg_keys if url == pg else sq_keys
                rate, p99, errors, keys, cpu = throughput(url, workers, keys, args)
                if url == pg:
                    pg_keys = keys
                else:
                    sq_keys = keys
                rates[label].append(rate)
                print(
                    f"  round {r + 1} {label:8s} {rate:8.0f} req/s  p99 {p99:6.1f} ms  "
                    f"errors {errors or '-'}"
                )
                if cpu:
                    print(f"          cpu: {cpu}")
        for label, values in rates.items():
            print(f"  {label:8s} mean {sum(values) / len(values):8.0f} req/s")
        ratio = sum(rates["pg2"]) / sum(rates["pg1"])
        print(f"  PostgreSQL 2 workers / 1 worker: {ratio:.2f}x (target >= 1.5x)")
        print("  SQLite with 2 workers: refused by design (one writer)")
        print("close_all_position with N followers on PostgreSQL (1 request, client-timed)")
        counts = [int(x) for x in args.followers.split(",") if x]
        for n, seconds, code in close_all_followers(pg, counts):
            print(f"  {n:6d} followers: {seconds * 1000:8.1f} ms  (code {code}; target <= 1000 ms)")


if __name__ == "__main__":
    main()
