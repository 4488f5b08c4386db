"""Two close_all_position calls for one key at the same time: one closes, the other gets 1046."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import httpx

from copytrade.protocol.signing import Signer, encode_query, format_timestamp
from copytrade.testing.server import LiveServer

P = "/copytrading/trader/"
CLOSE_KEY = {"contract_code": "ETH-USDT", "margin_mode": "isolated", "position_side": "short"}


def test_concurrent_close_all_for_one_key_closes_each_position_exactly_once(
    live_server: LiveServer,
) -> None:
    trader = live_server.create_user("trader", balance="100000")
    follower = live_server.create_user("follower", balance="100000")
    live_server.follow(follower["uid"], trader["uid"], "1")
    for amount in ("3", "5", "7"):
        order = {
            "contract_code": "ETH-USDT",
            "amount": amount,
            "margin_mode": "isolated",
            "order_price_type": 17,
            "order_direction": 2,
            "lever": 5,
        }
        assert live_server.signed(trader, "POST", P + "place_order", body=order).json()["data"]

    signer = Signer(trader["access_key"], secret_key=trader["secret_key"])
    stamp = format_timestamp(datetime.now(UTC))
    pairs = signer.signed_params(
        "POST", live_server.host, P + "close_all_position", timestamp=stamp
    )
    url = f"{P}close_all_position?{encode_query(pairs)}"
    body = json.dumps(CLOSE_KEY)
    start = threading.Barrier(2)
    replies: list[httpx.Response] = []
    lock = threading.Lock()

    def close_all() -> None:
        # One client (connection) per thread, so the two requests really race on the server.
        with httpx.Client(base_url=live_server.base_url, timeout=30) as own:
            start.wait()
            reply = own.post(url, content=body, headers={"content-type": "application/json"})
        with lock:
            replies.append(reply)

    threads = [threading.Thread(target=close_all) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    codes = sorted(r.json()["code"] for r in replies)
    assert codes == [200, 1046]
    view = live_server.user(trader["uid"])
    assert view["positions"] == []
    closed = view["closed_positions"]
    assert sorted(p["volume"] for p in closed) == ["3", "5", "7"]
    assert len({p["sub_position_id"] for p in closed}) == 3
    assert {p["close_type"] for p in closed} == {2}
    copies = live_server.user(follower["uid"])
    assert copies["positions"] == []
    assert sorted(p["volume"] for p in copies["closed_positions"]) == ["3", "5", "7"]
