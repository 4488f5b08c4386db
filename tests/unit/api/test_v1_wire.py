"""Parsers and renderers of the v1 endpoints against the spec's examples (§6.4–§6.19)."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import orjson
import pytest

from copytrade.api import v1_wire as v1
from copytrade.api.wire import WireError, parse_body
from copytrade.domain.enums import (
    MarginAdjust,
    MarginMode,
    OrderPriceType,
    PositionSide,
)
from copytrade.domain.errors import PositionNotFound, UnknownFollower
from copytrade.domain.model import Account, Order, ProfitShare, SubPosition
from copytrade.domain.statistics import ClosedLead, trader_stats
from copytrade.domain.tpsl import SideDisplay, tpsl_orders

D = Decimal
ISOLATED, CROSS = MarginMode.ISOLATED, MarginMode.CROSS
LONG, SHORT = PositionSide.LONG, PositionSide.SHORT


def as_json(data: Any) -> Any:
    """What the client decodes (the server encodes with orjson)."""
    return json.loads(orjson.dumps(data))


def body(text: str) -> dict[str, Any]:
    return parse_body(text.encode())


# ----- parsers -------------------------------------------------------------------------------


def test_tpsl_order_parses_the_spec_example() -> None:
    parsed = v1.parse_tpsl_order(
        body('{"sub_position_id":"300002","tp_trigger_price":"63000","sl_trigger_price":"57000"}'),
        0,
    )
    assert parsed == (300002, D(63000), D(57000))
    assert v1.parse_tpsl_order(body('{"sub_position_id":300002,"sl_trigger_price":57000}'), 0) == (
        300002,
        None,
        D(57000),
    )


@pytest.mark.parametrize(
    ("text", "code"),
    [('{"tp_trigger_price":"1"}', 1066), ('{"sub_position_id":"1","tp_trigger_price":"x"}', 1030)],
)
def test_tpsl_order_refuses_a_missing_id_or_a_bad_price(text: str, code: int) -> None:
    with pytest.raises(WireError) as refused:
        v1.parse_tpsl_order(body(text), 0)
    assert refused.value.code == code


def test_a_sub_position_id_that_cannot_exist_is_an_unknown_position() -> None:
    with pytest.raises(PositionNotFound):
        v1.parse_tpsl_order(body('{"sub_position_id":"abc","tp_trigger_price":"1"}'), 0)


def test_add_margin_parses_the_spec_example_and_keeps_the_amount_as_sent() -> None:
    parsed = v1.parse_add_margin(
        body('{"contract_code":"btc-usdt","amount":"50","type":1,"position_side":"long"}'), 0
    )
    assert parsed == ("BTC-USDT", LONG, D(50), MarginAdjust.ADD, "50")


@pytest.mark.parametrize(
    ("text", "code", "arg"),
    [
        ('{"contract_code":"BTC-USDT","amount":"1","type":3,"position_side":"long"}', 1067, "type"),
        ('{"contract_code":"BTC-USDT","amount":"1","position_side":"long"}', 1066, "type"),
        ('{"contract_code":"BTC-USDT","type":1,"position_side":"long"}', 1066, "amount"),
        ('{"contract_code":"BTC-USDT","amount":"1","type":1,"position_side":"up"}', 1067, None),
        ('{"amount":"1","type":1,"position_side":"long"}', 1066, "contract_code"),
    ],
)
def test_add_margin_refusals(text: str, code: int, arg: str | None) -> None:
    with pytest.raises(WireError) as refused:
        v1.parse_add_margin(body(text), 0)
    assert refused.value.code == code
    if arg is not None:
        assert refused.value.arg == arg


def test_account_transfer_parses_the_spec_example() -> None:
    assert v1.parse_account_transfer(body('{"amount":"1000","type":1,"currency":"USDT"}'), 0) == (
        D(1000),
        1,
        "USDT",
    )
    with pytest.raises(WireError) as refused:
        v1.parse_account_transfer(body('{"amount":"1000","type":1}'), 0)
    assert (refused.value.code, refused.value.arg) == (1066, "currency")


def test_updated_contract_lever_wants_a_lever_1094_when_missing() -> None:
    parsed = v1.parse_updated_lever(
        body('{"contract_code":"BTC-USDT","lever":10,"margin_mode":"cross"}'), 0
    )
    assert parsed == ("BTC-USDT", CROSS, 10)
    with pytest.raises(WireError) as refused:
        v1.parse_updated_lever(body('{"contract_code":"BTC-USDT","margin_mode":"cross"}'), 0)
    assert refused.value.code == 1094


@pytest.mark.parametrize(("params", "expected"), [({}, None), ({"contract_code": ""}, None)])
def test_an_absent_or_empty_contract_code_lists_every_contract(
    params: dict[str, Any], expected: None
) -> None:
    assert v1.parse_optional_contract(params, 0) == (expected,)
    assert v1.parse_optional_contract({"contract_code": "dot-usdt"}, 0) == ("DOT-USDT",)


@pytest.mark.parametrize(("encoded", "uid"), [("NDEzMDUzNjE", 41305361), ("MjAwMDAwMDI", 20000002)])
def test_follower_ids_decode_as_htx_encodes_them(encoded: str, uid: int) -> None:
    assert v1.parse_remove_follower({"follower_uid": encoded}, 0) == (uid,)
    assert base64.b64encode(str(uid).encode()).decode().rstrip("=") == encoded


@pytest.mark.parametrize("encoded", ["!!!", "YWJj", "", "MTIz\u00e9"])
def test_a_follower_id_that_is_no_uid_is_an_unknown_follower(encoded: str) -> None:
    with pytest.raises((UnknownFollower, WireError)):
        v1.parse_remove_follower({"follower_uid": encoded}, 0)


# ----- renderers -----------------------------------------------------------------------------


def test_add_margin_echoes_the_request_with_the_amount_type_the_client_sent() -> None:
    assert as_json(
        v1.render_margin_adjustment("BTC-USDT", LONG, D(50), MarginAdjust.ADD, "50")
    ) == {
        "contract_code": "BTC-USDT",
        "amount": "50",
        "type": 1,
        "position_side": "long",
    }
    assert (
        as_json(v1.render_margin_adjustment("BTC-USDT", LONG, D(50), MarginAdjust.ADD, 50))[
            "amount"
        ]
        == 50
    )
    text = orjson.dumps(
        v1.render_margin_adjustment("DOT-USDT", SHORT, D("1.5"), MarginAdjust.REDUCE, D("1.5"))
    )
    assert b'"amount":1.5' in text


def test_leverage_replies_match_the_spec_examples() -> None:
    assert as_json(v1.render_leverage_setting("BTC-USDT", CROSS, 10)) == {
        "lever": 10,
        "contract_code": "BTC-USDT",
        "margin_mode": "cross",
    }
    assert as_json(v1.render_contract_lever("BTC-USDT", CROSS, (1, 200), 10)) == {
        "lever_rate_range": [1, 200],
        "current_lever_rate": 10,
        "contract_code": "BTC-USDT",
        "margin_mode": "cross",
    }


def test_query_contract_is_an_array_of_strings() -> None:
    assert as_json(v1.render_contracts(("BTC-USDT", "ETH-USDT", "DOT-USDT"))) == [
        "BTC-USDT",
        "ETH-USDT",
        "DOT-USDT",
    ]


def test_open_orders_match_the_spec_example() -> None:
    order = Order(
        1, 1, "BTC-USDT", ISOLATED, SHORT, OrderPriceType.LIMIT, D(61000), D(10), 5, 1719304300000
    )
    assert as_json(v1.render_open_orders([order])) == [
        {
            "contract_code": "BTC-USDT",
            "position_side": "short",
            "order_direction": "open",
            "lever": 5,
            "margin_mode": "isolated",
            "volume": "10.000000000000000000",
            "price": "61000",
            "avg_volume": "0.000000000000000000",
            "avg_price": None,
            "fee": "0",
        }
    ]


def test_open_orders_list_the_newest_first() -> None:
    def order(order_id: int, created: int) -> Order:
        price = D(order_id)
        return Order(
            order_id, 1, "BTC-USDT", CROSS, LONG, OrderPriceType.LIMIT, price, D(1), 5, created
        )

    rendered = v1.render_open_orders([order(1, 10), order(2, 30), order(3, 20)])
    assert [r["price"] for r in as_json(rendered)] == ["2", "3", "1"]


def test_tpsl_open_orders_match_the_spec_example_with_htx_inverted_sides() -> None:
    account = Account(1, D(0))
    account.positions[300002] = SubPosition(
        300002, 1, "BTC-USDT", ISOLATED, LONG, 5, D(10), D(60000), D("0.36"), D("119.64"), 2, 0,
        tp_trigger_price=D(63000), sl_trigger_price=D(57000),
    )  # fmt: skip
    rows = tpsl_orders(account.positions.values(), "BTC-USDT")

    assert as_json(v1.render_tpsl_orders(rows)) == [
        {
            "contract_code": "BTC-USDT",
            "margin_mode": "isolated",
            "position_side": "short",
            "volume": "10",
            "trigger_type": "ge",
            "tpsl_order_type": "tp",
            "price": "63000",
        },
        {
            "contract_code": "BTC-USDT",
            "margin_mode": "isolated",
            "position_side": "short",
            "volume": "10",
            "trigger_type": "le",
            "tpsl_order_type": "sl",
            "price": "57000",
        },
    ]
    natural = as_json(v1.render_tpsl_orders(rows, SideDisplay.NATURAL))
    assert [r["position_side"] for r in natural] == ["long", "long"]


def test_order_total_detail_renders_the_spec_figures() -> None:
    stats = trader_stats(
        [
            ClosedLead(1719306000000, D("4.17706"), D(120)),
            ClosedLead(1719307800000, D("8.164234"), D(120)),
        ],
        3,
        2,
        1719309000000,
    )

    data = as_json(v1.render_trader_stats(stats))

    assert {k: data[k] for k in ("total_follower_num", "current_follower_num", "total_pl")} == {
        "total_follower_num": "3",
        "current_follower_num": "2",
        "total_pl": "12.341294",
    }
    assert data["win_rate"] == "1"
    assert data["last_24_hours_profit"][-1] == {
        "rate": "0.051422058333333333",
        "amount": "12.341294",
        "ts": "1719309600000",
    }
    assert data["last_90_days_profit"][0] == {"rate": "0", "amount": "0", "ts": "1711555200000"}
    assert len(data["last_24_hours_profit"]) == 24
    assert len(data["last_90_days_profit"]) == 90


def test_profit_history_matches_the_spec_example() -> None:
    shares = [
        ProfitShare(5002, 1, 20000002, 300001, D("1.6328468"), "USDT", 1719307800000),
        ProfitShare(5001, 1, 20000002, 300002, D("0.835412"), "USDT", 1719306000000),
    ]
    assert as_json(v1.render_profit_items(shares)) == {
        "profit_items": [
            {
                "user_id": "20000002",
                "profit_currency": "USDT",
                "profit_amount": "1.6328468",
                "profit_time": 1719307800000,
            },
            {
                "user_id": "20000002",
                "profit_currency": "USDT",
                "profit_amount": "0.835412",
                "profit_time": 1719306000000,
            },
        ],
        "query_id": 5001,
    }
    assert as_json(v1.render_profit_items([])) == {"profit_items": [], "query_id": None}


def test_total_profit_history_matches_the_spec_example() -> None:
    assert as_json(v1.render_profit_totals({"USDT": D("2.4682588")})) == {
        "items": [{"profit_currency": "USDT", "total_profit_amount": "2.4682588"}]
    }
