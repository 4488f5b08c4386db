"""Funding and impact settings set through one process reach the others through the store."""

from __future__ import annotations

from decimal import Decimal

from service_kit import make_ctx

from copytrade.adapters.memory import MemoryStore
from copytrade.domain.funding import FundingConfig
from copytrade.domain.impact import ImpactSettings
from copytrade.service import sim
from copytrade.service.market_settings import SharedMarketSettings, funding_from, funding_json


def _two_processes() -> tuple[SharedMarketSettings, SharedMarketSettings]:
    store = MemoryStore()  # two contexts over one store stand for two server processes
    configured = (FundingConfig(), ImpactSettings(copy_latency_ms=7))
    return (
        SharedMarketSettings(make_ctx(store), *configured),
        SharedMarketSettings(make_ctx(store), *configured),
    )


def test_a_change_published_by_one_process_is_applied_by_the_others_on_refresh() -> None:
    a, b = _two_processes()
    funding = FundingConfig(
        mode="rate", default_rate=Decimal("0.001"), rates={"BTC-USDT": Decimal("-0.0002")}
    )
    impact = ImpactSettings(60_000, "shuffle", 5, 250, Decimal("0.0003"))
    a.publish(funding, impact)
    assert (a.ctx.funding, a.ctx.impact) == (funding, impact)
    assert b.ctx.impact != impact  # not before its refresh
    b.refresh()
    assert (b.ctx.funding, b.ctx.impact) == (funding, impact)
    assert b.ctx.depth.half_life_ms == 60_000

    b.publish(impact=ImpactSettings())  # only impact: funding stays as published
    a.refresh()
    assert (a.ctx.funding, a.ctx.impact) == (funding, ImpactSettings())


def test_after_a_reset_every_process_goes_back_to_its_configured_settings() -> None:
    a, b = _two_processes()
    a.publish(impact=ImpactSettings(half_life_ms=1000))
    b.refresh()
    sim.reset(a.ctx)  # the keys go with the rest of the state
    a.revert()
    b.refresh()
    for shared in (a, b):
        assert shared.ctx.impact == ImpactSettings(copy_latency_ms=7)
        assert shared.ctx.funding == FundingConfig()


def test_funding_settings_survive_the_meta_tables_text() -> None:
    config = FundingConfig(
        "premium", 4 * 3_600_000, Decimal("0.00015"), {"ETH-USDT": Decimal(0)}, Decimal(250)
    )
    assert funding_from(funding_json(config)) == config
