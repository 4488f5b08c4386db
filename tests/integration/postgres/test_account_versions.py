"""PostgreSQL: each process keeps the accounts it committed, and uses them only while their row
version shows nobody wrote them since. Two bootstrapped services on one database stand for two
server processes."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import pytest

from copytrade.adapters.db import loader, pg_uow, records, sql
from copytrade.adapters.db.pg_uow import SharedUnitOfWork
from copytrade.adapters.db.versions import AccountVersions
from copytrade.adapters.secrets import SecretBox
from copytrade.bootstrap import Services, bootstrap
from copytrade.config import Settings
from copytrade.domain.enums import MarginMode, OrderDirection, OrderPriceType, PositionSide
from copytrade.domain.errors import PositionNotFound
from copytrade.domain.model import Account
from copytrade.domain.trading import OpenRequest
from copytrade.service import handlers, sim

pytestmark = [pytest.mark.postgres]

KEY = secrets.token_hex(32)

BUY_ONE = OpenRequest(
    "BTC-USDT", OrderDirection.BUY, Decimal(1), MarginMode.CROSS, OrderPriceType.MARKET, None, 10
)


@pytest.fixture(scope="module")
def processes(postgres_database: str) -> Iterator[tuple[Services, Services]]:
    made = [
        bootstrap(Settings(db_url=postgres_database, demo_seed=False, server_key=KEY))
        for _ in range(2)
    ]
    made[0].seed()
    try:
        yield made[0], made[1]
    finally:
        for services in made:
            services.close()


def versions(services: Services) -> AccountVersions:
    assert services.account_versions is not None
    return services.account_versions


def new_trader(services: Services) -> int:
    return sim.create_user(services.ctx, "trader", Decimal("100000")).uid


def kept_view(services: Services, uid: int) -> Account:
    """The account as the process's own unit of work (kept copies included) sees it."""
    with services.ctx.uow() as uow:
        account = uow.accounts.get(uid)
    assert account is not None
    return account


def db_balance(services: Services, uid: int) -> Decimal:
    """The balance as the database has it (a unit of work without a cache)."""
    with SharedUnitOfWork(services.engine, SecretBox(KEY)) as uow:
        account = uow.accounts.get(uid)
        assert account is not None
        return account.balance


def test_a_process_reuses_the_account_it_committed(processes: tuple[Services, Services]) -> None:
    one, _ = processes
    uid = new_trader(one)
    handlers.place_order(one.ctx, uid, BUY_ONE)
    hits = versions(one).hits
    handlers.place_order(one.ctx, uid, BUY_ONE)  # the trader's row is unchanged since: a hit
    assert versions(one).hits == hits + 1
    assert len(kept_view(one, uid).positions) == 2


def test_a_write_by_another_process_expires_the_kept_copy(
    processes: tuple[Services, Services],
) -> None:
    one, two = processes
    uid = new_trader(one)
    handlers.place_order(one.ctx, uid, BUY_ONE)
    handlers.place_order(one.ctx, uid, BUY_ONE)  # process one now keeps two open positions
    closed = handlers.close_all_position(
        two.ctx, uid, "BTC-USDT", MarginMode.CROSS, PositionSide.LONG
    )
    assert len(closed.closed) == 2
    misses = versions(one).misses
    # process one's copy still shows both open; the version says otherwise, so it reloads
    with pytest.raises(PositionNotFound):
        handlers.close_all_position(one.ctx, uid, "BTC-USDT", MarginMode.CROSS, PositionSide.LONG)
    assert versions(one).misses == misses + 1
    expected = db_balance(two, uid)
    with one.ctx.uow() as uow:
        account = uow.accounts.get(uid)
        assert account is not None
        assert account.positions == {}
        assert account.balance == expected


def test_a_rolled_back_unit_leaves_no_copy_behind(processes: tuple[Services, Services]) -> None:
    one, _ = processes
    uid = new_trader(one)
    handlers.place_order(one.ctx, uid, BUY_ONE)
    before = db_balance(one, uid)
    with one.ctx.uow() as uow:
        account = uow.accounts.get(uid)
        assert account is not None
        account.balance -= Decimal(500)  # changed in memory, never committed
    with one.ctx.uow() as uow:
        account = uow.accounts.get(uid)
        assert account is not None
        assert account.balance == before


def test_an_admin_balance_write_expires_every_copy(processes: tuple[Services, Services]) -> None:
    one, two = processes
    uid = new_trader(one)
    handlers.place_order(one.ctx, uid, BUY_ONE)
    with two.ctx.uow() as uow:
        uow.admin.set_balance(uid, Decimal("123.45"))
        uow.commit()
    with one.ctx.uow() as uow:
        account = uow.accounts.get(uid)
        assert account is not None
        assert account.balance == Decimal("123.45")
        assert len(account.positions) == 1


def test_followers_copies_are_checked_one_by_one(processes: tuple[Services, Services]) -> None:
    one, two = processes
    trader = new_trader(one)
    followers = sim.bulk_followers(one.ctx, trader, 3, Decimal("10000"), Decimal("1"))
    handlers.place_order(one.ctx, trader, BUY_ONE)  # one keeps the trader and 3 followers
    # another process changes one follower only
    with two.ctx.uow() as uow:
        uow.admin.set_balance(followers[0], Decimal("9000"))
        uow.commit()
    closed = handlers.close_all_position(
        one.ctx, trader, "BTC-USDT", MarginMode.CROSS, PositionSide.LONG
    )
    assert closed.copies_closed == 3
    with SharedUnitOfWork(one.engine, SecretBox(KEY)) as uow:  # no cache: the database's own view
        for uid in followers:
            account = uow.accounts.get(uid)
            assert account is not None
            assert account.positions == {}
        changed = uow.accounts.get(followers[0])
        assert changed is not None
        # 9000 plus the close's PnL minus fees; a stale copy would have started from 10000
        assert Decimal("8900") < changed.balance < Decimal("9000")


def count_reads(monkeypatch: pytest.MonkeyPatch, needle: str) -> list[str]:
    """Record every query containing ``needle`` that any unit of work runs from now on."""
    reads: list[str] = []
    original = sql.query

    def counting(conn: Any, text: str, params: Sequence[object]) -> list[Any]:
        if needle in text:
            reads.append(text)
        return original(conn, text, params)

    for module in (sql, loader, records, pg_uow):
        monkeypatch.setattr(module, "query", counting)
    return reads


def test_a_trader_kept_with_its_follows_reads_them_once(
    processes: tuple[Services, Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, _ = processes
    trader = new_trader(one)
    sim.bulk_followers(one.ctx, trader, 2, Decimal("10000"), Decimal("1"))
    reads = count_reads(monkeypatch, "SELECT follower_uid, ratio, settings FROM follows")
    handlers.place_order(one.ctx, trader, BUY_ONE)  # reads the follows, keeps them
    handlers.place_order(one.ctx, trader, BUY_ONE)  # the version matched: kept follows used
    assert len(reads) == 1
    assert len(kept_view(one, trader).positions) == 2


def test_a_follow_made_by_another_process_is_copied_at_once(
    processes: tuple[Services, Services],
) -> None:
    one, two = processes
    trader = new_trader(one)
    first = sim.bulk_followers(one.ctx, trader, 1, Decimal("10000"), Decimal("1"))
    handlers.place_order(one.ctx, trader, BUY_ONE)  # one keeps the trader and its one follow
    late = sim.create_user(two.ctx, "follower", Decimal("10000")).uid
    sim.follow(two.ctx, late, trader, Decimal("1"))  # another process adds a follower
    result = handlers.place_order(one.ctx, trader, BUY_ONE)
    assert result.copies == 2  # the kept follows expired with the trader's version
    with two.ctx.uow() as uow:  # and another process ends one
        uow.follows.end(first[0], 0)
        uow.commit()
    result = handlers.place_order(one.ctx, trader, BUY_ONE)
    assert result.copies == 1
    with SharedUnitOfWork(one.engine, SecretBox(KEY)) as uow:
        late_account = uow.accounts.get(late)
        first_account = uow.accounts.get(first[0])
    assert late_account is not None
    assert first_account is not None
    assert len(late_account.positions) == 2
    assert len(first_account.positions) == 2  # copied twice, then no more after it unfollowed


def test_kept_marks_are_read_once(
    processes: tuple[Services, Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, _ = processes
    trader = new_trader(one)
    handlers.place_order(one.ctx, trader, BUY_ONE)
    reads = count_reads(monkeypatch, "FROM markets")
    handlers.place_order(one.ctx, trader, BUY_ONE)
    handlers.close_all_position(one.ctx, trader, "BTC-USDT", MarginMode.CROSS, PositionSide.LONG)
    assert reads == []  # the lock query's marks version matched the kept marks


def test_a_price_moved_by_another_process_is_used_at_once(
    processes: tuple[Services, Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = processes
    trader = new_trader(one)
    handlers.place_order(one.ctx, trader, BUY_ONE)  # one keeps the marks
    with one.ctx.uow() as uow:
        old = uow.markets.marks()["BTC-USDT"]
    new = old * 2
    sim.set_price(two.ctx, "BTC-USDT", new)  # another process moves the price
    reads = count_reads(monkeypatch, "FROM markets")
    handlers.place_order(one.ctx, trader, BUY_ONE)
    assert len(reads) == 1  # the version moved on: read again
    with SharedUnitOfWork(one.engine, SecretBox(KEY)) as uow:
        account = uow.accounts.get(trader)
    assert account is not None
    latest = max(account.positions.values(), key=lambda p: p.sub_position_id)
    # a market buy fills just above the new mark, nowhere near the old one
    assert new <= latest.open_avg_price < new * Decimal("1.01")
    sim.set_price(two.ctx, "BTC-USDT", old)  # leave the market as the other tests found it
