"""WAL checkpoints on a background thread, for the embedded (SQLite) server.

SQLite appends every commit to the write-ahead log and, by default, the commit that takes the
log past 1,000 pages also copies the log back into the database file (a checkpoint, with its
``fsync``) before it returns. In the embedded server that commit runs on the event loop, so every
so often one request group paid for the whole checkpoint. Here a thread of its own runs a
``PASSIVE`` checkpoint every ``interval_s`` on its own connection; SQLite releases the interpreter
lock for the whole call, so the copy overlaps the loop's work. Commits only append.

The commit-time checkpoint stays as a safety net at :data:`FALLBACK_PAGES` (if this thread ever
stalled, the log would still not grow without bound). Durability is unchanged: a checkpoint
syncs the log before it copies and the database file after, whoever runs it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger("copytrade.db")

FALLBACK_PAGES = 20_000  # ~80 MB of log with 4 KiB pages


class WalCheckpointer:
    """A daemon thread that checkpoints one SQLite file's WAL at a fixed interval."""

    def __init__(self, path: str, interval_s: float = 0.1) -> None:
        """Prepare for the database file at ``path``; :meth:`start` starts the thread."""
        self._path = path
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="copytrade-checkpoint", daemon=True)
        self.checkpoints = 0

    def start(self) -> WalCheckpointer:
        """Start the thread; return self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread after its current checkpoint, then run a last one."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout=1000")
            while True:
                stopping = self._stop.wait(self._interval)
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error as exc:  # busy or I/O: the commit-time fallback remains
                    log.warning("background WAL checkpoint failed: %s", exc)
                if stopping:
                    return
        finally:
            conn.close()
