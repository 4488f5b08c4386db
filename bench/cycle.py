"""Signed place_order + close_all_position cycles: × raw ASGI, p99/p50, server CPU per request.

``--connections`` keep-alive connections (``bench/loadgen.py``) send, back to back, each of
``--keys`` traders' signed ``place_order`` then ``close_all_position`` (many keys, so the 18/s
rate limit never fires). Each *pair* is one run of that load and one run of the raw-ASGI
``/_sim/ping`` of the same process sent the very same bytes (in alternating order), so

* ``ratio`` = signed req/s ÷ raw-ASGI req/s: what the request path costs, free of this host's
  drift (absolute req/s on this shared 2-core machine moves 25-60 % within minutes);
* ``p99/p50`` of the signed requests' latencies under that load;
* ``server µs/req`` = CPU seconds (user+system, ``/proc``) of the server's process tree during
  the signed run ÷ requests served. Unlike req/s it does not depend on how many cores the load
  generator and database left free, so it predicts scaling. On PostgreSQL ``db µs/req`` is the
  same for the backends serving this benchmark's database (found by their process title).

Usage::

    .venv/bin/python bench/cycle.py [--seconds 4] [--pairs 3] [--keys 1000]
    .venv/bin/python bench/cycle.py --postgres postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/cycle.py --ab OLD_SRC NEW_SRC --pairs 8
    .venv/bin/python bench/cycle.py --side a680472=/tmp/a/src --side head=src --pairs 8

``--ab``/``--side`` (several code sides, each ``LABEL=SRC``): every side's server is up at
once and each round runs one pair per side, the order rotating round by round, so all sides saw
the same machine. Each pair's own p99/p50 is printed, then per side the median and range of the
pairs' tails (the spread is the noise to judge a difference against), the tail of all pairs'
latencies pooled, and medians of ratio, req/s and CPU µs per request.

``--cpu-tail`` adds ``cpu tail``: p99/p50 of each signed request's *server CPU time in flight*
(``/proc/<pid>/schedstat`` of the server process, read by the load generator before sending and
after the reply; see ``loadgen.py``). On this shared host the wall tail is mostly the server
being descheduled for other helpers' work (an A/A spread of 2-9 was seen); the CPU tail counts
only what the server's code did while the request waited, so a change of the code's tail shows
there first.

Time: about ``pairs × 2 × seconds`` (× sides) plus a warm-up and key creation (~15 s for 1000
keys, per side).
"""

from __future__ import annotations

import argparse
import statistics
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import cpu
import harness
import loadgen
from harness import CLOSE_ALL, PING, PLACE, Creds, Server, Side, percentile

ORDER = {
    "contract_code": "BTC-USDT",
    "amount": "1",
    "margin_mode": "cross",
    "order_price_type": 17,
    "order_direction": 1,
    "lever": 10,
}
CLOSE = {"contract_code": "BTC-USDT", "margin_mode": "cross", "position_side": "long"}

Scripts = list[list[list[bytes]]]


@dataclass
class Run:
    """One pair: raw-ASGI and signed req/s, signed latencies (s), CPU µs per signed request."""

    raw_rate: float
    rate: float
    latencies: list[float]
    server_us: float
    db_us: float
    errors: dict[int, int] = field(default_factory=dict)
    cpu_latencies: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        """Return signed req/s ÷ raw-ASGI req/s."""
        return self.rate / self.raw_rate

    @property
    def tail(self) -> float:
        """Return this pair's own p99 ÷ p50 of the signed latencies."""
        return percentile(self.latencies, 0.99) / percentile(self.latencies, 0.5)

    @property
    def cpu_tail(self) -> float:
        """Return p99 ÷ p50 of the server loop's CPU time in flight (nan without ``cpu_tail``)."""
        if not self.cpu_latencies:
            return float("nan")
        return percentile(self.cpu_latencies, 0.99) / percentile(self.cpu_latencies, 0.5)


class CycleLoad:
    """The signed-cycle load and its raw-ASGI twin, against one server."""

    def __init__(
        self, server: Server, keys: int = 1000, connections: int = 32, cpu_tail: bool = False
    ) -> None:
        """Create ``keys`` traders and warm the server up (every key seen once).

        ``cpu_tail``: record each signed request's server CPU time in flight (one process only).
        """
        self.server = server
        self.connections = connections
        self.cpu_pid: int | None = None
        if cpu_tail:
            pids = server.pids()
            if len(pids) != 1:
                raise RuntimeError(f"cpu tail needs one server process, not {pids}")
            self.cpu_pid = pids[0]
        self.keys: list[Creds] = [server.trader() for _ in range(keys)]
        self.db_name = server.db_name if server.is_postgres else None
        loadgen.warm("127.0.0.1", server.port, self.scripts())

    def scripts(self) -> Scripts:
        """Return freshly signed cycles of every key, spread over the connections."""
        cycles = [
            [self.server.signed(k, PLACE, ORDER), self.server.signed(k, CLOSE_ALL, CLOSE)]
            for k in self.keys
        ]
        return [cycles[c :: self.connections] for c in range(self.connections)]

    def _measured(
        self, scripts: Scripts, seconds: float, cpu_pid: int | None = None
    ) -> tuple[loadgen.Result, float, float]:
        db_pids = cpu.cmdline_has(f" {self.db_name} ") if self.db_name else []
        server0, db0 = self.server.cpu_seconds(), cpu.cpu_seconds(db_pids)
        result = loadgen.run("127.0.0.1", self.server.port, scripts, seconds, cpu_pid=cpu_pid)
        server_s = self.server.cpu_seconds() - server0
        db_s = cpu.cpu_seconds(db_pids) - db0
        n = max(result.requests, 1)
        return result, server_s / n * 1e6, (db_s / n * 1e6 if db_pids else float("nan"))

    def run(self, seconds: float, raw_first: bool = True) -> Run:
        """Run one pair: the signed cycles and the raw-ASGI ping, in the order given."""
        scripts = self.scripts()
        # A: the raw-ASGI endpoint, sent the very bytes B sends (same query string and body)
        ping = [[[scripts[0][0][0].replace(PLACE.encode(), PING.encode(), 1)]]] * self.connections
        out: dict[str, tuple[loadgen.Result, float, float]] = {}
        for name in ("raw", "htx") if raw_first else ("htx", "raw"):
            if name == "raw":
                out[name] = self._measured(ping, seconds)
            else:
                out[name] = self._measured(scripts, seconds, self.cpu_pid)
        htx, server_us, db_us = out["htx"]
        return Run(
            out["raw"][0].rate,
            htx.rate,
            htx.latencies,
            server_us,
            db_us,
            htx.errors,
            htx.cpu_latencies,
        )


@dataclass(frozen=True)
class CycleSummary:
    """Over several pairs: medians of ratio, req/s and CPU µs per request; p99/p50 of all."""

    ratio: float
    rate: float
    p50_ms: float
    p99_ms: float
    server_us: float
    db_us: float
    errors: dict[int, int]

    @property
    def tail(self) -> float:
        """Return p99 ÷ p50."""
        return self.p99_ms / self.p50_ms

    @staticmethod
    def of(runs: list[Run]) -> CycleSummary:
        """Summarise the pairs ``runs``."""
        latencies = [x for r in runs for x in r.latencies]
        errors: dict[int, int] = {}
        for r in runs:
            for code, n in r.errors.items():
                errors[code] = errors.get(code, 0) + n
        return CycleSummary(
            statistics.median(r.ratio for r in runs),
            statistics.median(r.rate for r in runs),
            percentile(latencies, 0.5) * 1000,
            percentile(latencies, 0.99) * 1000,
            statistics.median(r.server_us for r in runs),
            statistics.median(r.db_us for r in runs),
            errors,
        )


def _sides(args: argparse.Namespace) -> list[Side]:
    if args.ab:
        return [Side("old", Path(args.ab[0]).resolve()), Side("new", Path(args.ab[1]).resolve())]
    sides = []
    for spec in args.side:
        label, _, src = spec.partition("=")
        sides.append(Side(label, Path(src).resolve()))
    return sides


def _pair_line(label: str, r: Run, postgres: bool) -> str:
    return (
        f"{label:>10} {r.raw_rate:>10.0f} {r.rate:>13.0f} {r.ratio:>6.3f} "
        f"{percentile(r.latencies, 0.5) * 1000:>7.2f} {percentile(r.latencies, 0.99) * 1000:>7.2f} "
        f"{r.tail:>7.2f} {r.server_us:>14.0f}"
        + (f" {r.cpu_tail:>8.2f}" if r.cpu_latencies else "")
        + (f"  db {r.db_us:.0f} µs/req" if postgres else "")
    )


def interleaved(sides: list[Side], args: argparse.Namespace) -> None:
    """Run every side's server at once, one pair per side a round, the order rotating."""
    for side in sides:
        print(f"{side.label}: {side.check()}", flush=True)
    with ExitStack() as stack:
        loads: dict[str, CycleLoad] = {}
        postgres = False
        for side in sides:
            url = stack.enter_context(harness.database(side, args.postgres))
            server = stack.enter_context(Server(side, url, workers=args.workers))
            postgres = server.is_postgres
            loads[side.label] = CycleLoad(server, args.keys, args.connections, args.cpu_tail)
        print(
            f"{'round':>5} {'side':>10} {'raw req/s':>10} {'signed req/s':>13} {'ratio':>6} "
            f"{'p50 ms':>7} {'p99 ms':>7} {'p99/p50':>7} {'server µs/req':>14}"
            + (f" {'cpu tail':>8}" if args.cpu_tail else ""),
            flush=True,
        )
        runs: dict[str, list[Run]] = {s.label: [] for s in sides}
        for rnd in range(args.pairs):
            k = rnd % len(sides)
            for side in sides[k:] + sides[:k]:
                r = loads[side.label].run(args.seconds, raw_first=rnd % 2 == 0)
                runs[side.label].append(r)
                print(f"{rnd + 1:>5} " + _pair_line(side.label, r, postgres), flush=True)
    print()
    print(
        f"{'side':>10} {'tail median':>11} {'tail range':>12} {'pooled':>7} {'ratio':>6} "
        f"{'req/s':>6} {'µs/req':>7} {'µs/req range':>13}"
        + (f" {'cpu tail median':>15} {'cpu tail range':>14}" if args.cpu_tail else "")
    )
    for side in sides:
        rs = runs[side.label]
        tails = [r.tail for r in rs]
        us = [r.server_us for r in rs]
        s = CycleSummary.of(rs)
        print(
            f"{side.label:>10} {statistics.median(tails):>11.2f} "
            f"{min(tails):>5.2f}-{max(tails):<6.2f} {s.tail:>7.2f} {s.ratio:>6.3f} "
            f"{s.rate:>6.0f} {s.server_us:>7.0f} {min(us):>6.0f}-{max(us):<6.0f}"
            + (
                f" {statistics.median(r.cpu_tail for r in rs):>15.2f} "
                f"{min(r.cpu_tail for r in rs):>6.2f}-{max(r.cpu_tail for r in rs):<7.2f}"
                if args.cpu_tail
                else ""
            )
            + (f"  errors {s.errors}" if s.errors else "")
        )


def main() -> None:
    """Run the pairs on one side and print them, or interleave several sides."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--keys", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL server (default: SQLite)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--ab", nargs=2, metavar=("OLD_SRC", "NEW_SRC"))
    parser.add_argument(
        "--side", action="append", default=[], metavar="LABEL=SRC", help="a code side (repeat)"
    )
    parser.add_argument(
        "--cpu-tail",
        action="store_true",
        help="also p99/p50 of the server's CPU time in flight (free of the host's preemption)",
    )
    args = parser.parse_args()
    if args.ab or args.side:
        interleaved(_sides(args), args)
        return
    side = Side("installed")
    with (
        harness.database(side, args.postgres) as url,
        Server(side, url, workers=args.workers) as server,
    ):
        load = CycleLoad(server, args.keys, args.connections)
        print(
            f"{'pair':>4} {'raw req/s':>10} {'signed req/s':>13} {'ratio':>6} {'server µs/req':>14}"
        )
        runs = []
        for pair in range(args.pairs):
            r = load.run(args.seconds, raw_first=pair % 2 == 0)
            runs.append(r)
            print(
                f"{pair + 1:>4} {r.raw_rate:>10.0f} {r.rate:>13.0f} {r.ratio:>6.3f} "
                f"{r.server_us:>14.0f}"
                + (f"  db {r.db_us:.0f} µs/req" if server.is_postgres else "")
            )
        s = CycleSummary.of(runs)
        print(
            f"ratio {s.ratio:.3f}; p50 {s.p50_ms:.2f} ms, p99 {s.p99_ms:.2f} ms, p99/p50 "
            f"{s.tail:.2f}; server {s.server_us:.0f} µs/req"
            + (f", db {s.db_us:.0f} µs/req" if server.is_postgres else "")
            + (f"; errors {s.errors}" if s.errors else "")
        )


if __name__ == "__main__":
    main()
