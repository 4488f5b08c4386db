"""All 19 copy-trading endpoints driven by independent HTX clients over a real server.

ccxt's ``request()`` and HTX's official Python SDK (replayed from its signing rules, see
``htx_sdk_replay``: the async client against a default server, the sync client against one
started with ``accept_unsigned_get_params``) each run one trader's whole session: transfers,
an order, TP/SL, margin, leverage, every query, closes and a follower's removal. Every reply is
a success, and the session's numbers are the same whichever client sent it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import ccxt
import pytest
import requests
from htx_sdk_replay import HuobiCopytradingAPI, RestCopyTradingSync

from copytrade.api.routes import ROUTES
from copytrade.protocol.endpoints import ENDPOINTS
from copytrade.testing.server import LiveServer

Send = Callable[[str, dict[str, Any]], dict[str, Any]]
METHODS = {e.name: e.method for e in ENDPOINTS}


def ccxt_sender(server: LiveServer, creds: dict[str, Any]) -> Send:
    exchange = ccxt.htx(
        {
            "apiKey": creds["access_key"],
            "secret": creds["secret_key"],
            "enableRateLimit": False,
            "urls": {
                "hostnames": {"contract": server.host},
                "api": {"contract": "http://{hostname}"},
            },
        }
    )

    def send(name: str, params: dict[str, Any]) -> dict[str, Any]:
        method = METHODS[name].value
        reply = exchange.request(
            f"copytrading/trader/{name}", ["contract", "private"], method, params
        )
        return dict(reply)

    return send


def async_sdk_sender(server: LiveServer, creds: dict[str, Any]) -> Send:
    api = HuobiCopytradingAPI(server.base_url, creds["access_key"], creds["secret_key"])

    def send(name: str, params: dict[str, Any]) -> dict[str, Any]:
        success, error = asyncio.run(getattr(api, f"copytrading_trader_{name}")(**params))
        return dict(success or error)

    return send


def sync_sdk_sender(server: LiveServer, creds: dict[str, Any]) -> Send:
    api = RestCopyTradingSync(creds["access_key"], creds["secret_key"], server.host)

    def send(name: str, params: dict[str, Any]) -> dict[str, Any]:
        return dict(getattr(api, f"contract_copytrading_trader_{name}")(params or None))

    return send


def session(server: LiveServer, send: Send) -> dict[str, Any]:
    """Run every endpoint; return the figures that must not depend on the client."""
    seen: dict[str, Any] = {}

    def ok(name: str, **params: Any) -> Any:
        reply = send(name, params)
        if reply.get("code") == 1032:  # 18 requests per second: refused ones did nothing
            time.sleep(1)
            reply = send(name, params)
        assert reply.get("code") == 200, (name, reply)
        assert reply.get("success") is True
        seen.setdefault(name, reply["data"])
        return reply["data"]

    ok("account_transfer", amount="10", type=4, currency="USDT")  # copy trading -> spot
    ok("account_transfer", amount="10", type=3, currency="USDT")  # spot -> copy trading
    ok("place_order", contract_code="BTC-USDT", amount="2", margin_mode="isolated",
       order_price_type=17, order_direction=1, lever=5)  # fmt: skip
    (position,) = ok("current_positions", contract_code="BTC-USDT")["positions"]
    sub_id = position["sub_position_id"]
    ok("tpsl_order", sub_position_id=sub_id, tp_trigger_price="70000", sl_trigger_price="50000")
    tpsl = ok("tpsl_open_orders", contract_code="BTC-USDT")
    echo = ok("add_margin", contract_code="BTC-USDT", amount="10", type=1, position_side="long")
    lever = ok("updated_contract_lever", contract_code="BTC-USDT", lever=10, margin_mode="isolated")
    queried = ok("query_contract_lever", contract_code="BTC-USDT", margin_mode="isolated")
    contracts = ok("query_contract")
    positions = ok("position_list")["positions"]
    orders = ok("open_orders")
    followers = ok("query_followers")["follower"]
    ok("close_order", sub_position_id=sub_id)
    history = ok("position_positions", contract_code="BTC-USDT")["positions"]
    stats = ok("order_total_detail")
    shares = ok("profit_history_details")
    totals = ok("total_profit_history")
    ok("place_order", contract_code="DOT-USDT", amount="3", margin_mode="cross",
       order_price_type=17, order_direction=2, lever=5)  # fmt: skip
    ok("close_all_position", contract_code="DOT-USDT", margin_mode="cross", position_side="short")
    ok("remove_follower", follower_uid=followers[0]["follower_uid"])
    after = ok("query_followers")["follower"]
    # every one of HTX's 19 endpoints answered success, and all 19 are served
    assert set(seen) == set(METHODS) == set(ROUTES), set(METHODS) ^ set(seen)
    assert len(seen) == 19
    return {
        "tpsl": [(r["tpsl_order_type"], r["price"], r["position_side"]) for r in tpsl],
        "echo": {k: echo[k] for k in ("contract_code", "type", "position_side")},
        "lever": lever,
        "queried": queried,
        "contracts": contracts,
        "positions": [(p["margin_mode"], p["lever"], p["volume"]) for p in positions],
        "orders": orders,
        "history": [(h["close_type"], h["volume"], h["lever"]) for h in history],
        "stats": (stats["current_follower_num"], len(stats["last_24_hours_profit"])),
        "shares": len(shares["profit_items"]),
        "totals": [t["profit_currency"] for t in totals["items"]],
        "followers": (len(followers), len(after)),
    }


EXPECTED = {
    "tpsl": [("tp", "70000", "short"), ("sl", "50000", "short")],
    "echo": {"contract_code": "BTC-USDT", "type": 1, "position_side": "long"},
    "lever": {"lever": 10, "contract_code": "BTC-USDT", "margin_mode": "isolated"},
    "queried": {
        "lever_rate_range": [1, 200],
        "current_lever_rate": 10,
        "contract_code": "BTC-USDT",
        "margin_mode": "isolated",
    },
    "contracts": ["BTC-USDT", "ETH-USDT", "DOT-USDT"],
    "positions": [("isolated", "10", "2")],
    "orders": [],
    "history": [(1, "2", "10")],
    "stats": ("1", 24),
    "totals": ["USDT"],
    "followers": (1, 0),
}


def team(server: LiveServer) -> dict[str, Any]:
    trader = server.create_user("trader", balance="100000")
    follower = server.create_user("follower", balance="100000")
    server.follow(follower["uid"], trader["uid"], "1")
    server.set_price("BTC-USDT", "60500")
    server.set_price("DOT-USDT", "10")
    return trader


def check(figures: dict[str, Any]) -> None:
    shares = figures.pop("shares")
    assert shares in (0, 1)
    assert figures == EXPECTED


def test_ccxt_request_drives_all_19_endpoints(live_server: LiveServer) -> None:
    check(session(live_server, ccxt_sender(live_server, team(live_server))))


def test_htx_official_async_sdk_drives_all_19_endpoints(live_server: LiveServer) -> None:
    check(session(live_server, async_sdk_sender(live_server, team(live_server))))


@pytest.fixture(scope="module")
def lenient_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    db = tmp_path_factory.mktemp("all19") / "c.db"
    with LiveServer(db_path=db, demo_seed=False, accept_unsigned_get_params=True) as server:
        yield server


def test_htx_official_sync_sdk_drives_all_19_endpoints(
    lenient_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = requests.Session.request

    def plain_http(self: requests.Session, method: str, url: str, **kwargs: Any) -> Any:
        return original(self, method, "http://" + url.removeprefix("https://"), **kwargs)

    monkeypatch.setattr(requests.Session, "request", plain_http)
    check(session(lenient_server, sync_sdk_sender(lenient_server, team(lenient_server))))
