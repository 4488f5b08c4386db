"""The opt-in ``reject_replays``: a signature works once inside its window (12008 after).

Off by default, faithful to HTX: a captured URL then replays, with any body, within the window.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from copytrade.adapters.replays import MemoryReplayGuard, RedisReplayGuard
from copytrade.protocol.signing import Signer, encode_query, format_timestamp
from copytrade.testing.server import LiveServer

CLOSE_ALL = "/copytrading/trader/close_all_position"
BODY = {"contract_code": "BTC-USDT", "margin_mode": "cross", "position_side": "long"}


def _signed_url(server: LiveServer, creds: dict[str, Any], **extra: str) -> str:
    signer = Signer(creds["access_key"], secret_key=creds["secret_key"])
    stamp = format_timestamp(datetime.now(UTC))
    pairs = signer.signed_params("POST", server.host, CLOSE_ALL, extra or None, timestamp=stamp)
    return f"{CLOSE_ALL}?{encode_query(pairs)}"


def _post(server: LiveServer, url: str, body: dict[str, Any]) -> int:
    reply = server.http.post(url, content=json.dumps(body))
    assert reply.status_code == 200
    return int(reply.json()["code"])


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[LiveServer]:
    with LiveServer(db_path=tmp_path / "c.db", demo_seed=False, reject_replays=True) as server:
        yield server


def test_a_replayed_signature_is_refused_with_any_body(guarded: LiveServer) -> None:
    trader = guarded.create_user("trader")
    url = _signed_url(guarded, trader)
    assert _post(guarded, url, BODY) == 1046  # first use: accepted (nothing to close)
    assert _post(guarded, url, BODY) == 12008
    assert _post(guarded, url, {**BODY, "position_side": "short"}) == 12008
    # a fresh signature (an extra signed parameter makes one within the same second) works
    assert _post(guarded, _signed_url(guarded, trader, nonce=secrets.token_hex(4)), BODY) == 1046


def test_a_bad_signature_does_not_burn_the_good_one(guarded: LiveServer) -> None:
    trader = guarded.create_user("trader")
    url = _signed_url(guarded, trader)
    forged = {**trader, "secret_key": "not-the-secret"}
    bad = _signed_url(guarded, forged)
    assert _post(guarded, bad, BODY) == 403
    assert _post(guarded, url, BODY) == 1046


def test_replays_are_accepted_by_default_as_htx_does(tmp_path: Path) -> None:
    with LiveServer(db_path=tmp_path / "c.db", demo_seed=False) as server:
        trader = server.create_user("trader")
        url = _signed_url(server, trader)
        assert _post(server, url, BODY) == 1046
        assert _post(server, url, BODY) == 1046


def test_replays_are_refused_across_servers_sharing_redis(tmp_path: Path, redis_url: str) -> None:
    prefix = f"copytrade-test-{secrets.token_hex(6)}"
    settings = {"reject_replays": True, "redis_url": redis_url, "redis_prefix": prefix}
    settings["redis_timeout_ms"] = 2000  # the loaded CI host is not this test's topic
    with LiveServer(db_path=tmp_path / "c.db", demo_seed=False, **settings) as server:
        trader = server.create_user("trader")
        url = _signed_url(server, trader)
        assert _post(server, url, BODY) == 1046
        assert _post(server, url, BODY) == 12008

    async def shared() -> tuple[bool, bool]:
        one = redis.asyncio.Redis.from_url(redis_url)
        two = redis.asyncio.Redis.from_url(redis_url)
        try:
            expires = time.time() + 5
            first = await RedisReplayGuard(one, prefix=prefix, timeout_s=2).first_use("s", expires)
            again = await RedisReplayGuard(two, prefix=prefix, timeout_s=2).first_use("s", expires)
            return first, again
        finally:
            await one.aclose()
            await two.aclose()

    assert asyncio.run(shared()) == (True, False)


def test_the_in_process_guard_forgets_expired_signatures_and_stays_in_budget() -> None:
    now = [1000.0]
    guard = MemoryReplayGuard(max_bytes=64 << 10, clock=lambda: now[0])

    async def run() -> None:
        assert await guard.first_use("a", 1010)
        assert not await guard.first_use("a", 1010)
        now[0] = 1011
        assert await guard.first_use("a", 1311)  # its window is over: a new request
        for i in range(5000):
            assert await guard.first_use(f"sig-{i:040d}", 1400)
            assert guard.bytes <= 64 << 10
        assert not await guard.first_use("sig-" + f"{4999:040d}", 1400)

    asyncio.run(run())
