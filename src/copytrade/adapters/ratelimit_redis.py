"""Rate limiting per UID shared by every server process, in Redis (spec §5.4).

The same fixed window aligned to wall-clock seconds as :class:`MemoryRateLimiter`, but the
counter lives in Redis under ``{prefix}:rl:{uid}:{window}``. Each request is one atomic round
trip: a Lua script increments the window's counter, sets its expiry on first use and returns
the count, so processes never race between reading and writing a counter.

Every call has a deadline and none blocks the event loop: the server awaits
:meth:`RedisRateLimiter.hit_async` on an asyncio client, bounded by ``timeout_s`` (75 ms by
default) with no retries. A Redis that refuses, times out or hangs turns into
:class:`LimiterUnavailable` (the API answers 1004); after :data:`TRIP_AFTER` failures in a row,
calls fail at once without touching Redis for ``retry_after_s``, so a hung Redis costs a
deadline or two per ``retry_after_s``, not one per request. The deadline is wall time: on a
CPU-starved host (load far above the core count) a working Redis can miss 75 ms; raise
``redis_timeout_ms`` there. :meth:`state` reports it (``/_sim/health``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import redis
import redis.asyncio
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

from copytrade.service.ports import LimiterUnavailable, RateDecision

# KEYS[1]: the window's counter; ARGV[1]: its time to live in ms. Returns the new count.
_HIT = """
local used = redis.call('INCR', KEYS[1])
if used == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return used
"""

DEFAULT_PREFIX = "copytrade"
DEFAULT_TIMEOUT_S = 0.075
BLOCKING_TIMEOUT_S = 0.25  # the blocking calls (tools, tests, an admin reset) get longer
DEFAULT_RETRY_AFTER_S = 0.5
TRIP_AFTER = 2
"""Consecutive failures before calls fail at once: one late reply (a CPU-starved host) does
not turn away every request of the next ``retry_after_s``."""
_FAILURES = (redis.RedisError, OSError, TimeoutError)


class RedisRateLimiter:
    """Limiter over a Redis client; every process pointing at one Redis shares the budget.

    Rejected requests count too, but ``remaining`` never goes below 0. When Redis cannot be
    reached, :meth:`hit` raises :class:`LimiterUnavailable` (the API answers 1004).
    """

    def __init__(
        self,
        client: redis.Redis,
        limit: int = 18,
        interval_ms: int = 1000,
        *,
        prefix: str = DEFAULT_PREFIX,
        async_client: redis.asyncio.Redis | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        retry_after_s: float = DEFAULT_RETRY_AFTER_S,
    ) -> None:
        """Allow ``limit`` requests per ``interval_ms`` window per UID, keys under ``prefix``.

        ``client`` serves the blocking calls (:meth:`hit`, :meth:`reset`), ``async_client``
        the server's :meth:`hit_async`; ``timeout_s`` bounds each call, and after a failure
        calls fail at once for ``retry_after_s``.
        """
        self.limit = limit
        self.interval_ms = interval_ms
        self.prefix = prefix
        self.timeout_s = timeout_s
        self.retry_after_s = retry_after_s
        self._client = client
        self._script: Any = client.register_script(_HIT)
        self._async_client = async_client
        self._async_script: Any = async_client.register_script(_HIT) if async_client else None
        self._down_until = 0.0
        self._failures = 0
        self._state = "unknown"

    @classmethod
    def from_url(
        cls,
        url: str,
        limit: int = 18,
        interval_ms: int = 1000,
        *,
        prefix: str = DEFAULT_PREFIX,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        retry_after_s: float = DEFAULT_RETRY_AFTER_S,
    ) -> RedisRateLimiter:
        """Connect lazily to ``url`` (``redis://host:port/db``) with short timeouts, no retries."""
        blocking = max(timeout_s, BLOCKING_TIMEOUT_S)
        client = redis.Redis.from_url(
            url,
            retry=Retry(NoBackoff(), 0),
            socket_timeout=blocking,
            socket_connect_timeout=blocking,
            health_check_interval=30,
        )
        async_client = redis.asyncio.Redis.from_url(
            url,
            retry=AsyncRetry(NoBackoff(), 0),
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            health_check_interval=30,
        )
        return cls(
            client,
            limit,
            interval_ms,
            prefix=prefix,
            async_client=async_client,
            timeout_s=timeout_s,
            retry_after_s=retry_after_s,
        )

    @property
    def async_client(self) -> redis.asyncio.Redis | None:
        """Return the asyncio client (shared with the replay guard), if any."""
        return self._async_client

    def ping(self) -> bool:
        """Ask Redis for a PONG on the blocking client (its short timeout applies; may raise)."""
        return bool(self._client.ping())

    def state(self) -> str:
        """Return ``"ok"``, ``"down"`` (the last call failed) or ``"unknown"`` (no call yet)."""
        return self._state

    def _check_up(self) -> None:
        if self._down_until and time.monotonic() < self._down_until:
            raise LimiterUnavailable("rate limiter store unavailable (failing fast)")

    def _failed(self, exc: BaseException) -> LimiterUnavailable:
        self._state = "down"
        self._failures += 1
        if self._failures >= TRIP_AFTER:
            self._down_until = time.monotonic() + self.retry_after_s
        return LimiterUnavailable(f"rate limiter store unreachable: {type(exc).__name__}")

    def _ok(self) -> None:
        self._state = "ok"
        self._failures = 0
        self._down_until = 0.0

    def key(self, uid: int, window: int) -> str:
        """Return the Redis key counting ``uid``'s requests in ``window``."""
        return f"{self.prefix}:rl:{uid}:{window}"

    def hit(self, uid: int, now_ms: int) -> RateDecision:
        """Count one request, blocking.

        Count one request of ``uid`` at ``now_ms`` (blocking; the server uses
        :meth:`hit_async`).
        """
        self._check_up()
        window = now_ms // self.interval_ms
        try:
            used = int(self._script(keys=[self.key(uid, window)], args=[2 * self.interval_ms]))
        except _FAILURES as exc:
            raise self._failed(exc) from exc
        self._ok()
        return RateDecision.counted(used, self.limit, self.interval_ms, window)

    async def hit_async(self, uid: int, now_ms: int) -> RateDecision:
        """Count one request of ``uid`` at ``now_ms`` within ``timeout_s``, off the loop's back.

        Raises:
            LimiterUnavailable: Redis refused, failed or did not answer in time (or did so
                less than ``retry_after_s`` ago).
        """
        if self._async_script is None:
            return self.hit(uid, now_ms)
        self._check_up()
        window = now_ms // self.interval_ms
        # twice the window: a counter outlives its window a little, whatever the clock skew
        args = [2 * self.interval_ms]
        try:
            async with asyncio.timeout(self.timeout_s):
                used = int(await self._async_script(keys=[self.key(uid, window)], args=args))
        except _FAILURES as exc:
            raise self._failed(exc) from exc
        self._ok()
        return RateDecision.counted(used, self.limit, self.interval_ms, window)

    def reset(self) -> None:
        """Forget every counter under this limiter's prefix."""
        self._down_until = 0.0  # an operator's reset tries Redis again at once
        try:
            batch: list[Any] = []
            for key in self._client.scan_iter(match=f"{self.prefix}:rl:*", count=1000):
                batch.append(key)
                if len(batch) >= 1000:
                    self._client.delete(*batch)
                    batch = []
            if batch:
                self._client.delete(*batch)
        except _FAILURES as exc:
            raise self._failed(exc) from exc

    async def reset_async(self, deadline_s: float = 2.0) -> None:
        """Forget every counter under this prefix on the asyncio client, within ``deadline_s``.

        Raises:
            LimiterUnavailable: Redis failed or the deletion did not finish in time.
        """
        if self._async_client is None:
            self.reset()
            return
        self._down_until = 0.0
        client = self._async_client
        try:
            async with asyncio.timeout(deadline_s):
                batch: list[Any] = []
                async for key in client.scan_iter(match=f"{self.prefix}:rl:*", count=1000):
                    batch.append(key)
                    if len(batch) >= 1000:
                        await client.delete(*batch)
                        batch = []
                if batch:
                    await client.delete(*batch)
        except _FAILURES as exc:
            raise self._failed(exc) from exc

    def close(self) -> None:
        """Release the blocking client's connections (the asyncio one closes with its loop)."""
        self._client.close()
