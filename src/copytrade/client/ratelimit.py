"""Client-side pacing that keeps a client under HTX's 18 requests per window, 1032-free.

The server counts requests per UID in fixed windows aligned to the epoch (``now_ms //
1000``), shared by every copy-trading endpoint (spec §5.1), and says where it stands in every
reply: ``ratelimit-remaining`` and ``ratelimit-reset`` (the window's end, epoch ms). A plain
token bucket does not fit such a window: 18 saved tokens spent at the end of one second and
18 more refilled during the next put up to 36 requests into one window. :class:`TokenBucket`
therefore schedules every request into a window as the server counts them (at most ``rate``
per window, and never more than the server's ``remaining``), and keeps the bucket only to
space requests within a window.

A request is counted when it *reaches* the server, which can be a window later than it left
(a starved event loop, a queue in the server). So a request is in flight from the moment it
is admitted until its reply names the window that counted it (``ratelimit-reset``), and
until then it holds a place in the window it left in *and every later one*: a request is
only admitted into a window when the requests counted there, plus every request still in
flight, leave room for it. Replies normally come back within milliseconds, so this costs
nothing in throughput; when they are late, the next window's requests wait for them (polling
every few milliseconds) instead of drawing a 1032. A request that gets no reply holds the
window in which it failed. Share one :class:`TokenBucket` between clients that use keys of
the same UID. Integer arithmetic only; both clocks are injected, so tests move fake clocks
instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from copytrade.client.models import RateLimit

__all__ = ["Ticket", "TokenBucket"]

_NS_PER_MS = 1_000_000
# sent this long after a window opens, so a request never reaches the server before it
_MARGIN_MS = 5
# how often a request blocked by requests still in flight looks again
_POLL_MS = 5


def _wall_ms() -> int:
    return time.time_ns() // _NS_PER_MS


class Ticket:
    """One request's place: the window (its end, epoch ms) it is due in, then sent in."""

    __slots__ = ("window",)

    def __init__(self, window: int) -> None:
        """Hold a place due in the window ending at ``window``."""
        self.window = window


class TokenBucket:
    """At most ``rate`` requests per server window, spaced by a token bucket.

    A client calls :meth:`acquire` for a :class:`Ticket` and the milliseconds to wait, then
    :meth:`admit` after each wait until it answers 0 (send now), and :meth:`release` with
    the reply's ``ratelimit-*`` headers (``None`` when no reply came). Callers waiting
    concurrently are spaced out rather than released together. :meth:`reserve` and
    :meth:`observe` are the one-shot forms for callers that do not track their requests.
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
        self._limit = rate
        self._interval = per_ms
        # per window (its end, epoch ms): places due but not sent, our requests known to be
        # counted there, and requests the server counted there that are not ours (other
        # clients of the UID: the most its replies imply)
        self._due: dict[int, int] = {}
        self._counted: dict[int, int] = {}
        self._others: dict[int, int] = {}
        # the windows the requests still in flight left in
        self._in_flight: dict[Ticket, int] = {}
        self.refusals = 0
        """How many 1032 replies the clients using this bucket received (none, normally)."""

    def acquire(self) -> tuple[Ticket, int]:
        """Take a place; return it and the milliseconds to wait before :meth:`admit`."""
        with self._lock:
            token_wait = self._take_token()
            now = self._wall_ms()
            ticket = Ticket(self._place(now))
            return ticket, max(token_wait, self._until_open(ticket.window, now))

    def admit(self, ticket: Ticket) -> int:
        """Return 0 and put ``ticket`` in flight when it may be sent now, else the ms to wait."""
        with self._lock:
            now = self._wall_ms()
            current = self._end_of(now)
            if ticket.window < current:  # overslept its window: due in the first with room
                ticket.window = self._place(now, leaving=ticket.window)
            if ticket.window > current:
                return self._until_open(ticket.window, now)
            base = self._base(current)
            if base >= self._limit:  # the window is full after all: the next one
                ticket.window = self._place(now, leaving=current, after=current)
                return self._until_open(ticket.window, now)
            if base + self._flying(current) >= self._limit:
                # requests still in flight may yet be counted here: wait for their replies
                return min(_POLL_MS, current - now + _MARGIN_MS)
            self._due[current] = self._due.get(current, 0) - 1
            self._in_flight[ticket] = current
            return 0

    def release(self, ticket: Ticket, rate_limit: RateLimit | None) -> None:
        """Take ``ticket`` out of flight, given its reply's headers (``None``: no reply).

        The request is counted in the window the reply's ``ratelimit-reset`` names; without
        one, in the current window (it may have been counted in any window up to now).
        Tickets :meth:`admit` did not put in flight are ignored.
        """
        with self._lock:
            if self._in_flight.pop(ticket, None) is None:
                return
            reset = None if rate_limit is None else rate_limit.reset
            window = reset if reset is not None else self._end_of(self._wall_ms())
            self._counted[window] = self._counted.get(window, 0) + 1
            self._learn(rate_limit)
            self._prune(self._wall_ms())

    def record_refusal(self) -> None:
        """Count a 1032 reply in :attr:`refusals` (the clients call this for each one)."""
        with self._lock:
            self.refusals += 1

    def reserve(self) -> int:
        """Take a place counted in its window at once; return the ms to wait before sending."""
        with self._lock:
            token_wait = self._take_token()
            now = self._wall_ms()
            window = self._place(now)
            self._due[window] -= 1
            self._counted[window] = self._counted.get(window, 0) + 1
            return max(token_wait, self._until_open(window, now))

    def observe(self, rate_limit: RateLimit | None) -> None:
        """Learn the server's window from a reply's ``ratelimit-*`` headers."""
        with self._lock:
            self._learn(rate_limit)

    def _learn(self, rate_limit: RateLimit | None) -> None:
        """Record what a reply says (its request already in ``_counted``)."""
        if rate_limit is None or rate_limit.reset is None:
            return
        if rate_limit.interval:
            self._interval = rate_limit.interval
        if rate_limit.limit:
            self._limit = min(self._rate, rate_limit.limit)
        if rate_limit.remaining is not None:
            window = rate_limit.reset
            used = self._limit - min(self._limit, rate_limit.remaining)
            # what the server counted beyond our requests known counted there and those in
            # flight (it may have counted them already) is someone else's
            others = used - self._counted.get(window, 0) - self._flying(window)
            self._others[window] = max(self._others.get(window, 0), others)

    def _end_of(self, now: int) -> int:
        return (now // self._interval + 1) * self._interval

    def _until_open(self, window: int, now: int) -> int:
        opens = window - self._interval
        return opens - now + _MARGIN_MS if opens > now else 0

    def _base(self, window: int) -> int:
        """Requests known to be counted in ``window``: ours and others'."""
        return self._counted.get(window, 0) + self._others.get(window, 0)

    def _flying(self, window: int) -> int:
        """Requests in flight that may still be counted in ``window``."""
        return sum(1 for left in self._in_flight.values() if left <= window)

    def _place(self, now: int, leaving: int | None = None, after: int | None = None) -> int:
        """Make a place due in the first window from ``now`` (or ``after``) with room.

        Return the window's end; ``leaving`` is the window the place moves from, if any.
        """
        self._prune(now)
        window = self._end_of(now)
        # in the current window the requests in flight hold places; a later window is
        # planned as if they will have their replies by then (admit checks again)
        taken = self._base(window) + self._due.get(window, 0) + self._flying(window)
        if after is not None:
            window, taken = after, self._limit
        while taken >= self._limit:
            window += self._interval
            taken = self._base(window) + self._due.get(window, 0)
        self._due[window] = self._due.get(window, 0) + 1
        if leaving is not None and leaving in self._due:
            self._due[leaving] -= 1
        return window

    def _prune(self, now: int) -> None:
        """Forget the windows that are over (a request in flight keeps its own record)."""
        current = self._end_of(now)
        for table in (self._due, self._counted, self._others):
            for window in [w for w in table if w < current]:
                del table[window]

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
