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
from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
FOLLOWER_BUCKETS = (0, 1, 10, 100, 1000, 10_000, 100_000)
GROUP_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500)
RATE_LIMITED = b"1032"


class _Histogram:
    """A histogram as plain numbers: a few tenths of a microsecond per observation."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1  # le: value <= bound
        self.total += value

    def buckets(self) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        running = 0
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            out.append((floatToGoString(bound), running))  # type: ignore[no-untyped-call]
        return out


class _HotMetrics(Collector):
    """Per-request and per-commit figures of one process, exported at scrape time.

    ``prometheus_client``'s own metrics take a lock per increment (about 2.5 us per request
    for a counter and a histogram); these are plain numbers updated on the event loop's
    thread. Used when the process is the only one (no multiprocess directory).
    """

    def __init__(self) -> None:
        self.requests: dict[tuple[str, bytes], int] = {}
        self.latency: dict[str, _Histogram] = {}
        self.refused: dict[str, int] = {}
        self.group = _Histogram(GROUP_BUCKETS)
        self.commit = _Histogram(LATENCY_BUCKETS)

    def request(self, path: str, code: bytes, seconds: float) -> None:
        key = (path, code)
        requests = self.requests
        requests[key] = requests.get(key, 0) + 1
        hist = self.latency.get(path)
        if hist is None:
            hist = self.latency[path] = _Histogram(LATENCY_BUCKETS)
            self.refused[path] = 0
        hist.observe(seconds)
        if code == RATE_LIMITED:
            self.refused[path] += 1

    def commit_group(self, calls: int, seconds: float) -> None:
        self.group.observe(calls)
        self.commit.observe(seconds)

    def collect(self) -> Any:
        requests = CounterMetricFamily("copytrade_requests", _REQUESTS, labels=["endpoint", "code"])
        for (path, code), count in list(self.requests.items()):
            requests.add_metric([path, code.decode()], count)
        latency = HistogramMetricFamily("copytrade_request_seconds", _LATENCY, labels=["endpoint"])
        refused = CounterMetricFamily(
            "copytrade_rate_limit_refusals", _REFUSED, labels=["endpoint"]
        )
        for path, hist in list(self.latency.items()):
            latency.add_metric([path], hist.buckets(), hist.total)
            refused.add_metric([path], self.refused[path])
        group = HistogramMetricFamily("copytrade_commit_group_calls", _GROUP)
        group.add_metric([], self.group.buckets(), self.group.total)
        commit = HistogramMetricFamily("copytrade_commit_seconds", _COMMIT)
        commit.add_metric([], self.commit.buckets(), self.commit.total)
        yield from (requests, latency, refused, group, commit)


_REQUESTS = "HTX requests by endpoint path and reply code (HTX code, or HTTP status)"
_LATENCY = "Time to answer an HTX request, by endpoint path"
_REFUSED = "Requests refused with 1032 (rate limit), by endpoint path"
_GROUP = "Calls sharing one database commit (SQLite group commit)"
_COMMIT = "Time to write and commit one group (SQLite group commit)"


class ServerMetrics:
    """The server's counters and histograms; also the service layer's ``Metrics`` port."""

    def __init__(self) -> None:
        """Create the metrics in a registry of their own."""
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.multiprocess = bool(os.environ.get(MULTIPROC_ENV))
        self.request: Callable[[str, bytes, float], None]
        self.commit_group: Callable[[int, float], None]
        if self.multiprocess:  # values in files that every worker's scrape adds up
            self._init_shared(r)
        else:
            hot = _HotMetrics()
            r.register(hot)
            self.request = hot.request
            self.commit_group = hot.commit_group
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

    def _init_shared(self, r: CollectorRegistry) -> None:
        requests = Counter("copytrade_requests", _REQUESTS, ["endpoint", "code"], registry=r)
        latency = Histogram(
            "copytrade_request_seconds",
            _LATENCY,
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        refused = Counter("copytrade_rate_limit_refusals", _REFUSED, ["endpoint"], registry=r)
        group = Histogram("copytrade_commit_group_calls", _GROUP, buckets=GROUP_BUCKETS, registry=r)
        commit = Histogram("copytrade_commit_seconds", _COMMIT, buckets=LATENCY_BUCKETS, registry=r)
        # label children resolved once: ``labels()`` costs three times the increment itself
        by_code: dict[tuple[str, bytes], Any] = {}
        by_path: dict[str, tuple[Any, Any]] = {}

        def request(path: str, code: bytes, seconds: float) -> None:
            counter = by_code.get((path, code))
            if counter is None:
                counter = by_code[(path, code)] = requests.labels(path, code.decode())
            counter.inc()
            pair = by_path.get(path)
            if pair is None:
                pair = by_path[path] = (latency.labels(path), refused.labels(path))
            pair[0].observe(seconds)
            if code == RATE_LIMITED:
                pair[1].inc()

        def commit_group(calls: int, seconds: float) -> None:
            group.observe(calls)
            commit.observe(seconds)

        self.request = request
        self.commit_group = commit_group

    def fan_out(self, kind: str, followers: int, seconds: float) -> None:
        """Record one copy fan-out (service ``Metrics`` port)."""
        self.fan_out_size.labels(kind).observe(followers)
        self.fan_out_seconds.labels(kind).observe(seconds)

    def copies_skipped(self, reasons: Sequence[str]) -> None:
        """Count skipped copies by reason (service ``Metrics`` port)."""
        for reason in reasons:
            self.skips.labels(reason).inc()

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
