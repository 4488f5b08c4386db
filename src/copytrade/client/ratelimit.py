"""Client-side pacing that keeps a client under HTX's 18 requests per window, 1032-free.

The server counts requests per UID in fixed windows aligned to the epoch (``now_ms //
1000``), shared by every copy-trading endpoint (spec §5.1), and says where it stands in every
reply: ``ratelimit-remaining`` and ``ratelimit-reset`` (the window's end, epoch ms). A plain
token bucket does not fit such a window: 18 saved tokens spent at the end of one second and
18 more refilled during the next put up to 36 requests into one window. :class:`TokenBucket`
therefore schedules every request into a window as the server counts them (at most ``rate``
per window, and never more than the server's ``remaining``), and keeps the bucket only to
space requests within a window. Share one :class:`TokenBucket` between clients that use keys
of the same UID. Integer arithmetic only; both clocks are injected, so tests move fake clocks
instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from copytrade.client.models import RateLimit

__all__ = ["TokenBucket"]

_NS_PER_MS = 1_000_000
# sent this long after a window opens, so a request never reaches the server before it
_MARGIN_MS = 5


def _wall_ms() -> int:
    return time.time_ns() // _NS_PER_MS


class TokenBucket:
    """At most ``rate`` requests per server window, spaced by a token bucket.

    :meth:`reserve` takes a place at once and says how long to wait before using it, so
    callers waiting concurrently are spaced out rather than released together. The clients
    call :meth:`observe` with each reply's ``ratelimit-*`` headers.
    """

    def __init__(
        self,
        rate: int = 18,
        *,
        per_ms: int = 1000,
        capacity: int | None = None,
        clock_ns: Callable[[], int] = time.monotonic_ns,
        wall_ms: Callable[[], int] = _wall_ms,
    ) -> None:
        """Create a full bucket.

        Args:
            rate: requests per window (and tokens added per ``per_ms``).
            per_ms: window (and refill period) in milliseconds, until the server tells its own.
            capacity: burst size; defaults to ``rate``.
            clock_ns: monotonic clock in nanoseconds (the bucket's).
            wall_ms: epoch clock in milliseconds (the windows', as the server counts them).
        """
        if rate <= 0 or per_ms <= 0:
            raise ValueError("rate and per_ms must be positive")
        self._rate = rate
        self._period_ns = per_ms * _NS_PER_MS
        self._capacity = capacity if capacity is not None else rate
        self._clock_ns = clock_ns
        self._wall_ms = wall_ms
        # One token is worth `_period_ns` units; `rate` units are added per nanosecond.
        self._level = self._capacity * self._period_ns
        self._last = clock_ns()
        self._lock = threading.Lock()
        # the window of the latest reservation: its end (epoch ms) and the places left in it
        self._limit = rate
        self._interval = per_ms
        self._window_end: int | None = None
        self._left = 0

    def reserve(self) -> int:
        """Take one place; return the milliseconds to wait before sending (0 when none)."""
        with self._lock:
            return max(self._take_token(), self._take_window(self._wall_ms()))

    def observe(self, rate_limit: RateLimit | None) -> None:
        """Learn the server's window from a reply's ``ratelimit-*`` headers."""
        if rate_limit is None or rate_limit.reset is None or rate_limit.remaining is None:
            return
        with self._lock:
            if rate_limit.interval:
                self._interval = rate_limit.interval
            if rate_limit.limit:
                self._limit = min(self._rate, rate_limit.limit)
            end = self._window_end
            if end is None or rate_limit.reset > end:
                # the server is in a later window than our latest reservation: take its word
                self._window_end = rate_limit.reset
                self._left = min(self._limit, rate_limit.remaining)
            elif rate_limit.reset == end:
                # others (or requests not counted yet) may have used places: keep the fewer
                self._left = min(self._left, rate_limit.remaining)

    def _take_token(self) -> int:
        now = self._clock_ns()
        elapsed = max(0, now - self._last)
        self._last = now
        self._level = min(self._capacity * self._period_ns, self._level + elapsed * self._rate)
        self._level -= self._period_ns
        if self._level >= 0:
            return 0
        wait_ns = -(self._level // self._rate)  # ceil(-level / rate)
        return -(-wait_ns // _NS_PER_MS)

    def _take_window(self, now: int) -> int:
        end = self._window_end
        if end is None or now >= end:  # every reserved window is over: the current one
            end = (now // self._interval + 1) * self._interval
            self._left = self._limit
        if self._left <= 0:  # full: the next window
            end += self._interval
            self._left = self._limit
        self._left -= 1
        self._window_end = end
        opens = end - self._interval
        return opens - now + _MARGIN_MS if opens > now else 0
