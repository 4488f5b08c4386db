"""The other v5 endpoints (spec htx-v5-v6.md §7) over the wire, on memory, SQLite and PostgreSQL.

Batches answer per item and a refused item leaves the others placed; ``position_all`` closes
every position and the copies; closed positions and bills page with ``from``/``limit``/
``direct``; ``position/margin`` is v1 ``add_margin`` with v5 codes; ``cancel-after`` cancels
the open orders when the simulation clock passes its deadline, not before. Refusals answer in
the envelope and change nothing.
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
D = Decimal


@pytest.fixture(
    scope="module",
    params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def server(
    request: pytest.FixtureRequest,
    server_on: Callable[..., AbstractContextManager[LiveServer]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    if request.param == "memory":
        with LiveServer("memory://", demo_seed=False) as live:
            yield live
        return
    with server_on(request.param, tmp_path_factory) as live:
        yield live


@pytest.fixture(autouse=True)
def fresh(server: LiveServer) -> None:
    server.admin("/_sim/reset")
    server.admin("/_sim/clock", {"now_ms": T0})


def _data(reply: httpx.Response) -> Any:
    body = reply.json()
    assert (reply.status_code, body["code"]) == (200, 200), body
    return body["data"]


def _refused(reply: httpx.Response, code: int) -> None:
    body = reply.json()
    assert (reply.status_code, body["code"], body["data"]) == (200, code, None), body


def _team(server: LiveServer) -> tuple[dict[str, Any], dict[str, Any]]:
    trader = server.create_user("trader", balance="100000")
    follower = server.create_user("follower", balance="100000")
    server.follow(follower["uid"], trader["uid"], "1")
    return trader, follower


def _order(side: str, volume: str, **extra: Any) -> dict[str, Any]:
    body = {"contract_code": "ETH-USDT", "margin_mode": "cross", "side": side, "volume": volume}
    return {"type": "market", **body, **extra}


def _post(server: LiveServer, creds: dict[str, Any], path: str, body: Any) -> httpx.Response:
    return server.signed(creds, "POST", path, body=body)


def _get(server: LiveServer, creds: dict[str, Any], path: str, **params: Any) -> Any:
    return _data(server.signed(creds, "GET", path, params={k: str(v) for k, v in params.items()}))


def _volumes(server: LiveServer, uid: int) -> dict[tuple[str, str], D]:
    view = server.user(uid)
    out: dict[tuple[str, str], D] = {}
    for p in view["positions"]:
        key = (p["contract_code"], p["position_side"])
        out[key] = out.get(key, D(0)) + D(p["volume"])
    return out


def _open_orders(server: LiveServer, creds: dict[str, Any]) -> list[str]:
    return [o["order_id"] for o in _get(server, creds, "/v5/trade/order/opens")]


def _resting(server: LiveServer, creds: dict[str, Any], n: int) -> list[str]:
    """``n`` buy limits far under the mark (they rest)."""
    items = [_order("buy", "1", type="limit", price="1000") for _ in range(n)]
    return [i["order_id"] for i in _data(_post(server, creds, "/v5/trade/batch_orders", items))]


# --- batch_orders ------------------------------------------------------------------------------


def test_a_batch_places_each_item_alone_and_the_lead_opens_are_copied(server: LiveServer) -> None:
    trader, follower = _team(server)
    items = [
        _order("buy", "2", client_order_id=7),
        {**_order("buy", "1"), "side": "up"},  # refused alone: bad side
        _order("sell", "999999999"),  # refused alone: above the per-order limit
        "not an object",
        _order("sell", "3", contract_code="BTC-USDT"),
    ]
    answer = _data(_post(server, trader, "/v5/trade/batch_orders", items))
    assert [(i["code"], i["client_order_id"]) for i in answer] == [
        (200, "7"),
        (1067, None),
        (1041, None),
        (1067, None),
        (200, answer[4]["order_id"]),
    ]
    assert answer[1]["order_id"] is None
    assert "side" in answer[1]["message"]
    expected = {("ETH-USDT", "long"): D(2), ("BTC-USDT", "short"): D(3)}
    assert _volumes(server, trader["uid"]) == expected
    assert _volumes(server, follower["uid"]) == expected  # ratio 1: copied per item


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ([], 1067),
        ([_order("buy", "1")] * 11, 1067),  # the cap: 10 items
        ({"contract_code": "ETH-USDT"}, 1067),  # not an array
        ({"orders_data": "x"}, 1067),
    ],
)
def test_a_batch_refused_as_a_whole_places_nothing(
    server: LiveServer, body: Any, code: int
) -> None:
    trader = server.create_user("trader", balance="100000")
    _refused(_post(server, trader, "/v5/trade/batch_orders", body), code)
    assert server.user(trader["uid"])["positions"] == []


def test_the_python_sdk_alias_batchorder_places_a_batch(server: LiveServer) -> None:
    trader = server.create_user("trader", balance="100000")
    (item,) = _data(_post(server, trader, "/v5/trade/batchorder", [_order("buy", "1")]))
    assert item["code"] == 200


# --- cancel_batch_orders -----------------------------------------------------------------------


def test_cancel_batch_answers_each_id_and_cancels_the_known_ones(server: LiveServer) -> None:
    trader = server.create_user("trader", balance="100000")
    first, second, third = _resting(server, trader, 3)
    body = {"contract_code": "ETH-USDT", "order_id": f"{first},123,abc", "client_order_id": ["9"]}
    answer = _data(_post(server, trader, "/v5/trade/cancel_batch_orders", body))
    assert [(i["order_id"], i["code"]) for i in answer] == [
        (first, 200),
        ("123", 1017),
        ("abc", 1017),
        (None, 1017),
    ]
    assert _open_orders(server, trader) == [second, third]
    body = {"contract_code": "ETH-USDT", "order_id": [second, third]}
    answer = _data(_post(server, trader, "/v5/trade/cancel_batch_orders", body))
    assert [i["code"] for i in answer] == [200, 200]
    assert _open_orders(server, trader) == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"order_id": "1"}, 1066),
        ({"contract_code": "NOPE-USDT", "order_id": "1"}, 1013),
        ({"contract_code": "ETH-USDT"}, 1067),
        ({"contract_code": "ETH-USDT", "order_id": ",".join(["1"] * 11)}, 1067),
        ({"contract_code": "ETH-USDT", "order_id": [{"x": 1}]}, 1067),
    ],
)
def test_a_refused_cancel_batch_cancels_nothing(
    server: LiveServer, body: dict[str, Any], code: int
) -> None:
    trader = server.create_user("trader", balance="100000")
    resting = _resting(server, trader, 1)
    if body.get("order_id") == "1":
        body = {**body, "order_id": resting[0]}
    _refused(_post(server, trader, "/v5/trade/cancel_batch_orders", body), code)
    assert _open_orders(server, trader) == resting


# --- position_all and position/history ---------------------------------------------------------


def test_position_all_closes_every_position_and_the_copies(server: LiveServer) -> None:
    trader, follower = _team(server)
    for body in (_order("buy", "2"), _order("sell", "1", contract_code="BTC-USDT")):
        _data(_post(server, trader, "/v5/trade/order", body))
    iso = _order("buy", "1", margin_mode="isolated")
    _data(_post(server, trader, "/v5/trade/order", iso))
    acks = _data(_post(server, trader, "/v5/trade/position_all", {}))
    assert len(acks) == 3
    assert all(a["order_id"] == a["client_order_id"] for a in acks)
    assert server.user(trader["uid"])["positions"] == []
    assert server.user(follower["uid"])["positions"] == []
    assert _data(_post(server, trader, "/v5/trade/position_all", {})) == []  # nothing held

    server.admin("/_sim/clock", {"advance_ms": 1000})
    history = _get(server, trader, "/v5/trade/position/history")
    assert sorted((h["contract_code"], h["margin_mode"], h["volume"]) for h in history) == [
        ("BTC-USDT", "cross", "1"),
        ("ETH-USDT", "cross", "2"),
        ("ETH-USDT", "isolated", "1"),
    ]
    assert all(int(h["updated_time"]) == T0 and h["close_avg_price"] for h in history)
    ids = [h["id"] for h in history]
    assert ids == sorted(ids, key=int, reverse=True)  # newest first
    page = _get(server, trader, "/v5/trade/position/history", limit=1, **{"from": ids[0]})
    assert [h["id"] for h in page] == [ids[1]]
    page = _get(server, trader, "/v5/trade/position/history", direct="next", **{"from": ids[2]})
    assert [h["id"] for h in page] == ids[:2]
    only = _get(
        server, trader, "/v5/trade/position/history", contract_code="ETH-USDT",
        margin_mode="isolated",
    )  # fmt: skip
    assert [h["id"] for h in only] == [ids[[h["margin_mode"] for h in history].index("isolated")]]
    assert _get(server, trader, "/v5/trade/position/history", end_time=T0 - 1) == []


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "101"},
        {"direct": "up"},
        {"from": "x"},
        {"margin_mode": "both"},
        {"contract_type": "futures"},
        {"start_time": str(T0), "end_time": str(T0 - 1)},
    ],
)
def test_position_history_refuses_bad_filters(server: LiveServer, params: dict[str, str]) -> None:
    trader = server.create_user("trader", balance="1000")
    reply = server.signed(trader, "GET", "/v5/trade/position/history", params=params)
    _refused(reply, 1067)


# --- position/margin ---------------------------------------------------------------------------


def test_margin_add_and_reduce_move_the_isolated_margin(server: LiveServer) -> None:
    trader = server.create_user("trader", balance="100000")
    _data(_post(server, trader, "/v5/trade/order", _order("buy", "10", margin_mode="isolated")))

    def margin() -> D:
        (pos,) = _get(server, trader, "/v5/trade/position/opens")
        return D(pos["margin"])

    before = margin()
    body = {"contract_code": "ETH-USDT", "position_side": "long", "amount": "5.5"}
    assert _data(_post(server, trader, "/v5/position/margin", {**body, "type": "add"})) == {}
    assert margin() == before + D("5.5")
    reduce = {**body, "type": "reduce", "amount": "2", "currency": "USDT"}
    assert _data(_post(server, trader, "/v5/position/margin", reduce)) == {}
    assert margin() == before + D("3.5")


def test_margin_without_a_side_takes_the_isolated_side_held_and_refuses_when_both_are(
    server: LiveServer,
) -> None:
    trader = server.create_user("trader", balance="100000")
    _data(_post(server, trader, "/v5/trade/order", _order("sell", "4", margin_mode="isolated")))
    body = {"contract_code": "ETH-USDT", "type": "add", "amount": "2"}
    (before,) = _get(server, trader, "/v5/trade/position/opens")
    _data(_post(server, trader, "/v5/position/margin", body))
    (short,) = _get(server, trader, "/v5/trade/position/opens")
    assert D(short["margin"]) == D(before["margin"]) + 2
    _data(_post(server, trader, "/v5/trade/order", _order("buy", "4", margin_mode="isolated")))
    _refused(_post(server, trader, "/v5/position/margin", body), 1067)
    after = {
        p["position_side"]: p["margin"] for p in _get(server, trader, "/v5/trade/position/opens")
    }
    assert after["short"] == short["margin"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"type": "add", "position_side": "short"}, 1048),  # no isolated short
        ({"type": "reduce", "amount": "1000000"}, 1047),  # more than can go
        ({"type": "add", "amount": "99999999"}, 1047),  # more than available
        ({"type": "move"}, 1067),
        ({"type": "add", "currency": "BTC"}, 1067),
        ({"type": "add", "amount": "x"}, 1067),
        ({"type": "add", "contract_code": ""}, 1066),
    ],
)
def test_a_refused_margin_change_changes_nothing(
    server: LiveServer, change: dict[str, str], code: int
) -> None:
    trader = server.create_user("trader", balance="10000")
    _data(_post(server, trader, "/v5/trade/order", _order("buy", "10", margin_mode="isolated")))
    before = server.user(trader["uid"])
    body = {"contract_code": "ETH-USDT", "position_side": "long", "amount": "1", **change}
    _refused(_post(server, trader, "/v5/position/margin", body), code)
    after = server.user(trader["uid"])
    assert (after["balance"], after["positions"]) == (before["balance"], before["positions"])


# --- account/bills -----------------------------------------------------------------------------


def test_bills_sum_to_the_balance_change_and_filter_by_type(server: LiveServer) -> None:
    trader, follower = _team(server)
    _data(_post(server, trader, "/v5/trade/order", _order("buy", "10")))
    server.admin("/_sim/markets/ETH-USDT/price", {"price": "3300"})
    _data(_post(server, trader, "/v5/trade/position_all", {}))

    bills = _get(server, follower, "/v5/account/bills", limit=100)
    kinds = sorted({b["type"] for b in bills})
    assert kinds == ["profit_share_expense", "realized_pnl", "trade_fee"]
    total = sum((D(b["amount"]) for b in bills), D(0))
    assert total == D(server.user(follower["uid"])["balance"]) - D("100000")
    income = _get(server, trader, "/v5/account/bills", type="profit_share_income")
    (paid,) = _get(server, follower, "/v5/account/bills", type="profit_share_expense")
    assert [D(b["amount"]) for b in income] == [-D(paid["amount"])]
    assert D(paid["amount"]) < 0
    first, *rest = bills
    assert [b["id"] for b in _get(server, follower, "/v5/account/bills", **{"from": first["id"]})
            ] == [b["id"] for b in rest[:10]]  # fmt: skip
    assert _get(server, follower, "/v5/account/bills", contract_code="BTC-USDT") == []


@pytest.mark.parametrize(
    ("params", "code"),
    [({"type": "deposit"}, 1067), ({"limit": "500"}, 1067), ({"contract_code": "NO-USDT"}, 1013)],
)
def test_bills_refuse_bad_filters(server: LiveServer, params: dict[str, str], code: int) -> None:
    trader = server.create_user("trader", balance="1000")
    _refused(server.signed(trader, "GET", "/v5/account/bills", params=params), code)


# --- cancel-after ------------------------------------------------------------------------------


def test_cancel_after_cancels_the_open_orders_when_the_clock_passes_the_deadline(
    server: LiveServer,
) -> None:
    trader = server.create_user("trader", balance="100000")
    other = server.create_user("trader", balance="100000")
    mine, theirs = _resting(server, trader, 1), _resting(server, other, 1)
    armed = _data(_post(server, trader, "/v5/trade/cancel-after", {"on_off": 1, "time_out": 6000}))
    assert armed == {"current_time": T0, "trigger_time": T0 + 6000}

    server.admin("/_sim/clock", {"advance_ms": 5000})
    renewed = _data(
        _post(server, trader, "/v5/trade/cancel-after", {"on_off": "1", "time_out": "5000"})
    )
    assert renewed["trigger_time"] == T0 + 10_000  # renewed: the first deadline passes quietly
    server.admin("/_sim/clock", {"advance_ms": 4999})
    assert _open_orders(server, trader) == mine

    server.admin("/_sim/clock", {"advance_ms": 1})
    assert _open_orders(server, trader) == []
    assert _open_orders(server, other) == theirs  # another user's orders stay
    (order,) = _get(server, trader, "/v5/trade/order/history", contract_code="ETH-USDT",
                    margin_mode="cross")  # fmt: skip
    assert (order["state"], int(order["created_time"])) == ("canceled", T0)

    again = _resting(server, trader, 1)  # fired once: disarmed
    server.admin("/_sim/clock", {"advance_ms": 60_000})
    assert _open_orders(server, trader) == again


def test_cancel_after_off_disarms_it(server: LiveServer) -> None:
    trader = server.create_user("trader", balance="100000")
    resting = _resting(server, trader, 1)
    _data(_post(server, trader, "/v5/trade/cancel-after", {"on_off": 1, "time_out": 5000}))
    off = _data(_post(server, trader, "/v5/trade/cancel-after", {"on_off": 0}))
    assert off == {"current_time": T0, "trigger_time": 0}
    server.admin("/_sim/clock", {"advance_ms": 10_000})
    assert _open_orders(server, trader) == resting


@pytest.mark.parametrize(
    "body",
    [
        {"on_off": 1, "time_out": 4999},
        {"on_off": 1},
        {"on_off": 2, "time_out": 5000},
        {"on_off": True, "time_out": 5000},
        {"time_out": 5000},
        {"on_off": 1, "time_out": "soon"},
    ],
)
def test_a_refused_cancel_after_arms_nothing(server: LiveServer, body: dict[str, Any]) -> None:
    trader = server.create_user("trader", balance="100000")
    resting = _resting(server, trader, 1)
    reply = _post(server, trader, "/v5/trade/cancel-after", body)
    _refused(reply, 1067)
    server.admin("/_sim/clock", {"advance_ms": 60_000})
    assert _open_orders(server, trader) == resting


def test_a_read_key_cannot_reach_the_trade_endpoints(server: LiveServer) -> None:
    reader = server.create_user("trader", balance="1000", permissions="read")
    for path in ("/v5/trade/batch_orders", "/v5/trade/position_all", "/v5/trade/cancel-after"):
        body = server.signed(reader, "POST", path, body={}).json()
        assert body["err_code"] == 1205, (path, body)
