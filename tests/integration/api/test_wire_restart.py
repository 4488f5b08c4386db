"""A server restarted on the same SQLite file serves the same state and the same keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from copytrade.testing.server import LiveServer

P = "/copytrading/trader/"
CONTRACTS = ("BTC-USDT", "ETH-USDT", "DOT-USDT")


def _data(reply: httpx.Response) -> Any:
    body = reply.json()
    assert reply.status_code == 200, reply.text
    assert body["code"] == 200, body
    return body["data"]


def _order(contract: str, mode: str, direction: int, amount: str, lever: int, **extra: str) -> Any:
    return {
        "contract_code": contract,
        "amount": amount,
        "margin_mode": mode,
        "order_price_type": 17,
        "order_direction": direction,
        "lever": lever,
        **extra,
    }


def _snapshot(server: LiveServer, users: list[dict[str, Any]]) -> dict[str, Any]:
    """Everything a client or an operator can read about ``users``."""
    snap: dict[str, Any] = {"markets": server.admin_get("/_sim/markets")}
    for creds in users:
        uid = creds["uid"]
        snap[f"admin {uid}"] = server.user(uid)
        for code in CONTRACTS:
            query = {"contract_code": code}
            snap[f"current {uid} {code}"] = _data(
                server.signed(creds, "GET", P + "current_positions", params=query)
            )
            snap[f"history {uid} {code}"] = _data(
                server.signed(creds, "GET", P + "position_positions", params=query)
            )
    return snap


def test_positions_balances_and_keys_survive_a_restart_and_secrets_are_encrypted(
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "restart.db"
    with LiveServer(db_path=db_path, demo_seed=False) as first:
        trader = first.create_user("trader", balance="50000")
        follower = first.create_user("follower", balance="30000")
        first.follow(follower["uid"], trader["uid"], "0.5")
        for body in (
            _order("BTC-USDT", "cross", 1, "10", 10),
            _order("BTC-USDT", "cross", 1, "4", 10),
            _order("ETH-USDT", "isolated", 2, "6", 5, tp_trigger_price="2500"),
            _order("DOT-USDT", "isolated", 1, "20", 3, sl_trigger_price="8"),
        ):
            assert _data(first.signed(trader, "POST", P + "place_order", body=body)) is True
        first.set_price("BTC-USDT", "61000")
        oldest = first.user(trader["uid"])["positions"][0]["sub_position_id"]
        close = {"sub_position_id": oldest}
        assert _data(first.signed(trader, "POST", P + "close_order", body=close)) is True
        before = _snapshot(first, [trader, follower])
        first.stop()

    trader_view = before[f"admin {trader['uid']}"]
    follower_view = before[f"admin {follower['uid']}"]
    assert len(trader_view["positions"]) == 3
    assert len(trader_view["closed_positions"]) == 1
    assert len(follower_view["positions"]) == 3
    assert len(follower_view["closed_positions"]) == 1
    assert before["markets"]["BTC-USDT"]["mark_price"] == "61000"

    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert db_path in files
    for secret in (trader["secret_key"], follower["secret_key"]):
        for path in files:
            assert secret.encode() not in path.read_bytes(), f"secret in clear in {path.name}"

    with LiveServer(db_path=db_path, demo_seed=False) as second:
        after = _snapshot(second, [trader, follower])
        assert after == before
        # The keys still sign writes too, and the state moves on from where it was.
        body = {"contract_code": "BTC-USDT", "margin_mode": "cross", "position_side": "long"}
        assert _data(second.signed(trader, "POST", P + "close_all_position", body=body)) is True
        assert [p["contract_code"] for p in second.user(follower["uid"])["positions"]] == [
            "ETH-USDT",
            "DOT-USDT",
        ]
