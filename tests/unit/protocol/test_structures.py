"""The declared HTX structures: one render and one parse that agree, and a reply per endpoint."""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Any

import pytest

from copytrade.protocol import copytrading as ct
from copytrade.protocol import schema, sim
from copytrade.protocol.endpoints import ENDPOINTS
from copytrade.protocol.profiles import COPYTRADING
from copytrade.protocol.replies import Page
from copytrade.protocol.schema import (
    DEC18,
    FIXED18,
    STR,
    Struct,
    WireFormatError,
    render,
    structure,
    wire,
)

STRUCTURES: list[type[Struct]] = [
    ct.MarginAdjustment,
    ct.LeverageSetting,
    ct.ContractLever,
    ct.AggregatePosition,
    ct.SubPosition,
    ct.ClosedPosition,
    ct.OpenOrder,
    ct.TpslOrder,
    ct.ProfitPoint,
    ct.TraderStats,
    ct.ProfitItem,
    ct.ProfitTotal,
    ct.Follower,
    sim.SimPosition,
    sim.SimOrder,
    sim.SimAccount,
]


def _sample(cls: type[Struct], with_nulls: bool) -> Any:
    values: dict[str, Any] = {}
    for field in schema.plan(cls).fields:
        kind, name = field.kind, field.name
        if field.optional and with_nulls:
            values[name] = None
        elif kind is ct.OPEN_DIRECTION:  # sent as "open"; parsed back from position_side
            values[name] = ct.OrderDirection.BUY
        elif kind is ct.LEVER_RANGE:
            values[name] = (1, 75)
        elif kind in (schema.DEC, DEC18, FIXED18):
            values[name] = Decimal("61000.125")
        elif kind in (schema.INT, schema.INT_STR):
            values[name] = 1719304200000
        elif kind in (schema.STR, schema.ID):
            values[name] = "1310000000000000002"
        elif kind.name.startswith("array of "):
            nested = next(c for c in STRUCTURES if kind.name == f"array of {c.__name__}")
            values[name] = (_sample(nested, with_nulls),)
        else:  # an enum: its first member (a long, for OpenOrder's BUY above)
            members = next(e for e in _ENUMS if kind.name == f"enum {e.__name__}")
            values[name] = next(iter(members))
    return cls(**values)


_ENUMS: list[type[enum.Enum]] = []


def _collect_enums() -> None:
    from copytrade.protocol import enums

    _ENUMS.extend(
        v for v in vars(enums).values() if isinstance(v, type) and issubclass(v, enum.Enum)
    )


_collect_enums()


@pytest.mark.parametrize("with_nulls", [False, True])
@pytest.mark.parametrize("cls", STRUCTURES, ids=lambda c: c.__name__)
def test_what_the_server_renders_the_sdk_parses_back(cls: type[Struct], with_nulls: bool) -> None:
    value = _sample(cls, with_nulls)
    assert cls.from_wire(render(value)) == value


def test_every_endpoint_of_the_family_declares_its_reply() -> None:
    assert set(COPYTRADING.replies) == {e.name for e in ENDPOINTS}
    assert COPYTRADING.endpoints == ENDPOINTS


def test_decimal_kinds_print_as_the_spec_says() -> None:
    position = ct.SubPosition(
        sub_position_id="300002", margin_mode=ct.MarginMode.ISOLATED,
        position_side=ct.PositionSide.LONG, lever=5, open_order_id="1310000000000000002",
        open_avg_price=Decimal("60000.00"), open_fee=Decimal("0.36"), open_time=1719304260000,
        position_margin=Decimal("1") / Decimal("3"), volume=Decimal("10"),
        liquidation_price=None, tp_trigger_price=Decimal("63000"), sl_trigger_price=None,
    )  # fmt: skip

    assert render(position) == {
        "sub_position_id": "300002", "margin_mode": "isolated", "position_side": "long",
        "lever": "5", "open_order_id": "1310000000000000002", "open_avg_price": "60000",
        "open_fee": "0.36", "open_time": 1719304260000,
        "position_margin": "0.333333333333333333", "volume": "10",
        "liquidation_price": None, "tp_trigger_price": "63000", "sl_trigger_price": None,
    }  # fmt: skip
    order = _sample(ct.OpenOrder, False)
    assert render(order)["volume"] == "61000.125000000000000000"
    assert render(order)["order_direction"] == "open"


def test_the_sdk_accepts_the_aliases_and_refuses_a_missing_field() -> None:
    assert ct.ProfitTotal.from_wire(
        {"profit_currency": "USDT", "total_profit_amont": "2.5"}
    ) == ct.ProfitTotal("USDT", Decimal("2.5"))
    with pytest.raises(WireFormatError, match="total_profit_amount: missing"):
        ct.ProfitTotal.from_wire({"profit_currency": "USDT"})
    with pytest.raises(WireFormatError, match="not a MarginMode"):
        ct.LeverageSetting.from_wire({"lever": 5, "contract_code": "X", "margin_mode": "both"})


def test_pages_and_lists_render_under_their_keys() -> None:
    total = ct.ProfitTotal("USDT", Decimal("2.4682588"))
    assert ct.PROFIT_TOTALS.render((total,)) == {
        "items": [{"profit_currency": "USDT", "total_profit_amount": "2.4682588"}]
    }
    assert ct.FOLLOWERS.render(Page((), None)) == {"follower": [], "query_id": None}
    assert ct.OPEN_ORDERS.render(()) == []
    assert ct.CONTRACTS.render(("BTC-USDT",)) == ["BTC-USDT"]


def test_a_decimal_field_must_say_how_it_is_printed() -> None:
    @structure
    class Vague(Struct):
        amount: Decimal = wire()

    with pytest.raises(TypeError, match=r"Vague\.amount"):
        schema.plan(Vague)


def test_a_field_can_travel_under_another_key_than_its_attribute() -> None:
    # v6 copy trading sends camelCase keys: the attributes stay snake_case
    @structure
    class Instrument(Struct):
        inst_id: str = wire(STR, name="instId")
        total_amt: Decimal = wire(DEC18, "totalAmount", name="totalAmt")

    value = Instrument("BTC-USDT-PERP", Decimal("2.5"))
    assert render(value) == {"instId": "BTC-USDT-PERP", "totalAmt": "2.5"}
    assert Instrument.from_wire({"instId": "BTC-USDT-PERP", "totalAmount": "2.5"}) == value


@pytest.mark.parametrize(
    ("reply", "data"),
    [
        (ct.OPEN_ORDERS, {"orders": []}),
        (ct.OPEN_ORDERS, []),
        (ct.POSITION_LIST, []),
        (ct.POSITION_LIST, {"positions": None}),
        (ct.PROFIT_TOTALS, []),
    ],
)
def test_lists_are_read_bare_or_wrapped(reply: Any, data: Any) -> None:
    assert reply.parse(data) == ()


def test_followers_are_read_under_either_key() -> None:
    page = ct.FOLLOWERS.parse({"followers": [{"follower_uid": "Nw"}], "query_id": "12"})
    assert page.items[0].follower_uid == "Nw"
    assert page.query_id == 12


def test_the_family_envelope_is_the_one_the_server_sends() -> None:
    envelope = COPYTRADING.envelope
    assert list(envelope.success(True, "t", 0)) == ["code", "data", "tid", "success"]
    assert envelope.error(1047, None, "t", 0)["msg"] == "Insufficient margin available."
    assert envelope.parse({"code": 1047, "msg": "x", "success": False}, 200).ok is False


@pytest.mark.parametrize("sent", [True, [1], {"a": 1}, "99", 99, "both"])
def test_an_enum_field_refuses_what_is_not_one_of_its_values(sent: Any) -> None:
    closed = {"sub_position_id": "1", "margin_mode": "cross", "position_side": "long",
              "lever": 5, "open_avg_price": "1", "close_type": sent}  # fmt: skip

    with pytest.raises(WireFormatError, match=r"close_type: not a CloseType"):
        ct.ClosedPosition.from_wire(closed)
