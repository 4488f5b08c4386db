"""A memo bounded in bytes as well as entries, for caches keyed by client input.

Lookups are plain ``dict.get`` (the memos exist for speed on the hot path); only inserts count.
A value too large for one entry is never remembered, and a memo that would outgrow its budget
is emptied first, so the memory a client can pin through it stays under ``max_bytes``.
"""

from __future__ import annotations

import sys
from typing import Any, TypeVar

_K = TypeVar("_K")
_V = TypeVar("_V")

ENTRY_OVERHEAD = 64
"""Bytes counted per entry for the dict's own slot and index, on top of key and value."""


def size_of(value: Any) -> int:
    """Return the bytes a value keeps alive.

    Return the bytes a string, bytes, number or tuple of them keeps alive (shallow for
    other objects).
    """
    size = sys.getsizeof(value)
    if isinstance(value, tuple):
        size += sum(sys.getsizeof(item) for item in value)
    return size


class BoundedMemo(dict[_K, _V]):
    """A dict whose inserts through :meth:`remember` keep it under a byte and entry budget."""

    __slots__ = ("bytes", "max_bytes", "max_entries", "max_item_bytes")

    def __init__(self, max_bytes: int, max_item_bytes: int, max_entries: int = 1 << 20) -> None:
        """Create an empty memo.

        Args:
            max_bytes: budget for every entry together (keys, values and overhead).
            max_item_bytes: an entry larger than this is not remembered at all.
            max_entries: budget in entries.
        """
        super().__init__()
        self.bytes = 0
        self.max_bytes = max_bytes
        self.max_item_bytes = max_item_bytes
        self.max_entries = max_entries

    def remember(self, key: _K, value: _V, size: int | None = None) -> None:
        """Store ``key -> value`` unless it is too large; empty the memo first when full.

        ``size`` is the entry's cost in bytes when the caller knows it (else measured).
        """
        if size is None:
            size = size_of(key) + size_of(value)
        if size + ENTRY_OVERHEAD > self.max_item_bytes:
            return
        if key in self:  # a refresh: the entry is measured the same way as before
            self.forget(key, size)
        if self.bytes + size + ENTRY_OVERHEAD > self.max_bytes or len(self) >= self.max_entries:
            self.clear()
        self[key] = value
        self.bytes += size + ENTRY_OVERHEAD

    def clear(self) -> None:
        """Forget every entry."""
        super().clear()
        self.bytes = 0

    def forget(self, key: _K, size: int | None = None) -> None:
        """Drop one entry if present (``size`` as given to :meth:`remember`)."""
        if key in self:
            value = self.pop(key)
            if size is None:
                size = size_of(key) + size_of(value)
            self.bytes = max(0, self.bytes - size - ENTRY_OVERHEAD)
