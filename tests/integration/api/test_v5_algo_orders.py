"""v5 trigger and trailing orders over the wire: price-path ticks, clock jumps, refusals.

A server of its own per backend (its paths and clock must not reach other modules). A clock jump
applies every tick it passes in order, each at its own time: an order a tick fires is placed at
that tick's time, with the mark of that tick, and copied to the followers then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any

import httpx
import pytest

from copytrade.testing.server import LiveServer

T0 = 1_800_000_000_000
ALGO = "/v5/algo/order"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    server_on: Callable[..., AbstractContextManager[LiveServer]],
) -> Iterator[LiveServer]:
    with server_on(request.param, tmp_path_factory) as server:
        yield server


@pytest.fixture(autouse=True)
def fresh(server: LiveServer) -> None:
    server.admin("/_sim/reset")
    server.admin("/_sim/clock", {"now_ms": T0})


def _data(reply: httpx.Response) -> Any:
    body = reply.json()
    assert (reply.status_code, body["code"]) == (200, 200), body
    return body["data"]


def _team(server: LiveServer) -> tuple[dict[str, Any], dict[str, Any]]:
    trader = server.create_user("trader", balance="100000")
    follower = server.create_user("follower", balance="100000")
    server.follow(follower["uid"], trader["uid"], "1")
    return trader, follower


def _algo(side: str, volume: str, **extra: Any) -> dict[str, Any]:
    body = {"contract_code": "ETH-USDT", "margin_mode": "cross", "side": side, "volume": volume}
    return {"type": "market", **body, **extra}


def _replay(server: LiveServer, *prices: int) -> None:
    """ETH-USDT walks ``prices``, one a minute from T0 (the first at once)."""
    csv = "t,price\n" + "".join(f"{i * 60_000},{p}\n" for i, p in enumerate(prices))
    server.admin("/_sim/markets/ETH-USDT/path", {"kind": "replay", "csv": csv})


def _opens(server: LiveServer, creds: dict[str, Any]) -> list[Any]:
    return _data(server.signed(creds, "GET", "/v5/algo/order/opens"))


def _fills(server: LiveServer, creds: dict[str, Any]) -> list[tuple[str, str, int]]:
    rows = _data(server.signed(creds, "GET", "/v5/trade/order/details"))
    return [(f["side"], f["trade_volume"], int(f["created_time"])) for f in rows]


def test_a_trigger_fires_on_the_tick_inside_a_clock_jump_at_that_ticks_time(
    server: LiveServer,
) -> None:
    trader, follower = _team(server)
    _replay(server, 3000, 3050, 3200, 3040, 3000)
    (ack,) = _data(
        server.signed(trader, "POST", ALGO, body=_algo("buy", "2", trigger_price="3100"))
    )
    (resting,) = _opens(server, trader)
    assert (resting["algo_id"], resting["type"], resting["trigger_type"]) == (
        ack["algo_id"],
        "trigger",
        "ge",
    )

    server.admin("/_sim/clock", {"advance_ms": 240_000})  # 3050, 3200 (fires), 3040, 3000

    assert _opens(server, trader) == []
    at = T0 + 120_000
    assert _fills(server, trader) == [("buy", "2", at)]
    assert _fills(server, follower) == [("buy", "2", at)]
    (fired,) = _data(
        server.signed(trader, "GET", ALGO, params={"algo_id": ack["algo_id"], "type": "trigger"})
    )
    assert (fired["state"], int(fired["updated_time"])) == ("effective", at)
    order = _data(
        server.signed(
            trader,
            "GET",
            "/v5/trade/order",
            params={"contract_code": "ETH-USDT", "order_id": fired["relation_order_id"]},
        )
    )
    assert Decimal(order["trade_avg_price"]) > 3150  # filled at the 3200 tick's mark


def test_a_trailing_stop_follows_the_path_and_fires_on_the_retrace_tick(
    server: LiveServer,
) -> None:
    trader, follower = _team(server)
    _data(server.signed(trader, "POST", "/v5/trade/order", body=_algo("buy", "3")))
    _replay(server, 3000, 3050, 3200, 3150, 3100, 3300)
    body = _algo("sell", "3", callback_rate="0.03", reduce_only=1)
    body |= {"type": "trailing_stop", "order_price_type": "formula_price"}
    (ack,) = _data(server.signed(trader, "POST", ALGO, body=body))

    server.admin("/_sim/clock", {"advance_ms": 300_000})  # 3200 × 0.97 = 3104: the 3100 tick

    assert server.user(trader["uid"])["positions"] == []
    (closed,) = server.user(follower["uid"])["closed_positions"]
    assert closed["close_time"] == T0 + 240_000
    history = _data(
        server.signed(trader, "GET", "/v5/algo/order/history", params={"type": "trailing_stop"})
    )
    assert [(h["algo_id"], h["state"], h["extreme_price"]) for h in history] == [
        (ack["algo_id"], "effective", "3200")
    ]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (_algo("buy", "1", type="trigger"), 1067),  # no trigger_price
        (_algo("buy", "1", trigger_price="3000"), 1067),  # at the mark
        (_algo("buy", "1", type="limit", trigger_price="3100"), 1067),  # no price
        (_algo("buy", "1", type="trailing_stop", callback_rate="0.2"), 1067),
        (_algo("buy", "1", type="trailing_stop", callback_rate="0.0001"), 1067),
        (_algo("buy", "1", type="trailing_stop"), 1067),  # no callback_rate
        (_algo("hold", "1", trigger_price="3100"), 1067),
        (_algo("buy", "0", trigger_price="3100"), 1067),
        (_algo("buy", "1", trigger_price="3100", position_side="both"), 1067),  # hedge mode
        (_algo("buy", "1", trigger_price="3100", position_side="long", reduce_only=1), 1067),
        (_algo("sell", "1", trigger_price="2900", reduce_only=1), 1048),  # nothing to reduce
        (_algo("buy", "1", trigger_price="3100", contract_code="XRP-USDT"), 1013),
        (_algo("buy", "1", trigger_price="3100", contract_code=""), 1066),
    ],
)
def test_a_refused_algo_order_answers_its_code_and_stores_nothing(
    server: LiveServer, body: dict[str, Any], code: int
) -> None:
    trader = server.create_user("trader", balance="100000")
    reply = server.signed(trader, "POST", ALGO, body=body).json()
    assert (reply["code"], reply["data"]) == (code, None), reply
    assert _opens(server, trader) == []
    history = server.signed(trader, "GET", "/v5/algo/order/history").json()["data"]
    assert history == []


def test_cancel_takes_an_array_or_an_object_and_answers_each_id(server: LiveServer) -> None:
    trader = server.create_user("trader", balance="100000")
    ids = [
        _data(server.signed(trader, "POST", ALGO, body=_algo("buy", "1", trigger_price=p)))[0][
            "algo_id"
        ]
        for p in ("3100", "2900")
    ]
    items = [{"contract_code": "ETH-USDT", "algo_id": i} for i in (ids[0], "1")]
    done = _data(server.signed(trader, "POST", "/v5/algo/cancel_orders", body=items))
    assert [(d["algo_id"], d["code"]) for d in done] == [(ids[0], 200), ("1", 1017)]
    one = {"contract_code": "ETH-USDT", "algo_id": ids[1]}
    assert (
        _data(server.signed(trader, "POST", "/v5/algo/cancel-orders", body=one))[0]["code"] == 200
    )
    assert _opens(server, trader) == []
    states = {"states": "canceled", "type": "trigger"}
    history = _data(server.signed(trader, "GET", "/v5/algo/order/history", params=states))
    assert [h["algo_id"] for h in history] == ids[::-1]  # newest first


def test_a_liquidation_cancels_the_conditional_orders_of_its_scope_only(
    server: LiveServer,
) -> None:
    """Spec §7.10: a liquidated scope's unfilled orders go, v5 trigger orders among them.

    The isolated long's stop and its add-on trigger are cancelled with reason
    ``liquidation``; a trigger in BTC and a cross one in ETH are another scope and stay.
    """
    trader, _ = _team(server)
    long_50x = {
        "contract_code": "ETH-USDT",
        "amount": "100",
        "margin_mode": "isolated",
        "order_direction": 1,
        "lever": 50,
        "order_price_type": 17,
    }
    placed = server.signed(trader, "POST", "/copytrading/trader/place_order", body=long_50x)
    assert placed.json()["code"] == 200
    isolated = {"margin_mode": "isolated", "position_side": "long"}
    stop = _algo("sell", "100", trigger_price="2700", reduce_only=1, **isolated)
    add_on = _algo("buy", "10", trigger_price="3200", **isolated)
    btc = _algo("buy", "1", trigger_price="70000", contract_code="BTC-USDT", **isolated)
    cross = _algo("buy", "1", trigger_price="3300", position_side="long")
    ids = [
        _data(server.signed(trader, "POST", ALGO, body=body))[0]["algo_id"]
        for body in (stop, add_on, btc, cross)
    ]

    server.set_price("ETH-USDT", "2850")  # past the 50x long's maintenance margin

    (closed,) = server.user(trader["uid"])["closed_positions"]
    assert closed["close_type"] == 5
    assert sorted(o["algo_id"] for o in _opens(server, trader)) == sorted(ids[2:])
    history = _data(
        server.signed(trader, "GET", "/v5/algo/order/history", params={"type": "trigger"})
    )
    assert sorted((h["algo_id"], h["state"], h["cancel_reason"]) for h in history) == sorted(
        [(ids[0], "canceled", "liquidation"), (ids[1], "canceled", "liquidation")]
    )
    server.set_price("ETH-USDT", "3250")  # the add-on's trigger: cancelled, it opens nothing
    assert server.user(trader["uid"])["positions"] == []
