"""One rate limit across two server processes through Redis (spec §5: 18 requests/s per UID)."""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import redis
from server_processes import ServerProcess, start_servers

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

CLOSE_ALL = "/copytrading/trader/close_all_position"
BODY = {"contract_code": "BTC-USDT", "margin_mode": "cross", "position_side": "long"}


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this run only; its keys are deleted afterwards."""
    prefix = f"copytrade-test-{secrets.token_hex(6)}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def servers(
    postgres_database: str, server_key: str, redis_url: str, redis_prefix: str
) -> Iterator[list[ServerProcess]]:
    """Two processes sharing the database and the Redis limiter."""
    env = {
        "COPYTRADE_SERVER_KEY": server_key,
        "COPYTRADE_DEMO_SEED": "false",
        "COPYTRADE_REDIS_PREFIX": redis_prefix,
        # this test counts a shared budget: a reply late on the loaded CI host is not its topic
        "COPYTRADE_REDIS_TIMEOUT_MS": "2000",
    }
    yield from start_servers(postgres_database, 2, env, "--redis", redis_url)


def _burst(
    servers: list[ServerProcess],
) -> tuple[list[tuple[dict[str, Any], httpx.Headers]], float]:
    """Fire 60 requests of one fresh trader over both processes, alternating, at once.

    Nothing waits for a second boundary: the burst may span windows, and the checks hold per
    window (each reply's ``ratelimit-reset`` names its window).
    """
    trader = servers[0].admin("/_sim/users", {"role": "trader", "balance": "1000"})
    with httpx.Client(timeout=30) as client:
        for s in servers:  # warm both processes' key caches and connections (uses 2 requests)
            assert s.signed_post(client, trader, CLOSE_ALL, BODY).json()["code"] == 1046

        def fire(i: int) -> tuple[dict[str, Any], httpx.Headers]:
            reply = servers[i % 2].signed_post(client, trader, CLOSE_ALL, BODY)
            assert reply.status_code == 200
            return reply.json(), reply.headers

        started = time.monotonic()
        with ThreadPoolExecutor(12) as pool:
            replies = list(pool.map(fire, range(60)))
        return replies, time.monotonic() - started


def test_sixty_requests_over_two_processes_accept_at_most_eighteen_per_window(
    servers: list[ServerProcess],
) -> None:
    replies, _elapsed = _burst(servers)
    per_window: Counter[str] = Counter()
    served_by: dict[str, set[int]] = {}
    for i, (body, headers) in enumerate(replies):
        assert headers["ratelimit-limit"] == "18"
        assert headers["ratelimit-interval"] == "1000"
        served_by.setdefault(headers["ratelimit-reset"], set()).add(i % 2)
        if body["code"] == 1032:
            assert body["msg"] == "Maximum number of access attempts exceeded."
            assert body["success"] is False
            assert headers["ratelimit-remaining"] == "0"
        else:
            assert body["code"] == 1046  # accepted: there is simply nothing to close
            per_window[headers["ratelimit-reset"]] += 1
    # one budget across both processes: never more than 18 in any window, whichever served
    assert all(count <= 18 for count in per_window.values()), per_window
    assert any(len(procs) == 2 for procs in served_by.values())
    accepted = sum(per_window.values())
    refused = sum(1 for body, _ in replies if body["code"] == 1032)
    assert accepted >= 1
    assert refused == 60 - accepted
    if len(served_by) <= 3:  # 60 requests cannot fit in three windows of 18
        assert refused > 0
