"""Signatures already used, for the opt-in ``reject_replays`` setting (docs/security.md).

HTX's v2 signature covers the method, host, path and query but not a POST body, and stays
valid for the whole timestamp window: a captured URL can be replayed, with any body, until its
timestamp leaves the window. With ``reject_replays`` on, the server remembers every verified
signature until its timestamp leaves the window and refuses a second use. Two stores:

* :class:`MemoryReplayGuard`: one process; bounded in bytes, expired signatures dropped first.
* :class:`RedisReplayGuard`: every process sharing one Redis; one ``SET NX PX`` per request,
  under the same deadline as the rate limiter (a late or failed answer is 1004, fail closed).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import OrderedDict
from collections.abc import Callable

import redis
import redis.asyncio

from copytrade.service.ports import LimiterUnavailable

ENTRY_OVERHEAD = 120  # bytes per remembered signature besides its text: float, node, slot


class MemoryReplayGuard:
    """Remember signatures in this process until they expire, within ``max_bytes``.

    When the budget is reached with nothing expired, the oldest signatures are forgotten
    first: protection then holds for the ``max_bytes / ~200`` most recent requests (about
    170,000 with the default 32 MiB), which the rate limit makes far more than one window's.
    """

    def __init__(self, max_bytes: int = 32 << 20, clock: Callable[[], float] = time.time) -> None:
        """Create an empty guard with a byte budget and a wall clock (epoch seconds)."""
        self.max_bytes = max_bytes
        self.bytes = 0
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    async def first_use(self, signature: str, expires_at: float) -> bool:
        """Record ``signature`` until ``expires_at``; return ``False`` if it was already used."""
        now = self._clock()
        known = self._seen.get(signature)
        if known is not None and known > now:
            return False
        if known is not None:  # expired: used again after its window, recorded afresh
            self._forget(signature)
        size = sys.getsizeof(signature) + ENTRY_OVERHEAD
        self._drop_expired(now)
        while self._seen and self.bytes + size > self.max_bytes:
            self._pop_oldest()
        self._seen[signature] = expires_at
        self.bytes += size
        return True

    def _drop_expired(self, now: float) -> None:
        while self._seen:
            _signature, expires_at = next(iter(self._seen.items()))
            if expires_at > now:
                return
            self._pop_oldest()

    def _pop_oldest(self) -> None:
        signature, _ = self._seen.popitem(last=False)
        self.bytes -= sys.getsizeof(signature) + ENTRY_OVERHEAD

    def _forget(self, signature: str) -> None:
        del self._seen[signature]
        self.bytes -= sys.getsizeof(signature) + ENTRY_OVERHEAD

    def reset(self) -> None:
        """Forget every signature."""
        self._seen.clear()
        self.bytes = 0


class RedisReplayGuard:
    """Remember signatures in Redis (shared by every process) with a deadline per call."""

    def __init__(
        self,
        client: redis.asyncio.Redis,
        *,
        prefix: str = "copytrade",
        timeout_s: float = 0.075,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Use ``client`` (an asyncio client without retries), keys under ``prefix``."""
        self._client = client
        self.prefix = prefix
        self.timeout_s = timeout_s
        self._clock = clock

    async def first_use(self, signature: str, expires_at: float) -> bool:
        """Record ``signature`` until ``expires_at``; return ``False`` if it was already used.

        Raises:
            LimiterUnavailable: Redis failed or did not answer within the deadline.
        """
        ttl_ms = max(1, int((expires_at - self._clock()) * 1000))
        try:
            async with asyncio.timeout(self.timeout_s):
                fresh = await self._client.set(
                    f"{self.prefix}:sig:{signature}", b"1", nx=True, px=ttl_ms
                )
        except (redis.RedisError, OSError, TimeoutError) as exc:
            raise LimiterUnavailable(f"replay store unreachable: {type(exc).__name__}") from exc
        return bool(fresh)

    def reset(self) -> None:
        """Signatures in Redis expire on their own; nothing to do."""
