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
    (["v5", "cancel-batch", "-c", "BTC-USDT", "7", "8"], "POST", "/v5/trade/cancel_batch_orders",
     [{"order_id": "7", "client_order_id": "7", "code": 200, "message": "Success"},
      {"order_id": "8", "client_order_id": "8", "code": 1017, "message": "no"}],
     {"contract_code": "BTC-USDT", "order_id": "7,8"}),
    (["v5", "close-all"], "POST", "/v5/trade/position_all",
     [{"order_id": "9", "client_order_id": "9"}], {}),
    (["v5", "position-history", "-c", "BTC-USDT", "--limit", "2"], "GET",
     "/v5/trade/position/history", [], {"contract_code": "BTC-USDT", "limit": "2"}),
    (["v5", "margin", "-c", "BTC-USDT", "--amount", "5.5", "--reduce"], "POST",
     "/v5/position/margin", {},
     {"contract_code": "BTC-USDT", "type": "reduce", "amount": "5.5", "currency": "USDT"}),
    (["v5", "bills", "--type", "trade_fee"], "GET", "/v5/account/bills", [],
     {"type": "trade_fee"}),
    (["v5", "cancel-after", "--time-out", "6000"], "POST", "/v5/trade/cancel-after",
     {"current_time": 1, "trigger_time": 6001}, {"on_off": 1, "time_out": 6000}),
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
    # batch_orders takes a JSON array: the SDK's client.v5.batch_orders, no subcommand;
    # cancel_after_get is the Java SDK's GET spelling of cancel-after
    assert reached == every - SERVED_BY_V5_TESTS - {
        "config_post",
        "batch_orders",
        "cancel_after_get",
    }


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


ORDER_ACK = {"order_id": "123", "client_order_id": "123"}
# args, reply data, what a person reads (no --json)
WRITES: list[tuple[list[str], Any, str]] = [
    (["v5", "order", "-c", "BTC-USDT", "--side", "buy", "--volume", "2",
      "--tp-trigger-price", "99000"], ORDER_ACK,
     "placed: buy 2 BTC-USDT cross market tp 99000, order 123"),
    (["v5", "order", "-c", "ETH-USDT", "--side", "sell", "--volume", "1", "-m", "isolated",
      "--type", "limit", "--price", "3500.5", "--time-in-force", "ioc", "--reduce-only"],
     {"order_id": "124", "client_order_id": "my-1"},
     "placed: sell 1 ETH-USDT isolated limit 3500.5 ioc reduce only, "
     "order 124 (client id my-1)"),
    (["v5", "cancel", "-c", "BTC-USDT", "123"], ORDER_ACK,
     "cancelled: order 123 on BTC-USDT"),
    (["v5", "cancel-all", "-c", "BTC-USDT"],
     [{"code": 200, "message": "Success", "order_id": "1", "client_order_id": "1"},
      {"code": 1071, "message": "Repeated withdraw.", "order_id": "2", "client_order_id": "2"}],
     "cancelled: order 1 on BTC-USDT\n"
     "not cancelled: order 2 on BTC-USDT (1071 Repeated withdraw.)"),
    (["v5", "cancel-all", "-c", "BTC-USDT"], [],
     "cancelled: nothing, no open order on BTC-USDT"),
    (["v5", "close", "-c", "BTC-USDT"], ORDER_ACK,
     "closed: every BTC-USDT cross position at market, order 123"),
    (["v5", "close", "-c", "BTC-USDT", "--position-side", "short"], ORDER_ACK,
     "closed: the short BTC-USDT cross position at market, order 123"),
    (["v5", "set-leverage", "-c", "BTC-USDT", "--lever", "7"],
     {"contract_code": "BTC-USDT", "margin_mode": "cross", "lever_rate": 7},
     "leverage set: BTC-USDT cross lever 7"),
    (["v5", "position-mode", "--set", "dual_side"], {"position_mode": "dual_side"},
     "position mode set: dual_side (hedge: a long and a short per contract)"),
    (["v5", "tpsl", "-c", "BTC-USDT", "--side", "sell", "--tp-trigger-price", "70000",
      "--sl-trigger-price", "0.5"], ACK,
     "armed: tp 70000, sl 0.5 on the long BTC-USDT cross position, algo 77"),
    (["v5", "tpsl", "-c", "BTC-USDT", "--side", "buy", "--sl-trigger-price", "70000",
      "--volume", "3"], ACK,
     "armed: sl 70000 on the short BTC-USDT cross position (3 contracts), algo 77"),
    (["v5", "trigger", "-c", "BTC-USDT", "--side", "buy", "--volume", "2", "--trigger-price",
      "64000", "--price", "65000"], ACK,
     "resting: trigger buy 2 BTC-USDT cross at limit 65000 when the mark reaches 64000, algo 77"),
    (["v5", "trigger", "-c", "BTC-USDT", "--side", "sell", "--volume", "1", "--trigger-price",
      "55000", "--trigger-type", "le", "--reduce-only"], ACK,
     "resting: trigger sell 1 BTC-USDT cross at market when the mark <= 55000 (reduce only), "
     "algo 77"),
    (["v5", "trailing", "-c", "ETH-USDT", "--side", "sell", "--volume", "3",
      "--callback-rate", "0.02", "--active-price", "3500"], ACK,
     "resting: trailing sell 3 ETH-USDT cross at market once the mark retraces 0.02 "
     "(active from 3500), algo 77"),
    (["v5", "tpsl-cancel", "-c", "BTC-USDT", "77", "78"],
     [{"algo_id": "77", "algo_client_order_id": None, "code": 200, "message": "Success"},
      {"algo_id": "78", "algo_client_order_id": None, "code": 1017, "message": "no"}],
     "cancelled: algo 77 on BTC-USDT\nnot cancelled: algo 78 on BTC-USDT (1017 no)"),
    (["v6", "remove-followers", "MjAwMDAwMDI", "MjAwMDAwMDM"],
     [{"followerUid": "MjAwMDAwMDI", "sCode": "0", "sMsg": ""},
      {"followerUid": "MjAwMDAwMDM", "sCode": "1067", "sMsg": "not a follower"}],
     "removed: follower MjAwMDAwMDI (its copies closed at market)\n"
     "not removed: follower MjAwMDAwMDM (1067 not a follower)"),
    (["v6", "transfer", "--amount", "100.50", "--from", "futures", "--to", "copy-trading"], [],
     "transferred 100.50 USDT from futures to copy-trading"),
]  # fmt: skip


def _reply(args: list[str], data: Any) -> dict[str, Any]:
    if args[0] == "v6":
        return {"code": "0", "msg": "", "data": data}
    return {"code": 200, "message": "Success", "data": data, "ts": 1}


@pytest.mark.parametrize(("args", "data", "said"), WRITES, ids=[" ".join(w[0]) for w in WRITES])
def test_a_write_command_says_what_it_did_and_json_keeps_htx_data(
    args: list[str], data: Any, said: str
) -> None:
    server = Server()
    server.bodies += [_reply(args, data), _reply(args, data)]

    result = invoke(server, args)
    as_json = invoke(server, [*args, "--json"])

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == said
    assert as_json.exit_code == 0, as_json.output
    shown = json.loads(as_json.stdout)
    if args[:2] == ["v6", "transfer"]:
        assert shown is True  # HTX's data: [] means done
    elif args[0] == "v6":
        assert shown == [{"follower_uid": r["followerUid"], "s_code": r["sCode"],
                          "s_msg": r["sMsg"]} for r in data]  # fmt: skip
    else:
        assert shown == data  # v5 fields keep their wire names


def test_a_tid_follows_one_line_and_gets_its_own_line_after_several() -> None:
    server = Server()
    items = [{"code": 200, "message": "Success", "order_id": str(n), "client_order_id": str(n)}
             for n in (1, 2)]  # fmt: skip
    server.bodies += [
        {"code": 200, "message": "Success", "data": ORDER_ACK, "ts": 1, "tid": "t-1"},
        {"code": 200, "message": "Success", "data": items, "ts": 1, "tid": "t-2"},
    ]

    one = invoke(server, ["v5", "cancel", "-c", "BTC-USDT", "123"]).stdout.strip()
    several = invoke(server, ["v5", "cancel-all", "-c", "BTC-USDT"]).stdout.strip()

    assert one == "cancelled: order 123 on BTC-USDT (tid t-1)"
    assert several.splitlines() == [
        "cancelled: order 1 on BTC-USDT", "cancelled: order 2 on BTC-USDT", "(tid t-2)"
    ]  # fmt: skip
