"""Rate limiting per UID: a fixed window aligned to wall-clock seconds (spec §5.4)."""

from __future__ import annotations

import threading

from copytrade.service.ports import RateDecision


class MemoryRateLimiter:
    """In-process limiter: one counter per UID shared by every copy-trading path.

    Rejected requests count too, but ``remaining`` never goes below 0.
    """

    def __init__(self, limit: int = 18, interval_ms: int = 1000) -> None:
        """Allow ``limit`` requests per ``interval_ms`` window per UID."""
        self.limit = limit
        self.interval_ms = interval_ms
        self._windows: dict[int, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, uid: int, now_ms: int) -> RateDecision:
        """Count one request of ``uid`` at ``now_ms``."""
        window = now_ms // self.interval_ms
        with self._lock:
            start, used = self._windows.get(uid, (window, 0))
            if start != window:
                start, used = window, 0
                if len(self._windows) > 100_000:
                    self._windows = {k: v for k, v in self._windows.items() if v[0] == window}
            used += 1
            self._windows[uid] = (start, used)
        return RateDecision.counted(used, self.limit, self.interval_ms, window)

    def reset(self) -> None:
        """Forget every counter."""
        with self._lock:
            self._windows.clear()
