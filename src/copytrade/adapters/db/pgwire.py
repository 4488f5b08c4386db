"""PostgreSQL: a trading command's statements sent on libpq directly, two round trips in all.

A trading command on the shared store is: lock the trader's account row (``SELECT … FOR
UPDATE``), work in Python, write the change set (one statement, :mod:`.pgwrite`), commit.
Through psycopg's cursors that was four round trips (psycopg's own ``BEGIN``, the lock, the
write, ``COMMIT``), each paying psycopg's per-statement Python (cursor, query conversion,
adapters, prepare bookkeeping, result object) and a wake-up of the database thread.
Measured alone on the bench machine (``bench/pg_protocol.py``: a transaction of that shape,
median of 3 rounds of 1,500, a loaded host): the client's CPU per transaction went from ~345 µs
to ~125 µs and the backend's from ~425 µs to ~305 µs, the latter because two statements ride one
network message each way.

Here each of those two steps is one libpq *pipeline* (``PQenterPipelineMode``): ``BEGIN`` and
the lock query go out together, then the write and ``COMMIT``, each followed by one sync. The
statements are prepared once per connection under our own names (``ct_0`` …; psycopg's are
``_pg3_*``), so later runs send only their parameters, as text.

What it shares with psycopg and SQLAlchemy, and why that stays consistent:

* psycopg reads the transaction state from libpq (``transaction_status``), not from a flag of
  its own: after our ``BEGIN`` it sends none; after our ``COMMIT`` its ``commit()`` sends none.
  SQLAlchemy's own ``begin()``/``commit()`` still run around ours, so its bookkeeping holds.
* Errors come back as psycopg's exceptions (``error_from_result``), with their ``sqlstate``, so
  :func:`copytrade.adapters.db.pg_uow.release` tells deadlocks and lost connections apart as
  before. A statement that fails aborts the rest of its pipeline: a failed write never lets
  the ``COMMIT`` behind it run.
* Anything else going wrong half way (the connection dropped, a protocol surprise) closes the
  libpq connection, so that it is never used again (it reads as ``broken``).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import pq
from psycopg.abc import PQGen
from psycopg.generators import fetch_many, send

BEGIN = b"BEGIN ISOLATION LEVEL READ COMMITTED"
"""The engine's isolation level (:func:`copytrade.adapters.db.engine.make_engine`)."""
COMMIT = b"COMMIT"
MAX_PREPARED = 128
"""Statements prepared per connection; past that, further ones are sent unnamed (parsed each
time): change sets of unusual shapes should not grow a backend's memory without bound."""

PREPARED_GONE = "26000"
"""invalid_sql_statement_name: a statement prepared here was deallocated behind our back (the
unit of work reruns the command, :func:`copytrade.adapters.db.pg_uow.release`)."""

_OK = frozenset({pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK})
_SYNC = pq.ExecStatus.PIPELINE_SYNC
_ABORTED = pq.ExecStatus.PIPELINE_ABORTED
_IDLE = pq.TransactionStatus.IDLE

Statement = tuple[str, Sequence[Any]]
"""SQL with PostgreSQL's own ``$n`` placeholders (each with its cast), and its parameters."""


def encode(value: Any) -> bytes | None:
    """Return a parameter as PostgreSQL's text input (``None`` is NULL)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode()
    if value is True:
        return b"t"
    if value is False:
        return b"f"
    if isinstance(value, int):
        return b"%d" % value
    if isinstance(value, Decimal):
        return format(value, "f").encode()
    if isinstance(value, (list, tuple)):  # an array of integers (uids)
        return ("{" + ",".join(str(int(v)) for v in value) + "}").encode()
    return str(value).encode()


def encode_all(params: Sequence[Any]) -> list[bytes | None]:
    """Return :func:`encode` of every parameter (text, ids and NULL, most of them, inline)."""
    return [
        v.encode()
        if type(v) is str
        else None
        if v is None
        else b"%d" % v
        if type(v) is int
        else encode(v)
        for v in params
    ]


def _exchange(pgconn: Any, queries: int) -> PQGen[list[list[Any]]]:
    """Flush the pipeline, then read each query's results and the sync's (one wait in all)."""
    yield from send(pgconn)
    out = []
    for _ in range(queries + 1):
        out.append((yield from fetch_many(pgconn)))
    return out


class Wire:
    """One psycopg connection's prepared statements, and the pipelines sent on it."""

    __slots__ = ("_names", "_next", "_raw")

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        """Work on ``raw`` (a psycopg connection, inside or outside a transaction)."""
        self._raw = raw
        self._names: dict[str, bytes] = {}
        self._next = 0

    @property
    def idle(self) -> bool:
        """Return whether no transaction is open (the next pipeline should begin one)."""
        return self._raw.pgconn.transaction_status == _IDLE

    def run(
        self, statements: Sequence[Statement], *, begin: bool = False, commit: bool = False
    ) -> list[Any]:
        """Send ``statements`` (after ``BEGIN``, before ``COMMIT`` if asked) in one round trip.

        Return each statement's result (a libpq ``PGresult``); raise the first failure as
        psycopg's exception, after the whole pipeline was read (the connection stays usable:
        the caller rolls back).
        """
        encoded = [(sql, encode_all(params)) for sql, params in statements]
        pgconn = self._raw.pgconn
        names = self._names
        # per libpq query in the pipeline: the statement it ran (an index), or a PREPARE's sql
        # (its name is forgotten unless it succeeded), or None (BEGIN, COMMIT)
        sent: list[int | str | None] = []
        pgconn.enter_pipeline_mode()
        try:
            if begin:
                pgconn.send_query_params(BEGIN, None)
                sent.append(None)
            for i, (sql, values) in enumerate(encoded):
                name = names.get(sql)
                if name is None and len(names) < MAX_PREPARED:
                    name = names[sql] = b"ct_%d" % self._next
                    self._next += 1
                    pgconn.send_prepare(name, sql.encode())
                    sent.append(sql)
                if name is None:
                    pgconn.send_query_params(sql.encode(), values)
                else:
                    pgconn.send_query_prepared(name, values)
                sent.append(i)
            if commit:
                pgconn.send_query_params(COMMIT, None)
                sent.append(None)
            pgconn.pipeline_sync()
            results, failure = self._collect(sent, len(encoded))
            pgconn.exit_pipeline_mode()
        except BaseException:
            self._abandon()
            raise
        if failure is not None:
            if getattr(failure, "sqlstate", None) == PREPARED_GONE:
                self._names.clear()  # someone ran DEALLOCATE ALL: prepare afresh
            raise failure
        return results

    def _collect(
        self, sent: list[int | str | None], count: int
    ) -> tuple[list[Any], BaseException | None]:
        """Read every result of the pipeline, up to its sync; return them and the first failure."""
        got = self._raw.wait(_exchange(self._raw.pgconn, len(sent)))
        sync = got.pop()
        if len(sync) != 1 or sync[0].status != _SYNC:
            raise psycopg.InterfaceError("pipeline out of step: no sync where one was due")
        results: list[Any] = [None] * count
        failure: BaseException | None = None
        for what, query_results in zip(sent, got, strict=True):
            ok = False
            for result in query_results:
                status = result.status
                if status in _OK:
                    ok = True
                    if isinstance(what, int):
                        results[what] = result
                elif status != _ABORTED and failure is None:  # aborted: behind the failure
                    failure = psycopg.errors.error_from_result(result, encoding="utf-8")
            if isinstance(what, str) and not ok:
                self._names.pop(what, None)  # never prepared: prepare it again next time
        return results, failure

    def _abandon(self) -> None:
        """Close the libpq connection after a failure half way: it is never used again."""
        pgconn = self._raw.pgconn
        if pgconn.status != pq.ConnStatus.BAD:
            pgconn.finish()


def wire_of(raw: psycopg.Connection[Any]) -> Wire:
    """Return the :class:`Wire` of a psycopg connection (made on first use, kept with it)."""
    wire: Wire | None = raw.__dict__.get("_copytrade_wire")
    if wire is None:
        wire = raw.__dict__["_copytrade_wire"] = Wire(raw)
    return wire
