"""The Redis rate limiter against a real Redis (``COPYTRADE_TEST_REDIS_URL``)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from copytrade.adapters.ratelimit import MemoryRateLimiter
from copytrade.adapters.ratelimit_redis import RedisRateLimiter
from copytrade.service.ports import LimiterUnavailable
from copytrade.testing.server import LiveServer

pytestmark = pytest.mark.redis

T0 = 1_795_000_000_000  # a window start (ms)
UNREACHABLE = "redis://127.0.0.1:1/0"


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test only, cleaned afterwards."""
    value = f"copytrade-unit-{secrets.token_hex(6)}"
    yield value
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{value}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def limiter(redis_url: str, prefix: str) -> Iterator[RedisRateLimiter]:
    """A limiter of 18 per second under the test's prefix."""
    lim = RedisRateLimiter.from_url(redis_url, prefix=prefix)
    yield lim
    lim.close()


def test_eighteen_pass_then_the_rest_are_refused_with_zero_remaining(
    limiter: RedisRateLimiter,
) -> None:
    decisions = [limiter.hit(7, T0 + i) for i in range(25)]
    assert [d.allowed for d in decisions] == [True] * 18 + [False] * 7
    assert [d.remaining for d in decisions[:3]] == [17, 16, 15]
    assert all(d.remaining == 0 for d in decisions[17:])
    assert decisions[-1].headers() == {
        "ratelimit-limit": "18",
        "ratelimit-interval": "1000",
        "ratelimit-remaining": "0",
        "ratelimit-reset": str(T0 + 1000),
    }


def test_decisions_match_the_in_process_limiter(limiter: RedisRateLimiter) -> None:
    memory = MemoryRateLimiter(18)
    times = [T0 + i * 37 for i in range(60)]  # spans three windows
    for uid in (1, 2):
        for now in times:
            assert limiter.hit(uid, now) == memory.hit(uid, now)


def test_a_new_window_starts_a_new_count(limiter: RedisRateLimiter) -> None:
    for _ in range(20):
        limiter.hit(9, T0 + 999)
    fresh = limiter.hit(9, T0 + 1000)
    assert fresh.allowed
    assert fresh.remaining == 17
    assert fresh.reset_ms == T0 + 2000


def test_two_limiters_on_one_redis_share_the_budget(
    limiter: RedisRateLimiter, redis_url: str, prefix: str
) -> None:
    other = RedisRateLimiter.from_url(redis_url, prefix=prefix)
    try:
        allowed = sum((limiter if i % 2 else other).hit(5, T0 + i).allowed for i in range(40))
    finally:
        other.close()
    assert allowed == 18


def test_counters_expire_and_live_under_the_prefix(
    limiter: RedisRateLimiter, redis_url: str, prefix: str
) -> None:
    limiter.hit(11, T0)
    client = redis.Redis.from_url(redis_url)
    try:
        key = f"{prefix}:rl:11:{T0 // 1000}"
        assert client.get(key) == b"1"
        assert 0 < client.pttl(key) <= 2000
    finally:
        client.close()


def test_reset_forgets_only_this_prefix(limiter: RedisRateLimiter, redis_url: str) -> None:
    other_prefix = f"copytrade-unit-{secrets.token_hex(6)}"
    other = RedisRateLimiter.from_url(redis_url, prefix=other_prefix)
    try:
        for _ in range(18):
            limiter.hit(3, T0)
            other.hit(3, T0)
        limiter.reset()
        assert limiter.hit(3, T0).remaining == 17
        assert other.hit(3, T0).allowed is False
    finally:
        other.reset()
        other.close()


def test_an_unreachable_redis_raises_limiter_unavailable() -> None:
    lim = RedisRateLimiter.from_url(UNREACHABLE)
    with pytest.raises(LimiterUnavailable):
        lim.hit(1, T0)


def test_the_api_answers_1004_when_redis_is_unreachable(tmp_path: Path) -> None:
    with LiveServer(db_path=tmp_path / "c.db", demo_seed=False, redis_url=UNREACHABLE) as server:
        trader = server.create_user("trader")
        reply = server.signed(
            trader,
            "POST",
            "/copytrading/trader/close_all_position",
            body={"contract_code": "BTC-USDT", "margin_mode": "cross", "position_side": "long"},
        )
    assert reply.status_code == 200
    body = reply.json()
    assert body["code"] == 1004
    assert body["success"] is False
