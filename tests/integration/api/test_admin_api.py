"""The emulator's admin API: the clock, and refusals that are clear 4xx, never 500."""

from __future__ import annotations

import time

import pytest

from copytrade.testing.server import LiveServer


def test_the_simulation_clock_can_be_frozen_advanced_and_resumed(
    live_server: LiveServer,
) -> None:
    http = live_server.http
    try:
        assert http.post("/_sim/clock", json={"now_ms": 1_719_304_200_000}).json() == {
            "now_ms": 1_719_304_200_000
        }
        assert http.post("/_sim/clock", json={"advance_ms": 60_000}).json() == {
            "now_ms": 1_719_304_260_000
        }
        trader = live_server.create_user("trader", balance="1000")
        opened = live_server.signed(
            trader,
            "POST",
            "/copytrading/trader/place_order",
            body={
                "contract_code": "DOT-USDT",
                "amount": "1",
                "margin_mode": "cross",
                "order_price_type": 17,
                "order_direction": 1,
                "lever": 5,
            },
        ).json()
        assert opened["code"] == 200  # signing uses the real clock, not the simulated one
        (position,) = live_server.user(trader["uid"])["positions"]
        assert position["open_time"] == 1_719_304_260_000
        resumed = http.post("/_sim/clock", json={"now_ms": None}).json()["now_ms"]
        assert resumed >= 1_719_304_260_000
    finally:  # back to real time for the rest of the session
        http.post("/_sim/clock", json={"now_ms": int(time.time() * 1000)})
        http.post("/_sim/clock", json={"now_ms": None})


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/_sim/clock", {"advance_ms": "soon"}),
        ("/_sim/clock", {"now_ms": True}),
        ("/_sim/users", {"role": "admin"}),
        ("/_sim/users", {"balance": "lots"}),
        ("/_sim/users", {"ed25519_public_key": "zz"}),
        ("/_sim/follow", {"follower_uid": "x", "trader_uid": 1}),
        ("/_sim/follow", {"follower_uid": 1, "trader_uid": 1, "ratio": "1"}),
        ("/_sim/followers/bulk", {"trader_uid": 1, "count": 200_000}),
        ("/_sim/markets/NOPE-USDT/price", {"price": "1"}),
        ("/_sim/markets/BTC-USDT/price", {"price": "-5"}),
    ],
)
def test_bad_admin_calls_get_a_clear_client_error(
    live_server: LiveServer, path: str, body: dict[str, object]
) -> None:
    reply = live_server.http.post(path, json=body)
    assert 400 <= reply.status_code < 500, (reply.status_code, reply.text)
    assert reply.json()["error"]
