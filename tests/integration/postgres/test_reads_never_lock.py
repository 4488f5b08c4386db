"""On PostgreSQL the read side never locks and never takes a process's kept copies away."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from copytrade.adapters.db.engine import normalize_url
from copytrade.bootstrap import Services, bootstrap
from copytrade.config import Settings
from copytrade.domain.enums import MarginMode, OrderDirection, OrderPriceType
from copytrade.domain.trading import OpenRequest
from copytrade.service import handlers, queries, sim
from copytrade.service.ports import Page

BUY = OpenRequest(
    "BTC-USDT", OrderDirection.BUY, Decimal(1), MarginMode.ISOLATED, OrderPriceType.MARKET, None, 10
)


@pytest.fixture(scope="module")
def services(postgres_database: str) -> Iterator[Services]:
    made = bootstrap(
        Settings(db_url=postgres_database, demo_seed=False, server_key=secrets.token_hex(32))
    )
    made.seed()
    try:
        yield made
    finally:
        made.close()


def _within(seconds: float, fn: Callable[[], Any]) -> Any:
    """Run ``fn`` on a thread; fail unless it returns within ``seconds``."""
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert out, f"still waiting after {seconds} s: the read waited for a row lock"
    return out[0]


def test_a_get_answers_while_another_connection_holds_the_traders_row_lock(
    services: Services, postgres_database: str
) -> None:
    ctx = services.ctx
    uid = sim.create_user(ctx, "trader", Decimal(100_000)).uid
    opened = handlers.place_order(ctx, uid, BUY)
    now = ctx.clock.now_ms()
    page = Page(False, None, 100, now - 86_400_000, now)
    dsn = make_url(normalize_url(postgres_database)).set(drivername="postgresql")
    with psycopg.connect(dsn.render_as_string(hide_password=False)) as holder:
        holder.execute("SELECT uid FROM accounts WHERE uid = %s FOR UPDATE", [uid])
        rows = _within(5, lambda: queries.position_list(ctx, uid))
        view = _within(5, lambda: queries.current_positions(ctx, uid, "BTC-USDT", page))
        user = _within(5, lambda: sim.user_view(ctx, uid))
        holder.rollback()
    assert [r.volume for r in rows] == [Decimal(1)]
    assert [p.sub_position_id for p in view.positions] == [opened.sub_position_id]
    assert view.liquidation  # isolated: priced
    assert list(user.account.positions) == [opened.sub_position_id]


def test_reads_leave_the_kept_copy_for_the_next_order(services: Services) -> None:
    ctx = services.ctx
    versions = services.account_versions
    assert versions is not None
    uid = sim.create_user(ctx, "trader", Decimal(100_000)).uid
    handlers.place_order(ctx, uid, BUY)  # the process keeps the trader's account
    queries.position_list(ctx, uid)
    sim.user_view(ctx, uid)
    hits = versions.hits
    handlers.place_order(ctx, uid, BUY)
    assert versions.hits == hits + 1  # the reads neither took nor expired the kept copy
