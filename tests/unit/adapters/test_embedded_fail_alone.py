"""The embedded store on a real SQLite file: a command that fails, wherever it fails, fails
alone; the others of its commit group commit and answer, and memory equals the file after."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from copytrade.adapters.db.loader import load_accounts
from copytrade.adapters.db.sql import SQLITE
from copytrade.adapters.db.sqlite_store import EmbeddedStore
from copytrade.bootstrap import Services, bootstrap
from copytrade.config import Settings
from copytrade.domain.enums import MarginMode, OrderDirection, OrderPriceType
from copytrade.domain.model import ChangeSet
from copytrade.domain.trading import OpenRequest
from copytrade.service import handlers, sim
from copytrade.service.context import ServiceContext

BUY = OpenRequest(
    "BTC-USDT", OrderDirection.BUY, Decimal(1), MarginMode.CROSS, OrderPriceType.MARKET, None, 10
)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    made = bootstrap(Settings(db_url=f"sqlite:///{tmp_path / 'fail.db'}", demo_seed=False))
    made.executor.submit(made.seed).result(timeout=30)
    try:
        yield made
    finally:
        made.close()


def store(services: Services) -> EmbeddedStore:
    assert isinstance(services.store, EmbeddedStore)
    return services.store


def traders(services: Services, count: int) -> list[int]:
    """Traders with one follower each (so that a command touches two accounts)."""
    uids = []
    for _ in range(count):
        uid = sim.create_user(services.ctx, "trader", Decimal(100_000)).uid
        sim.bulk_followers(services.ctx, uid, 1, Decimal(100_000), Decimal(1))
        uids.append(uid)
    return uids


def one_group(services: Services, *calls: tuple[Callable[..., Any], tuple[Any, ...]]) -> list[Any]:
    """Run the calls in one commit group (one loop iteration); return results or errors."""
    run = store(services).executor.run

    async def main() -> list[Any]:
        return list(
            await asyncio.gather(*(run(fn, *args) for fn, args in calls), return_exceptions=True)
        )

    return asyncio.run(main())


def assert_memory_equals_the_file(services: Services) -> None:
    kept = store(services).cache.accounts
    assert kept, "the test meant memory to hold accounts"
    with store(services).engine.connect() as conn:
        fresh = load_accounts(conn, SQLITE, sorted(kept))
    assert fresh == kept


def open_positions(services: Services, uid: int) -> int:
    with store(services).engine.connect() as conn:
        account = load_accounts(conn, SQLITE, [uid])[uid]
    return len(account.positions)


def fail_after_commit(ctx: ServiceContext, uid: int) -> None:
    """A command that mutated, persisted and committed, then failed on its way out."""
    handlers.place_order(ctx, uid, BUY)
    raise RuntimeError("injected after a committed mutation")


def fail_in_the_middle(ctx: ServiceContext, uid: int) -> None:
    """A command that failed half way through mutating live accounts, before its commit."""
    with ctx.uow() as uow:
        trader = uow.accounts.get(uid)
        assert trader is not None
        _follows, followers = uow.accounts.followers_of(uid)
        trader.balance -= Decimal(50_000)
        for follower in followers.values():
            follower.positions.clear()
        raise RuntimeError("injected after a mutation")


def fail_at_group_commit(ctx: ServiceContext, uid: int) -> None:
    """A command whose rows break the group's commit: one of the trader's positions again."""
    with ctx.uow() as uow:
        trader = uow.accounts.get(uid)
        assert trader is not None
        existing = next(iter(trader.positions.values()))
        changes = ChangeSet()
        changes.save_position(existing, new=True)  # a second insert of the same primary key
        trader.balance += Decimal(1)
        changes.touch(trader)
        uow.accounts.save(changes)
        uow.commit()


@pytest.mark.parametrize("poison", [fail_after_commit, fail_in_the_middle])
def test_a_command_failing_after_a_mutation_fails_alone(
    services: Services, poison: Callable[..., None]
) -> None:
    a, b, c = traders(services, 3)
    ctx = services.ctx
    one_group(services, (handlers.place_order, (ctx, b, BUY)))  # b and its follower in memory
    replies = one_group(
        services,
        (handlers.place_order, (ctx, a, BUY)),
        (handlers.place_order, (ctx, b, BUY)),
        (poison, (ctx, b)),
        (handlers.place_order, (ctx, b, BUY)),
        (handlers.place_order, (ctx, c, BUY)),
    )
    assert isinstance(replies[2], RuntimeError)
    others = [r for i, r in enumerate(replies) if i != 2]
    assert all(r.copies == 1 for r in others), others
    assert [open_positions(services, uid) for uid in (a, b, c)] == [1, 3, 1]
    assert_memory_equals_the_file(services)
    # and the next group starts from the right state
    assert handlers.place_order(ctx, b, BUY).copies == 1
    assert open_positions(services, b) == 4
    assert_memory_equals_the_file(services)


def test_a_command_breaking_the_group_commit_fails_alone(services: Services) -> None:
    a, b = traders(services, 2)
    ctx = services.ctx
    one_group(services, (handlers.place_order, (ctx, b, BUY)))
    replies = one_group(
        services,
        (handlers.place_order, (ctx, a, BUY)),
        (fail_at_group_commit, (ctx, b)),
        (handlers.place_order, (ctx, b, BUY)),
    )
    assert "UNIQUE" in str(replies[1])
    assert replies[0].copies == replies[2].copies == 1
    assert [open_positions(services, uid) for uid in (a, b)] == [1, 2]
    handlers.place_order(ctx, a, BUY)  # memory is loaded again from the file
    assert_memory_equals_the_file(services)


def test_an_admin_call_with_a_uid_past_64_bits_fails_alone(services: Services) -> None:
    [a] = traders(services, 1)
    ctx = services.ctx
    replies = one_group(
        services,
        (handlers.place_order, (ctx, a, BUY)),
        (sim.follow, (ctx, 2**63, a, Decimal(1))),
        (sim.set_balance, (ctx, 2**64, Decimal(1))),
        (handlers.place_order, (ctx, a, BUY)),
    )
    assert isinstance(replies[1], Exception)
    assert isinstance(replies[2], Exception)
    assert replies[0].copies == replies[3].copies == 1
    assert open_positions(services, a) == 2
    assert_memory_equals_the_file(services)
