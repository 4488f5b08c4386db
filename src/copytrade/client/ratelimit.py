"""Client-side token bucket that keeps a client under HTX's 18 requests per second.

The server's budget is per UID and shared by every copy-trading endpoint (spec §5.1), so one
bucket per client is the natural unit; share one :class:`TokenBucket` between clients that use
keys of the same UID. Time comes from an injected monotonic clock in integer nanoseconds, so
tests move a fake clock instead of sleeping. Integer arithmetic only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["TokenBucket"]

_NS_PER_MS = 1_000_000


class TokenBucket:
    """A token bucket: ``rate`` tokens per ``per_ms`` milliseconds, at most ``capacity`` saved.

    :meth:`reserve` takes a token at once and says how long to wait before using it, so
    callers waiting concurrently are spaced out rather than released together.
    """

    def __init__(
        self,
        rate: int = 18,
        *,
        per_ms: int = 1000,
        capacity: int | None = None,
        clock_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        """Create a full bucket.

        Args:
            rate: tokens added per ``per_ms``.
            per_ms: refill period in milliseconds.
            capacity: burst size; defaults to ``rate``.
            clock_ns: monotonic clock in nanoseconds.
        """
        if rate <= 0 or per_ms <= 0:
            raise ValueError("rate and per_ms must be positive")
        self._rate = rate
        self._period_ns = per_ms * _NS_PER_MS
        self._capacity = capacity if capacity is not None else rate
        self._clock_ns = clock_ns
        # One token is worth `_period_ns` units; `rate` units are added per nanosecond.
        self._level = self._capacity * self._period_ns
        self._last = clock_ns()
        self._lock = threading.Lock()

    def reserve(self) -> int:
        """Take one token; return the milliseconds to wait before sending (0 when none)."""
        with self._lock:
            now = self._clock_ns()
            elapsed = max(0, now - self._last)
            self._last = now
            self._level = min(self._capacity * self._period_ns, self._level + elapsed * self._rate)
            self._level -= self._period_ns
            if self._level >= 0:
                return 0
            wait_ns = -(self._level // self._rate)  # ceil(-level / rate)
            return -(-wait_ns // _NS_PER_MS)
