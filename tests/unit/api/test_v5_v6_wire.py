"""Parsing of the v6 follower endpoints and the v5 position mode (spec htx-v5-v6.md §6.15,
§8.7, §8.9): what each accepts, and the 1067 each answers otherwise."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from copytrade.api import routes_v5, routes_v6
from copytrade.api.routes import encode_follower_uid
from copytrade.api.wire import WireError
from copytrade.domain.enums import OrderDirection
from copytrade.service.v6 import LeadSettings

NOW = 1_719_300_000_000


def test_remove_takes_an_array_or_a_comma_separated_string_of_ids() -> None:
    opaque = encode_follower_uid(10000007)
    (array,) = routes_v6.parse_remove({"followerUids": [opaque, 10000008]}, NOW)
    assert array == ((opaque, 10000007), ("10000008", 10000008))
    (text,) = routes_v6.parse_remove({"instType": "PERP", "followerUids": f"{opaque}, x"}, NOW)
    assert text == ((opaque, 10000007), ("x", None))  # not a follower id: fails alone


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"followerUids": []},
        {"followerUids": ""},
        {"followerUids": [str(i) for i in range(11)]},
        {"followerUids": {"a": 1}},
        {"followerUids": [True]},
        {"followerUids": ["1"], "instType": "SPOT"},
    ],
    ids=["absent", "empty", "blank", "eleven", "object", "boolean", "instType"],
)
def test_remove_refuses_with_1067_or_1030(params: dict[str, Any]) -> None:
    with pytest.raises(WireError) as refused:
        routes_v6.parse_remove(params, NOW)
    assert refused.value.code in (1067, 1030)  # v6 answers both as "1067" (InvalidOrder)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"enable": True}, LeadSettings(True, None, None)),
        ({"enable": "false"}, LeadSettings(False, None, None)),
        (
            {"enable": "true", "profitSharingRatio": "0.20", "maxFollowers": "1000"},
            LeadSettings(True, Decimal("0.2"), 1000),
        ),
        ({"enable": True, "maxFollowers": 500}, LeadSettings(True, None, 500)),
    ],
)
def test_settings_accept_booleans_as_json_or_text_and_the_tiers(
    params: dict[str, Any], expected: LeadSettings
) -> None:
    assert routes_v6.parse_settings(params, NOW) == (expected,)


@pytest.mark.parametrize(
    ("params", "arg"),
    [
        ({}, "enable"),
        ({"enable": 1}, "enable"),
        ({"enable": True, "profitSharingRatio": "0.12"}, "profitSharingRatio"),
        ({"enable": True, "maxFollowers": "150"}, "maxFollowers"),
        ({"enable": True, "instType": "SPOT"}, "instType"),
    ],
)
def test_settings_refuse_other_values_with_1067(params: dict[str, Any], arg: str) -> None:
    with pytest.raises(WireError) as refused:
        routes_v6.parse_settings(params, NOW)
    assert (refused.value.code, refused.value.arg) == (1067, arg)


def test_position_mode_is_single_or_dual_side() -> None:
    assert routes_v5.parse_position_mode({"position_mode": "single_side"}, NOW) == ("single_side",)
    assert routes_v5.parse_position_mode({"position_mode": "dual_side"}, NOW) == ("dual_side",)
    with pytest.raises(WireError) as refused:
        routes_v5.parse_position_mode({"position_mode": "both"}, NOW)
    assert (refused.value.code, refused.value.arg) == (1067, "position_mode")


def test_an_order_may_say_position_side_both_for_one_way_mode() -> None:
    body = {
        "contract_code": "BTC-USDT",
        "margin_mode": "cross",
        "side": "sell",
        "type": "market",
        "volume": "2",
        "position_side": "both",
    }
    (order,) = routes_v5.parse_place_order(body, NOW)
    assert (order.direction, order.position_side, order.both) == (OrderDirection.SELL, None, True)
