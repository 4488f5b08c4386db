"""Every validation error code over loopback HTTP, in the exact error envelope (spec §4, §6)."""

from __future__ import annotations

import http.client
import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from copytrade.protocol.signing import Signer, encode_query, format_timestamp
from copytrade.testing.server import LiveServer

P = "/copytrading/trader/"
PLACE = P + "place_order"
CLOSE_ALL = P + "close_all_position"
CLOSE_ORDER = P + "close_order"
CURRENT = P + "current_positions"
TID = re.compile(r"[0-9a-f]{32}")

ORDER: dict[str, Any] = {
    "contract_code": "BTC-USDT",
    "amount": "1",
    "margin_mode": "cross",
    "order_price_type": 17,
    "order_direction": 1,
    "lever": 10,
}
CLOSE_KEY = {"contract_code": "BTC-USDT", "margin_mode": "cross", "position_side": "long"}


def _order(**changes: Any) -> dict[str, Any]:
    body = {**ORDER, **changes}
    return {k: v for k, v in body.items() if v is not None}


def _without(body: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != name}


def assert_error(
    reply: httpx.Response, code: int, msg: str | None = None, status: int = 200
) -> dict[str, Any]:
    """Check the exact error envelope and return it."""
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    body = reply.json()
    assert list(body) == ["code", "msg", "data", "tid", "success"], body
    assert body["code"] == code, body
    assert body["data"] is None
    assert body["success"] is False
    assert TID.fullmatch(body["tid"])
    assert isinstance(body["msg"], str)
    assert body["msg"]
    if msg is not None:
        assert body["msg"] == msg
    return dict(body)


def _ok(reply: httpx.Response) -> Any:
    body = reply.json()
    assert reply.status_code == 200, reply.text
    assert body["code"] == 200, body
    return body["data"]


def _signed_url(server: LiveServer, creds: dict[str, Any], method: str, path: str, **q: str) -> str:
    signer = Signer(creds["access_key"], secret_key=creds["secret_key"])
    stamp = format_timestamp(datetime.now(UTC))
    pairs = signer.signed_params(method, server.host, path, q or None, timestamp=stamp)
    return f"{path}?{encode_query(pairs)}"


def _state(server: LiveServer, uid: int) -> dict[str, Any]:
    view = server.user(uid)
    return {
        k: view[k] for k in ("balance", "positions", "open_orders", "closed_positions", "fills")
    }


# -- place_order parameter checks ---------------------------------------------------------------

PLACE_CASES = [
    (
        "missing contract_code",
        _without(ORDER, "contract_code"),
        1066,
        "contract_code cannot be empty.",
    ),
    ("empty contract_code", _order(contract_code=""), 1066, "contract_code cannot be empty."),
    ("missing amount", _without(ORDER, "amount"), 1066, "amount cannot be empty."),
    ("missing margin_mode", _without(ORDER, "margin_mode"), 1066, "margin_mode cannot be empty."),
    (
        "missing order_price_type",
        _without(ORDER, "order_price_type"),
        1066,
        "order_price_type cannot be empty.",
    ),
    (
        "missing order_direction",
        _without(ORDER, "order_direction"),
        1066,
        "order_direction cannot be empty.",
    ),
    ("limit without price", _order(order_price_type=1), 1066, "price cannot be empty."),
    (
        "capitalised margin_mode",
        _order(margin_mode="Cross"),
        1067,
        "Illegal parameter margin_mode.",
    ),
    ("unknown margin_mode", _order(margin_mode="both"), 1067, "Illegal parameter margin_mode."),
    ("unknown contract", _order(contract_code="XRP-USDT"), 1014, "This contract doesn't exist."),
    ("order_price_type 3", _order(order_price_type=3), 1034, "Order quotation type value error."),
    ("order_price_type '99'", _order(order_price_type="99"), 1034, None),
    ("order_direction 3", _order(order_direction=3), 1035, "Order side value error."),
    ("order_direction 0", _order(order_direction="0"), 1035, "Order side value error."),
    (
        "lever 0",
        _order(lever=0),
        1037,
        "The leverage is invalid. Please contact the customer service.",
    ),
    ("lever above 200", _order(lever=201), 1037, None),
    ("lever missing", _without(ORDER, "lever"), 1094, "Leverage cannot be empty."),
    (
        "price off the tick",
        _order(order_price_type=1, price="60000.05"),
        1038,
        "The price has exceeded the precision limit.",
    ),
    (
        "amount 0",
        _order(amount="0"),
        1040,
        "The amount cannot be left empty or smaller than the value of one contract.",
    ),
    ("amount 1.5", _order(amount="1.5"), 1040, None),
    ("amount negative", _order(amount=-2), 1040, None),
    (
        "amount above the maximum",
        _order(amount="100001"),
        1041,
        "The amount has exceeded the limit (100000 Cont).",
    ),
    ("amount exponent string", _order(amount="1e3"), 1030, "Input error."),
    ("amount empty string", _order(amount=" "), 1030, "Input error."),
    ("lever 5.0", _order(lever="5.0"), 1030, "Input error."),
    ("lever boolean", _order(lever=True), 1030, "Input error."),
    ("contract_code number", _order(contract_code=5), 1030, "Input error."),
]


@pytest.mark.parametrize(
    ("body", "code", "msg"),
    [pytest.param(b, c, m, id=i) for i, b, c, m in PLACE_CASES],
)
def test_place_order_rejects_the_bad_parameter_with_its_htx_code(
    live_server: LiveServer,
    trader: dict[str, Any],
    body: dict[str, Any],
    code: int,
    msg: str | None,
) -> None:
    assert_error(live_server.signed(trader, "POST", PLACE, body=body), code, msg)


@pytest.mark.parametrize(
    ("raw", "case"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "a JSON array"),
        (b'"text"', "a JSON string"),
        (b"{", "truncated JSON"),
        (b'{"contract_code":"BTC-USDT","amount":NaN}', "NaN"),
        (b'{"contract_code":"BTC-USDT","amount":Infinity}', "Infinity"),
        (b'{"contract_code":"BTC-USDT","amount":1e3}', "an exponent number"),
        (b'{"contract_code":"BTC-USDT","amount":"1"\xff}', "invalid UTF-8"),
    ],
)
def test_a_post_body_that_is_not_a_plain_json_object_is_input_error_1030(
    live_server: LiveServer, trader: dict[str, Any], raw: bytes, case: str
) -> None:
    assert_error(live_server.signed(trader, "POST", PLACE, body=raw), 1030, "Input error.")


def test_an_exponent_number_is_refused_even_where_the_rest_of_the_order_is_valid(
    live_server: LiveServer, trader: dict[str, Any]
) -> None:
    raw = b'{"contract_code":"BTC-USDT","amount":1E0,"margin_mode":"cross",'
    raw += b'"order_price_type":17,"order_direction":1,"lever":10}'
    assert_error(live_server.signed(trader, "POST", PLACE, body=raw), 1030)
    assert live_server.user(trader["uid"])["positions"] == []


def test_a_get_with_a_body_is_input_error_1030(
    live_server: LiveServer, trader: dict[str, Any]
) -> None:
    url = _signed_url(live_server, trader, "GET", CURRENT, contract_code="BTC-USDT")
    reply = live_server.http.request("GET", url, content=b'{"contract_code":"BTC-USDT"}')
    assert_error(reply, 1030, "Input error.")
    # The same request without a body is fine.
    assert _ok(live_server.http.get(url)) == {"positions": [], "query_id": None}


@pytest.mark.parametrize("query", ["contract_code=%ZZ", "contract_code=BTC%2", "%E4%B8=x"])
def test_a_bad_percent_escape_in_the_query_is_input_error_1030(
    live_server: LiveServer, query: str
) -> None:
    # http.client sends the request line byte for byte (httpx would re-escape the '%').
    conn = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=10)
    try:
        conn.request("GET", f"{CURRENT}?{query}")
        raw = conn.getresponse()
        reply = httpx.Response(raw.status, headers=raw.getheaders(), content=raw.read())
    finally:
        conn.close()
    assert_error(reply, 1030, "Input error.")


# -- take-profit / stop-loss side ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("direction", "field", "trigger", "code", "prefix"),
    [
        (1, "tp_trigger_price", "50000", 1405, "The take-profit price shall not be lower than"),
        (2, "tp_trigger_price", "70000", 1405, "The take-profit price shall not be higher than"),
        (1, "sl_trigger_price", "70000", 1407, "The stop-loss price shall not be higher than"),
        (2, "sl_trigger_price", "50000", 1407, "The stop-loss price shall not be lower than"),
    ],
    ids=["buy tp below", "sell tp above", "buy sl above", "sell sl below"],
)
def test_a_trigger_on_the_wrong_side_is_refused_and_changes_nothing(
    live_server: LiveServer,
    trader: dict[str, Any],
    direction: int,
    field: str,
    trigger: str,
    code: int,
    prefix: str,
) -> None:
    before = _state(live_server, trader["uid"])
    body = _order(order_direction=direction, **{field: trigger})
    error = assert_error(live_server.signed(trader, "POST", PLACE, body=body), code)
    assert error["msg"].startswith(prefix)
    assert _state(live_server, trader["uid"]) == before


def test_triggers_on_the_right_side_are_accepted(
    live_server: LiveServer, trader: dict[str, Any]
) -> None:
    body = _order(tp_trigger_price="70000", sl_trigger_price="50000")
    assert _ok(live_server.signed(trader, "POST", PLACE, body=body)) is True
    (position,) = live_server.user(trader["uid"])["positions"]
    assert position["volume"] == "1"


# -- money and position state --------------------------------------------------------------------


def test_insufficient_margin_is_1047_and_leaves_balance_and_positions_unchanged(
    live_server: LiveServer,
) -> None:
    poor = live_server.create_user("trader", balance="100")
    before = _state(live_server, poor["uid"])
    reply = live_server.signed(poor, "POST", PLACE, body=_order(amount="100", lever=1))
    assert_error(reply, 1047, "Insufficient margin available.")
    assert _state(live_server, poor["uid"]) == before
    assert before["balance"] == "100"
    assert before["positions"] == []


def test_a_rejected_order_of_a_followed_trader_creates_no_follower_copy(
    live_server: LiveServer,
) -> None:
    poor = live_server.create_user("trader", balance="100")
    follower = live_server.create_user("follower", balance="100000")
    live_server.follow(follower["uid"], poor["uid"], "1")
    follower_before = _state(live_server, follower["uid"])
    reply = live_server.signed(poor, "POST", PLACE, body=_order(amount="100", lever=1))
    assert_error(reply, 1047)
    assert _state(live_server, follower["uid"]) == follower_before
    assert live_server.user(follower["uid"])["skipped_copies"] == []


def test_a_lever_different_from_the_open_position_is_1349_and_changes_nothing(
    live_server: LiveServer, trader: dict[str, Any]
) -> None:
    assert _ok(live_server.signed(trader, "POST", PLACE, body=_order(lever=10))) is True
    before = _state(live_server, trader["uid"])
    assert len(before["positions"]) == 1
    reply = live_server.signed(trader, "POST", PLACE, body=_order(lever=5))
    assert_error(
        reply,
        1349,
        "The leverage for new orders does not match current positions. Please change the leverage.",
    )
    assert _state(live_server, trader["uid"]) == before
    # The other margin mode has its own leverage.
    assert _ok(
        live_server.signed(trader, "POST", PLACE, body=_order(lever=5, margin_mode="isolated"))
    )


def test_close_order_with_an_unknown_id_is_1046(
    live_server: LiveServer, trader: dict[str, Any]
) -> None:
    msg = "The position for this contract does not exist."
    for sub_position_id in ("999999999", 123, "abc", "1" * 30):
        reply = live_server.signed(
            trader, "POST", CLOSE_ORDER, body={"sub_position_id": sub_position_id}
        )
        assert_error(reply, 1046, msg)
    reply = live_server.signed(trader, "POST", CLOSE_ORDER, body={})
    assert_error(reply, 1066, "sub_position_id cannot be empty.")


def test_close_order_of_another_users_position_is_1046_and_leaves_it_open(
    live_server: LiveServer, trader: dict[str, Any]
) -> None:
    other = live_server.create_user("trader")
    assert _ok(live_server.signed(other, "POST", PLACE, body=ORDER)) is True
    (position,) = live_server.user(other["uid"])["positions"]
    reply = live_server.signed(
        trader, "POST", CLOSE_ORDER, body={"sub_position_id": position["sub_position_id"]}
    )
    assert_error(reply, 1046)
    assert live_server.user(other["uid"])["positions"] == [position]


@pytest.mark.parametrize(
    ("body", "code", "msg"),
    [
        (_without(CLOSE_KEY, "contract_code"), 1066, "contract_code cannot be empty."),
        (_without(CLOSE_KEY, "margin_mode"), 1066, "margin_mode cannot be empty."),
        (_without(CLOSE_KEY, "position_side"), 1066, "position_side cannot be empty."),
        ({**CLOSE_KEY, "margin_mode": "Isolated"}, 1067, "Illegal parameter margin_mode."),
        ({**CLOSE_KEY, "position_side": "LONG"}, 1067, "Illegal parameter position_side."),
        ({**CLOSE_KEY, "position_side": "both"}, 1067, "Illegal parameter position_side."),
        ({**CLOSE_KEY, "contract_code": "XRP-USDT"}, 1014, "This contract doesn't exist."),
        (CLOSE_KEY, 1046, "The position for this contract does not exist."),
    ],
    ids=[
        "missing contract_code",
        "missing margin_mode",
        "missing position_side",
        "bad margin_mode",
        "upper-case position_side",
        "unknown position_side",
        "unknown contract",
        "nothing to close",
    ],
)
def test_close_all_position_rejects_the_request_with_its_htx_code(
    live_server: LiveServer, trader: dict[str, Any], body: dict[str, Any], code: int, msg: str
) -> None:
    assert_error(live_server.signed(trader, "POST", CLOSE_ALL, body=body), code, msg)


def test_close_all_position_for_another_key_leaves_the_open_position_alone(
    live_server: LiveServer, trader: dict[str, Any]
) -> None:
    assert _ok(live_server.signed(trader, "POST", PLACE, body=ORDER)) is True
    before = _state(live_server, trader["uid"])
    for key in (
        {**CLOSE_KEY, "position_side": "short"},
        {**CLOSE_KEY, "margin_mode": "isolated"},
        {**CLOSE_KEY, "contract_code": "ETH-USDT"},
    ):
        assert_error(live_server.signed(trader, "POST", CLOSE_ALL, body=key), 1046)
    assert _state(live_server, trader["uid"]) == before


# -- paths and methods ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", [P + "no_such_endpoint", "/copytrading/trader", "/linear-swap-api/v1/swap_order"]
)
def test_an_unknown_path_is_http_404_with_code_404(live_server: LiveServer, path: str) -> None:
    assert_error(live_server.http.get(path), 404, "Not Found", status=404)
    assert_error(live_server.http.post(path, json={}), 404, "Not Found", status=404)


def test_a_post_to_the_root_is_http_405_in_htxs_envelope(live_server: LiveServer) -> None:
    # GET / lists where things are (test_admin_paths.py); anything else there is HTX's 405
    reply = live_server.http.post("/", json={})
    assert_error(reply, 405, status=405)
    assert reply.headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", PLACE),
        ("GET", CLOSE_ALL),
        ("POST", CURRENT),
        ("PUT", PLACE),
        ("DELETE", CLOSE_ALL),
        ("PATCH", CURRENT),
    ],
)
def test_a_wrong_method_is_http_405_with_code_405(
    live_server: LiveServer, trader: dict[str, Any], method: str, path: str
) -> None:
    url = _signed_url(live_server, trader, method, path)
    assert_error(live_server.http.request(method, url), 405, status=405)
