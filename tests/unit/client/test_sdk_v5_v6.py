"""``client.v5`` and ``client.v6`` against MockTransport: the request each method builds, the
reply it parses (spec ``htx-v5-v6.md`` §6, §8 examples), and the v6 envelope's error mapping."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal as D
from typing import Any

import httpx
import pytest
from sdk_fakes import ACCESS_KEY, FIXED_NOW, SECRET_KEY, Recorder, business_params
from sdk_fakes import signature_is_valid as signed

from copytrade.client import (
    AsyncClient,
    AuthenticationError,
    BadRequest,
    Client,
    ExchangeError,
    HmacAuth,
    InsufficientFunds,
    InvalidResponse,
    PermissionDenied,
    PositionSide,
    RateLimitExceeded,
    TransferAccount,
)
from copytrade.protocol import v5 as p5
from copytrade.protocol import v6 as p6

V6 = "/api/v6/copyTrading/trader/"
PERP = {"instType": "PERP"}


def v5_envelope(data: Any) -> dict[str, Any]:
    return {"code": 200, "message": "Success", "data": data, "ts": 1782000000000}


def v6_envelope(data: Any) -> dict[str, Any]:
    return {"code": "0", "msg": "", "data": data}


ORDER = {
    "id": "1513828877079584768", "order_id": "1513828877079584768",
    "client_order_id": "1513828877079584768", "contract_code": "BTC-USDT", "side": "buy",
    "position_side": "long", "type": "limit", "price": "60000", "price_match": None,
    "volume": "2", "state": "filled", "trade_volume": "2", "trade_avg_price": "60000",
    "trade_turnover": "120", "fee": "-0.048", "fee_currency": "USDT", "margin_mode": "cross",
    "lever_rate": 5, "order_source": "api", "contract_type": "swap", "price_protect": False,
    "cancel_reason": None, "reduce_only": False, "time_in_force": "gtc",
    "tp_trigger_price": None, "tp_order_price": None, "tp_type": None,
    "tp_trigger_price_type": None, "sl_trigger_price": None, "sl_order_price": None,
    "sl_type": None, "sl_trigger_price_type": None, "created_time": "1781900000000",
    "updated_time": "1781900000100",
}  # fmt: skip
ALGO = {
    "id": "1512871666507657216", "algo_id": "1512871666507657216", "algo_client_order_id": None,
    "contract_code": "BTC-USDT", "side": "sell", "position_side": "long",
    "margin_mode": "cross", "type": "tp", "state": "active", "volume": "3",
    "tp_trigger_price": "70000", "tp_order_price": "0", "tp_type": "market",
    "tp_trigger_price_type": "last", "sl_trigger_price": None, "sl_order_price": None,
    "sl_type": None, "sl_trigger_price_type": None, "order_source": "api",
    "created_time": "1781900000000", "updated_time": "1781900000000",
}  # fmt: skip
STATISTICS = {
    "instType": "PERP", "totalFollowerNum": "12", "curFollowerNum": "3", "totalPnl": "1520.5",
    "followerTotalPnl": "310.25", "winRate": "0.6", "winNum": "6", "lossNum": "4",
    "profitDetails90d": [{"pnlRate": "0.012", "pnl": "35.5", "ts": "1759161600000000"}],
}  # fmt: skip
FOLLOWER = {
    "id": "7002", "instType": "PERP",
    "followerAvatarLink": "https://static.example.invalid/avatar/20000002.png",
    "followerName": "b***@example.com", "followerUid": "MjAwMDAwMDI",
    "followTime": "1719300000000000", "followerAssetAmt": "3000",
    "followerProfitSharingAmt": "24.682588", "followerTradeAmt": "3000",
    "totalProfitSharingAmt": "24.682588",
}  # fmt: skip
CONFIG = {"instType": "PERP", "enable": True, "profitSharingRatio": "0.15", "maxFollowers": "200"}


@dataclass
class Case:
    family: str
    method: str
    endpoint: str
    kwargs: dict[str, Any]
    http_method: str
    path: str
    data: Any
    expected: Any
    params: dict[str, str] = field(default_factory=dict)
    body: Any = None


ACK = {"order_id": "1512501029504577536", "client_order_id": "1512501029504577536"}
BALANCE_DETAIL = {
    "currency": "USDT", "equity": "1000", "available": "900", "available_margin": "900",
    "withdraw_available": "900", "profit_unreal": "5", "initial_margin": "100",
    "maintenance_margin": "4", "maintenance_margin_rate": "0.004", "initial_margin_rate": "0.1",
    "voucher": "0", "voucher_value": "0", "isolated_equity": "0", "isolated_profit_unreal": "0",
    "created_time": 1782000000000, "updated_time": 1782000000000,
}  # fmt: skip
BALANCE = {
    "state": "normal", "equity": "1000", "initial_margin": "100", "maintenance_margin": "4",
    "maintenance_margin_rate": "0.004", "profit_unreal": "5", "available_margin": "900",
    "voucher_value": "0", "created_time": 1782000000000, "updated_time": 1782000000000,
    "details": [BALANCE_DETAIL],
}  # fmt: skip
FILL = {
    "id": "152022944-1513834754585190400", "trade_id": "152022944",
    "order_id": "1513834754585190400", "contract_code": "BTC-USDT", "side": "sell",
    "position_side": "short", "type": "market", "role": "TAKER", "trade_price": "62688.3",
    "trade_volume": "2", "trade_turnover": "125.3766", "trade_fee": "0.07522584",
    "fee_currency": "USDT", "margin_mode": "cross", "profit": "0",
    "created_time": "1781900000000",
}  # fmt: skip
POSITION = {
    "contract_code": "BTC-USDT", "contract_type": "swap", "position_side": "long",
    "direction": "buy", "margin_mode": "cross", "open_avg_price": "63204.5", "volume": "1",
    "available": "1", "lever_rate": 20, "initial_margin": "3.158275", "margin": "3.158275",
    "maintenance_margin": "0.2147627", "margin_rate": "0.0012", "profit_unreal": "-0.039",
    "profit_rate": "-0.0123", "liquidation_price": "3204.5", "mark_price": "63165.5",
    "last_price": "63165.5", "margin_currency": "USDT", "adl_risk_percent": 1,
    "created_time": "1781900000000", "updated_time": "1781900000000",
}  # fmt: skip
LEVER = {"contract_code": "BTC-USDT", "margin_mode": "cross", "lever_rate": 10}
BTC = {"contract_code": "BTC-USDT"}

BATCH_ITEM = {"order_id": "7", "client_order_id": "7", "code": 200, "message": "Success"}
CLOSED = {
    "id": "9", "contract_code": "BTC-USDT", "contract_type": "swap", "position_side": "long",
    "direction": "buy", "margin_mode": "cross", "lever_rate": 5, "volume": "1",
    "open_avg_price": "60000", "close_avg_price": "61000", "open_fee": "0.036",
    "close_fee": "0.0366", "profit": "0.9274", "profit_rate": "0.077", "close_type": 2,
    "margin_currency": "USDT", "created_time": "1781900000000", "updated_time": "1781900000001",
}  # fmt: skip
BILL = {"id": "5", "contract_code": "BTC-USDT", "margin_mode": "cross", "type": "trade_fee",
        "currency": "USDT", "amount": "-0.036", "created_time": "1781900000000"}  # fmt: skip

V5_CASES = [
    Case("v5", "balance", "balance", {}, "GET", "/v5/account/balance", BALANCE,
         p5.Balance.from_wire(BALANCE)),
    Case("v5", "place_order", "place_order",
         {"contract_code": "BTC-USDT", "side": "buy", "volume": D(1), "type": "limit",
          "price": D("60000.1"), "position_side": PositionSide.LONG,
          "tp_trigger_price": D(70000), "sl_trigger_price": D(55000), "client_order_id": 42},
         "POST", "/v5/trade/order", ACK, p5.OrderAck.from_wire(ACK),
         body={"contract_code": "BTC-USDT", "margin_mode": "cross", "side": "buy",
               "type": "limit", "volume": "1", "time_in_force": "gtc", "price": "60000.1",
               "position_side": "long", "tp_trigger_price": "70000",
               "sl_trigger_price": "55000", "client_order_id": 42}),
    Case("v5", "cancel_order", "cancel_order",
         {"contract_code": "BTC-USDT", "order_id": "1512501029504577536"}, "POST",
         "/v5/trade/cancel_order", ACK, p5.OrderAck.from_wire(ACK),
         body={"contract_code": "BTC-USDT", "order_id": "1512501029504577536"}),
    Case("v5", "cancel_all_orders", "cancel_all_orders", BTC, "POST",
         "/v5/trade/cancel_all_orders", [{"code": 200, "message": "Success", **ACK}],
         (p5.CancelItem(200, "Success", ACK["order_id"], ACK["client_order_id"]),), body=BTC),
    Case("v5", "order", "order", {"contract_code": "BTC-USDT", "order_id": ORDER["order_id"]},
         "GET", "/v5/trade/order", ORDER, p5.Order.from_wire(ORDER),
         params={"contract_code": "BTC-USDT", "order_id": ORDER["order_id"]}),
    Case("v5", "open_orders", "open_orders", {}, "GET", "/v5/trade/order/opens", [ORDER],
         (p5.Order.from_wire(ORDER),)),
    Case("v5", "fills", "fills", {"contract_code": "BTC-USDT", "start_time": 1781900000000},
         "GET", "/v5/trade/order/details", [FILL], (p5.Fill.from_wire(FILL),),
         params={"contract_code": "BTC-USDT", "start_time": "1781900000000"}),
    Case("v5", "positions", "positions", BTC, "GET", "/v5/trade/position/opens", [POSITION],
         (p5.Position.from_wire(POSITION),), params=BTC),
    Case("v5", "close_position", "close_position",
         {"contract_code": "BTC-USDT", "position_side": PositionSide.SHORT}, "POST",
         "/v5/trade/position", ACK, p5.OrderAck.from_wire(ACK),
         body={"contract_code": "BTC-USDT", "margin_mode": "cross", "position_side": "short"}),
    Case("v5", "set_lever", "set_lever", {"contract_code": "BTC-USDT", "lever_rate": 10},
         "POST", "/v5/position/lever", LEVER, p5.Lever("BTC-USDT", "cross", 10),
         body={"contract_code": "BTC-USDT", "margin_mode": "cross", "lever_rate": 10}),
    Case("v5", "get_lever", "get_lever", {}, "GET", "/v5/position/lever", [LEVER],
         (p5.Lever("BTC-USDT", "cross", 10),)),

    Case("v5", "order_history", "order_history",
         {"contract_code": "BTC-USDT", "states": ["filled", "canceled"],
          "start_time": 1781900000000, "limit": 20},
         "GET", "/v5/trade/order/history", [ORDER], (p5.Order.from_wire(ORDER),),
         params={"contract_code": "BTC-USDT", "margin_mode": "cross", "states": "filled,canceled",
                 "start_time": "1781900000000", "limit": "20"}),
    Case("v5", "set_position_mode", "set_position_mode", {"position_mode": "dual_side"}, "POST",
         "/v5/position/mode", {"position_mode": "dual_side"}, p5.PositionMode("dual_side"),
         body={"position_mode": "dual_side"}),
    Case("v5", "get_position_mode", "get_position_mode", {}, "GET", "/v5/position/mode",
         {"position_mode": "dual_side"}, p5.PositionMode("dual_side")),
    Case("v5", "place_algo_order", "algo_order",
         {"contract_code": "BTC-USDT", "side": "sell", "type": "tpsl",
          "position_side": PositionSide.LONG, "volume": D(3), "tp_trigger_price": D(70000),
          "sl_trigger_price": D("55000.5")},
         "POST", "/v5/algo/order",
         [{"algo_id": "1512871666507657216", "algo_client_order_id": None},
          {"algo_id": "1512871666507657217", "algo_client_order_id": None}],
         (p5.AlgoAck("1512871666507657216", None), p5.AlgoAck("1512871666507657217", None)),
         body={"contract_code": "BTC-USDT", "margin_mode": "cross", "side": "sell",
               "type": "tpsl", "position_side": "long", "volume": "3",
               "tp_trigger_price": "70000", "sl_trigger_price": "55000.5"}),
    Case("v5", "place_trigger_order", "algo_order",
         {"contract_code": "BTC-USDT", "side": "buy", "volume": D(2),
          "trigger_price": D("64000.5"), "type": "limit", "price": D(65000),
          "algo_client_order_id": 77},
         "POST", "/v5/algo/order",
         [{"algo_id": "1512871666507657216", "algo_client_order_id": "77"}],
         (p5.AlgoAck("1512871666507657216", "77"),),
         body={"contract_code": "BTC-USDT", "margin_mode": "cross", "side": "buy",
               "type": "limit", "volume": "2", "algo_client_order_id": 77,
               "trigger_price": "64000.5", "price": "65000"}),
    Case("v5", "place_trailing_order", "algo_order",
         {"contract_code": "BTC-USDT", "side": "sell", "volume": D(2),
          "callback_rate": D("0.02"), "active_price": D(70000), "reduce_only": True},
         "POST", "/v5/algo/order",
         [{"algo_id": "1512871666507657216", "algo_client_order_id": None}],
         (p5.AlgoAck("1512871666507657216", None),),
         body={"contract_code": "BTC-USDT", "margin_mode": "cross", "side": "sell",
               "type": "trailing_stop", "volume": "2", "reduce_only": 1,
               "order_price_type": "formula_price", "callback_rate": "0.02",
               "active_price": "70000"}),
    Case("v5", "cancel_algo_orders", "algo_cancel",
         {"contract_code": "BTC-USDT", "algo_ids": ["1512871666507657216", "9"]},
         "POST", "/v5/algo/cancel_orders",
         [{"algo_id": "1512871666507657216", "algo_client_order_id": None, "code": 200,
           "message": "Success"},
          {"algo_id": "9", "algo_client_order_id": None, "code": 1017,
           "message": "Order doesn't exist."}],
         (p5.AlgoCancel("1512871666507657216", None, 200, "Success"),
          p5.AlgoCancel("9", None, 1017, "Order doesn't exist.")),
         body=[{"contract_code": "BTC-USDT", "algo_id": "1512871666507657216"},
               {"contract_code": "BTC-USDT", "algo_id": "9"}]),
    Case("v5", "algo_order", "algo_query", {"algo_id": "1512871666507657216", "type": "tp"},
         "GET", "/v5/algo/order", [ALGO], p5.AlgoOrder.from_wire(ALGO),
         params={"algo_id": "1512871666507657216", "type": "tp"}),
    Case("v5", "algo_order_history", "algo_history",
         {"contract_code": "BTC-USDT", "states": ["effective"], "limit": 5}, "GET",
         "/v5/algo/order/history", [ALGO], (p5.AlgoOrder.from_wire(ALGO),),
         params={"contract_code": "BTC-USDT", "states": "effective", "limit": "5"}),
    Case("v5", "algo_open_orders", "algo_opens", {"contract_code": "BTC-USDT"}, "GET",
         "/v5/algo/order/opens", [ALGO], (p5.AlgoOrder.from_wire(ALGO),),
         params={"contract_code": "BTC-USDT"}),
    Case("v5", "algo_open_orders", "algo_opens", {"type": "trigger"}, "GET",
         "/v5/algo/order/opens", [ALGO], (p5.AlgoOrder.from_wire(ALGO),),
         params={"type": "trigger"}),
    Case("v5", "batch_orders", "batch_orders",
         {"orders": [{"contract_code": "BTC-USDT", "side": "buy", "type": "market",
                      "volume": "1", "margin_mode": "cross"}]},
         "POST", "/v5/trade/batch_orders", [BATCH_ITEM], (p5.BatchItem.from_wire(BATCH_ITEM),),
         body=[{"contract_code": "BTC-USDT", "side": "buy", "type": "market", "volume": "1",
                "margin_mode": "cross"}]),
    Case("v5", "cancel_batch_orders", "cancel_batch_orders",
         {"contract_code": "BTC-USDT", "order_ids": ["7", "8"]},
         "POST", "/v5/trade/cancel_batch_orders", [BATCH_ITEM],
         (p5.BatchItem.from_wire(BATCH_ITEM),),
         body={"contract_code": "BTC-USDT", "order_id": "7,8"}),
    Case("v5", "close_all_positions", "position_all", {}, "POST", "/v5/trade/position_all",
         [ACK], (p5.OrderAck.from_wire(ACK),), body={}),
    Case("v5", "position_history", "position_history", {"contract_code": "BTC-USDT", "limit": 2},
         "GET", "/v5/trade/position/history", [CLOSED], (p5.ClosedPosition.from_wire(CLOSED),),
         params={"contract_code": "BTC-USDT", "limit": "2"}),
    Case("v5", "position_margin", "position_margin",
         {"contract_code": "BTC-USDT", "amount": D("5.5"), "type": "reduce"},
         "POST", "/v5/position/margin", {}, p5.MarginChange.from_wire({}),
         body={"contract_code": "BTC-USDT", "type": "reduce", "amount": "5.5",
               "currency": "USDT"}),
    Case("v5", "bills", "bills", {"type": "trade_fee"}, "GET", "/v5/account/bills", [BILL],
         (p5.Bill.from_wire(BILL),), params={"type": "trade_fee"}),
    Case("v5", "cancel_after", "cancel_after", {"time_out": 6000}, "POST",
         "/v5/trade/cancel-after", {"current_time": 1, "trigger_time": 6001},
         p5.CancelAfter(1, 6001), body={"on_off": 1, "time_out": 6000}),
]  # fmt: skip

V6_CASES = [
    Case("v6", "instruments", "instruments", {}, "GET", V6 + "instruments",
         [{"instId": "BTC-USDT-PERP", "instType": "PERP"}],
         (p6.Instrument("BTC-USDT-PERP", "PERP"),), params=PERP),
    Case("v6", "statistics", "statistics", {}, "GET", V6 + "statistics", [STATISTICS],
         p6.Statistics("PERP", 12, 3, D("1520.5"), D("310.25"), D("0.6"), 6, 4,
                       (p6.DayProfit(D("0.012"), D("35.5"), 1759161600000000),)),
         params=PERP),
    Case("v6", "profit_sharing_history", "profit_sharing_history",
         {"inst_id": "BTC-USDT-PERP", "after": "5001", "limit": 2}, "GET",
         V6 + "profit-sharing-history",
         [{"id": "5000", "instType": "PERP", "followerName": "b***@example.com", "ccy": "USDT",
           "profitSharingAmt": "1.6328468", "ts": "1719307800000000"}],
         (p6.ProfitSharing("5000", "PERP", "b***@example.com", "USDT", D("1.6328468"),
                           1719307800000000),),
         params={**PERP, "instId": "BTC-USDT-PERP", "after": "5001", "limit": "2"}),
    Case("v6", "profit_sharing_summary", "profit_sharing_summary", {}, "GET",
         V6 + "profit-sharing-history-summary",
         [{"instType": "PERP", "ccy": "USDT", "totalAmt": "2.4682588"}],
         (p6.Total("PERP", "USDT", D("2.4682588")),), params=PERP),
    Case("v6", "unrealized_profit_sharing_summary", "unrealized_summary", {"ccy": "USDT"}, "GET",
         V6 + "unrealized-profit-sharing-summary",
         [{"instType": "PERP", "ccy": "USDT", "totalAmt": "0.5"}],
         (p6.Total("PERP", "USDT", D("0.5")),), params={**PERP, "ccy": "USDT"}),
    Case("v6", "followers", "followers", {"begin": 1719300000000, "before": "7001"}, "GET",
         V6 + "followers", [FOLLOWER],
         (p6.Follower("7002", "PERP", "https://static.example.invalid/avatar/20000002.png",
                      "b***@example.com", "MjAwMDAwMDI", 1719300000000000, D(3000),
                      D("24.682588"), D(3000), D("24.682588")),),
         params={**PERP, "begin": "1719300000000", "before": "7001"}),
    Case("v6", "remove_followers", "remove_followers",
         {"follower_uids": ["MjAwMDAwMDI", "MjAwMDAwMDM"]}, "POST", V6 + "follower",
         [{"followerUid": "MjAwMDAwMDI", "sCode": "0", "sMsg": ""},
          {"followerUid": "MjAwMDAwMDM", "sCode": "1067",
           "sMsg": "Illegal parameter followerUids."}],
         (p6.Removal("MjAwMDAwMDI", "0", ""),
          p6.Removal("MjAwMDAwMDM", "1067", "Illegal parameter followerUids.")),
         body={**PERP, "followerUids": ["MjAwMDAwMDI", "MjAwMDAwMDM"]}),
    Case("v6", "transfer", "transfer",
         {"amount": D("25.5"), "from_account": TransferAccount.FUTURES,
          "to_account": TransferAccount.COPY_TRADING},
         "POST", V6 + "transfer", [], True,
         body={**PERP, "amt": "25.5", "from": "2", "to": "4", "ccy": "USDT"}),
    Case("v6", "follower_settings", "follower_settings",
         {"enable": True, "profit_sharing_ratio": D("0.15"), "max_followers": 200}, "POST",
         V6 + "follower-settings", [CONFIG], p6.Config("PERP", True, D("0.15"), 200),
         body={**PERP, "enable": True, "profitSharingRatio": "0.15", "maxFollowers": "200"}),
    Case("v6", "config", "config", {}, "GET", V6 + "config",
         [{"instType": "PERP", "enable": False}], p6.Config("PERP", False, None, None),
         params=PERP),
    Case("v6", "create_apikey", "apikey", {}, "POST", V6 + "apikey",
         [{"label": "copytrading-1", "accessKey": "ak-2", "secretKey": "sk-2",
           "perm": ["read", "trade"], "ts": "1782000000000000"}],
         p6.MintedKey("copytrading-1", "ak-2", "sk-2", 1782000000000000), body=PERP),
]  # fmt: skip

ENVELOPES = {"v5": v5_envelope, "v6": v6_envelope}


def test_every_v5_and_v6_endpoint_of_the_table_has_a_case() -> None:
    """What COVERAGE.md says of the SDK: every v5 endpoint, every v6 one (``config`` by GET)."""
    # cancel_after_get: the Java SDK's GET spelling of cancel-after (client.v5 POSTs)
    assert {c.endpoint for c in V5_CASES} == {e.name for e in p5.ENDPOINTS} - {"cancel_after_get"}
    assert {c.endpoint for c in V6_CASES} == {e.name for e in p6.ENDPOINTS} - {"config_post"}


@pytest.mark.parametrize("case", V5_CASES + V6_CASES, ids=lambda c: f"{c.family}.{c.method}")
def test_method_sends_the_documented_request_and_parses_the_reply(
    case: Case, recorder: Recorder, make_client: Callable[..., Client]
) -> None:
    client = make_client()
    recorder.reply(ENVELOPES[case.family](case.data))

    result = getattr(getattr(client, case.family), case.method)(**case.kwargs)

    request = recorder.last
    assert (request.method, request.url.path) == (case.http_method, case.path)
    assert signed(request)
    assert business_params(request) == case.params
    if case.http_method == "POST":
        assert request.headers["content-type"] == "application/json"
        assert json.loads(request.content) == case.body
    else:
        assert request.content == b""
    assert result == case.expected
    assert client.last_response is not None
    assert client.last_response.data == case.expected


@pytest.mark.parametrize("case", V5_CASES + V6_CASES, ids=lambda c: f"{c.family}.{c.method}")
def test_method_docstring_names_the_http_path(case: Case) -> None:
    family = {"v5": Client(auth=HmacAuth("a", "b")).v5, "v6": Client(auth=HmacAuth("a", "b")).v6}
    doc = getattr(type(family[case.family]), case.method).__doc__
    assert f"{case.http_method} {case.path}" in doc


@pytest.mark.parametrize(
    ("status", "body", "cls", "code"),
    [
        (200, {"code": "1067", "msg": "Illegal parameter instType.", "data": []}, BadRequest, 1067),
        (200, {"code": "1047", "msg": "Insufficient margin available.", "data": []},
         InsufficientFunds, 1047),
        (200, {"code": "1220", "msg": "You don't have access permission.", "data": []},
         PermissionDenied, 1220),
        (429, {"code": "1032", "msg": "The number of access exceeded the limit.", "data": []},
         RateLimitExceeded, 1032),
        (200, {"status": "error", "err_code": 403, "err_msg": "Verification failure",
               "ts": 1782000000000}, AuthenticationError, 403),
        (200, {"status": "error", "err_code": 1205, "err_msg": "API key has no permission",
               "ts": 1782000000000}, PermissionDenied, 1205),
        (500, {"code": "1000", "msg": "System error.", "data": []}, ExchangeError, 1000),
    ],
)  # fmt: skip
def test_v6_errors_raise_the_sdk_exceptions(
    status: int,
    body: dict[str, Any],
    cls: type[ExchangeError],
    code: int,
    recorder: Recorder,
    make_client: Callable[..., Client],
) -> None:
    recorder.reply(body, status=status)
    with pytest.raises(cls) as raised:
        make_client().v6.followers()
    assert type(raised.value) is cls
    assert (raised.value.code, raised.value.http_status) == (code, status)


def test_v6_single_result_without_its_item_is_an_invalid_response(
    recorder: Recorder, make_client: Callable[..., Client]
) -> None:
    recorder.reply(v6_envelope([]))
    with pytest.raises(InvalidResponse):
        make_client().v6.config()


def test_v5_success_code_in_a_v6_reply_is_not_mistaken_for_success(
    recorder: Recorder, make_client: Callable[..., Client]
) -> None:
    recorder.reply({"code": 200, "message": "Success", "data": [], "ts": 1})
    with pytest.raises(ExchangeError):
        make_client().v6.instruments()


@pytest.mark.parametrize("uids", [[], [str(i) for i in range(11)], "MjAwMDAwMDI"])
def test_remove_followers_takes_one_to_ten_ids_before_sending(
    uids: Any, recorder: Recorder, make_client: Callable[..., Client]
) -> None:
    with pytest.raises(ValueError, match="1 to 10"):
        make_client().v6.remove_followers(follower_uids=uids)
    assert recorder.requests == []


def test_cancel_algo_orders_needs_an_id(
    recorder: Recorder, make_client: Callable[..., Client]
) -> None:
    with pytest.raises(ValueError, match="algo_ids"):
        make_client().v5.cancel_algo_orders(contract_code="BTC-USDT", algo_ids=[])
    assert recorder.requests == []


def test_async_client_has_the_same_v5_v6_and_market_methods(recorder: Recorder) -> None:
    recorder.reply(v6_envelope([STATISTICS]))
    recorder.reply(v5_envelope({"position_mode": "dual_side"}))
    recorder.reply({"code": "1067", "msg": "Illegal parameter amt.", "data": []})

    async def scenario() -> tuple[p6.Statistics, p5.PositionMode]:
        async with AsyncClient(
            "http://127.0.0.1:8080",
            HmacAuth(ACCESS_KEY, SECRET_KEY),
            transport=httpx.MockTransport(recorder),
            clock=lambda: FIXED_NOW,
        ) as client:
            stats = await client.v6.statistics()
            mode = await client.v5.set_position_mode(position_mode="dual_side")
            pending = client.v6.transfer(
                amount=D(1), from_account=TransferAccount.SPOT, to_account=TransferAccount.SPOT
            )
            with pytest.raises(BadRequest):
                await pending
            assert client.market.ticker.__name__ == "ticker"
            return stats, mode

    stats, mode = asyncio.run(scenario())
    assert (stats.cur_follower_num, mode.position_mode) == (3, "dual_side")
    assert [r.url.path for r in recorder.requests] == [
        V6 + "statistics",
        "/v5/position/mode",
        V6 + "transfer",
    ]
