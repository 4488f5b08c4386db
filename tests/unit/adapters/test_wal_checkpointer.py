"""The background WAL checkpointer, on a real SQLite file."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import Engine, text

from copytrade.adapters.db.checkpoint import WalCheckpointer
from copytrade.adapters.db.engine import make_engine


def _write_pages(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}", background_checkpoint=True)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE blobs (b BLOB)"))
    for _ in range(10):  # ten commits of ~100 pages each: past SQLite's usual 1,000
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO blobs (b) VALUES (randomblob(4000))"), [{}] * 100)
    return engine  # kept open: closing the last connection would checkpoint by itself


def test_commits_leave_the_checkpoint_to_the_background_thread(tmp_path: Path) -> None:
    db = tmp_path / "wal.db"
    engine = _write_pages(db)
    # the commits only appended to the log: the database file itself is still nearly empty
    before = db.stat().st_size
    assert before < 100_000
    checkpointer = WalCheckpointer(str(db), interval_s=0.02).start()
    try:
        deadline = time.monotonic() + 10
        while db.stat().st_size < 4_000_000 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        checkpointer.stop()
        engine.dispose()
    assert db.stat().st_size >= 4_000_000  # the 1,000 pages were copied into the file
    assert checkpointer.checkpoints >= 1
