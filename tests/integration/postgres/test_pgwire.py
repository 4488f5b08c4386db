"""PostgreSQL: the trading path's two pipelines on libpq (``pgwire``) behave as plain statements.

``BEGIN`` rides with the lock query and the change set with ``COMMIT``: a write that fails must
never let its ``COMMIT`` through, a unit that ends without commit must release its row locks,
prepared statements dropped behind our back must cost a rerun, not an error, and the isolation
level stays READ COMMITTED.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest
from sqlalchemy.engine import make_url

from copytrade.adapters.db.pg_uow import SharedUnitOfWork
from copytrade.adapters.db.pgwire import encode, encode_all
from copytrade.bootstrap import Services, bootstrap
from copytrade.config import Settings
from copytrade.domain.enums import MarginMode, OrderDirection, OrderPriceType, PositionSide
from copytrade.domain.trading import OpenRequest
from copytrade.service import handlers, sim
from copytrade.service.ports import WriteConflict

pytestmark = [pytest.mark.postgres]

KEY = secrets.token_hex(32)
BUY_ONE = OpenRequest(
    "BTC-USDT", OrderDirection.BUY, Decimal(1), MarginMode.CROSS, OrderPriceType.MARKET, None, 10
)


@pytest.fixture(scope="module")
def services(postgres_database: str) -> Iterator[Services]:
    made = bootstrap(Settings(db_url=postgres_database, demo_seed=False, server_key=KEY))
    made.seed()
    yield made
    made.close()


def dsn(services: Services) -> str:
    url = make_url(services.engine.url.render_as_string(hide_password=False))
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def uow(services: Services) -> SharedUnitOfWork:
    unit = services.ctx.uow()
    assert isinstance(unit, SharedUnitOfWork)
    return unit


def balance_in_db(services: Services, uid: int) -> Decimal:
    with psycopg.connect(dsn(services)) as conn:
        row = conn.execute("SELECT balance FROM accounts WHERE uid = %s", [uid]).fetchone()
    assert row is not None
    return Decimal(row[0])


def test_parameters_go_as_postgresql_text() -> None:
    assert encode_all(["1.5", 7, None, True, False]) == [b"1.5", b"7", None, b"t", b"f"]
    assert encode(Decimal("0.10")) == b"0.10"
    assert encode([3, 1]) == b"{3,1}"


def test_the_lock_begins_a_read_committed_transaction_holding_the_row(services: Services) -> None:
    uid = sim.create_user(services.ctx, "trader", Decimal(1000)).uid
    with uow(services) as unit:
        assert unit.accounts.get(uid) is not None
        level = unit.conn.exec_driver_sql("SHOW transaction_isolation").scalar_one()
        assert level == "read committed"
        with psycopg.connect(dsn(services), autocommit=True) as other:
            other.execute("SET lock_timeout = '100ms'")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute("SELECT 1 FROM accounts WHERE uid = %s FOR UPDATE", [uid])
    # left without commit: rolled back, the lock released, the connection kept and usable
    with psycopg.connect(dsn(services), autocommit=True) as other:
        other.execute("SET lock_timeout = '1s'")
        other.execute("SELECT 1 FROM accounts WHERE uid = %s FOR UPDATE", [uid])
    with uow(services) as unit:
        assert unit.accounts.get(uid) is not None


def test_a_failing_write_never_lets_its_commit_through(services: Services) -> None:
    uid = sim.create_user(services.ctx, "trader", Decimal(1000)).uid
    before = balance_in_db(services, uid)
    with uow(services) as unit:
        assert unit.accounts.get(uid) is not None
        unit.defer("UPDATE accounts SET balance = $1::text WHERE uid = $2::bigint", ["5", uid])
        unit.defer("SELECT 1 / $1::integer", [0])  # sent first: the balance was written
        with pytest.raises(psycopg.errors.DivisionByZero):
            unit.commit()
    assert balance_in_db(services, uid) == before  # nothing committed
    handlers.place_order(services.ctx, uid, BUY_ONE)  # the thread's connection still serves
    assert balance_in_db(services, uid) < before


def test_prepared_statements_dropped_behind_our_back_cost_a_rerun(services: Services) -> None:
    uid = sim.create_user(services.ctx, "trader", Decimal(1000)).uid
    handlers.place_order(services.ctx, uid, BUY_ONE)  # the statements are prepared
    for _ in range(3):  # whichever pooled connection the next unit takes
        with uow(services) as unit:
            unit.conn.exec_driver_sql("DEALLOCATE ALL")
            unit.commit()
    handlers.place_order(services.ctx, uid, BUY_ONE)  # rerun on a conflict: no error
    with uow(services) as unit:
        account = unit.accounts.get(uid)
    assert account is not None
    key = ("BTC-USDT", MarginMode.CROSS, PositionSide.LONG)
    assert [p.volume for p in account.open_positions(key)] == [Decimal(1), Decimal(1)]


def test_a_dropped_prepared_statement_is_a_write_conflict(services: Services) -> None:
    uid = sim.create_user(services.ctx, "trader", Decimal(1000)).uid
    with uow(services) as unit:
        unit.accounts.get(uid)
        unit.commit()
    with pytest.raises(WriteConflict), uow(services) as unit:  # noqa: PT012
        unit.conn.exec_driver_sql("DEALLOCATE ALL")
        unit.accounts.get(uid)
    with uow(services) as unit:  # prepared afresh
        assert unit.accounts.get(uid) is not None
