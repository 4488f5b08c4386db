"""The envelope contract over loopback HTTP: key order, error shape, and never a bare fault."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from copytrade.api.routes import ROUTES
from copytrade.protocol.endpoints import ENDPOINTS, Endpoint, HttpMethod
from copytrade.testing.server import LiveServer

P = "/copytrading/trader/"
TID = re.compile(r"[0-9a-f]{32}")
ORDER = {
    "contract_code": "BTC-USDT",
    "amount": "1",
    "margin_mode": "cross",
    "order_price_type": 17,
    "order_direction": 1,
    "lever": 10,
}
BTC = {"contract_code": "BTC-USDT"}
NOT_BUILT = [e for e in ENDPOINTS if e.name not in ROUTES]
UNKNOWN = "9" * 40


def _keys(reply: httpx.Response) -> list[str]:
    return list(json.loads(reply.text))


def _assert_success(reply: httpx.Response) -> Any:
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    assert _keys(reply) == ["code", "data", "tid", "success"]
    body = reply.json()
    assert body["code"] == 200
    assert body["success"] is True
    assert TID.fullmatch(body["tid"])
    return body["data"]


def _assert_error(reply: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    assert _keys(reply) == ["code", "msg", "data", "tid", "success"]
    body = reply.json()
    assert isinstance(body["code"], int)
    assert body["code"] != 200
    assert isinstance(body["msg"], str)
    assert body["msg"]
    assert body["data"] is None
    assert body["success"] is False
    assert TID.fullmatch(body["tid"])
    return dict(body)


def _call(
    server: LiveServer, creds: dict[str, Any], endpoint: Endpoint, payload: dict[str, Any]
) -> httpx.Response:
    if endpoint.method is HttpMethod.GET:
        return server.signed(creds, "GET", endpoint.path, params=payload)
    return server.signed(creds, "POST", endpoint.path, body=payload)


def test_success_bodies_have_code_data_tid_success_in_that_order(
    live_server: LiveServer, trader: dict[str, Any]
) -> None:
    assert _assert_success(live_server.signed(trader, "POST", P + "place_order", body=ORDER))
    replies = [
        live_server.signed(trader, "GET", P + "current_positions", params=BTC),
        live_server.signed(trader, "GET", P + "position_positions", params=BTC),
        live_server.signed(trader, "GET", P + "position_list"),
        live_server.signed(trader, "GET", P + "query_followers"),
    ]
    for reply in replies:
        _assert_success(reply)
    (position,) = replies[0].json()["data"]["positions"]
    close = {"sub_position_id": position["sub_position_id"]}
    assert _assert_success(live_server.signed(trader, "POST", P + "close_order", body=close))


def test_every_tid_is_fresh(live_server: LiveServer, trader: dict[str, Any]) -> None:
    tids = {
        live_server.signed(trader, "GET", P + "current_positions", params=BTC).json()["tid"]
        for _ in range(5)
    }
    tids.add(live_server.signed(trader, "GET", P + "current_positions").json()["tid"])
    assert len(tids) == 6


def test_business_and_auth_errors_are_http_200_with_the_full_error_envelope(
    live_server: LiveServer, trader: dict[str, Any]
) -> None:
    stranger = {"access_key": "ak-nobody", "secret_key": "x"}
    replies = {
        1046: live_server.signed(
            trader,
            "POST",
            P + "close_all_position",
            body={**BTC, "margin_mode": "cross", "position_side": "long"},
        ),
        1066: live_server.signed(trader, "GET", P + "current_positions"),
        1030: live_server.signed(trader, "POST", P + "place_order", body="[]"),
        403: live_server.signed(stranger, "GET", P + "current_positions", params=BTC),
        12001: live_server.signed(
            trader, "GET", P + "current_positions", params=BTC, timestamp="2020-01-01T00:00:00"
        ),
    }
    for code, reply in replies.items():
        assert _assert_error(reply)["code"] == code


def test_unknown_path_and_wrong_method_keep_the_envelope_with_their_http_status(
    live_server: LiveServer,
) -> None:
    assert _assert_error(live_server.http.get(P + "nothing_here"), 404)["code"] == 404
    assert _assert_error(live_server.http.get(P + "place_order"), 405)["code"] == 405


def test_authenticated_replies_carry_the_rate_limit_headers(
    live_server: LiveServer, trader: dict[str, Any]
) -> None:
    ok = live_server.signed(trader, "GET", P + "current_positions", params=BTC)
    refused = live_server.signed(trader, "GET", P + "current_positions")
    for reply in (ok, refused):
        assert reply.headers["ratelimit-limit"] == "18"
        assert reply.headers["ratelimit-interval"] == "1000"
        assert int(reply.headers["ratelimit-reset"]) % 1000 == 0
    # the second request used one more of the same window, unless a second boundary fell between
    same_window = ok.headers["ratelimit-reset"] == refused.headers["ratelimit-reset"]
    assert int(refused.headers["ratelimit-remaining"]) == (16 if same_window else 17)


def test_every_v1_endpoint_is_built() -> None:
    # the 19 of spec §6: none is left to answer 1000 "not implemented"
    assert len(ENDPOINTS) == 19
    assert NOT_BUILT == []


# Odd inputs: each must come back as a client error in the envelope, never as a server fault.
ODD_INPUTS: list[tuple[str, dict[str, Any], int, str | None]] = [
    ("place_order", {**ORDER, "amount": "1" * 400}, 1030, None),
    ("place_order", {**ORDER, "order_price_type": 1, "price": "1" + "0" * 40}, 1030, None),
    ("place_order", {**ORDER, "order_price_type": 1, "price": "1" + "0" * 18}, 1030, None),
    ("place_order", {**ORDER, "tp_trigger_price": "9" * 30}, 1030, None),
    ("place_order", {**ORDER, "lever": 10**30}, 1037, None),
    ("place_order", {**ORDER, "order_price_type": 10**30}, 1034, None),
    ("place_order", {**ORDER, "order_direction": [1]}, 1030, None),
    ("place_order", {**ORDER, "contract_code": ["BTC-USDT"]}, 1030, None),
    ("place_order", {**ORDER, "margin_mode": {"cross": 1}}, 1067, "Illegal parameter margin_mode."),
    ("place_order", {**ORDER, "tp_trigger_price": {}}, 1030, None),
    ("place_order", {**ORDER, "amount": {"v": 1}}, 1030, None),
    ("close_order", {"sub_position_id": [1]}, 1030, None),
    ("close_order", {"sub_position_id": 1.5}, 1030, None),
    ("close_order", {"sub_position_id": UNKNOWN}, 1046, None),
    ("close_all_position", {**BTC, "margin_mode": "cross", "position_side": {}}, 1067, None),
    ("current_positions", {**BTC, "limit": "abc"}, 1030, None),
    ("current_positions", {**BTC, "limit": UNKNOWN}, 1067, "Illegal parameter limit."),
    ("current_positions", {**BTC, "from_id": UNKNOWN}, 1067, "Illegal parameter from_id."),
    ("current_positions", {**BTC, "end_time": UNKNOWN}, 1067, "Illegal parameter end_time."),
    ("current_positions", {**BTC, "start_time": UNKNOWN}, 1067, "Illegal parameter start_time."),
    ("current_positions", {**BTC, "direct": "up"}, 1067, "Illegal parameter direct."),
    ("position_positions", {**BTC, "from_id": UNKNOWN}, 1067, "Illegal parameter from_id."),
    ("position_positions", {**BTC, "end_time": "-" + UNKNOWN}, 1067, None),
    ("query_followers", {"from_id": UNKNOWN}, 1067, "Illegal parameter from_id."),
    ("query_followers", {"end_time": UNKNOWN}, 1067, "Illegal parameter end_time."),
]


@pytest.mark.parametrize(
    ("name", "payload", "code", "msg"),
    [pytest.param(*case, id=f"{case[0]} {i}") for i, case in enumerate(ODD_INPUTS)],
)
def test_an_odd_input_is_a_client_error_never_a_system_error(
    live_server: LiveServer,
    trader: dict[str, Any],
    name: str,
    payload: dict[str, Any],
    code: int,
    msg: str | None,
) -> None:
    endpoint = next(e for e in ENDPOINTS if e.name == name)
    error = _assert_error(_call(live_server, trader, endpoint, payload))
    assert error["code"] == code, error
    if msg is not None:
        assert error["msg"] == msg


def test_an_oversized_body_is_refused_with_1030_and_changes_nothing(
    live_server: LiveServer,
) -> None:
    trader = live_server.create_user("trader", balance="10000")
    order = {
        "contract_code": "DOT-USDT",
        "amount": "1",
        "margin_mode": "cross",
        "order_price_type": 17,
        "order_direction": 1,
        "lever": 5,
    }
    padded = json.dumps({**order, "note": "x" * (70 * 1024)})  # unknown fields are ignored
    reply = live_server.signed(trader, "POST", "/copytrading/trader/place_order", body=padded)
    assert reply.status_code == 200
    assert reply.json()["code"] == 1030
    assert live_server.user(trader["uid"])["positions"] == []
    ok = live_server.signed(trader, "POST", "/copytrading/trader/place_order", body=order)
    assert ok.json()["code"] == 200
