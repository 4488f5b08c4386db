"""Clocks: the system clock and the emulator's controllable simulation clock."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator


class SystemClock:
    """Wall-clock time in epoch milliseconds."""

    def now_ms(self) -> int:
        """Return the current time."""
        return time.time_ns() // 1_000_000


class SimClock:
    """The simulation clock: system time plus an offset the admin API can move, or frozen."""

    def __init__(self, base: SystemClock | None = None) -> None:
        """Start at system time with no offset."""
        self._base = base or SystemClock()
        self._offset = 0
        self._frozen: int | None = None
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        """Return simulated time."""
        frozen = self._frozen
        if frozen is not None:
            return frozen
        return self._base.now_ms() + self._offset

    def advance(self, ms: int) -> int:
        """Move the clock forward (or back with a negative value); return the new time."""
        with self._lock:
            if self._frozen is not None:
                self._frozen += ms
            else:
                self._offset += ms
            return self.now_ms()

    def freeze(self, now_ms: int | None) -> int:
        """Freeze at ``now_ms`` (``None`` resumes running from the current simulated time)."""
        with self._lock:
            if now_ms is None:
                if self._frozen is not None:
                    self._offset = self._frozen - self._base.now_ms()
                self._frozen = None
            else:
                self._frozen = now_ms
            return self.now_ms()

    @contextlib.contextmanager
    def held(self, at_ms: int) -> Iterator[None]:
        """Hold the clock at ``at_ms`` meanwhile; afterwards it goes on exactly as before.

        A recording server seeds its demo users under it, at the time its record's header
        names, so that a replay can seed them at the same time.
        """
        with self._lock:
            frozen, offset = self._frozen, self._offset
            self._frozen = at_ms
        try:
            yield
        finally:
            with self._lock:
                self._frozen, self._offset = frozen, offset

    def reset(self) -> None:
        """Return to system time."""
        with self._lock:
            self._offset = 0
            self._frozen = None
