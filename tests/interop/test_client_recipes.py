"""Every ``# example:`` recipe of docs/clients.md runs against a live copytrade server.

HTX's official SDK is not on PyPI: its recipes import a replay of its two copy-trading clients
(``htx_sdk_replay``), which rebuilds their URLs and signatures from the rules the doc states.
The sync SDK's recipe needs a server started with ``accept_unsigned_get_params``; a default
server refuses its GETs, and a strict one refuses the async SDK's port-less signatures.
The doc's table of codes ccxt does not raise on, and the SDK's exception for each code, are
read from the doc and checked against ccxt, a live server and the SDK.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ccxt
import pytest
import requests
from htx_sdk_replay import HuobiCopytradingAPI, RestCopyTradingSync, install

from copytrade.client.errors import AuthenticationError, ExchangeError, error_class_for
from copytrade.protocol.error_codes import ErrorCode
from copytrade.testing.server import LiveServer

DOC = Path(__file__).resolve().parents[2] / "docs" / "clients.md"
RECIPES = ("ccxt-urls", "ccxt-sandbox", "ccxt-check-code", "copytrade-sdk")
PRIVATE = ["contract", "private"]
P = "copytrading/trader/"


def _doc_section(title: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(title)
    return text[start : text.index("\n#", start + len(title))]


def documented_unraised() -> dict[int, str]:
    """Return the doc's table of codes ccxt does not raise on: code -> when copytrade answers it."""
    rows = re.findall(r"^\| (\d+) \| [^|]+ \| ([^|]+) \|$", _doc_section("### Codes ccxt"), re.M)
    return {int(code): when.strip() for code, when in rows}


def documented_also() -> set[int]:
    """Return the codes of the doc's "The same holds for ..." sentence."""
    sentence = re.search(r"The same holds for ([^.]+)\.", _doc_section("### Codes ccxt"))
    assert sentence is not None
    return {int(code) for code in re.findall(r"\d+", sentence.group(1))}


def recipe(name: str) -> str:
    """Return the fenced python block of docs/clients.md that starts with its marker."""
    blocks = re.findall(r"^```python\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.S | re.M)
    found = [b for b in blocks if b.lstrip().startswith(f"# example: {name}\n")]
    assert len(found) == 1, f"one '# example: {name}' block expected in {DOC}"
    return found[0]


def run_recipe(
    name: str,
    server: LiveServer,
    creds: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    scope: dict[str, Any] | None = None,
) -> str:
    """Run a recipe against ``server`` as ``creds``; return what it printed.

    ``scope`` (when given) receives what the recipe defines.
    """
    monkeypatch.setenv("COPYTRADE_BASE_URL", server.base_url)
    monkeypatch.setenv("COPYTRADE_ACCESS_KEY", creds["access_key"])
    monkeypatch.setenv("COPYTRADE_SECRET_KEY", creds["secret_key"])
    scope = {} if scope is None else scope
    scope["__name__"] = "__recipe__"
    exec(compile(recipe(name), f"{DOC}:{name}", "exec"), scope)
    out = capsys.readouterr().out
    assert creds["secret_key"] not in out
    return out


@pytest.fixture(scope="module")
def lenient_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    db = tmp_path_factory.mktemp("lenient") / "c.db"
    with LiveServer(db_path=db, demo_seed=False, accept_unsigned_get_params=True) as server:
        yield server


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    db = tmp_path_factory.mktemp("strict") / "c.db"
    with LiveServer(db_path=db, demo_seed=False, signature_host_strict=True) as server:
        yield server


def test_every_recipe_in_the_doc_is_run_by_this_module() -> None:
    markers = re.findall(r"^# example: ([\w-]+)$", DOC.read_text(encoding="utf-8"), re.M)
    assert sorted(markers) == sorted([*RECIPES, "htx-sync-sdk", "htx-async-sdk", "ccxt-transfer"])


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_runs_against_a_default_server(
    name: str,
    live_server: LiveServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    trader = live_server.create_user("trader", balance="10000")

    out = run_recipe(name, live_server, trader, monkeypatch, capsys)

    assert "positions:" in out or "refused:" in out
    if name in ("ccxt-check-code", "copytrade-sdk"):
        assert "1046" in out


def test_the_transfer_recipe_moves_usdt_round_the_three_balances(
    live_server: LiveServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    trader = live_server.create_user("trader", balance="10000")

    out = run_recipe("ccxt-transfer", live_server, trader, monkeypatch, capsys)

    assert "transfer id" in out
    assert "refused: not that much in spot" in out
    assert "copy-trading equity: 10000" in out  # 10 out to spot, to futures, back in
    view = live_server.user(trader["uid"])
    assert (view["balance"], view["spot"], view["futures"]) == ("10000", "0", "0")


def test_the_sync_sdk_recipe_runs_against_a_server_accepting_unsigned_get_params(
    lenient_server: LiveServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    install(monkeypatch)
    trader = lenient_server.create_user("trader", balance="10000")

    out = run_recipe("htx-sync-sdk", lenient_server, trader, monkeypatch, capsys)

    assert "sync SDK positions: []" in out
    assert requests.Session.__init__.__name__ == "__init__"  # the recipe restored requests


def test_the_async_sdk_recipe_runs_against_a_default_server(
    live_server: LiveServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    install(monkeypatch)
    trader = live_server.create_user("trader", balance="10000")

    out = run_recipe("htx-async-sdk", live_server, trader, monkeypatch, capsys)

    assert "async SDK positions: []" in out


# ----- the SDK rules against default and strict servers ------------------------------------


def _plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sync SDK's https:// URLs, sent over plain HTTP (the recipe's transport override)."""
    original = requests.Session.request

    def request(self: requests.Session, method: str, url: str, **kwargs: Any) -> Any:
        return original(self, method, "http://" + url.removeprefix("https://"), **kwargs)

    monkeypatch.setattr(requests.Session, "request", request)


def test_a_default_server_refuses_the_sync_sdks_gets_with_parameters_but_not_its_posts(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _plain_http(monkeypatch)
    trader = live_server.create_user("trader", balance="10000")
    api = RestCopyTradingSync(trader["access_key"], trader["secret_key"], live_server.host)

    refused = api.contract_copytrading_trader_current_positions({"contract_code": "BTC-USDT"})
    unparameterised = api.contract_copytrading_trader_position_list()
    posted = api.contract_copytrading_trader_close_all_position(
        {"contract_code": "BTC-USDT", "margin_mode": "cross", "position_side": "long"}
    )

    assert (refused["code"], refused["msg"]) == (403, "Verification failure")
    assert unparameterised["code"] == 200
    assert posted["code"] == 1046  # signed fine; nothing to close


def test_the_sync_sdk_signing_an_alias_works_with_unsigned_get_params(
    lenient_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    trader = lenient_server.create_user("trader", balance="10000")
    api = RestCopyTradingSync(trader["access_key"], trader["secret_key"], "api.hbdm.com")
    original = requests.Session.request

    def to_copytrade(self: requests.Session, method: str, url: str, **kwargs: Any) -> Any:
        rewritten = url.replace("https://api.hbdm.com", lenient_server.base_url, 1)
        return original(self, method, rewritten, **kwargs)

    monkeypatch.setattr(requests.Session, "request", to_copytrade)

    placed = api.contract_copytrading_trader_place_order(
        {
            "contract_code": "BTC-USDT",
            "amount": "2",
            "margin_mode": "cross",
            "order_price_type": 17,
            "order_direction": 1,
            "lever": 10,
        }
    )
    listed = api.contract_copytrading_trader_current_positions({"contract_code": "BTC-USDT"})

    assert placed["code"] == 200
    assert [p["volume"] for p in listed["data"]["positions"]] == ["2"]


def test_a_strict_server_refuses_the_async_sdks_port_less_signature(
    strict_server: LiveServer,
) -> None:
    trader = strict_server.create_user("trader", balance="10000")
    api = HuobiCopytradingAPI(strict_server.base_url, trader["access_key"], trader["secret_key"])

    _, reply = asyncio.run(api.copytrading_trader_position_list())

    assert (reply["code"], reply["msg"]) == (403, "Verification failure")


def test_the_async_sdk_places_lists_and_closes_through_a_default_server(
    live_server: LiveServer,
) -> None:
    trader = live_server.create_user("trader", balance="10000")
    api = HuobiCopytradingAPI(live_server.base_url, trader["access_key"], trader["secret_key"])

    async def session() -> list[Any]:
        placed = await api.copytrading_trader_place_order(
            contract_code="BTC-USDT",
            amount="3",
            margin_mode="isolated",
            order_price_type=17,
            order_direction=2,
            lever=5,
        )
        listed = await api.copytrading_trader_current_positions(contract_code="BTC-USDT")
        closed = await api.copytrading_trader_close_all_position(
            contract_code="BTC-USDT", margin_mode="isolated", position_side="short"
        )
        return [placed[1], listed[1], closed[1]]

    placed, listed, closed = asyncio.run(session())

    assert placed["code"] == 200
    assert [(p["position_side"], p["volume"]) for p in listed["data"]["positions"]] == [
        ("short", "3")
    ]
    assert closed == {**closed, "code": 200, "data": True}


def test_the_documented_unraised_codes_are_exactly_those_missing_from_ccxts_map() -> None:
    exact = ccxt.htx().exceptions["exact"]
    emitted = {int(code) for code in ErrorCode}
    unraised = {code for code in emitted if str(code) not in exact}
    table, also = set(documented_unraised()), documented_also()

    assert table == {1046, 1014, 1205, 12001, 1000}  # the doc's table, as parsed
    assert unraised >= table | also
    assert {403, 1047, 1066, 1067}.isdisjoint(unraised)


def _connect(server: LiveServer, creds: dict[str, Any]) -> Any:
    host = server.host
    return ccxt.htx(
        {
            "apiKey": creds["access_key"],
            "secret": creds["secret_key"],
            "urls": {"hostnames": {"contract": host}, "api": {"contract": "http://{hostname}"}},
        }
    )


def _check_code_helper(
    server: LiveServer,
    creds: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Any:
    """Return the doc's ``htx_data`` helper, defined by running the ccxt-check-code recipe."""
    scope: dict[str, Any] = {}
    run_recipe("ccxt-check-code", server, creds, monkeypatch, capsys, scope)
    return scope["htx_data"]


def _unraised_replies(server: LiveServer) -> dict[int, Any]:
    """Make copytrade answer each code of the doc's table through ccxt's ``request()``."""
    trader = server.create_user("trader", balance="1000")
    reader = server.create_user("trader", balance="1000", permissions="read")
    order = {
        "contract_code": "BTC-USDT",
        "amount": "1",
        "margin_mode": "cross",
        "order_price_type": 17,
        "order_direction": 1,
        "lever": 5,
    }
    exchange = _connect(server, trader)
    late = _connect(server, trader)
    now_ms = late.milliseconds
    late.milliseconds = lambda: now_ms() - 600_000  # signed ten minutes ago
    close = {"contract_code": "BTC-USDT", "margin_mode": "cross", "position_side": "short"}
    return {
        1046: exchange.request(P + "close_all_position", PRIVATE, "POST", close),
        1014: exchange.request(
            P + "current_positions", PRIVATE, "GET", {"contract_code": "X-USDT"}
        ),
        1205: _connect(server, reader).request(P + "place_order", PRIVATE, "POST", order),
        12001: late.request(P + "position_list", PRIVATE, "GET"),
    }


def test_ccxt_returns_each_documented_code_unraised_and_the_docs_check_raises_it(
    live_server: LiveServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    trader = live_server.create_user("trader", balance="1000")
    htx_data = _check_code_helper(live_server, trader, monkeypatch, capsys)
    replies = _unraised_replies(live_server)  # ccxt raised none of them
    # 1000 ("an unexpected server fault") cannot be provoked: feed ccxt's own check the reply
    fault = {"code": 1000, "msg": "System error.", "data": None, "tid": "t", "success": False}
    exchange = ccxt.htx()
    assert (
        exchange.handle_errors(200, "OK", "u", "POST", {}, json.dumps(fault), fault, {}, "") is None
    )
    replies[1000] = fault

    assert set(replies) == set(documented_unraised())
    for code, reply in replies.items():
        assert (reply["code"], reply["success"]) == (code, False), reply
        with pytest.raises(ccxt.ExchangeError, match=f"^htx {code} "):
            htx_data(reply)
    assert htx_data({"code": 200, "success": True, "data": []}) == []


def test_the_sdk_raises_the_exception_the_doc_names_for_each_code() -> None:
    prose = " ".join(_doc_section("## This project").split())
    named = re.findall(r"`(\w+)` for ([\d, –and]+?)(?:,|\.| included)", prose)
    claims = {cls: re.findall(r"\d+", codes) for cls, codes in named}
    assert claims["PositionNotFound"] == ["1046"]
    assert claims["BadRequest"] == ["1014"]
    assert claims["PermissionDenied"] == ["1205"]
    assert claims["AuthenticationError"] == ["403", "12001", "12009"]
    for cls, codes in claims.items():
        for code in codes:
            assert error_class_for(int(code)).__name__ == cls, code
    for code in range(12001, 12010):
        assert issubclass(error_class_for(code), AuthenticationError)
    assert error_class_for(1000) is ExchangeError
