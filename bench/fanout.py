"""Fan-out with a bystander: how long a lead's copy wave takes, and whether everyone else waits.

A trader gets N followers (one ``/_sim/followers/bulk`` call, timed as *setup*); then, while a
separate *bystander* keeps trading, the lead sends one ``place_order`` (the copy wave: *open*) and
one ``close_all_position`` (*close*), each timed from the client (request written → reply read).

The bystander is ``--bystander-connections`` keep-alive connections, each cycling through its own
traders (several, so the 18/s rate limit never fires) with signed ``place_order`` →
``/_sim/ping`` → ``close_all_position`` → ``/_sim/ping``, one request every
``--bystander-interval-ms`` (or back to back when replies are slower). Every request's start and
end are kept; *during* a wave means the request's interval overlaps the wave's. Its p50/p99 during
each wave are printed against its *idle* p50/p99 (the same bystander, no wave running), and
``ping max`` is the worst raw-ASGI ping during the wave: a ping that waits means the event loop
itself was held.

Also printed: the server's CPU time (user+system of its process tree, ``/proc``) spent while each
lead request was in flight: on a loaded machine it moves far less than wall time, so it is the
figure to compare old with new (it includes the few bystander requests served meanwhile); and the
server's RSS growth (VmRSS of its process tree) from before the setup to after the close.
Every figure is the median of ``--repeat`` waves (each a fresh trader with fresh followers).

Usage::

    .venv/bin/python bench/fanout.py [--followers 1000,10000,100000] [--repeat 3]
    .venv/bin/python bench/fanout.py --postgres postgresql://postgres@127.0.0.1:5432/test \\
        --workers 1 --followers 1000,10000

Time: setup + open + close of 10k followers takes ~2-3 s on SQLite today, 100k ~30 s; budget
a few minutes for the defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import cpu
import harness
import loadgen
from harness import CLOSE_ALL, PING, PLACE, Creds, Server, Side, median, percentile

LEAD_ORDER = {
    "contract_code": "ETH-USDT",
    "amount": "1",
    "margin_mode": "isolated",
    "order_price_type": 17,
    "order_direction": 1,
    "lever": 5,
}
LEAD_CLOSE = {"contract_code": "ETH-USDT", "margin_mode": "isolated", "position_side": "long"}
BYSTANDER_ORDER = {
    "contract_code": "BTC-USDT",
    "amount": "1",
    "margin_mode": "cross",
    "order_price_type": 17,
    "order_direction": 1,
    "lever": 10,
}
BYSTANDER_CLOSE = {"contract_code": "BTC-USDT", "margin_mode": "cross", "position_side": "long"}
OK = b'{"code":200'


@dataclass(frozen=True)
class Sample:
    """One bystander request: start and end (``perf_counter`` s), kind, and whether it worked."""

    start: float
    end: float
    kind: str
    ok: bool

    @property
    def ms(self) -> float:
        """Return the latency in milliseconds."""
        return (self.end - self.start) * 1000


@dataclass(frozen=True)
class Latency:
    """The bystander's latencies over one span: p50, p99, worst ping (ms), count, failures."""

    p50: float
    p99: float
    ping_max: float
    count: int
    failed: int

    @staticmethod
    def of(samples: list[Sample]) -> Latency:
        """Summarise ``samples``."""
        ms = [s.ms for s in samples]
        pings = [s.ms for s in samples if s.kind == "ping"]
        return Latency(
            percentile(ms, 0.5),
            percentile(ms, 0.99),
            max(pings, default=float("nan")),
            len(samples),
            sum(not s.ok for s in samples),
        )


class Bystander:
    """Traders on their own connections, trading and pinging while a wave runs."""

    def __init__(
        self, server: Server, connections: int = 2, interval_ms: float = 10.0, keys: int = 8
    ) -> None:
        """Create ``connections`` × ``keys`` funded traders on ``server``."""
        self.server = server
        self.interval = interval_ms / 1000
        self.keys = [[server.trader() for _ in range(keys)] for _ in range(connections)]
        self.ping = loadgen.http_request("GET", PING, server.host)
        self.samples: list[Sample] = []
        self.errors: dict[str, int] = {}

    def _request(self, kind: str, key: Creds) -> bytes:
        if kind == "ping":
            return self.ping
        if kind == "place":
            return self.server.signed(key, PLACE, BYSTANDER_ORDER)
        return self.server.signed(key, CLOSE_ALL, BYSTANDER_CLOSE)

    def _count(self, error: str) -> None:
        self.errors[error] = self.errors.get(error, 0) + 1

    async def _connection(self, keys: list[Creds], stop: asyncio.Event) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.server.port)
        try:
            turn = 0
            while not stop.is_set():
                key = keys[turn % len(keys)]
                turn += 1
                for kind in ("place", "ping", "close", "ping"):
                    request = self._request(kind, key)
                    start = time.perf_counter()
                    try:
                        writer.write(request)
                        body = await loadgen.read_reply(reader)
                    except (ConnectionError, asyncio.IncompleteReadError):
                        # the server dropped the connection (e.g. its keep-alive timer fired
                        # late, after a long stall): a failed request, as a client sees it
                        self.samples.append(Sample(start, time.perf_counter(), kind, False))
                        self._count(f"{kind}:connection dropped")
                        writer.close()
                        reader, writer = await asyncio.open_connection(
                            "127.0.0.1", self.server.port
                        )
                        break
                    end = time.perf_counter()
                    ok = kind == "ping" or body.startswith(OK)
                    if not ok:
                        reply = json.loads(body)
                        self._count(f"{kind}:{reply.get('err_code', reply.get('code'))}")
                    self.samples.append(Sample(start, end, kind, ok))
                    pause = start + self.interval - time.perf_counter()
                    if pause > 0:
                        await asyncio.sleep(pause)
                    if stop.is_set():
                        break
        finally:
            writer.close()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the bystander's connections for the duration of the block."""
        stop = asyncio.Event()
        tasks = [asyncio.create_task(self._connection(k, stop)) for k in self.keys]
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*tasks)

    def between(self, start: float, end: float) -> Latency:
        """Return the latencies of the requests whose interval overlaps ``[start, end]``."""
        return Latency.of([s for s in self.samples if s.start < end and s.end > start])

    def idle(self, seconds: float) -> Latency:
        """Run alone for ``seconds``; return its latencies (the baseline)."""

        async def go() -> tuple[float, float]:
            async with self.running():
                await asyncio.sleep(0.2)  # connections open, first replies in
                start = time.perf_counter()
                await asyncio.sleep(seconds)
                return start, time.perf_counter()

        return self.between(*asyncio.run(go()))


@dataclass
class Wave:
    """One fan-out: followers, setup / open / close seconds, RSS (MiB), bystander during each."""

    followers: int
    setup: float
    open: float
    close: float
    rss_before: float
    rss_after: float
    during_open: Latency
    during_close: Latency
    open_cpu: float = float("nan")
    close_cpu: float = float("nan")
    notes: list[str] = field(default_factory=list)


async def _timed(server: Server, request: bytes) -> tuple[float, float, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        start = time.perf_counter()
        writer.write(request)
        body = await loadgen.read_reply(reader)
        return start, time.perf_counter(), body
    finally:
        writer.close()


def _open_positions(server: Server, uid: int) -> list[Any]:
    return [p for p in server.user(uid)["positions"] if p.get("close_time") is None]


def wave(server: Server, bystander: Bystander, followers: int, settle: float = 0.2) -> Wave:
    """Create a trader with ``followers`` followers; time its open and close under a bystander."""
    rss_before = server.rss_mib()
    lead = server.trader()
    start = time.perf_counter()
    uids = server.admin(
        "/_sim/followers/bulk",
        {"trader_uid": lead["uid"], "count": followers, "balance": "1000000", "ratio": "1"},
    )["uids"]
    setup = time.perf_counter() - start
    notes: list[str] = []

    pids = server.pids()
    cpu_used: list[float] = []

    async def timed_cpu(request: bytes) -> tuple[float, float, bytes]:
        before = cpu.cpu_seconds(pids)
        out = await _timed(server, request)
        cpu_used.append(cpu.cpu_seconds(pids) - before)
        return out

    async def go() -> tuple[tuple[float, float], tuple[float, float]]:
        async with bystander.running():
            await asyncio.sleep(settle)
            o0, o1, body = await timed_cpu(server.signed(lead, PLACE, LEAD_ORDER))
            if not body.startswith(OK):
                raise RuntimeError(f"lead place_order failed: {body!r}")
            if uids and not await asyncio.to_thread(_open_positions, server, uids[-1]):
                notes.append("the last follower had no copy after the open")
            await asyncio.sleep(settle)
            c0, c1, body = await timed_cpu(server.signed(lead, CLOSE_ALL, LEAD_CLOSE))
            if not body.startswith(OK):
                raise RuntimeError(f"lead close_all_position failed: {body!r}")
            await asyncio.sleep(settle)
        if uids and await asyncio.to_thread(_open_positions, server, uids[-1]):
            notes.append("the last follower's copy was still open after the close")
        return (o0, o1), (c0, c1)

    (o0, o1), (c0, c1) = asyncio.run(go())
    return Wave(
        followers,
        setup,
        o1 - o0,
        c1 - c0,
        rss_before,
        server.rss_mib(),
        bystander.between(o0, o1),
        bystander.between(c0, c1),
        *cpu_used,
        notes=notes,
    )


@dataclass
class Summary:
    """Medians over the waves of one follower count."""

    followers: int
    setup: float
    open: float
    close: float
    rss_growth: float
    open_p50: float
    open_p99: float
    close_p50: float
    close_p99: float
    ping_max: float
    open_cpu: float
    close_cpu: float
    notes: list[str]

    @staticmethod
    def of(waves: list[Wave]) -> Summary:
        """Return the medians of ``waves`` (all of one follower count)."""
        return Summary(
            waves[0].followers,
            median([w.setup for w in waves]),
            median([w.open for w in waves]),
            median([w.close for w in waves]),
            median([w.rss_after - w.rss_before for w in waves]),
            median([w.during_open.p50 for w in waves]),
            median([w.during_open.p99 for w in waves]),
            median([w.during_close.p50 for w in waves]),
            median([w.during_close.p99 for w in waves]),
            max(
                (
                    p
                    for w in waves
                    for p in (w.during_open.ping_max, w.during_close.ping_max)
                    if not math.isnan(p)
                ),
                default=float("nan"),
            ),
            median([w.open_cpu for w in waves]),
            median([w.close_cpu for w in waves]),
            sorted({n for w in waves for n in w.notes}),
        )


HEADER = (
    f"{'followers':>9} {'setup s':>8} {'open ms':>8} {'close ms':>9} {'CPU open/close ms':>18} "
    f"{'RSS +MiB':>9} "
    f"{'by open p50/p99 ms':>19} {'by close p50/p99 ms':>20} {'ping max':>9}"
)


def row(s: Summary) -> str:
    """Format one :class:`Summary` under :data:`HEADER`."""
    return (
        f"{s.followers:>9} {s.setup:>8.2f} {s.open * 1000:>8.1f} {s.close * 1000:>9.1f} "
        f"{s.open_cpu * 1000:>9.0f}/{s.close_cpu * 1000:<8.0f} {s.rss_growth:>9.1f} "
        f"{s.open_p50:>9.1f}/{s.open_p99:<9.1f} "
        f"{s.close_p50:>9.1f}/{s.close_p99:<10.1f} {s.ping_max:>9.1f}"
        + (f"  ! {'; '.join(s.notes)}" if s.notes else "")
    )


def main() -> None:
    """Run the fan-out benchmark on one side and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL server (default: SQLite)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--bystander-connections", type=int, default=2)
    parser.add_argument("--bystander-interval-ms", type=float, default=10.0)
    parser.add_argument("--idle-seconds", type=float, default=3.0)
    args = parser.parse_args()
    side = Side("installed")
    with (
        harness.database(side, args.postgres) as url,
        Server(side, url, workers=args.workers) as server,
    ):
        bystander = Bystander(server, args.bystander_connections, args.bystander_interval_ms)
        idle = bystander.idle(args.idle_seconds)
        kind = "PostgreSQL" if args.postgres else "SQLite"
        print(f"fan-out, {kind}, {args.workers} worker(s); medians of {args.repeat} waves")
        print(
            f"bystander idle: p50 {idle.p50:.1f} ms, p99 {idle.p99:.1f} ms, "
            f"ping max {idle.ping_max:.1f} ms ({idle.count} requests)"
        )
        print(HEADER)
        for n in [int(x) for x in args.followers.split(",") if x]:
            waves = [wave(server, bystander, n) for _ in range(args.repeat)]
            print(row(Summary.of(waves)), flush=True)
        if bystander.errors:
            print(f"bystander errors: {bystander.errors}")


if __name__ == "__main__":
    main()
