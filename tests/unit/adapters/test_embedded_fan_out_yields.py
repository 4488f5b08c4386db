"""A large fan-out on the embedded store does not hold the event loop, and stays atomic.

The copy wave pauses every few hundred followers; meanwhile other traders' commands are served
and committed, a read of a follower shows the state before the wave (nothing half-done), and a
command that needs an account the wave holds waits for the wave and then runs on its result.
Real SQLite file, the store's own executor, no mocks.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from copytrade.adapters.db.loader import load_accounts
from copytrade.adapters.db.sql import SQLITE
from copytrade.adapters.db.sqlite_store import EmbeddedStore
from copytrade.bootstrap import Services, bootstrap
from copytrade.config import Settings
from copytrade.domain.copytrading import PAUSE_EVERY
from copytrade.domain.enums import MarginMode, OrderDirection, OrderPriceType, PositionSide
from copytrade.domain.trading import OpenRequest
from copytrade.service import handlers, queries, sim

BUY = OpenRequest(
    "BTC-USDT", OrderDirection.BUY, Decimal(1), MarginMode.CROSS, OrderPriceType.MARKET, None, 10
)
FOLLOWERS = 4 * PAUSE_EVERY  # several pauses per wave


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    made = bootstrap(Settings(db_url=f"sqlite:///{tmp_path / 'wave.db'}", demo_seed=False))
    made.executor.submit(made.seed).result(timeout=30)
    try:
        yield made
    finally:
        made.close()


def store(services: Services) -> EmbeddedStore:
    assert isinstance(services.store, EmbeddedStore)
    return services.store


def trader_with_followers(services: Services, count: int) -> tuple[int, list[int]]:
    ctx = services.ctx
    uid = sim.create_user(ctx, "trader", Decimal(1_000_000)).uid
    return uid, sim.bulk_followers(ctx, uid, count, Decimal(100_000), Decimal(1))


def committed_positions(services: Services, uid: int) -> int:
    with store(services).engine.connect() as conn:
        return len(load_accounts(conn, SQLITE, [uid])[uid].positions)


async def until(condition: Any) -> None:
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("never happened")


def test_another_traders_command_completes_while_a_wave_is_in_flight(
    services: Services,
) -> None:
    lead, followers = trader_with_followers(services, FOLLOWERS)
    bystander, _ = trader_with_followers(services, 1)
    run = store(services).executor.run
    ctx = services.ctx

    async def main() -> tuple[bool, Any, Any]:
        wave = asyncio.ensure_future(run(handlers.place_order, ctx, lead, BUY))
        await until(lambda: store(services).executor.claims)  # the wave has paused
        quick = await run(handlers.place_order, ctx, bystander, BUY)
        wave_done_first = wave.done()
        return wave_done_first, quick, await wave

    wave_done_first, quick, result = asyncio.run(main())
    assert not wave_done_first
    assert quick.copies == 1
    assert result.copies == FOLLOWERS
    assert committed_positions(services, followers[-1]) == 1
    assert not store(services).executor.claims
    # the wave's rows (written with their constant columns inline) read back as kept
    kept = store(services).cache.accounts
    with store(services).engine.connect() as conn:
        assert load_accounts(conn, SQLITE, followers) == {u: kept[u] for u in followers}


def test_a_wave_is_invisible_until_it_commits_whole(services: Services) -> None:
    lead, followers = trader_with_followers(services, FOLLOWERS)
    run = store(services).executor.run
    ctx = services.ctx
    seen: list[tuple[int, int, int]] = []

    async def main() -> Any:
        wave = asyncio.ensure_future(
            run(
                handlers.close_all_position,
                ctx,
                lead,
                "BTC-USDT",
                MarginMode.CROSS,
                PositionSide.LONG,
            )
        )

        def both() -> tuple[int, int]:  # one call: the wave cannot commit between the reads
            first = queries.position_list(ctx, followers[0])
            return len(first), len(queries.position_list(ctx, followers[-1]))

        while not wave.done():
            first, last = await run(both)
            seen.append((first, last, committed_positions(services, followers[-1])))
        return await wave

    asyncio.run(_open(services, lead))
    assert committed_positions(services, followers[0]) == 1
    result = asyncio.run(main())
    assert result.copies_closed == FOLLOWERS
    # every read saw all copies open (before) or all closed (after the commit), never a mix
    assert (1, 1, 1) in seen, "no read ran while the close was in flight"
    # (the file is read after the reads: the commit may land in between)
    assert set(seen) <= {(1, 1, 1), (1, 1, 0), (0, 0, 0)}, seen
    assert committed_positions(services, followers[0]) == 0
    assert committed_positions(services, followers[-1]) == 0


async def _open(services: Services, lead: int) -> None:
    result = await store(services).executor.run(handlers.place_order, services.ctx, lead, BUY)
    assert result.copies == FOLLOWERS


def test_a_command_on_a_held_account_waits_for_the_wave(services: Services) -> None:
    lead, followers = trader_with_followers(services, FOLLOWERS)
    run = store(services).executor.run
    ctx = services.ctx

    async def main() -> tuple[Any, Any]:
        wave = asyncio.ensure_future(run(handlers.place_order, ctx, lead, BUY))
        await until(lambda: followers[0] in store(services).executor.claims)
        # the follower's own order needs the account the wave is changing
        own = asyncio.ensure_future(run(handlers.place_order, ctx, followers[0], BUY))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert not own.done()
        return await wave, await own

    result, own = asyncio.run(main())
    assert result.copies == FOLLOWERS
    assert own.filled == "1"
    # the follower holds the copy and its own position: the wait lost neither
    assert committed_positions(services, followers[0]) == 2
    kept = store(services).cache.accounts[followers[0]]
    with store(services).engine.connect() as conn:
        assert load_accounts(conn, SQLITE, [followers[0]])[followers[0]] == kept


def test_a_group_breaking_while_a_wave_is_suspended_reruns_the_wave(services: Services) -> None:
    from copytrade.domain.model import ChangeSet
    from copytrade.service.context import ServiceContext

    lead, followers = trader_with_followers(services, FOLLOWERS)
    other, _ = trader_with_followers(services, 1)
    run = store(services).executor.run
    ctx = services.ctx

    def break_the_group(ctx: ServiceContext, uid: int) -> None:
        """Rows that fail the group's commit: one of the trader's positions inserted again."""
        with ctx.uow() as uow:
            trader = uow.accounts.get(uid)
            assert trader is not None
            changes = ChangeSet()
            changes.save_position(next(iter(trader.positions.values())), new=True)
            uow.accounts.save(changes)
            uow.commit()

    async def main() -> tuple[Any, Any]:
        await run(handlers.place_order, ctx, other, BUY)
        wave = asyncio.ensure_future(run(handlers.place_order, ctx, lead, BUY))
        await until(lambda: store(services).executor.claims)
        broken = await asyncio.gather(run(break_the_group, ctx, other), return_exceptions=True)
        return broken[0], await wave

    broken, result = asyncio.run(main())
    assert "UNIQUE" in str(broken)
    assert result.copies == FOLLOWERS
    assert committed_positions(services, lead) == 1
    assert committed_positions(services, followers[0]) == 1
    assert committed_positions(services, followers[-1]) == 1
    assert not store(services).executor.claims
    kept = store(services).cache.accounts
    with store(services).engine.connect() as conn:
        assert load_accounts(conn, SQLITE, sorted(kept)) == kept
    assert gc.isenabled()  # off while the wave was suspended, on again after its rerun


def test_the_collector_is_off_while_a_wave_is_suspended_and_back_after(
    services: Services,
) -> None:
    """A wave's hundreds of thousands of live objects are not walked by young collections
    while it pauses; the collector is back on once no call is suspended and the group the wave
    ended in has committed."""
    lead, _ = trader_with_followers(services, FOLLOWERS)
    run = store(services).executor.run
    ctx = services.ctx
    assert gc.isenabled()

    async def main() -> tuple[bool, Any]:
        wave = asyncio.ensure_future(run(handlers.place_order, ctx, lead, BUY))
        await until(lambda: store(services).executor.claims)  # the wave has paused
        during = gc.isenabled()
        return during, await wave

    during, result = asyncio.run(main())
    assert result.copies == FOLLOWERS
    assert not during
    assert gc.isenabled()
