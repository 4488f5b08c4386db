"""Requests that commit together stay independent (embedded mode's group commit)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from copytrade.testing.server import LiveServer

PLACE = "/copytrading/trader/place_order"
CLOSE = "/copytrading/trader/close_order"


def test_a_malformed_request_in_a_group_fails_alone(live_server: LiveServer) -> None:
    server = live_server
    traders = [server.create_user("trader", balance="100000") for _ in range(8)]
    good = {
        "contract_code": "DOT-USDT",
        "amount": "1",
        "margin_mode": "cross",
        "order_price_type": 17,
        "order_direction": 1,
        "lever": 5,
    }
    # refused inside the route (an id that is neither a string nor an integer)
    bad = {"sub_position_id": ["not", "an", "id"]}

    def send(i: int) -> dict[str, object]:
        trader = traders[i % len(traders)]
        if i % 2:
            return dict(server.signed(trader, "POST", CLOSE, body=bad).json())
        return dict(server.signed(trader, "POST", PLACE, body=good).json())

    with ThreadPoolExecutor(16) as pool:
        replies = list(pool.map(send, range(64)))

    assert [r["code"] for r in replies[1::2]] == [1030] * 32
    assert [r["code"] for r in replies[0::2]] == [200] * 32
    opened = sum(len(server.user(t["uid"])["positions"]) for t in traders)
    assert opened == 32
