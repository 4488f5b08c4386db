"""v1 ``place_order`` respects the position mode v5 set (spec htx-copytrading.md §7.3).

v1 traders are hedge-only and v1 has no offset: on an account switched to one-way mode
(``POST /v5/position/mode`` ``single_side``) a v1 opening order is refused with HTX's 1503
and changes nothing; back in hedge mode it opens again. Checked on every store, and once
over the wire.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from copytrade.bootstrap import Services, bootstrap
from copytrade.config import Settings
from copytrade.domain.enums import MarginMode, OrderDirection, OrderPriceType
from copytrade.domain.errors import OneWayPositionMode
from copytrade.domain.trading import OpenRequest
from copytrade.service import handlers, sim, v5
from copytrade.testing.server import LiveServer

D = Decimal


def _services(url: str) -> Services:
    services = bootstrap(Settings(db_url=url, demo_seed=False, server_key=secrets.token_hex(32)))
    services.executor.submit(services.seed).result(timeout=60)
    return services


def _buy(volume: str) -> OpenRequest:
    return OpenRequest(
        "BTC-USDT", OrderDirection.BUY, D(volume), MarginMode.CROSS, OrderPriceType.MARKET, None, 10
    )


@pytest.mark.parametrize(
    "kind", ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_v1_place_order_is_refused_in_one_way_mode_on_every_store(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if kind == "memory":
        url = "memory://"
    elif kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'mode.db'}"
    else:
        url = str(request.getfixturevalue("postgres_database"))
    services = _services(url)
    run: Any = lambda fn, *args: services.executor.submit(fn, *args).result(timeout=60)  # noqa: E731
    try:
        ctx = services.ctx
        trader = int(run(sim.create_user, ctx, "trader", D(100000)).uid)
        follower = int(run(sim.create_user, ctx, "follower", D(50000)).uid)
        run(sim.follow, ctx, follower, trader, D(1))
        assert run(v5.set_position_mode, ctx, trader, "single_side") == "single_side"
        before = run(sim.user_view, ctx, trader).account

        with pytest.raises(OneWayPositionMode):
            run(handlers.place_order, ctx, trader, _buy("2"))

        after = run(sim.user_view, ctx, trader).account
        assert (after.balance, after.positions, after.orders) == (
            before.balance,
            before.positions,
            before.orders,
        )
        assert run(sim.user_view, ctx, follower).account.positions == {}  # nothing copied

        run(v5.set_position_mode, ctx, trader, "dual_side")
        placed = run(handlers.place_order, ctx, trader, _buy("2"))
        assert (placed.filled, placed.copies) == ("2", 1)
    finally:
        services.close()


def test_v1_place_order_in_one_way_mode_answers_1503_over_the_wire(
    live_server: LiveServer,
) -> None:
    server = live_server
    trader = server.create_user("trader", balance="100000")
    mode = server.signed(trader, "POST", "/v5/position/mode", body={"position_mode": "single_side"})
    assert mode.json()["code"] == 200, mode.json()
    order = {
        "contract_code": "BTC-USDT",
        "amount": "1",
        "margin_mode": "cross",
        "order_direction": 1,
        "lever": 10,
        "order_price_type": 17,
    }
    reply = server.signed(trader, "POST", "/copytrading/trader/place_order", body=order).json()
    assert (reply["code"], reply["msg"], reply["success"]) == (
        1503,
        "The trader only supports the two-way position mode.",
        False,
    )
    assert server.user(trader["uid"])["positions"] == []
