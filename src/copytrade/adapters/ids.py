"""Unique increasing 64-bit ids across processes (snowflake layout).

``ms since 2024-01-01 (41 bits) | worker (10 bits) | sequence (12 bits)``: about 19 digits, like
HTX's order ids. Each server process holds its own worker number, so processes never collide.
"""

from __future__ import annotations

import threading
import time

EPOCH_MS = 1_704_067_200_000
WORKER_BITS = 10
SEQ_BITS = 12
MAX_WORKER = (1 << WORKER_BITS) - 1


class SnowflakeIds:
    """Thread-safe id generator for one worker number."""

    def __init__(self, worker: int = 0) -> None:
        """Use ``worker`` (0–1023) as this process's number."""
        if not 0 <= worker <= MAX_WORKER:
            raise ValueError(f"worker must be in 0..{MAX_WORKER}")
        self._worker = worker
        self._last = 0
        self._lock = threading.Lock()

    @property
    def worker(self) -> int:
        """Return this generator's worker number."""
        return self._worker

    def next_id(self) -> int:
        """Return a fresh id, strictly greater than the last one this generator made."""
        with self._lock:
            stamp = (time.time_ns() // 1_000_000 - EPOCH_MS) << (WORKER_BITS + SEQ_BITS)
            candidate = stamp | (self._worker << SEQ_BITS)
            if candidate <= self._last:
                # same millisecond (or the wall clock stepped back): continue the sequence,
                # borrowing from the next millisecond when 4,096 ids were used.
                candidate = self._last + 1
                if (candidate >> SEQ_BITS) & MAX_WORKER != self._worker:
                    candidate = ((candidate >> (WORKER_BITS + SEQ_BITS)) + 1) << (
                        WORKER_BITS + SEQ_BITS
                    ) | (self._worker << SEQ_BITS)
            self._last = candidate
            return candidate

    def next_ids(self, count: int) -> int:
        """Return the first of ``count`` (1-4,096) fresh consecutive ids, under one lock.

        The same ids as ``count`` calls of :meth:`next_id` in a row when they stay within one
        millisecond's sequence; a block that would cross the end of a sequence starts at the
        next millisecond's first id instead (ids stay unique and increasing).
        """
        if not 1 <= count <= 1 << SEQ_BITS:
            raise ValueError(f"count must be in 1..{1 << SEQ_BITS}")
        with self._lock:
            stamp = (time.time_ns() // 1_000_000 - EPOCH_MS) << (WORKER_BITS + SEQ_BITS)
            first = stamp | (self._worker << SEQ_BITS)
            if first <= self._last:
                first = self._last + 1
                if (first >> SEQ_BITS) & MAX_WORKER != self._worker:
                    first = self._next_millisecond(first)
            if ((first + count - 1) >> SEQ_BITS) & MAX_WORKER != self._worker:
                first = self._next_millisecond(first)  # the block would leave this sequence
            self._last = first + count - 1
            return first

    def _next_millisecond(self, candidate: int) -> int:
        """Return the first id of the millisecond after the one ``candidate`` borrowed from."""
        return ((candidate >> (WORKER_BITS + SEQ_BITS)) + 1) << (WORKER_BITS + SEQ_BITS) | (
            self._worker << SEQ_BITS
        )
