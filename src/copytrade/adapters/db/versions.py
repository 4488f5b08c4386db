"""A server process's memory of the accounts it committed, checked against their row version.

On PostgreSQL every command locks the accounts it works on (``SELECT … FOR UPDATE``) and, before
this, then read their open positions, open orders and levers: three more statements per command.
Each write of an account's state now moves ``accounts.version`` on by one, so the lock query's
version tells whether the copy a process kept at its last commit is still the database's state:

* equal: no other process (or thread) wrote the account since, and the lock held now keeps it
  so; the kept copy is used and the three queries are skipped;
* different (or none kept): the account is loaded in full, as before.

A trader's active follows are kept with its account: every write of ``follows`` moves the
trader's version on too, so a matching version also vouches for them (one statement fewer).

Mark prices are kept the same way under one version for all of them, the ``counters`` row
``marks``: every write of a mark price moves it on, and the lock query returns it beside each
account's version, so a command whose marks are unchanged skips reading them.

A kept copy is taken out while a unit of work uses it (two threads never share one) and put back
only after that unit commits; a rollback leaves it out, so a command that failed half way never
leaves its in-memory changes behind. New accounts start at a random version, so after an admin
reset a stale copy of a reused UID cannot match (one chance in 2**62).
"""

from __future__ import annotations

import threading
from decimal import Decimal

from copytrade.domain.copytrading import Follow
from copytrade.domain.model import Account

Kept = tuple[int, Account, list[Follow] | None]
"""What is kept of an account: its version, the account, and its active follows when read."""


class AccountVersions:
    """Committed accounts of this process by UID, each with the version it was committed at."""

    def __init__(self, limit: int = 200_000) -> None:
        """Keep at most ``limit`` accounts (all are forgotten when that is reached)."""
        self._limit = limit
        self._kept: dict[int, Kept] = {}
        self._marks: tuple[int, dict[str, Decimal]] | None = None
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def take(self, uid: int, version: int) -> tuple[Account, list[Follow] | None] | None:
        """Take the kept account if it is at ``version``.

        Remove and return the kept account (and follows, if kept) if it is at ``version``;
        otherwise ``None``.
        """
        with self._lock:
            entry = self._kept.pop(uid, None)
            if entry is not None and entry[0] == version:
                self.hits += 1
                return entry[1], entry[2]
            self.misses += 1
            return None

    def put(self, kept: dict[int, Kept]) -> None:
        """Keep committed accounts (``uid -> (version, account, follows or None)``)."""
        with self._lock:
            if len(self._kept) + len(kept) > self._limit:
                self._kept.clear()
            self._kept.update(kept)

    def marks_at(self, version: int) -> dict[str, Decimal] | None:
        """Return a copy of the kept mark prices if they are at ``version``."""
        kept = self._marks
        if kept is not None and kept[0] == version:
            return dict(kept[1])
        return None

    def put_marks(self, version: int, marks: dict[str, Decimal]) -> None:
        """Keep committed mark prices read at ``version``."""
        self._marks = (version, dict(marks))

    def forget(self) -> None:
        """Forget every account and the marks (after an admin reset)."""
        with self._lock:
            self._kept.clear()
            self._marks = None
