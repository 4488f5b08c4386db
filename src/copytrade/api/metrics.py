"""Prometheus metrics (``/metrics``, text format) with ``prometheus_client``.

One :class:`ServerMetrics` per app holds the counters and histograms in its own registry, so
several apps in one process (tests) never collide. With ``--workers N`` the parent sets
``PROMETHEUS_MULTIPROC_DIR`` to a fresh directory of its own before starting the workers:
``prometheus_client`` then keeps every worker's values in files there, and whichever worker
answers a scrape adds them all up (:class:`~prometheus_client.multiprocess.MultiProcessCollector`).
Open positions and followers per trader are read from the database at scrape time, so they
are the same whichever process answers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Engine, and_, func, select

from copytrade.adapters.db.schema import follows, positions, users

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
FOLLOWER_BUCKETS = (0, 1, 10, 100, 1000, 10_000, 100_000)
GROUP_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500)
RATE_LIMITED = b"1032"


class ServerMetrics:
    """The server's counters and histograms; also the service layer's ``Metrics`` port."""

    def __init__(self) -> None:
        """Create the metrics in a registry of their own."""
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "copytrade_requests",
            "HTX requests by endpoint path and reply code (HTX code, or HTTP status)",
            ["endpoint", "code"],
            registry=r,
        )
        self.latency = Histogram(
            "copytrade_request_seconds",
            "Time to answer an HTX request, by endpoint path",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.rate_limited = Counter(
            "copytrade_rate_limit_refusals",
            "Requests refused with 1032 (rate limit), by endpoint path",
            ["endpoint"],
            registry=r,
        )
        self.fan_out_size = Histogram(
            "copytrade_copy_fan_out_followers",
            "Followers a lead fill or close was copied to, by kind (open, close)",
            ["kind"],
            buckets=FOLLOWER_BUCKETS,
            registry=r,
        )
        self.fan_out_seconds = Histogram(
            "copytrade_copy_fan_out_seconds",
            "Time to plan and apply one copy fan-out, by kind (open, close)",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.skips = Counter(
            "copytrade_copies_skipped",
            "Follower copies not made, by reason",
            ["reason"],
            registry=r,
        )
        self.group_size = Histogram(
            "copytrade_commit_group_calls",
            "Calls sharing one database commit (SQLite group commit)",
            buckets=GROUP_BUCKETS,
            registry=r,
        )
        self.commit_seconds = Histogram(
            "copytrade_commit_seconds",
            "Time to write and commit one group (SQLite group commit)",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        # label children resolved once: ``labels()`` costs three times the increment itself
        self._by_code: dict[tuple[str, bytes], Any] = {}
        self._by_path: dict[str, tuple[Any, Any]] = {}

    def request(self, path: str, code: bytes, seconds: float) -> None:
        """Count one HTX request (``code`` as the reply's bytes, e.g. ``b"200"``)."""
        counter = self._by_code.get((path, code))
        if counter is None:
            counter = self._by_code[(path, code)] = self.requests.labels(path, code.decode())
        counter.inc()
        pair = self._by_path.get(path)
        if pair is None:
            pair = self._by_path[path] = (
                self.latency.labels(path),
                self.rate_limited.labels(path),
            )
        pair[0].observe(seconds)
        if code == RATE_LIMITED:
            pair[1].inc()

    def fan_out(self, kind: str, followers: int, seconds: float) -> None:
        """Record one copy fan-out (service ``Metrics`` port)."""
        self.fan_out_size.labels(kind).observe(followers)
        self.fan_out_seconds.labels(kind).observe(seconds)

    def copies_skipped(self, reasons: Sequence[str]) -> None:
        """Count skipped copies by reason (service ``Metrics`` port)."""
        for reason in reasons:
            self.skips.labels(reason).inc()

    def commit_group(self, calls: int, seconds: float) -> None:
        """Record one group commit (the SQLite executor's observer)."""
        self.group_size.observe(calls)
        self.commit_seconds.observe(seconds)

    def render(self, traders: Collector | None = None) -> bytes:
        """Return every metric in Prometheus text format (all workers' in multiprocess mode)."""
        directory = os.environ.get(MULTIPROC_ENV)
        if directory:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, directory)  # type: ignore[no-untyped-call]
            text = generate_latest(registry)
        else:
            text = generate_latest(self.registry)
        if traders is not None:
            extra = CollectorRegistry(auto_describe=False)
            extra.register(traders)
            text += generate_latest(extra)
        return text


class TraderGauges(Collector):
    """Open positions and active followers per trader, as read at scrape time."""

    def __init__(self, rows: list[tuple[int, int, int]]) -> None:
        """Hold ``(trader uid, open positions, followers)`` rows."""
        self.rows = rows

    def collect(self) -> Any:
        """Yield the two gauge families."""
        opened = GaugeMetricFamily(
            "copytrade_trader_open_positions", "Open sub positions per trader", labels=["uid"]
        )
        followed = GaugeMetricFamily(
            "copytrade_trader_followers", "Active followers per trader", labels=["uid"]
        )
        for uid, open_count, follower_count in self.rows:
            opened.add_metric([str(uid)], open_count)
            followed.add_metric([str(uid)], follower_count)
        yield opened
        yield followed


def trader_rows(engine: Engine) -> Callable[[], list[tuple[int, int, int]]]:
    """Return a blocking reader of ``(uid, open positions, followers)`` for every trader."""
    open_counts = (
        select(positions.c.uid, func.count().label("n"))
        .where(positions.c.is_open)
        .group_by(positions.c.uid)
        .subquery()
    )
    follower_counts = (
        select(follows.c.trader_uid.label("uid"), func.count().label("n"))
        .where(follows.c.active)
        .group_by(follows.c.trader_uid)
        .subquery()
    )
    query = (
        select(
            users.c.uid,
            func.coalesce(open_counts.c.n, 0),
            func.coalesce(follower_counts.c.n, 0),
        )
        .select_from(
            users.outerjoin(open_counts, open_counts.c.uid == users.c.uid).outerjoin(
                follower_counts, and_(follower_counts.c.uid == users.c.uid)
            )
        )
        .where(users.c.role == "trader")
        .order_by(users.c.uid)
    )

    def read() -> list[tuple[int, int, int]]:
        with engine.connect() as conn:
            return [(int(a), int(b), int(c)) for a, b, c in conn.execute(query)]

    return read
