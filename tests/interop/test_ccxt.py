"""ccxt's ``htx`` exchange (an independent HTX client) against the real server over loopback.

ccxt signs ``contract``/``private`` requests itself (spec §3: auth parameters in the query, the
JSON body unsigned). Its ``handle_errors`` raises only for codes in its own ``exceptions['exact']``
map; any other non-200 ``code`` comes back to the caller as the plain reply.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from copytrade.testing.server import LiveServer

P = "copytrading/trader/"
PRIVATE = ["contract", "private"]
ORDER = {
    "contract_code": "BTC-USDT",
    "amount": "4",
    "margin_mode": "cross",
    "order_price_type": 17,
    "order_direction": 1,
    "lever": 10,
}
CLOSE_KEY = {"contract_code": "BTC-USDT", "margin_mode": "cross", "position_side": "long"}


@pytest.fixture
def connect(live_server: LiveServer) -> Iterator[Any]:
    """Return a factory of ccxt htx clients pointed at the server, closed afterwards."""
    made: list[ccxt.htx] = []

    def make(creds: dict[str, Any]) -> ccxt.htx:
        exchange = ccxt.htx(
            {
                "apiKey": creds["access_key"],
                "secret": creds["secret_key"],
                "enableRateLimit": False,
                "urls": {
                    "hostnames": {"contract": f"127.0.0.1:{live_server.port}"},
                    "api": {"contract": "http://{hostname}"},
                },
            }
        )
        made.append(exchange)
        return exchange

    yield make
    for exchange in made:
        if exchange.session is not None:
            exchange.session.close()


def _without_tid(body: dict[str, Any]) -> dict[str, Any]:
    assert len(body["tid"]) == 32
    return {k: v for k, v in body.items() if k != "tid"}


def _team(server: LiveServer) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    trader = server.create_user("trader", balance="100000")
    followers = []
    for ratio in ("1", "0.5"):
        follower = server.create_user("follower", balance="50000")
        server.follow(follower["uid"], trader["uid"], ratio)
        followers.append(follower)
    return trader, followers


def _shape(server: LiveServer, uid: int) -> dict[str, Any]:
    """What must match between a ccxt-driven and an SDK-driven account (ids and times differ)."""
    view = server.user(uid)

    def rows(key: str) -> list[tuple[Any, ...]]:
        return sorted(
            (p["contract_code"], p["margin_mode"], p["position_side"], p["volume"], p["close_type"])
            for p in view[key]
        )

    return {"open": rows("positions"), "closed": rows("closed_positions")}


def test_place_order_through_ccxt_behaves_like_a_directly_signed_request(
    live_server: LiveServer, connect: Any
) -> None:
    ccxt_trader, ccxt_followers = _team(live_server)
    raw_trader, raw_followers = _team(live_server)

    exchange = connect(ccxt_trader)
    via_ccxt = exchange.request(P + "place_order", PRIVATE, "POST", dict(ORDER))
    assert json.loads(exchange.last_request_body) == ORDER  # the body travels unsigned
    assert "Signature=" in exchange.last_request_url
    direct = live_server.signed(raw_trader, "POST", "/" + P + "place_order", body=ORDER).json()

    assert (
        _without_tid(via_ccxt)
        == _without_tid(direct)
        == {
            "code": 200,
            "data": True,
            "success": True,
        }
    )
    assert _shape(live_server, ccxt_trader["uid"]) == _shape(live_server, raw_trader["uid"])
    for mine, theirs in zip(ccxt_followers, raw_followers, strict=True):
        assert _shape(live_server, mine["uid"]) == _shape(live_server, theirs["uid"])
    copies = [live_server.user(f["uid"])["positions"] for f in ccxt_followers]
    assert [[p["volume"] for p in c] for c in copies] == [["4"], ["2"]]


def test_current_positions_through_ccxt_returns_the_same_reply_as_a_signed_get(
    live_server: LiveServer, connect: Any
) -> None:
    trader = live_server.create_user("trader", balance="100000")
    exchange = connect(trader)
    assert exchange.request(P + "place_order", PRIVATE, "POST", dict(ORDER))["data"] is True
    query = {"contract_code": "BTC-USDT", "direct": "next", "limit": "10"}

    via_ccxt = exchange.request(P + "current_positions", PRIVATE, "GET", dict(query))
    direct = live_server.signed(trader, "GET", "/" + P + "current_positions", params=query).json()

    assert _without_tid(via_ccxt) == _without_tid(direct)
    (position,) = via_ccxt["data"]["positions"]
    assert (position["volume"], position["position_side"], position["lever"]) == ("4", "long", "10")


def test_close_all_position_through_ccxt_closes_the_trader_and_the_follower_copies(
    live_server: LiveServer, connect: Any
) -> None:
    trader, followers = _team(live_server)
    exchange = connect(trader)
    for amount in ("4", "6"):
        order = {**ORDER, "amount": amount}
        assert exchange.request(P + "place_order", PRIVATE, "POST", order)["data"] is True
    short = {**ORDER, "order_direction": 2, "amount": "2"}
    assert exchange.request(P + "place_order", PRIVATE, "POST", short)["data"] is True

    closed = exchange.request(P + "close_all_position", PRIVATE, "POST", dict(CLOSE_KEY))

    assert _without_tid(closed) == {"code": 200, "data": True, "success": True}
    view = live_server.user(trader["uid"])
    assert [p["position_side"] for p in view["positions"]] == ["short"]
    assert sorted(p["volume"] for p in view["closed_positions"]) == ["4", "6"]
    for follower, ratio in zip(followers, ("1", "0.5"), strict=True):
        copies = live_server.user(follower["uid"])
        assert [p["position_side"] for p in copies["positions"]] == ["short"]
        long_closed = [p for p in copies["closed_positions"] if p["position_side"] == "long"]
        assert sum(Decimal(p["volume"]) for p in long_closed) == 10 * Decimal(ratio)
        assert {p["close_type"] for p in long_closed} == {2}


def test_a_second_close_all_through_ccxt_returns_the_1046_reply_unraised(
    live_server: LiveServer, connect: Any
) -> None:
    trader = live_server.create_user("trader", balance="100000")
    exchange = connect(trader)
    assert exchange.request(P + "place_order", PRIVATE, "POST", dict(ORDER))["data"] is True
    first = exchange.request(P + "close_all_position", PRIVATE, "POST", dict(CLOSE_KEY))
    assert first["data"] is True

    # 1046 is not in ccxt's exact-code map, so ccxt hands the error envelope back as is.
    second = exchange.request(P + "close_all_position", PRIVATE, "POST", dict(CLOSE_KEY))

    assert _without_tid(second) == {
        "code": 1046,
        "msg": "The position for this contract does not exist.",
        "data": None,
        "success": False,
    }
    assert "1046" not in exchange.exceptions["exact"]


@pytest.mark.parametrize(
    ("body", "error", "code"),
    [
        ({**ORDER, "amount": "100000"}, ccxt.InsufficientFunds, 1047),
        ({k: v for k, v in ORDER.items() if k != "contract_code"}, ccxt.BadSymbol, 1066),
    ],
    ids=["insufficient margin", "missing contract_code"],
)
def test_codes_in_ccxts_map_surface_as_its_typed_exceptions_carrying_the_code(
    live_server: LiveServer, connect: Any, body: dict[str, Any], error: type[Exception], code: int
) -> None:
    trader = live_server.create_user("trader", balance="1000")
    with pytest.raises(error) as raised:
        connect(trader).request(P + "place_order", PRIVATE, "POST", body)
    assert f'"code":{code}' in str(raised.value)
    assert live_server.user(trader["uid"])["positions"] == []


def test_a_wrong_secret_surfaces_as_ccxt_authentication_error(
    live_server: LiveServer, connect: Any
) -> None:
    trader = live_server.create_user("trader")
    exchange = connect({**trader, "secret_key": "not-the-secret"})
    with pytest.raises(ccxt.AuthenticationError) as raised:
        exchange.request(P + "current_positions", PRIVATE, "GET", {"contract_code": "BTC-USDT"})
    assert '"code":403' in str(raised.value)
    assert '"msg":"Verification failure"' in str(raised.value)
