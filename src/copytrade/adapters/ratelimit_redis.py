"""Rate limiting per UID shared by every server process, in Redis (spec §5.4).

The same fixed window aligned to wall-clock seconds as :class:`MemoryRateLimiter`, but the
counter lives in Redis under ``{prefix}:rl:{uid}:{window}``. Each request is one atomic round
trip: a Lua script increments the window's counter, sets its expiry on first use and returns
the count, so processes never race between reading and writing a counter.
"""

from __future__ import annotations

from typing import Any

import redis
from redis.commands.core import AsyncScript, Script

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
    ) -> None:
        """Allow ``limit`` requests per ``interval_ms`` window per UID, keys under ``prefix``."""
        self.limit = limit
        self.interval_ms = interval_ms
        self.prefix = prefix
        self._client = client
        self._script: Script | AsyncScript = client.register_script(_HIT)

    @classmethod
    def from_url(
        cls, url: str, limit: int = 18, interval_ms: int = 1000, *, prefix: str = DEFAULT_PREFIX
    ) -> RedisRateLimiter:
        """Connect lazily to ``url`` (``redis://host:port/db``) with short timeouts.

        Timeouts are short because :meth:`hit` runs on the event loop: an unreachable Redis
        must turn into a quick 1004, not a stalled server.
        """
        client = redis.Redis.from_url(
            url, socket_timeout=0.25, socket_connect_timeout=0.25, health_check_interval=30
        )
        return cls(client, limit, interval_ms, prefix=prefix)

    def key(self, uid: int, window: int) -> str:
        """Return the Redis key counting ``uid``'s requests in ``window``."""
        return f"{self.prefix}:rl:{uid}:{window}"

    def hit(self, uid: int, now_ms: int) -> RateDecision:
        """Count one request of ``uid`` at ``now_ms`` (one atomic Redis round trip)."""
        window = now_ms // self.interval_ms
        try:
            used = int(self._run(self.key(uid, window)))
        except redis.RedisError as exc:
            raise LimiterUnavailable(f"rate limiter store unreachable: {exc}") from exc
        return RateDecision.counted(used, self.limit, self.interval_ms, window)

    def _run(self, key: str) -> Any:
        # twice the window: a counter outlives its window a little, whatever the clock skew
        return self._script(keys=[key], args=[2 * self.interval_ms])

    def reset(self) -> None:
        """Forget every counter under this limiter's prefix."""
        try:
            batch: list[Any] = []
            for key in self._client.scan_iter(match=f"{self.prefix}:rl:*", count=1000):
                batch.append(key)
                if len(batch) >= 1000:
                    self._client.delete(*batch)
                    batch = []
            if batch:
                self._client.delete(*batch)
        except redis.RedisError as exc:
            raise LimiterUnavailable(f"rate limiter store unreachable: {exc}") from exc

    def close(self) -> None:
        """Release the client's connections."""
        self._client.close()
