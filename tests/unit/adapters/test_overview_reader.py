"""The dashboard's reader never takes, nor waits for, SQLite's write lock."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from copytrade.adapters.db.engine import make_engine, migrate
from copytrade.adapters.db.overview import SqlOverviewReader


def test_reading_the_overview_does_not_wait_for_a_writer_holding_the_lock(
    tmp_path: Path,
) -> None:
    path = tmp_path / "o.db"
    engine = make_engine(f"sqlite:///{path}")  # its transactions begin IMMEDIATE
    migrate(engine)
    reader = SqlOverviewReader(engine)
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # a command group mid-commit
        writer.execute("INSERT INTO meta (key, value) VALUES ('x', 'y')")
        started = time.monotonic()
        rows = reader.read(10)
        assert time.monotonic() - started < 2  # the server engine would wait up to 10 s
        assert rows.users == 0
        # and a read leaves the lock free for the next writer
        writer.execute("COMMIT")
        reader.read(10)
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        other.close()
    finally:
        writer.close()
        reader.close()
        engine.dispose()
