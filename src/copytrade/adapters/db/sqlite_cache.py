"""The embedded store's memory: accounts, active follows per trader and marks, as committed.

SQLite serves one server process, so that process is the only writer and what it keeps stays
exact. The accounts kept are live objects the trading core mutates in place: a command that
fails after mutating some has them dropped (:meth:`AccountCache.evict`), and they are loaded
again from the database on next use.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from copytrade.domain.copytrading import Follow
from copytrade.domain.model import Account


@dataclass(slots=True)
class AccountCache:
    """Accounts, active follows per trader and marks, as committed (or about to be)."""

    accounts: dict[int, Account] = field(default_factory=dict)
    follows: dict[int, list[Follow]] = field(default_factory=dict)
    marks: dict[str, Decimal] | None = None

    def evict(self, uids: Iterable[int]) -> None:
        """Drop accounts (a failed command may have mutated them)."""
        accounts = self.accounts
        for uid in uids:
            accounts.pop(uid, None)

    def forget_follows(self, trader_uids: Iterable[int]) -> None:
        """Drop the kept follows of traders."""
        for uid in trader_uids:
            self.follows.pop(uid, None)

    def clear(self) -> None:
        """Forget everything (after a broken group or a reset)."""
        self.accounts.clear()
        self.follows.clear()
        self.marks = None
