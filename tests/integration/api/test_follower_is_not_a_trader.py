"""A follower's key cannot act as a lead trader (spec §8.1): 1508 on the trading paths.

HTX's code 1508 ("You are using Copy Trading right now…") is the copy-trading code for a
follower that tries to trade on its own; ``1205`` stays the answer for a key without Trade.
"""

from __future__ import annotations

from typing import Any

import pytest

from copytrade.testing.server import LiveServer

P = "/copytrading/trader/"
ORDER: dict[str, Any] = {
    "contract_code": "BTC-USDT",
    "amount": "1",
    "margin_mode": "cross",
    "order_price_type": 17,
    "order_direction": 1,
    "lever": 10,
}
CLOSE_KEY = {"contract_code": "BTC-USDT", "margin_mode": "cross", "position_side": "long"}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("place_order", ORDER),
        ("close_all_position", CLOSE_KEY),
        ("close_order", {"sub_position_id": "1"}),
    ],
)
def test_a_follower_key_cannot_trade_as_a_lead(
    live_server: LiveServer, path: str, body: dict[str, Any]
) -> None:
    follower = live_server.create_user("follower")
    reply = live_server.signed(follower, "POST", P + path, body=body)
    assert reply.status_code == 200
    answer = reply.json()
    assert answer["code"] == 1508, answer
    assert answer["success"] is False
    assert answer["msg"].startswith("You are using Copy Trading right now.")
    assert live_server.user(int(follower["uid"]))["positions"] == []


def test_a_follower_can_still_read(live_server: LiveServer) -> None:
    follower = live_server.create_user("follower")
    reply = live_server.signed(
        follower, "GET", P + "current_positions", {"contract_code": "BTC-USDT"}
    )
    assert reply.json()["code"] == 200


def test_a_trader_key_still_trades(live_server: LiveServer, trader: dict[str, Any]) -> None:
    reply = live_server.signed(trader, "POST", P + "place_order", body=ORDER)
    assert reply.json()["code"] == 200, reply.text
