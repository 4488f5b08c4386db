"""Two stores on one PostgreSQL database (as two server processes) settle funding once."""

from __future__ import annotations

import secrets
import threading
from decimal import Decimal

import pytest

from copytrade.bootstrap import bootstrap
from copytrade.config import Settings
from copytrade.domain.enums import MarginMode, OrderDirection, OrderPriceType
from copytrade.domain.funding import EIGHT_HOURS_MS
from copytrade.domain.trading import OpenRequest
from copytrade.service import handlers, sim
from copytrade.service.funding import FundingSchedule, SettlementSummary, settle_funding

pytestmark = pytest.mark.postgres

T0 = 1_800_000_000_000


def test_a_settlement_two_processes_attempt_at_once_is_applied_once(
    postgres_database: str,
) -> None:
    options = {
        "db_url": postgres_database,
        "server_key": secrets.token_hex(32),
        "demo_seed": False,
        "funding_mode": "rate",
    }
    first, second = bootstrap(Settings(**options)), bootstrap(Settings(**options))
    try:
        first.seed()
        trader = sim.create_user(first.ctx, "trader", Decimal(1_000_000)).uid
        order = OpenRequest(
            "BTC-USDT",
            OrderDirection.BUY,
            Decimal(10),
            MarginMode.CROSS,
            OrderPriceType.MARKET,
            None,
            10,
        )
        handlers.place_order(first.ctx, trader, order)
        for services in (first, second):
            services.clock.freeze(T0)
        # as each server's ticker does: the schedule starts (its watermark row) at the clock
        assert FundingSchedule(first.ctx).due(T0) is None
        assert FundingSchedule(second.ctx).due(T0) is None
        at = T0 + EIGHT_HOURS_MS
        start = threading.Barrier(2)
        results: list[SettlementSummary | None] = []

        def settle(services: object) -> None:
            start.wait()
            results.append(settle_funding(services.ctx, at))  # type: ignore[attr-defined]

        threads = [threading.Thread(target=settle, args=(s,)) for s in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(r is None for r in results) == [False, True]
        with first.ctx.reads() as reads:
            rows = [f for f in reads.user_report(trader).fills if f.offset == "funding"]
        assert [(f.ts, f.volume) for f in rows] == [(at, Decimal(10))]
    finally:
        first.close()
        second.close()
