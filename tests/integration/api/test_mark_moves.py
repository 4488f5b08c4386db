"""What a mark-price move sets off: TP/SL closes and resting-order fills, with the copies."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from copytrade.testing.server import LiveServer

PLACE = "/copytrading/trader/place_order"


def _setup(server: LiveServer) -> tuple[dict[str, Any], dict[str, Any]]:
    trader = server.create_user("trader", balance="100000")
    follower = server.create_user("follower", balance="100000")
    server.follow(follower["uid"], trader["uid"], "1")
    return trader, follower


def _place(server: LiveServer, creds: dict[str, Any], **body: Any) -> None:
    order = {
        "contract_code": "ETH-USDT",
        "amount": "5",
        "margin_mode": "isolated",
        "order_direction": 1,
        "lever": 10,
        "order_price_type": 17,
        **body,
    }
    reply = server.signed(creds, "POST", PLACE, body=order).json()
    assert reply["code"] == 200, reply


def test_take_profit_and_stop_loss_fire_on_the_mark_and_close_the_copies(
    live_server: LiveServer,
) -> None:
    server = live_server
    server.set_price("ETH-USDT", "3000")
    trader, follower = _setup(server)
    _place(server, trader, tp_trigger_price="3100", sl_trigger_price="2900")
    _place(server, trader, order_direction=2, tp_trigger_price="2800", sl_trigger_price="3050")

    summary = server.set_price("ETH-USDT", "3060")  # the short's SL (>= 3050) fires, not the TP
    assert summary["tpsl_triggered"] == 1
    view = server.user(trader["uid"])
    (short,) = view["closed_positions"]
    assert (short["position_side"], short["close_type"]) == ("short", 4)
    assert [p["position_side"] for p in view["positions"]] == ["long"]

    server.set_price("ETH-USDT", "3100")  # the long's TP (>= 3100)
    view = server.user(trader["uid"])
    assert view["positions"] == []
    assert sorted(p["close_type"] for p in view["closed_positions"]) == [3, 4]
    copies = server.user(follower["uid"])
    assert copies["positions"] == []
    assert sorted(p["close_type"] for p in copies["closed_positions"]) == [3, 4]
    server.set_price("ETH-USDT", "3000")


def test_a_resting_limit_order_fills_as_maker_when_the_book_crosses_it_and_is_copied(
    live_server: LiveServer,
) -> None:
    server = live_server
    server.set_price("DOT-USDT", "10")
    trader, follower = _setup(server)
    _place(server, trader, contract_code="DOT-USDT", order_price_type=1, price="9.5", amount="100")
    view = server.user(trader["uid"])
    assert view["positions"] == []
    (resting,) = view["open_orders"]
    assert (resting["price"], resting["volume"], resting["filled"]) == ("9.5", "100", "0")
    assert server.user(follower["uid"])["positions"] == []  # nothing filled, nothing copied

    summary = server.set_price("DOT-USDT", "9.4")  # best ask now below 9.5
    assert summary["orders_filled"] == 1
    view = server.user(trader["uid"])
    assert view["open_orders"] == []
    (position,) = view["positions"]
    assert (position["open_avg_price"], position["volume"]) == ("9.5", "100")
    (fill,) = view["fills"]
    assert fill["liquidity"] == "maker"
    assert Decimal(fill["fee"]) == Decimal(100) * Decimal("9.5") * Decimal("0.0002")
    (copy,) = server.user(follower["uid"])["positions"]
    assert copy["lead_sub_position_id"] == position["sub_position_id"]
    assert copy["volume"] == "100"
    server.set_price("DOT-USDT", "10")
