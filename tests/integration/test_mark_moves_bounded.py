"""Mark moves (candle material, migration 0009) stay bounded on every store.

Each store keeps a contract's newest ``MARK_MOVES_KEPT`` moves, pruning all contracts once per
``MARK_MOVES_PRUNE_EVERY`` moves; what the candles read (the newest) is never lost. The two
limits are lowered here so that a few dozen moves show it.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from copytrade.bootstrap import bootstrap
from copytrade.config import Settings
from copytrade.service import ports, sim

KEPT, EVERY = 12, 5


@pytest.mark.parametrize(
    "kind", ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_each_contract_keeps_only_its_newest_mark_moves(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ports, "MARK_MOVES_KEPT", KEPT)
    monkeypatch.setattr(ports, "MARK_MOVES_PRUNE_EVERY", EVERY)
    if kind == "memory":
        url = "memory://"
    elif kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'moves.db'}"
    else:
        url = str(request.getfixturevalue("postgres_database"))
    services = bootstrap(Settings(db_url=url, demo_seed=False, server_key=secrets.token_hex(32)))
    run: Any = lambda fn, *args: services.executor.submit(fn, *args).result(timeout=60)  # noqa: E731
    try:
        run(services.seed)
        ctx = services.ctx

        def kept(code: str) -> list[Decimal]:
            with ctx.reads() as reads:
                return [price for _ts, price in reads.recent_marks(code, 10**6)][::-1]

        btc = [Decimal(60000 + i) for i in range(40)]
        eth = [Decimal(3000 + i) for i in range(7)]  # a quiet contract
        sizes = []
        for i, price in enumerate(btc):
            run(sim.set_price, ctx, "BTC-USDT", price)
            if i < len(eth):
                run(sim.set_price, ctx, "ETH-USDT", eth[i])
            sizes.append(len(kept("BTC-USDT")))

        assert max(sizes) <= KEPT + EVERY  # bounded all along, not only at the end
        held = kept("BTC-USDT")
        assert KEPT <= len(held) <= KEPT + EVERY
        assert held == btc[-len(held) :]  # the newest, in order: nothing the candles read is lost
        quiet = kept("ETH-USDT")  # the seed's move, then ours: below the cap, none pruned
        assert quiet[-len(eth) :] == eth
        assert len(quiet) <= KEPT
    finally:
        services.close()
