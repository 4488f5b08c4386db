"""query_followers over HTTP: figures per follower, HTX's opaque ids, and paging (spec §6.18)."""

from __future__ import annotations

import base64
from decimal import Decimal

from copytrade.testing.server import LiveServer

FOLLOWERS = "/copytrading/trader/query_followers"


def test_followers_show_their_realised_copy_pnl_and_page_by_query_id(
    live_server: LiveServer,
) -> None:
    server = live_server
    server.set_price("DOT-USDT", "10")
    trader = server.create_user("trader", balance="100000")
    followers = [server.create_user("follower", balance="5000") for _ in range(3)]
    for f, ratio in zip(followers, ("1", "2", "0.5"), strict=True):
        server.follow(f["uid"], trader["uid"], ratio)
    for _ in range(2):  # two round trips, so each follower has two closed copies
        opened = server.signed(
            trader,
            "POST",
            "/copytrading/trader/place_order",
            body={
                "contract_code": "DOT-USDT",
                "amount": "10",
                "margin_mode": "cross",
                "order_price_type": 17,
                "order_direction": 1,
                "lever": 5,
            },
        ).json()
        assert opened["code"] == 200, opened
        server.set_price("DOT-USDT", "10.5")
        closed = server.signed(
            trader,
            "POST",
            "/copytrading/trader/close_all_position",
            body={
                "contract_code": "DOT-USDT",
                "margin_mode": "cross",
                "position_side": "long",
            },
        ).json()
        assert closed["code"] == 200, closed
        server.set_price("DOT-USDT", "10")

    first = server.signed(trader, "GET", FOLLOWERS, params={"limit": "2"}).json()["data"]
    second = server.signed(
        trader,
        "GET",
        FOLLOWERS,
        params={
            "limit": "2",
            "from_id": str(first["query_id"]),
        },
    ).json()["data"]
    rows = first["follower"] + second["follower"]
    assert len(first["follower"]) == 2
    assert len(second["follower"]) == 1
    by_uid = {int(base64.b64decode(r["follower_uid"] + "==")): r for r in rows}
    assert set(by_uid) == {f["uid"] for f in followers}
    for f in followers:
        view = server.user(f["uid"])
        row = by_uid[f["uid"]]
        expected = sum(Decimal(p["profit"]) for p in view["closed_positions"])
        assert len(view["closed_positions"]) == 2
        assert Decimal(row["follower_profit_amount"]) == expected
        assert Decimal(row["follower_trade_amount"]) == Decimal(view["balance"])
        assert row["follower_name"].startswith(("u***@", "f***@"))
