"""v5 order history, the one-way position mode, lead settings and the public trade tape and
candles are kept by the store: a server restarted on the same SQLite file shows them unchanged."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from copytrade.testing.server import LiveServer

V6 = "/api/v6/copyTrading/trader/"
T0 = 1_800_000_000_000


def _data(reply: httpx.Response) -> Any:
    body = reply.json()
    assert reply.status_code == 200, reply.text
    assert body["code"] in (200, "0"), body
    return body["data"]


def _order(side: str, volume: str, **extra: Any) -> dict[str, Any]:
    body = {"contract_code": "BTC-USDT", "margin_mode": "cross", "side": side, "volume": volume}
    return {"type": "market", **body, **extra}


def _snapshot(server: LiveServer, trader: dict[str, Any]) -> dict[str, Any]:
    history = {"contract_code": "BTC-USDT", "margin_mode": "cross", "limit": "100"}
    return {
        "history": _data(server.signed(trader, "GET", "/v5/trade/order/history", params=history)),
        "by client id": _data(
            server.signed(
                trader,
                "GET",
                "/v5/trade/order",
                params={"contract_code": "BTC-USDT", "client_order_id": "4242"},
            )
        ),
        "mode": _data(server.signed(trader, "GET", "/v5/position/mode")),
        "positions": [
            (p["position_side"], p["direction"], p["volume"])
            for p in _data(server.signed(trader, "GET", "/v5/trade/position/opens"))
        ],
        "config": _data(server.signed(trader, "GET", V6 + "config")),
        "trades": server.http.get(
            "/linear-swap-ex/market/history/trade", params={"contract_code": "BTC-USDT", "size": 50}
        ).json()["data"],
        "candles": server.http.get(
            "/linear-swap-ex/market/history/kline",
            params={"contract_code": "BTC-USDT", "period": "1min", "size": 5},
        ).json()["data"],
    }


def test_v5_orders_mode_settings_and_the_tape_survive_a_restart(tmp_path: Path) -> None:
    db_path = tmp_path / "restart.db"
    with LiveServer(db_path=db_path, demo_seed=False) as first:
        trader = first.create_user("trader", balance="100000")
        follower = first.create_user("follower", balance="50000")
        first.follow(follower["uid"], trader["uid"], "1")
        body = {"instType": "PERP", "enable": True, "profitSharingRatio": "0.15"}
        _data(first.signed(trader, "POST", V6 + "follower-settings", body=body))
        mode = {"position_mode": "single_side"}
        _data(first.signed(trader, "POST", "/v5/position/mode", body=mode))
        for order in (
            _order("buy", "3", client_order_id="4242"),
            _order("sell", "1"),
            _order("sell", "4"),  # flips to a short of 2
            _order("sell", "1", type="limit", price="90000"),  # rests, adds to the short
        ):
            _data(first.signed(trader, "POST", "/v5/trade/order", body=order))
        cancel = {"contract_code": "BTC-USDT"}
        _data(first.signed(trader, "POST", "/v5/trade/cancel_all_orders", body=cancel))
        first.set_price("BTC-USDT", "60500")
        before = _snapshot(first, trader)
        first.stop()

    assert [(o["side"], o["state"], o["volume"]) for o in before["history"]] == [
        ("sell", "canceled", "1"),
        ("sell", "filled", "4"),
        ("sell", "filled", "1"),
        ("buy", "filled", "3"),
    ]
    assert before["by client id"]["client_order_id"] == "4242"
    assert before["mode"] == {"position_mode": "single_side"}
    assert before["positions"] == [("both", "sell", "2")]
    assert before["config"][0]["profitSharingRatio"] == "0.15"
    prints = [t for batch in before["trades"] for t in batch["data"]]
    assert len(prints) == 8  # 3 + 1 + 2 + 2 for the lead, the same for the copy
    assert sum(Decimal(str(c["vol"])) for c in before["candles"]) == 16

    with LiveServer(db_path=db_path, demo_seed=False) as second:
        after = _snapshot(second, trader)
    assert after == before


def test_an_armed_cancel_after_survives_a_restart(tmp_path: Path) -> None:
    # the deadline is a meta row: a server restarted on the file fires it, once, on time
    db = tmp_path / "cancel-after.db"
    order = {**_order("buy", "1"), "type": "limit", "price": "1000"}  # rests far under the mark

    def opens(server: LiveServer) -> list[str]:
        return [o["order_id"] for o in _data(server.signed(trader, "GET", "/v5/trade/order/opens"))]

    with LiveServer(db_path=db, demo_seed=False) as first:
        first.admin("/_sim/clock", {"now_ms": T0})
        trader = first.create_user("trader", balance="100000")
        resting = _data(first.signed(trader, "POST", "/v5/trade/order", body=order))["order_id"]
        arm = {"on_off": 1, "time_out": 6000}
        _data(first.signed(trader, "POST", "/v5/trade/cancel-after", body=arm))
    with LiveServer(db_path=db, demo_seed=False) as second:
        second.admin("/_sim/clock", {"now_ms": T0 + 5999})
        assert opens(second) == [resting]
        second.admin("/_sim/clock", {"advance_ms": 1})
        assert opens(second) == []
        again = _data(second.signed(trader, "POST", "/v5/trade/order", body=order))["order_id"]
        second.admin("/_sim/clock", {"advance_ms": 60_000})
        assert opens(second) == [again]  # fired once: disarmed
