"""The whole close_all_position story over loopback HTTP against a real SQLite file."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from copytrade.testing.server import LiveServer

CLOSE_ALL = "/copytrading/trader/close_all_position"
PLACE = "/copytrading/trader/place_order"


def _ok(reply: Any) -> Any:
    body = reply.json()
    assert reply.status_code == 200
    assert body["success"] is True, body
    assert body["code"] == 200
    assert len(body["tid"]) == 32
    return body["data"]


def _open(
    server: LiveServer,
    creds: dict[str, Any],
    contract: str,
    mode: str,
    direction: int,
    amount: str,
    lever: int = 10,
) -> None:
    _ok(
        server.signed(
            creds,
            "POST",
            PLACE,
            body={
                "contract_code": contract,
                "amount": amount,
                "margin_mode": mode,
                "order_price_type": 17,
                "order_direction": direction,
                "lever": lever,
            },
        )
    )


def _money(view: dict[str, Any]) -> tuple[Decimal, Decimal, Decimal]:
    """Return (realised gross PnL, fees paid, profit shares net) from the admin view."""
    gross = sum(
        (
            Decimal(p["profit"]) + Decimal(p["open_fee"]) + Decimal(p["close_fee"])
            for p in view["closed_positions"]
        ),
        Decimal(0),
    )
    fees = sum((Decimal(f["fee"]) for f in view["fills"]), Decimal(0))
    shares = sum((Decimal(s["amount"]) for s in view["profit_shares_received"]), Decimal(0))
    shares -= sum((Decimal(s["amount"]) for s in view["profit_shares_paid"]), Decimal(0))
    return gross, fees, shares


def test_close_all_closes_trader_and_follower_copies_and_nothing_else(
    live_server: LiveServer,
) -> None:
    server = live_server
    trader = server.create_user("trader", balance="100000")
    followers = []
    for ratio in ("1", "0.5", "2"):
        f = server.create_user("follower", balance="50000")
        server.follow(f["uid"], trader["uid"], ratio)
        followers.append(f)
    _open(server, trader, "BTC-USDT", "cross", 1, "10")
    _open(server, trader, "BTC-USDT", "cross", 1, "4")
    _open(server, trader, "BTC-USDT", "cross", 2, "3")  # short side: must stay open
    _open(server, trader, "ETH-USDT", "cross", 1, "5")  # other contract: must stay open
    server.set_price("BTC-USDT", "62000")

    assert (
        _ok(
            server.signed(
                trader,
                "POST",
                CLOSE_ALL,
                body={
                    "contract_code": "BTC-USDT",
                    "margin_mode": "cross",
                    "position_side": "long",
                },
            )
        )
        is True
    )

    view = server.user(trader["uid"])
    left = {(p["contract_code"], p["position_side"]) for p in view["positions"]}
    assert left == {("BTC-USDT", "short"), ("ETH-USDT", "long")}
    closed = view["closed_positions"]
    assert len(closed) == 2
    assert {p["close_type"] for p in closed} == {2}
    gross, fees, shares = _money(view)
    assert gross > 0  # price rose from 60,500 to 62,000
    # balance = start + realised PnL − fees + profit shares received; the still-open cross
    # positions hold only their open fee out of the wallet
    assert Decimal(view["balance"]) == Decimal(100000) + gross - fees + shares
    for f, ratio in zip(followers, ("1", "0.5", "2"), strict=True):
        fv = server.user(f["uid"])
        assert {(p["contract_code"], p["position_side"]) for p in fv["positions"]} == left
        long_copies = [p for p in fv["closed_positions"] if p["position_side"] == "long"]
        assert sum(Decimal(p["volume"]) for p in long_copies) == Decimal(14) * Decimal(ratio)
        assert all(p["close_type"] == 2 for p in long_copies)
        f_gross, f_fees, f_shares = _money(fv)
        assert f_shares < 0  # profitable copies paid their share
        assert Decimal(fv["balance"]) == Decimal(50000) + f_gross - f_fees + f_shares

    again = server.signed(
        trader,
        "POST",
        CLOSE_ALL,
        body={
            "contract_code": "BTC-USDT",
            "margin_mode": "cross",
            "position_side": "long",
        },
    ).json()
    assert again["code"] == 1046
    assert again["success"] is False
    assert again["data"] is None
    assert again["msg"] == "The position for this contract does not exist."


def test_history_rows_carry_fees_profit_and_follow_takes(live_server: LiveServer) -> None:
    server = live_server
    trader = server.create_user("trader", balance="100000")
    follower = server.create_user("follower", balance="50000")
    server.follow(follower["uid"], trader["uid"], "1")
    _open(server, trader, "DOT-USDT", "isolated", 1, "100", lever=5)
    server.set_price("DOT-USDT", "12")
    _ok(
        server.signed(
            trader,
            "POST",
            CLOSE_ALL,
            body={
                "contract_code": "dot-usdt",
                "margin_mode": "isolated",
                "position_side": "long",
            },
        )
    )
    history = _ok(
        server.signed(
            trader,
            "GET",
            "/copytrading/trader/position_positions",
            params={"contract_code": "DOT-USDT"},
        )
    )
    (row,) = history["positions"]
    assert row["close_type"] == 2
    assert row["volume"] == "100"
    profit = Decimal(row["profit"])
    gross = (Decimal(row["close_avg_price"]) - Decimal(row["open_avg_price"])) * 100
    assert profit == gross - Decimal(row["open_fee"]) - Decimal(row["close_fee"])
    copy = server.user(follower["uid"])["closed_positions"][0]
    assert Decimal(row["follow_takes"]) == Decimal(copy["profit"]) * Decimal("0.1")
    assert history["query_id"] == int(row["sub_position_id"])
    now_open = _ok(
        server.signed(
            trader,
            "GET",
            "/copytrading/trader/current_positions",
            params={"contract_code": "DOT-USDT"},
        )
    )
    assert now_open == {"positions": [], "query_id": None}
