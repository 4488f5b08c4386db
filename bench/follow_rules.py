"""What watching followers' own rules adds to a mark move (``sim.set_price``), in process.

A trader with N followers, each holding one copy; the mark moves back and forth between two
prices that close nothing. Side *off* runs ``set_price`` with the rules step replaced by a no-op
(the code before follower settings); side *plain*, on the same store, the real step with
followers that set no rule (the usual case: one follows read per trader, nothing else); side
*ruled*, on a store of its own, every follower with a TP/SL ratio and a total stop-loss that the
moves never reach (every follow evaluated, one realised-PnL query per 500 followers). Sides
alternate move by move; the figure is the median process CPU time per move (all threads of this
process; a PostgreSQL server's own CPU is not in it).

Usage::

    .venv/bin/python bench/follow_rules.py [--followers 100,1000] [--moves 20]
        [--postgres postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from copytrade.bootstrap import Services, bootstrap
from copytrade.config import Settings
from copytrade.domain.copytrading import Follow
from copytrade.domain.enums import MarginMode, OrderDirection, OrderPriceType
from copytrade.domain.trading import OpenRequest
from copytrade.service import handlers, sim
from copytrade.service.follow_rules import RulesOutcome

D = Decimal


@contextmanager
def store(kind: str, pg_url: str | None) -> Iterator[str]:
    """Yield a store URL (a fresh SQLite file or PostgreSQL database)."""
    if kind == "memory":
        yield "memory://"
    elif kind == "sqlite":
        with TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        from conftest import fresh_postgres_database

        assert pg_url is not None
        with fresh_postgres_database(pg_url) as url:
            yield url


def setup(services: Services, followers: int, ruled: bool) -> None:
    """A trader with ``followers`` followers, each holding one copy of a 1-contract lead."""
    run: Callable[..., Any] = lambda fn, *a: services.executor.submit(fn, *a).result(600)  # noqa: E731
    ctx = services.ctx
    trader = run(sim.create_user, ctx, "trader", D(10**9)).uid
    for _ in range(followers):
        uid = run(sim.create_user, ctx, "follower", D(10**6)).uid
        rules: dict[str, Any] = (
            {"tp_ratio": D(50), "sl_ratio": D(50), "total_stop_loss": D(10**5)} if ruled else {}
        )
        run(sim.follow_with, ctx, Follow(uid, trader, D(1), **rules))
    req = OpenRequest(
        "ETH-USDT", OrderDirection.BUY, D(1), MarginMode.CROSS, OrderPriceType.MARKET, None, 5
    )
    run(handlers.place_order, ctx, trader, req)


def measure(kind: str, followers: int, moves: int, pg_url: str | None) -> dict[str, float]:
    """Return the median CPU ms per move of each side."""
    real = sim.rules_after_move
    samples: dict[str, list[float]] = {"off": [], "plain": [], "ruled": []}
    worlds: dict[str, Services] = {}
    with store(kind, pg_url) as plain_url, store(kind, pg_url) as ruled_url:
        for side, url in (("plain", plain_url), ("ruled", ruled_url)):
            services = bootstrap(
                Settings(db_url=url, demo_seed=False, server_key=secrets.token_hex(32))
            )
            services.executor.submit(services.seed).result(600)
            setup(services, followers, ruled=side == "ruled")
            worlds[side] = services
        try:
            for i in range(moves):
                price = D(3010) if i % 2 else D(2990)
                order = ["off", "plain", "ruled"] if i % 2 else ["ruled", "plain", "off"]
                for side in order:
                    services = worlds["plain" if side == "off" else side]
                    sim.rules_after_move = (  # type: ignore[assignment]
                        (lambda *a: RulesOutcome()) if side == "off" else real
                    )
                    started = time.process_time()
                    services.executor.submit(sim.set_price, services.ctx, "ETH-USDT", price).result(
                        600
                    )
                    samples[side].append((time.process_time() - started) * 1000)
        finally:
            sim.rules_after_move = real  # type: ignore[assignment]
            for services in worlds.values():
                services.close()
    return {side: statistics.median(v) for side, v in samples.items()}


def main() -> None:
    """Print the median CPU ms per mark move of each side, per store and size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", default="100,1000")
    parser.add_argument("--moves", type=int, default=20)
    parser.add_argument("--postgres", default=None, help="PostgreSQL server URL (optional)")
    args = parser.parse_args()
    kinds = ["memory", "sqlite"] + (["postgres"] if args.postgres else [])
    print(f"{'store':9} {'followers':>9} {'off ms':>9} {'plain ms':>9} {'ruled ms':>9}")
    for kind in kinds:
        for n in (int(x) for x in args.followers.split(",")):
            got = measure(kind, n, args.moves, args.postgres)
            print(
                f"{kind:9} {n:9d} {got['off']:9.2f} {got['plain']:9.2f} {got['ruled']:9.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
