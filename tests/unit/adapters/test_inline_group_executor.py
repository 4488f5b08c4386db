"""The embedded mode's group commit, on a real SQLite file."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from copytrade.adapters.db.batching import InlineGroupExecutor
from copytrade.adapters.db.engine import make_engine
from copytrade.domain.errors import PositionNotFound
from copytrade.domain.model import ChangeSet


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'group.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (v INTEGER)"))
    return engine


class Recorder:
    """Counts flushes and aborts; writes go through the group's connection."""

    def __init__(self) -> None:
        self.flushes = 0
        self.aborts = 0

    def flush(self, conn: Connection, changes: ChangeSet) -> None:
        self.flushes += 1

    def abort(self) -> None:
        self.aborts += 1


def _insert(executor: InlineGroupExecutor, value: int) -> int:
    batch = executor.current()
    assert batch is not None
    batch.conn.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": value})
    return value


def _rows(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT v FROM t ORDER BY v"))]


def test_calls_of_one_loop_iteration_commit_together_and_answer_after_the_commit(
    engine: Engine,
) -> None:
    rec = Recorder()
    executor = InlineGroupExecutor(engine, rec.flush, rec.abort)
    seen_before_reply: list[list[int]] = []

    async def call(value: int) -> int:
        result = await executor.run(_insert, executor, value)
        seen_before_reply.append(_rows(engine))  # another connection sees the commit
        return int(result)

    async def main() -> list[int]:
        return list(await asyncio.gather(*(call(v) for v in range(5))))

    assert asyncio.run(main()) == [0, 1, 2, 3, 4]
    assert all(rows == [0, 1, 2, 3, 4] for rows in seen_before_reply)
    assert rec.aborts == 0


def test_an_expected_error_fails_only_its_call(engine: Engine) -> None:
    rec = Recorder()
    executor = InlineGroupExecutor(engine, rec.flush, rec.abort)

    def refuse() -> None:
        raise PositionNotFound("nothing")

    async def main() -> list[Any]:
        return list(
            await asyncio.gather(
                executor.run(_insert, executor, 1),
                executor.run(refuse),
                executor.run(_insert, executor, 2),
                return_exceptions=True,
            )
        )

    one, refused, two = asyncio.run(main())
    assert (one, two) == (1, 2)
    assert isinstance(refused, PositionNotFound)
    assert _rows(engine) == [1, 2]
    assert rec.aborts == 0


def test_an_unexpected_error_rolls_back_and_fails_the_whole_group(engine: Engine) -> None:
    rec = Recorder()
    executor = InlineGroupExecutor(engine, rec.flush, rec.abort)

    def crash() -> None:
        raise RuntimeError("bug")

    async def main() -> list[Any]:
        return list(
            await asyncio.gather(
                executor.run(_insert, executor, 1),
                executor.run(crash),
                return_exceptions=True,
            )
        )

    first, second = asyncio.run(main())
    assert isinstance(first, RuntimeError)
    assert isinstance(second, RuntimeError)
    assert _rows(engine) == []
    assert rec.aborts == 1


def test_a_call_from_a_plain_thread_commits_as_its_own_group(engine: Engine) -> None:
    rec = Recorder()
    executor = InlineGroupExecutor(engine, rec.flush, rec.abort)
    assert executor.submit(_insert, executor, 7).result(timeout=5) == 7
    assert _rows(engine) == [7]
