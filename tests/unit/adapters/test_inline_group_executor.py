"""The embedded store's group commit, on a real SQLite file: a failing call fails alone."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from copytrade.adapters.db.batching import InlineGroupExecutor
from copytrade.adapters.db.engine import make_engine
from copytrade.domain.errors import PositionNotFound


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'group.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (v INTEGER PRIMARY KEY)"))
    return engine


class Forgets:
    """Counts how often the executor empties the store's memory."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def _insert(executor: InlineGroupExecutor, value: int) -> int:
    batch = executor.current()
    assert batch is not None
    batch.direct()
    batch.conn.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": value})
    return value


def _rows(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT v FROM t ORDER BY v"))]


def _gather(*calls: Any) -> list[Any]:
    async def main() -> list[Any]:
        return list(await asyncio.gather(*calls, return_exceptions=True))

    return asyncio.run(main())


def test_calls_of_one_loop_iteration_commit_together_and_answer_after_the_commit(
    engine: Engine,
) -> None:
    executor = InlineGroupExecutor(engine, Forgets())
    seen_before_reply: list[list[int]] = []

    async def call(value: int) -> int:
        result = await executor.run(_insert, executor, value)
        seen_before_reply.append(_rows(engine))  # another connection sees the commit
        return int(result)

    async def main() -> list[int]:
        return list(await asyncio.gather(*(call(v) for v in range(5))))

    assert asyncio.run(main()) == [0, 1, 2, 3, 4]
    assert all(rows == [0, 1, 2, 3, 4] for rows in seen_before_reply)


def test_a_refusal_fails_only_its_call(engine: Engine) -> None:
    executor = InlineGroupExecutor(engine, Forgets())

    def refuse() -> None:
        raise PositionNotFound("nothing")

    one, refused, two = _gather(
        executor.run(_insert, executor, 1),
        executor.run(refuse),
        executor.run(_insert, executor, 2),
    )
    assert (one, two) == (1, 2)
    assert isinstance(refused, PositionNotFound)
    assert _rows(engine) == [1, 2]


def test_an_unexpected_error_after_a_write_fails_only_its_call(engine: Engine) -> None:
    forgets = Forgets()
    executor = InlineGroupExecutor(engine, forgets)

    def write_then_crash() -> None:
        _insert(executor, 99)
        raise RuntimeError("bug after a write")

    one, crashed, two = _gather(
        executor.run(_insert, executor, 1),
        executor.run(write_then_crash),
        executor.run(_insert, executor, 2),
    )
    assert (one, two) == (1, 2)
    assert isinstance(crashed, RuntimeError)
    assert _rows(engine) == [1, 2]  # the crashed call's write went with its savepoint
    assert forgets.count == 0  # nobody else's work was thrown away


def test_a_database_error_reruns_the_others_alone(engine: Engine) -> None:
    forgets = Forgets()
    executor = InlineGroupExecutor(engine, forgets)

    def bad_sql() -> None:
        batch = executor.current()
        assert batch is not None
        batch.conn.exec_driver_sql("SELECT * FROM no_such_table")

    one, broken, two = _gather(
        executor.run(_insert, executor, 1),
        executor.run(bad_sql),
        executor.run(_insert, executor, 2),
    )
    assert (one, two) == (1, 2)
    assert "no_such_table" in str(broken)
    assert _rows(engine) == [1, 2]
    assert forgets.count >= 1  # the transaction was not trusted: memory starts afresh


def test_a_failing_statement_fails_only_its_call(engine: Engine) -> None:
    executor = InlineGroupExecutor(engine, Forgets())
    # two calls insert the same key: the second one's write fails, and only that call fails
    first, dup, other = _gather(
        executor.run(_insert, executor, 5),
        executor.run(_insert, executor, 5),
        executor.run(_insert, executor, 6),
    )
    assert (first, other) == (5, 6)
    assert "UNIQUE" in str(dup)
    assert _rows(engine) == [5, 6]


def test_a_call_from_a_plain_thread_commits_as_its_own_group(engine: Engine) -> None:
    executor = InlineGroupExecutor(engine, Forgets())
    assert executor.submit(_insert, executor, 7).result(timeout=5) == 7
    assert _rows(engine) == [7]
