"""Liquidation on a mark move (spec §7.10), over loopback HTTP."""

from __future__ import annotations

from decimal import Decimal

from copytrade.testing.server import LiveServer

PLACE = "/copytrading/trader/place_order"


def test_a_mark_move_liquidates_an_isolated_position_and_its_copies(
    live_server: LiveServer,
) -> None:
    server = live_server
    trader = server.create_user("trader", balance="10000")
    follower = server.create_user("follower", balance="10000")
    server.follow(follower["uid"], trader["uid"], "1")
    for contract, lever in (("ETH-USDT", 100), ("DOT-USDT", 5)):
        reply = server.signed(
            trader,
            "POST",
            PLACE,
            body={
                "contract_code": contract,
                "amount": "10",
                "margin_mode": "isolated",
                "order_price_type": 17,
                "order_direction": 1,
                "lever": lever,
            },
        ).json()
        assert reply["code"] == 200, reply
    # lever 100 with AF 0.1: a ~1% fall takes the ETH margin rate past 1
    summary = server.set_price("ETH-USDT", "2960")
    assert summary["liquidated"] >= 2  # the lead and its copy

    for uid in (trader["uid"], follower["uid"]):
        view = server.user(uid)
        assert [p["contract_code"] for p in view["positions"]] == ["DOT-USDT"]
        (closed,) = view["closed_positions"]
        assert closed["contract_code"] == "ETH-USDT"
        assert closed["close_type"] == 5
        # isolated: the realised loss (fees included) never exceeds the initial margin
        initial_margin = Decimal(closed["position_margin"]) + Decimal(closed["open_fee"])
        assert Decimal(0) < -Decimal(closed["profit"]) <= initial_margin
