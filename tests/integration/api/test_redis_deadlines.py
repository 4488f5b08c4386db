"""A Redis that accepts connections and never answers costs each request at most 100 ms.

The limiter call is awaited with a deadline on an asyncio client (it used to block the event
loop for ~0.25 s per request); requests answer 1004 and the admin paths stay fast.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from copytrade.config import Settings
from copytrade.testing.server import LiveServer

CLOSE_ALL = "/copytrading/trader/close_all_position"
BODY = {"contract_code": "BTC-USDT", "margin_mode": "cross", "position_side": "long"}


class HungRedis:
    """A loopback server that accepts every connection and never sends a byte."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.conns: list[socket.socket] = []
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.sock.getsockname()[1]}/0"

    def _accept(self) -> None:
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        self.stopping = True
        self.thread.join()
        for conn in self.conns:
            conn.close()
        self.sock.close()


@pytest.fixture
def hung_redis() -> Iterator[HungRedis]:
    server = HungRedis()
    yield server
    server.close()


def _timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def test_a_hung_redis_answers_1004_within_100_ms_and_admin_stays_fast(
    tmp_path: Path, hung_redis: HungRedis
) -> None:
    assert Settings().redis_timeout_ms <= 75  # the default leaves 25 ms for the rest
    with LiveServer(db_path=tmp_path / "c.db", demo_seed=False, redis_url=hung_redis.url) as server:
        trader = server.create_user("trader")
        latencies = []
        for _ in range(20):
            elapsed, reply = _timed(lambda: server.signed(trader, "POST", CLOSE_ALL, body=BODY))
            assert reply.json()["code"] == 1004, reply.text
            latencies.append(elapsed)
        # within 100 ms; the shared CI host (load several times its cores) stalls a stray
        # request now and then, so the bound holds for 4 in 5 and none takes a second
        latencies.sort()
        assert latencies[len(latencies) * 4 // 5] < 0.1, latencies
        assert latencies[-1] < 1.0, latencies
        assert hung_redis.conns, "the limiter did reach the hung Redis"

        # concurrent clients: each still answered in time, and the admin paths are not held up
        def one(_: int) -> tuple[float, int]:
            with httpx.Client(base_url=server.base_url) as client:
                start = time.perf_counter()
                signed = server.signed(trader, "POST", CLOSE_ALL, body=BODY)
                ping = client.get("/_sim/ping")
                assert ping.status_code == 200
                return time.perf_counter() - start, signed.json()["code"]

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(one, range(32)))
        assert {code for _, code in results} == {1004}
        elapsed, health = _timed(lambda: server.http.get("/_sim/health"))
        assert elapsed < 0.5
        assert health.json()["redis"].startswith("unreachable")
        # an operator's reset does not wait on the hung Redis either (it used to block the loop)
        elapsed, reset = _timed(lambda: server.http.post("/_sim/reset", json={}))
        assert reset.status_code == 200, reset.text
        assert elapsed < 0.5
        elapsed, ping = _timed(lambda: server.http.get("/_sim/ping"))
        assert ping.status_code == 200
        assert elapsed < 0.5


def test_health_reports_a_working_redis_and_reset_clears_it(tmp_path: Path, redis_url: str) -> None:
    prefix = f"copytrade-test-{time.time_ns()}"
    with LiveServer(
        db_path=tmp_path / "c.db",
        demo_seed=False,
        redis_url=redis_url,
        redis_timeout_ms=2000,
        redis_prefix=prefix,
    ) as server:
        trader = server.create_user("trader")
        reply = server.signed(trader, "POST", CLOSE_ALL, body=BODY)
        assert reply.json()["code"] == 1046
        assert server.http.get("/_sim/health").json()["redis"] == "ok"
        assert server.http.post("/_sim/reset", json={}).status_code == 200
        client = redis.Redis.from_url(redis_url)
        try:
            deadline = time.monotonic() + 3
            while list(client.scan_iter(match=f"{prefix}:rl:*")) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert list(client.scan_iter(match=f"{prefix}:rl:*")) == []
        finally:
            client.close()
