"""Migration 0008 on every store: a UID's spot and futures balances and a follower's settings are
written and read back by the in-memory store, a real SQLite file and a real PostgreSQL database,
through the ports the use cases use (units of work, admin units, reads), and survive a restart of
the database stores."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest

from copytrade.bootstrap import Services, bootstrap
from copytrade.config import Settings
from copytrade.domain.copytrading import Follow
from copytrade.domain.enums import CopyMode, Wallet
from copytrade.domain.model import ChangeSet
from copytrade.service import sim

D = Decimal
T = TypeVar("T")
NOW = 1_719_304_200_000

SET = Follow(
    0,
    0,
    D("1.5"),
    CopyMode.FIXED_AMOUNT,
    fixed_amount=D("25.125"),
    tp_ratio=D("0.3"),
    sl_ratio=D("0.15"),
    total_stop_loss=D("400"),
    contracts=frozenset({"BTC-USDT", "ETH-USDT"}),
)


def _open(url: str) -> Services:
    services = bootstrap(Settings(db_url=url, demo_seed=False, server_key=secrets.token_hex(32)))
    services.executor.submit(services.seed).result(timeout=60)
    services.clock.freeze(NOW)
    return services


class Store:
    """One store under test, reopened on demand (a database store restarts from its rows)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.services = _open(url)

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        return self.services.executor.submit(fn, *args).result(timeout=60)

    def reopen(self) -> None:
        if self.url == "memory://":
            return  # nothing outlives the process
        self.services.close()
        self.services = _open(self.url)

    def user(self, role: str, balance: str) -> int:
        return int(self.run(sim.create_user, self.services.ctx, role, D(balance)).uid)

    def funds(self, uid: int) -> tuple[Decimal, Decimal, Decimal]:
        """The three balances as a unit of work and as a read see them (they must agree)."""

        def in_unit() -> tuple[Decimal, Decimal, Decimal]:
            with self.services.ctx.uow() as uow:
                a = uow.accounts.get(uid)
                assert a is not None
                return (a.balance, a.spot, a.futures)

        def in_reads() -> tuple[Decimal, Decimal, Decimal]:
            with self.services.ctx.reads() as reads:
                a = reads.account(uid)
                assert a is not None
                return (a.balance, a.spot, a.futures)

        unit, read = self.run(in_unit), self.run(in_reads)
        assert unit == read
        return unit


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        url = "memory://"
    elif request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'funds.db'}"
    else:
        url = str(request.getfixturevalue("postgres_database"))
    s = Store(url)
    if request.param == "postgres":  # one database per module: start from nothing
        s.run(sim.reset, s.services.ctx)
        s.run(s.services.seed)
    try:
        yield s
    finally:
        s.services.close()


def test_a_new_account_holds_nothing_in_spot_and_futures(store: Store) -> None:
    uid = store.user("trader", "1000")
    assert store.funds(uid) == (D(1000), D(0), D(0))


def test_admin_sets_each_balance_and_it_persists(store: Store) -> None:
    uid = store.user("trader", "1000")
    other = store.user("follower", "5")

    def fund() -> None:
        with store.services.ctx.admin() as uow:
            uow.admin.set_wallet(uid, Wallet.SPOT, D("12.34567891"))
            uow.admin.set_wallet(uid, Wallet.FUTURES, D("0.00000001"))
            uow.admin.set_wallet(uid, Wallet.COPY_TRADING, D("999.5"))
            uow.commit()

    store.funds(uid)  # kept in memory by the embedded store: the write must expire it
    store.run(fund)
    assert store.funds(uid) == (D("999.5"), D("12.34567891"), D("0.00000001"))
    assert store.funds(other) == (D(5), D(0), D(0))
    store.reopen()
    assert store.funds(uid) == (D("999.5"), D("12.34567891"), D("0.00000001"))


def test_a_change_set_writes_all_three_balances(store: Store) -> None:
    uid = store.user("trader", "1000")

    def fund() -> None:
        with store.services.ctx.admin() as uow:
            uow.admin.set_wallet(uid, Wallet.SPOT, D(300))
            uow.commit()

    def move(amount: Decimal) -> None:
        with store.services.ctx.uow() as uow:
            account = uow.accounts.get(uid)
            assert account is not None
            account.spot -= amount
            account.futures += amount / 2
            account.balance += amount / 2
            changes = ChangeSet()
            changes.touch(account)
            uow.accounts.save(changes)
            uow.commit()

    def move_and_fail() -> None:
        with store.services.ctx.uow() as uow:
            account = uow.accounts.get(uid)
            assert account is not None
            account.spot -= 100
            account.balance += 100
            changes = ChangeSet()
            changes.touch(account)
            uow.accounts.save(changes)
            raise RuntimeError("refused after the save")

    store.run(fund)
    store.run(move, D("100.5"))
    assert store.funds(uid) == (D("1050.25"), D("199.5"), D("50.25"))
    with pytest.raises(RuntimeError, match="refused after the save"):
        store.run(move_and_fail)
    assert store.funds(uid) == (D("1050.25"), D("199.5"), D("50.25"))
    store.reopen()
    assert store.funds(uid) == (D("1050.25"), D("199.5"), D("50.25"))


def test_follow_settings_round_trip(store: Store) -> None:
    trader = store.user("trader", "1000")
    plain_uid = store.user("follower", "1000")
    set_uid = store.user("follower", "1000")
    plain = Follow(plain_uid, trader, D(2))
    configured = Follow(
        set_uid,
        trader,
        SET.ratio,
        SET.mode,
        SET.fixed_amount,
        SET.tp_ratio,
        SET.sl_ratio,
        SET.total_stop_loss,
        SET.contracts,
    )

    def start() -> None:
        ctx = store.services.ctx
        with ctx.admin() as uow:
            uow.follows.start_many(
                [(ctx.ids.next_id(), plain), (ctx.ids.next_id(), configured)], NOW
            )
            uow.commit()

    def in_unit() -> tuple[list[Follow], Follow | None]:
        with store.services.ctx.uow() as uow:
            follows, _accounts = uow.accounts.followers_of(trader)
            return follows, uow.follows.active_of(set_uid)

    def in_reads() -> tuple[Follow | None, Follow | None]:
        with store.services.ctx.reads() as reads:
            return reads.active_follow_of(set_uid), reads.active_follow_of(plain_uid)

    def seen() -> tuple[object, ...]:
        return (*store.run(in_unit), *store.run(in_reads))

    store.run(start)
    expected = ([plain, configured], configured, configured, plain)
    assert seen() == expected
    store.reopen()
    assert seen() == expected


def test_a_plain_follow_stores_no_settings(tmp_path: Path) -> None:
    path = tmp_path / "plain.db"
    s = Store(f"sqlite:///{path}")
    try:
        trader = s.user("trader", "1000")
        plain, configured = s.user("follower", "10"), s.user("follower", "10")
        s.run(sim.follow, s.services.ctx, plain, trader, D(1))
        ctx = s.services.ctx

        def start() -> None:
            with ctx.admin() as uow:
                follow = Follow(configured, trader, D(1), tp_ratio=D("0.5"))
                uow.follows.start_many([(ctx.ids.next_id(), follow)], NOW)
                uow.commit()

        s.run(start)
    finally:
        s.services.close()
    with sqlite3.connect(path) as db:
        rows = dict(db.execute("SELECT follower_uid, settings FROM follows").fetchall())
    assert rows == {plain: None, configured: '{"tp_ratio":"0.5"}'}
