"""``copytrade api v5`` / ``copytrade api v6``: every endpoint's subcommand, table and JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from copytrade.cli.api import api
from copytrade.protocol import signing
from copytrade.protocol import v5 as p5
from copytrade.protocol import v6 as p6

SECRET_KEY = "sk-cli-very-secret-0002"
V6 = "/api/v6/copyTrading/trader/"
PERP = {"instType": "PERP"}
BY_PATH = {(e.method.value, e.path): e.name for e in (*p5.ENDPOINTS, *p6.ENDPOINTS)}
CONFIG = {"instType": "PERP", "enable": True, "profitSharingRatio": "0.1", "maxFollowers": "100"}
STATS = {
    "instType": "PERP", "totalFollowerNum": "2", "curFollowerNum": "1", "totalPnl": "10",
    "followerTotalPnl": "4", "winRate": "0.5", "winNum": "1", "lossNum": "1",
    "profitDetails90d": [{"pnlRate": "0.01", "pnl": "1", "ts": "1759161600000000"}],
}  # fmt: skip
TOTAL = [{"instType": "PERP", "ccy": "USDT", "totalAmt": "2.5"}]
ACK = [{"algo_id": "77", "algo_client_order_id": None}]
ALGO = {
    "id": "77", "algo_id": "77", "algo_client_order_id": None, "contract_code": "BTC-USDT",
    "side": "sell", "position_side": "long", "margin_mode": "cross", "type": "tp",
    "state": "effective", "volume": "3", "tp_trigger_price": "70000", "tp_order_price": "0",
    "tp_type": "market", "tp_trigger_price_type": "last", "sl_trigger_price": None,
    "sl_order_price": None, "sl_type": None, "sl_trigger_price_type": None,
    "order_source": "api", "created_time": "1781900000000", "updated_time": "1781900000000",
}  # fmt: skip


class Server:
    """MockTransport handler: records requests, answers each with the queued envelope."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.bodies: list[Any] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(200, json=self.bodies.pop(0))


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("BASE_URL", "ACCESS_KEY", "SECRET_KEY", "ED25519_KEY_FILE", "PROFILE"):
        monkeypatch.delenv(f"COPYTRADE_{name}", raising=False)
    monkeypatch.setenv("COPYTRADE_PROFILE_FILE", str(tmp_path / "absent.toml"))


def invoke(server: Server, args: list[str]) -> Result:
    env = {
        "COPYTRADE_BASE_URL": "http://127.0.0.1:8080",
        "COPYTRADE_ACCESS_KEY": "ak-cli-0002",
        "COPYTRADE_SECRET_KEY": SECRET_KEY,
    }
    return CliRunner().invoke(api, args, obj=httpx.MockTransport(server), env=env)


# args, HTTP method, path, reply data, what is sent (query or body)
COMMANDS: list[tuple[list[str], str, str, Any, Any]] = [
    (["v5", "order-history", "-c", "BTC-USDT", "--state", "filled", "--state", "canceled",
      "--limit", "5"], "GET", "/v5/trade/order/history", [],
     {"contract_code": "BTC-USDT", "margin_mode": "cross", "states": "filled,canceled",
      "limit": "5"}),
    (["v5", "position-mode"], "GET", "/v5/position/mode", {"position_mode": "dual_side"}, {}),
    (["v5", "position-mode", "--set", "dual_side"], "POST", "/v5/position/mode",
     {"position_mode": "dual_side"}, {"position_mode": "dual_side"}),
    (["v5", "tpsl", "-c", "BTC-USDT", "--side", "sell", "--tp-trigger-price", "70000"], "POST",
     "/v5/algo/order", ACK,
     {"contract_code": "BTC-USDT", "margin_mode": "cross", "side": "sell", "type": "tp",
      "tp_trigger_price": "70000"}),
    (["v5", "tpsl", "-c", "ETH-USDT", "--side", "buy", "-m", "isolated", "--tp-trigger-price",
      "2000", "--sl-trigger-price", "3500.5"], "POST", "/v5/algo/order", ACK,
     {"contract_code": "ETH-USDT", "margin_mode": "isolated", "side": "buy", "type": "tpsl",
      "tp_trigger_price": "2000", "sl_trigger_price": "3500.5"}),
    (["v5", "tpsl-orders"], "GET", "/v5/algo/order/opens", [], {}),
    (["v5", "trigger", "-c", "BTC-USDT", "--side", "buy", "--volume", "2", "--trigger-price",
      "64000", "--price", "65000", "--client-id", "77"], "POST", "/v5/algo/order", ACK,
     {"contract_code": "BTC-USDT", "margin_mode": "cross", "side": "buy", "type": "limit",
      "volume": "2", "algo_client_order_id": 77, "trigger_price": "64000", "price": "65000"}),
    (["v5", "trigger", "-c", "BTC-USDT", "--side", "sell", "--volume", "1", "--trigger-price",
      "55000", "--reduce-only", "--trigger-type", "le"], "POST", "/v5/algo/order", ACK,
     {"contract_code": "BTC-USDT", "margin_mode": "cross", "side": "sell", "type": "market",
      "volume": "1", "reduce_only": 1, "trigger_price": "55000", "trigger_type": "le"}),
    (["v5", "trailing", "-c", "ETH-USDT", "--side", "sell", "--volume", "3",
      "--callback-rate", "0.02", "--active-price", "3500", "--reduce-only"], "POST",
     "/v5/algo/order", ACK,
     {"contract_code": "ETH-USDT", "margin_mode": "cross", "side": "sell",
      "type": "trailing_stop", "volume": "3", "reduce_only": 1,
      "order_price_type": "formula_price", "callback_rate": "0.02", "active_price": "3500"}),
    (["v5", "algo-orders", "--type", "trigger"], "GET", "/v5/algo/order/opens", [],
     {"type": "trigger"}),
    (["v5", "algo-order", "77", "--type", "trailing_stop"], "GET", "/v5/algo/order", [ALGO],
     {"algo_id": "77", "type": "trailing_stop"}),
    (["v5", "algo-history", "--type", "trigger", "--state", "canceled"], "GET",
     "/v5/algo/order/history", [ALGO], {"type": "trigger", "states": "canceled"}),
    (["v5", "tpsl-order", "77"], "GET", "/v5/algo/order", [ALGO], {"algo_id": "77"}),
    (["v5", "tpsl-history", "-c", "BTC-USDT", "--state", "effective"], "GET",
     "/v5/algo/order/history", [ALGO], {"contract_code": "BTC-USDT", "states": "effective"}),
    (["v5", "tpsl-cancel", "-c", "BTC-USDT", "77", "78"], "POST", "/v5/algo/cancel_orders",
     [{"algo_id": "77", "algo_client_order_id": None, "code": 200, "message": "Success"},
      {"algo_id": "78", "algo_client_order_id": None, "code": 1017, "message": "no"}],
     [{"contract_code": "BTC-USDT", "algo_id": "77"},
      {"contract_code": "BTC-USDT", "algo_id": "78"}]),
    (["v6", "instruments"], "GET", V6 + "instruments",
     [{"instId": "BTC-USDT-PERP", "instType": "PERP"}], PERP),
    (["v6", "stats"], "GET", V6 + "statistics", [STATS], PERP),
    (["v6", "profit-history", "--inst-id", "BTC-USDT-PERP", "--limit", "3"], "GET",
     V6 + "profit-sharing-history", [], {**PERP, "instId": "BTC-USDT-PERP", "limit": "3"}),
    (["v6", "profit-total"], "GET", V6 + "profit-sharing-history-summary", TOTAL, PERP),
    (["v6", "profit-pending", "--ccy", "USDT"], "GET",
     V6 + "unrealized-profit-sharing-summary", TOTAL, {**PERP, "ccy": "USDT"}),
    (["v6", "followers", "--after", "9", "--begin", "1719300000000"], "GET", V6 + "followers",
     [], {**PERP, "after": "9", "begin": "1719300000000"}),
    (["v6", "remove-followers", "MjAwMDAwMDI", "MjAwMDAwMDM"], "POST", V6 + "follower",
     [{"followerUid": "MjAwMDAwMDI", "sCode": "0", "sMsg": ""},
      {"followerUid": "MjAwMDAwMDM", "sCode": "1067", "sMsg": "not a follower"}],
     {**PERP, "followerUids": ["MjAwMDAwMDI", "MjAwMDAwMDM"]}),
    (["v6", "transfer", "--amount", "100", "--from", "futures", "--to", "copy-trading"], "POST",
     V6 + "transfer", [], {**PERP, "amt": "100", "from": "2", "to": "4", "ccy": "USDT"}),
    (["v6", "settings", "--enable", "--ratio", "0.1", "--max-followers", "100"], "POST",
     V6 + "follower-settings", [CONFIG],
     {**PERP, "enable": True, "profitSharingRatio": "0.1", "maxFollowers": "100"}),
    (["v6", "settings", "--disable"], "POST", V6 + "follower-settings",
     [{"instType": "PERP", "enable": False}], {**PERP, "enable": False}),
    (["v6", "config"], "GET", V6 + "config", [CONFIG], PERP),
    (["v6", "apikey"], "POST", V6 + "apikey",
     [{"label": "copytrading", "accessKey": "ak-9", "secretKey": "sk-9", "ts": "1"}], PERP),
]  # fmt: skip
SERVED_BY_V5_TESTS = {
    "balance", "place_order", "cancel_order", "cancel_all_orders", "order", "open_orders",
    "fills", "positions", "close_position", "set_lever", "get_lever",
}  # fmt: skip


def test_every_v6_endpoint_and_the_new_v5_ones_have_a_subcommand() -> None:
    reached = {BY_PATH[(method, path)] for _args, method, path, _data, _sent in COMMANDS}
    every = {e.name for e in (*p5.ENDPOINTS, *p6.ENDPOINTS)}
    assert reached == every - SERVED_BY_V5_TESTS - {"config_post"}


@pytest.mark.parametrize("as_json", [False, True], ids=["table", "json"])
@pytest.mark.parametrize(
    ("args", "method", "path", "data", "sent"), COMMANDS, ids=[" ".join(c[0]) for c in COMMANDS]
)
def test_subcommand_calls_its_endpoint(
    args: list[str], method: str, path: str, data: Any, sent: Any, as_json: bool
) -> None:
    server = Server()
    family = args[0]
    server.bodies.append(
        {"code": "0", "msg": "", "data": data}
        if family == "v6"
        else {"code": 200, "message": "Success", "data": data, "ts": 1}
    )

    result = invoke(server, [*args, *(["--json"] if as_json else [])])

    assert result.exit_code == 0, result.output
    request = server.requests[-1]
    assert (request.method, request.url.path) == (method, path)
    if method == "POST":
        assert json.loads(request.content) == sent
    else:
        skip = {*signing.AUTH_PARAMS, "Signature"}
        query = dict(signing.parse_query(request.url.query.decode()))
        assert {k: v for k, v in query.items() if k not in skip} == sent
    if as_json:
        json.loads(result.stdout)
    assert SECRET_KEY not in result.output


def test_v6_error_exits_1_and_names_the_code() -> None:
    server = Server()
    server.bodies.append({"code": "1047", "msg": "Insufficient margin available.", "data": []})

    result = invoke(server, ["v6", "transfer", "--amount", "9", "--from", "spot", "--to", "spot"])

    assert result.exit_code == 1
    assert "InsufficientFunds 1047: Insufficient margin available." in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["v5", "tpsl", "-c", "BTC-USDT", "--side", "sell"],
        ["v6", "remove-followers", *[str(n) for n in range(11)]],
    ],
)
def test_usage_errors_send_nothing(args: list[str]) -> None:
    server = Server()
    result = invoke(server, args)
    assert result.exit_code == 2
    assert server.requests == []


def test_a_listing_leaves_out_the_columns_empty_in_every_row_and_json_keeps_them() -> None:
    # a take-profit order fills none of the sl_*, trigger or trailing fields: ~30 columns
    # would wrap a newcomer's terminal
    trigger = {**ALGO, "algo_id": "78", "id": "78", "type": "trigger", "tp_trigger_price": None,
               "tp_order_price": None, "tp_type": None, "tp_trigger_price_type": None,
               "trigger_price": "64000", "trigger_type": "ge"}  # fmt: skip
    server = Server()
    server.bodies.append({"code": 200, "message": "Success", "data": [ALGO, trigger], "ts": 1})
    header, *rows = invoke(server, ["v5", "algo-orders"]).stdout.strip().splitlines()
    columns = header.split()
    assert "TP_TRIGGER_PRICE" in columns  # filled in one row
    assert "TRIGGER_PRICE" in columns
    assert "SL_TRIGGER_PRICE" not in columns  # empty in both
    assert "CALLBACK_RATE" not in columns
    assert len(rows) == 2
    server.bodies.append({"code": 200, "message": "Success", "data": [ALGO], "ts": 1})
    listed = json.loads(invoke(server, ["v5", "algo-orders", "--json"]).stdout)
    assert "sl_trigger_price" in listed[0]
