"""The SDK's throttle against a real server: paced by the server's window, never a 1032.

The server counts 18 requests per UID in fixed windows aligned to the epoch second; a bucket
with continuous refill drew 12 x 1032 in 60 sequential calls and failed every run of 25
concurrent calls (issue 15). Each test uses a fresh trader, so its budget is its own. The
client retries nothing here (no ``retry_rate_limited_gets``), so every 1032 the server issues
surfaces, both as an exception and in the bucket's own count of refusals.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from copytrade.client import AsyncClient, Client, HmacAuth, RateLimitExceeded, TokenBucket


def _auth(live_server: Any) -> HmacAuth:
    trader = live_server.create_user("trader")
    return HmacAuth(trader["access_key"], trader["secret_key"])


def test_60_sequential_calls_through_the_throttle_draw_no_1032(live_server: Any) -> None:
    refused = 0
    bucket = TokenBucket()
    started = time.monotonic()
    with Client(live_server.base_url, _auth(live_server), rate_limiter=bucket) as client:
        for _ in range(60):
            try:
                client.position_list()
            except RateLimitExceeded:
                refused += 1
        last = client.last_response
    assert refused == 0
    assert bucket.refusals == 0  # the client's own count of 1032 replies
    assert last is not None
    assert last.rate_limit is not None
    assert last.rate_limit.limit == 18
    # 60 calls at 18 per window need at least three window changes
    assert time.monotonic() - started > 2


def test_25_concurrent_async_calls_through_the_throttle_draw_no_1032(live_server: Any) -> None:
    async def run(bucket: TokenBucket) -> list[BaseException | object]:
        async with AsyncClient(
            live_server.base_url, _auth(live_server), rate_limiter=bucket
        ) as client:
            return await asyncio.gather(
                *(client.position_list() for _ in range(25)), return_exceptions=True
            )

    for _ in range(2):  # the old bucket failed every run; two runs, different alignments
        bucket = TokenBucket()
        results = asyncio.run(run(bucket))
        assert [r for r in results if isinstance(r, BaseException)] == []
        assert bucket.refusals == 0  # the client's own count of 1032 replies
