"""Every endpoint method against MockTransport with the spec's §6 example payloads."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal as D
from typing import Any

import pytest
from sdk_fakes import Recorder, business_params, envelope, signature_is_valid

from copytrade.client import (
    AggregatePosition,
    Client,
    ClosedPosition,
    ContractLever,
    Direct,
    Follower,
    LeverageSetting,
    MarginAdjustment,
    MarginAdjustType,
    MarginMode,
    OpenOrder,
    OrderDirection,
    OrderPriceType,
    Page,
    PositionSide,
    ProfitItem,
    ProfitPoint,
    ProfitTotal,
    SubPosition,
    TpslOrder,
    TraderStats,
    TransferType,
)
from copytrade.protocol.endpoints import ENDPOINTS

P = "/copytrading/trader/"

POSITION_LIST = {
    "positions": [
        {"lever": "10", "position_side": "long", "contract_code": "BTC-USDT",
         "open_avg_price": "60000", "volume": "20", "margin_mode": "cross",
         "position_margin": "120", "margin_rate": "0.013606513134220942", "unreal_profit": "10",
         "profit": "10", "profit_rate": "0.083333333333333333", "liquidation_price": "16641"},
        {"lever": "5", "position_side": "long", "contract_code": "BTC-USDT",
         "open_avg_price": "60000", "volume": "10", "margin_mode": "isolated",
         "position_margin": "119.64", "margin_rate": "0.097079589216944801",
         "unreal_profit": "5", "profit": "5", "profit_rate": "0.041666666666666666",
         "liquidation_price": "49246"},
    ]
}  # fmt: skip
CURRENT_POSITIONS = {
    "positions": [
        {"sub_position_id": "300002", "lever": "5", "position_side": "long",
         "open_avg_price": "60000", "volume": "10", "margin_mode": "isolated",
         "open_time": 1719304260000, "open_fee": "0.36", "position_margin": "119.64",
         "tp_trigger_price": "63000", "sl_trigger_price": "57000",
         "open_order_id": "1310000000000000002", "liquidation_price": "49246"},
        {"sub_position_id": "300001", "lever": "10", "position_side": "long",
         "open_avg_price": "60000", "volume": "20", "margin_mode": "cross",
         "open_time": 1719304200000, "open_fee": "0.72", "position_margin": "120",
         "tp_trigger_price": None, "sl_trigger_price": None,
         "open_order_id": "1310000000000000001", "liquidation_price": None},
    ],
    "query_id": 300001,
}  # fmt: skip
HISTORY = {
    "positions": [
        {"sub_position_id": "300002", "open_order_id": "1310000000000000002", "lever": "5",
         "position_side": "long", "open_avg_price": "60000", "volume": "10",
         "margin_mode": "isolated", "open_time": 1719304260000, "close_time": 1719306000000,
         "close_avg_price": "60490", "open_fee": "0.36", "close_fee": "0.36294",
         "profit": "4.17706", "profit_rate": "0.034808833333333333", "close_type": 1,
         "follow_takes": "0.835412"},
        {"sub_position_id": "300001", "open_order_id": "1310000000000000001", "lever": "10",
         "position_side": "long", "open_avg_price": "60000", "volume": "20",
         "margin_mode": "cross", "open_time": 1719304200000, "close_time": 1719307800000,
         "close_avg_price": "60480.5", "open_fee": "0.72", "close_fee": "0.725766",
         "profit": "8.164234", "profit_rate": "0.068035283333333333", "close_type": 2,
         "follow_takes": "1.6328468"},
    ],
    "query_id": 300001,
}  # fmt: skip
OPEN_ORDERS = [
    {"position_side": "short", "contract_code": "BTC-USDT", "order_direction": "open",
     "lever": 5, "margin_mode": "isolated", "volume": "10.000000000000000000",
     "price": "61000", "avg_volume": "0.000000000000000000", "avg_price": None, "fee": "0"}
]  # fmt: skip
TPSL = [
    {"position_side": "short", "contract_code": "BTC-USDT", "margin_mode": "isolated",
     "volume": "10", "trigger_type": "ge", "tpsl_order_type": "tp", "price": "63000"},
    {"position_side": "short", "contract_code": "BTC-USDT", "margin_mode": "isolated",
     "volume": "10", "trigger_type": "le", "tpsl_order_type": "sl", "price": "57000"},
]  # fmt: skip
STATS = {
    "total_follower_num": "3", "current_follower_num": "2", "total_pl": "12.341294",
    "win_rate": "1",
    "last_24_hours_profit": [
        {"rate": "0", "amount": "0", "ts": "1719241200000"},
        {"rate": "0.034808833333333333", "amount": "4.17706", "ts": "1719306000000"},
    ],
    "last_90_days_profit": [{"rate": "0", "amount": "0", "ts": "1711555200000"}],
}  # fmt: skip
PROFIT_ITEMS = {
    "profit_items": [
        {"profit_amount": "1.6328468", "profit_currency": "USDT", "profit_time": 1719307800000,
         "user_id": "20000002"},
        {"profit_amount": "0.835412", "profit_currency": "USDT", "profit_time": 1719306000000,
         "user_id": "20000002"},
    ],
    "query_id": 5001,
}  # fmt: skip
FOLLOWERS = {
    "follower": [
        {"follower_uid": "MjAwMDAwMDI",
         "follower_head_pic": "https://static.example.invalid/avatar/20000002.png",
         "follower_name": "b***@example.com", "follower_trade_amount": "3000",
         "follower_profit_amount": "24.682588", "follower_time": 1719300000000}
    ],
    "query_id": 7002,
}  # fmt: skip


@dataclass
class Case:
    method: str
    kwargs: dict[str, Any]
    http_method: str
    path: str
    data: Any
    expected: Any
    params: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None


CASES = [
    Case(
        "place_order",
        {"contract_code": "BTC-USDT", "amount": D("20"), "margin_mode": MarginMode.CROSS,
         "order_price_type": OrderPriceType.MARKET, "order_direction": OrderDirection.BUY,
         "lever": 10},
        "POST", P + "place_order", True, True,
        body={"contract_code": "BTC-USDT", "amount": "20", "margin_mode": "cross",
              "order_price_type": 17, "order_direction": 1, "lever": 10},
    ),
    Case(
        "place_order",
        {"contract_code": "BTC-USDT", "price": D("61000.0"), "amount": D("10"),
         "margin_mode": MarginMode.ISOLATED, "order_price_type": OrderPriceType.LIMIT,
         "order_direction": OrderDirection.SELL, "lever": 5,
         "tp_trigger_price": D("58000"), "sl_trigger_price": D("62500")},
        "POST", P + "place_order", True, True,
        body={"contract_code": "BTC-USDT", "price": "61000", "amount": "10",
              "margin_mode": "isolated", "order_price_type": 1, "order_direction": 2,
              "lever": 5, "tp_trigger_price": "58000", "sl_trigger_price": "62500"},
    ),
    Case("close_order", {"sub_position_id": "300002"}, "POST", P + "close_order", True, True,
         body={"sub_position_id": "300002"}),
    Case(
        "close_all_position",
        {"contract_code": "BTC-USDT", "margin_mode": MarginMode.CROSS,
         "position_side": PositionSide.LONG},
        "POST", P + "close_all_position", True, True,
        body={"contract_code": "BTC-USDT", "margin_mode": "cross", "position_side": "long"},
    ),
    Case(
        "tpsl_order",
        {"sub_position_id": 300002, "tp_trigger_price": D("63000"),
         "sl_trigger_price": D("57000")},
        "POST", P + "tpsl_order", True, True,
        body={"sub_position_id": "300002", "tp_trigger_price": "63000",
              "sl_trigger_price": "57000"},
    ),
    Case(
        "add_margin",
        {"contract_code": "BTC-USDT", "amount": D("50"), "type": MarginAdjustType.ADD,
         "position_side": PositionSide.LONG},
        "POST", P + "add_margin",
        {"contract_code": "BTC-USDT", "amount": "50", "type": 1, "position_side": "long"},
        MarginAdjustment("BTC-USDT", D("50"), 1, "long"),
        body={"contract_code": "BTC-USDT", "amount": "50", "type": 1, "position_side": "long"},
    ),
    Case(
        "account_transfer",
        {"amount": D("1000"), "type": TransferType.FUTURES_TO_COPY, "currency": "USDT"},
        "POST", P + "account_transfer", True, True,
        body={"amount": "1000", "type": 1, "currency": "USDT"},
    ),
    Case(
        "updated_contract_lever",
        {"contract_code": "BTC-USDT", "lever": 10, "margin_mode": MarginMode.CROSS},
        "POST", P + "updated_contract_lever",
        {"lever": 10, "contract_code": "BTC-USDT", "margin_mode": "cross"},
        LeverageSetting(10, "BTC-USDT", "cross"),
        body={"contract_code": "BTC-USDT", "lever": 10, "margin_mode": "cross"},
    ),
    Case(
        "query_contract_lever",
        {"contract_code": "BTC-USDT", "margin_mode": MarginMode.CROSS},
        "GET", P + "query_contract_lever",
        {"lever_rate_range": [1, 200], "current_lever_rate": 10, "contract_code": "BTC-USDT",
         "margin_mode": "cross"},
        ContractLever((1, 200), 10, "BTC-USDT", "cross"),
        params={"contract_code": "BTC-USDT", "margin_mode": "cross"},
    ),
    Case("query_contract", {}, "GET", P + "query_contract",
         ["BTC-USDT", "ETH-USDT", "DOT-USDT"], ("BTC-USDT", "ETH-USDT", "DOT-USDT")),
    Case(
        "position_list", {}, "GET", P + "position_list", POSITION_LIST,
        (
            AggregatePosition("BTC-USDT", "cross", "long", 10, D("60000"), D("20"), D("120"),
                              D("0.013606513134220942"), D("16641"), D("10"), D("10"),
                              D("0.083333333333333333")),
            AggregatePosition("BTC-USDT", "isolated", "long", 5, D("60000"), D("10"),
                              D("119.64"), D("0.097079589216944801"), D("49246"), D("5"),
                              D("5"), D("0.041666666666666666")),
        ),
    ),
    Case(
        "current_positions",
        {"contract_code": "BTC-USDT", "direct": Direct.PREV, "limit": 10},
        "GET", P + "current_positions", CURRENT_POSITIONS,
        Page(
            (
                SubPosition("300002", "isolated", "long", 5, "1310000000000000002", D("60000"),
                            D("0.36"), 1719304260000, D("119.64"), D("10"), D("49246"),
                            D("63000"), D("57000")),
                SubPosition("300001", "cross", "long", 10, "1310000000000000001", D("60000"),
                            D("0.72"), 1719304200000, D("120"), D("20"), None, None, None),
            ),
            300001,
        ),
        params={"contract_code": "BTC-USDT", "direct": "prev", "limit": "10"},
    ),
    Case(
        "position_positions",
        {"contract_code": "BTC-USDT", "direct": Direct.PREV, "limit": 2,
         "start_time": 1719300000000, "end_time": 1719310000000, "from_id": 300003},
        "GET", P + "position_positions", HISTORY,
        Page(
            (
                ClosedPosition("300002", "1310000000000000002", "isolated", "long", 5,
                               D("60000"), 1719304260000, D("10"), 1719306000000, D("60490"),
                               D("0.36"), D("0.36294"), D("4.17706"),
                               D("0.034808833333333333"), 1, D("0.835412")),
                ClosedPosition("300001", "1310000000000000001", "cross", "long", 10,
                               D("60000"), 1719304200000, D("20"), 1719307800000,
                               D("60480.5"), D("0.72"), D("0.725766"), D("8.164234"),
                               D("0.068035283333333333"), 2, D("1.6328468")),
            ),
            300001,
        ),
        params={"contract_code": "BTC-USDT", "direct": "prev", "limit": "2",
                "start_time": "1719300000000", "end_time": "1719310000000",
                "from_id": "300003"},
    ),
    Case(
        "open_orders", {"contract_code": "BTC-USDT"}, "GET", P + "open_orders", OPEN_ORDERS,
        (OpenOrder("BTC-USDT", "short", OrderDirection.SELL, 5, "isolated", D("10"),
                   D("61000"), D("0"), None, D("0")),),
        params={"contract_code": "BTC-USDT"},
    ),
    Case(
        "tpsl_open_orders", {"contract_code": "BTC-USDT"}, "GET", P + "tpsl_open_orders", TPSL,
        (TpslOrder("BTC-USDT", "isolated", "short", D("10"), "ge", "tp", D("63000")),
         TpslOrder("BTC-USDT", "isolated", "short", D("10"), "le", "sl", D("57000"))),
        params={"contract_code": "BTC-USDT"},
    ),
    Case(
        "order_total_detail", {}, "GET", P + "order_total_detail", STATS,
        TraderStats(3, 2, D("12.341294"), D("1"),
                    (ProfitPoint(D("0"), D("0"), 1719241200000),
                     ProfitPoint(D("0.034808833333333333"), D("4.17706"), 1719306000000)),
                    (ProfitPoint(D("0"), D("0"), 1711555200000),)),
    ),
    Case(
        "profit_history_details", {"direct": Direct.PREV, "limit": 2}, "GET",
        P + "profit_history_details", PROFIT_ITEMS,
        Page((ProfitItem("20000002", "USDT", D("1.6328468"), 1719307800000),
              ProfitItem("20000002", "USDT", D("0.835412"), 1719306000000)), 5001),
        params={"direct": "prev", "limit": "2"},
    ),
    Case(
        "total_profit_history", {}, "GET", P + "total_profit_history",
        {"items": [{"profit_currency": "USDT", "total_profit_amount": "2.4682588"}]},
        (ProfitTotal("USDT", D("2.4682588")),),
    ),
    Case(
        "query_followers", {"direct": Direct.NEXT, "from_id": 23512590, "limit": 50}, "GET",
        P + "query_followers", FOLLOWERS,
        Page((Follower("MjAwMDAwMDI", "b***@example.com",
                       "https://static.example.invalid/avatar/20000002.png", 1719300000000,
                       D("3000"), D("24.682588")),), 7002),
        params={"direct": "next", "from_id": "23512590", "limit": "50"},
    ),
    Case("remove_follower", {"follower_uid": "MjAwMDAwMDI"}, "POST", P + "remove_follower",
         True, True, body={"follower_uid": "MjAwMDAwMDI"}),
]  # fmt: skip


def test_every_endpoint_of_the_table_has_a_case() -> None:
    assert {c.method for c in CASES} == {e.name for e in ENDPOINTS}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.method)
def test_method_sends_the_documented_request_and_parses_the_example(
    case: Case, recorder: Recorder, make_client: Callable[..., Client]
) -> None:
    client = make_client()
    recorder.reply(envelope(case.data))

    result = getattr(client, case.method)(**case.kwargs)

    request = recorder.last
    assert request.method == case.http_method
    assert request.url.path == case.path
    assert signature_is_valid(request)
    assert business_params(request) == case.params
    if case.http_method == "POST":
        assert request.headers["content-type"] == "application/json"
        assert json.loads(request.content) == case.body
        assert all(not isinstance(v, float) for v in json.loads(request.content).values())
    else:
        assert request.content == b""
    assert result == case.expected
    assert client.last_response is not None
    assert client.last_response.data == case.expected
    assert client.last_response.tid == "0c5e2f8a9b7d4e31a6f0c2d4b8e91a73"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.method)
def test_method_docstring_names_the_http_path(case: Case) -> None:
    doc = getattr(Client, case.method).__doc__
    assert f"{case.http_method} {case.path}" in doc
