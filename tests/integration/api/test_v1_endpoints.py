"""The v1 endpoints over loopback HTTP in memory, on SQLite and PostgreSQL (issue 13, spec
§6.4–§6.19).

Each endpoint: its happy path, the error codes its spec section names, and the spec's example
numbers where it gives them (reproduced with real orders on a server whose maker fee is the
0.06 % HTX's examples imply).
"""

from __future__ import annotations

import base64
import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any

import pytest

from copytrade.testing.server import LiveServer

P = "/copytrading/trader/"


def ok(reply: Any) -> Any:
    body = reply.json()
    assert body["code"] == 200, body
    assert body["success"] is True
    return body["data"]


def refused(reply: Any, code: int) -> str:
    body = reply.json()
    assert (body["code"], body["success"], body["data"]) == (code, False, None), body
    return str(body["msg"])


def post(server: LiveServer, creds: dict[str, Any], name: str, **body: Any) -> Any:
    return server.signed(creds, "POST", P + name, body=body)


def get(server: LiveServer, creds: dict[str, Any], name: str, **params: str) -> Any:
    return server.signed(creds, "GET", P + name, params=params)


def market_open(
    server: LiveServer,
    creds: dict[str, Any],
    contract: str = "BTC-USDT",
    amount: str = "10",
    mode: str = "isolated",
    direction: int = 1,
    lever: int = 5,
) -> None:
    ok(
        post(
            server,
            creds,
            "place_order",
            contract_code=contract,
            amount=amount,
            margin_mode=mode,
            order_price_type=17,
            order_direction=direction,
            lever=lever,
        )
    )


def limit_open(
    server: LiveServer,
    creds: dict[str, Any],
    contract: str,
    price: str,
    amount: str,
    mode: str = "isolated",
    direction: int = 1,
    lever: int = 5,
) -> None:
    ok(
        post(
            server,
            creds,
            "place_order",
            contract_code=contract,
            price=price,
            amount=amount,
            margin_mode=mode,
            order_price_type=1,
            order_direction=direction,
            lever=lever,
        )
    )


def positions(server: LiveServer, creds: dict[str, Any], contract: str = "BTC-USDT") -> Any:
    return ok(get(server, creds, "current_positions", contract_code=contract))["positions"]


def follower_id(uid: int) -> str:
    return base64.b64encode(str(uid).encode()).decode().rstrip("=")


STORES = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _serve(
    kind: str,
    server_on: Callable[..., AbstractContextManager[LiveServer]],
    tmp_path_factory: pytest.TempPathFactory,
    **options: Any,
) -> AbstractContextManager[LiveServer]:
    if kind == "memory":
        return LiveServer("memory://", demo_seed=False, **options)
    return server_on(kind, tmp_path_factory, **options)


@pytest.fixture(scope="module", params=STORES)
def live_server(
    request: pytest.FixtureRequest,
    server_on: Callable[..., AbstractContextManager[LiveServer]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    """This module's server on every store (the shared fixture has no memory case)."""
    with _serve(request.param, server_on, tmp_path_factory) as server:
        yield server


@pytest.fixture
def team(live_server: LiveServer) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """A trader with one follower copying at ratio 1, marks at the spec's values."""
    live_server.set_price("BTC-USDT", "60500")
    live_server.set_price("DOT-USDT", "10")
    trader = live_server.create_user("trader", balance="100000")
    follower = live_server.create_user("follower", balance="100000")
    live_server.follow(follower["uid"], trader["uid"], "1")
    yield trader, follower
    live_server.set_price("BTC-USDT", "60500")
    live_server.set_price("DOT-USDT", "10")


@pytest.fixture(scope="module", params=STORES)
def htx_fees(
    request: pytest.FixtureRequest,
    server_on: Callable[..., AbstractContextManager[LiveServer]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    """A server whose maker fee is 0.06 %: HTX's example fees on resting fills (every store)."""
    fees = {"fee_maker": Decimal("0.0006")}
    with _serve(request.param, server_on, tmp_path_factory, **fees) as server:
        yield server


def maker_long(server: LiveServer, creds: dict[str, Any], contract: str, price: str,
               amount: str, fill_mark: str, back_mark: str) -> None:  # fmt: skip
    """Open an isolated long at exactly ``price``: rest, move the mark to fill, move back."""
    limit_open(server, creds, contract, price, amount)
    server.set_price(contract, fill_mark)
    server.set_price(contract, back_mark)


# ----- tpsl_order / tpsl_open_orders (§6.4, §6.14) -------------------------------------------


def test_tpsl_order_sets_triggers_listed_with_htx_inverted_sides(
    live_server: LiveServer, team: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    trader, _ = team
    market_open(live_server, trader)
    (position,) = positions(live_server, trader)

    assert ok(post(live_server, trader, "tpsl_order", sub_position_id=position["sub_position_id"],
                   tp_trigger_price="63000", sl_trigger_price="57000")) is True  # fmt: skip

    (after,) = positions(live_server, trader)
    assert (after["tp_trigger_price"], after["sl_trigger_price"]) == ("63000", "57000")
    rows = ok(get(live_server, trader, "tpsl_open_orders", contract_code="BTC-USDT"))
    assert rows == [
        {"contract_code": "BTC-USDT", "margin_mode": "isolated", "position_side": "short",
         "volume": "10", "trigger_type": "ge", "tpsl_order_type": "tp", "price": "63000"},
        {"contract_code": "BTC-USDT", "margin_mode": "isolated", "position_side": "short",
         "volume": "10", "trigger_type": "le", "tpsl_order_type": "sl", "price": "57000"},
    ]  # fmt: skip
    assert ok(get(live_server, trader, "tpsl_open_orders")) == rows  # absent: all contracts
    assert ok(get(live_server, trader, "tpsl_open_orders", contract_code="")) == rows
    assert ok(get(live_server, trader, "tpsl_open_orders", contract_code="DOT-USDT")) == []


def test_tpsl_order_keeps_the_trigger_left_out(
    live_server: LiveServer, team: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    trader, _ = team
    market_open(live_server, trader)
    sub_id = positions(live_server, trader)[0]["sub_position_id"]
    ok(post(live_server, trader, "tpsl_order", sub_position_id=sub_id, sl_trigger_price="57000"))
    ok(post(live_server, trader, "tpsl_order", sub_position_id=sub_id, tp_trigger_price=64000))

    (after,) = positions(live_server, trader)
    assert (after["tp_trigger_price"], after["sl_trigger_price"]) == ("64000", "57000")


def test_tpsl_order_errors(
    live_server: LiveServer, team: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    trader, follower = team
    market_open(live_server, trader)
    sub_id = positions(live_server, trader)[0]["sub_position_id"]
    copy_id = live_server.user(follower["uid"])["positions"][0]["sub_position_id"]

    msg = refused(post(live_server, trader, "tpsl_order", sub_position_id=sub_id), 1066)
    assert msg == "tp_trigger_price cannot be empty."
    refused(post(live_server, trader, "tpsl_order", sub_position_id="999", tp_trigger_price="1"),
            1046)  # fmt: skip
    refused(post(live_server, trader, "tpsl_order", sub_position_id=copy_id,
                 tp_trigger_price="70000"), 1046)  # fmt: skip
    refused(post(live_server, trader, "tpsl_order", sub_position_id=sub_id,
                 tp_trigger_price="60000"), 1405)  # fmt: skip
    refused(post(live_server, trader, "tpsl_order", sub_position_id=sub_id,
                 sl_trigger_price="61000"), 1407)  # fmt: skip
    refused(post(live_server, trader, "tpsl_order", tp_trigger_price="61000"), 1066)
    refused(get(live_server, trader, "tpsl_open_orders", contract_code="NOPE-USDT"), 1014)


def test_tpsl_order_on_a_short_reverses_the_rules_and_the_listed_sides(
    live_server: LiveServer, team: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """A short's TP lies below the latest price and its SL above (1405/1407 otherwise); the
    listing shows "long", HTX's closing-order side, with tp→le and sl→ge (spec §6.4, §6.14)."""
    trader, _ = team
    market_open(live_server, trader, direction=2)
    sub_id = positions(live_server, trader)[0]["sub_position_id"]

    refused(post(live_server, trader, "tpsl_order", sub_position_id=sub_id,
                 tp_trigger_price="61500"), 1405)  # fmt: skip
    refused(post(live_server, trader, "tpsl_order", sub_position_id=sub_id,
                 sl_trigger_price="59500"), 1407)  # fmt: skip
    assert ok(get(live_server, trader, "tpsl_open_orders")) == []  # refusals set nothing
    ok(post(live_server, trader, "tpsl_order", sub_position_id=sub_id,
            tp_trigger_price="58000", sl_trigger_price="63000"))  # fmt: skip

    rows = ok(get(live_server, trader, "tpsl_open_orders", contract_code="BTC-USDT"))
    listed = [
        (r["position_side"], r["tpsl_order_type"], r["trigger_type"], r["price"]) for r in rows
    ]
    assert listed == [("long", "tp", "le", "58000"), ("long", "sl", "ge", "63000")]


def test_natural_mode_lists_the_protected_positions_own_side() -> None:
    """``tpsl_position_side_mode = "natural"`` undoes HTX's inversion (spec §6.14, Q8)."""
    with LiveServer("memory://", demo_seed=False, tpsl_position_side_mode="natural") as server:
        server.set_price("BTC-USDT", "60500")
        trader = server.create_user("trader", balance="100000")
        market_open(server, trader)
        market_open(server, trader, direction=2)
        by_side = {p["position_side"]: p["sub_position_id"] for p in positions(server, trader)}
        ok(post(server, trader, "tpsl_order", sub_position_id=by_side["long"],
                tp_trigger_price="63000"))  # fmt: skip
        ok(post(server, trader, "tpsl_order", sub_position_id=by_side["short"],
                tp_trigger_price="58000"))  # fmt: skip

        rows = ok(get(server, trader, "tpsl_open_orders"))

    assert sorted((r["position_side"], r["trigger_type"], r["price"]) for r in rows) == [
        ("long", "ge", "63000"),
        ("short", "le", "58000"),
    ]


@pytest.mark.parametrize(("mark", "close_type"), [("63000", 3), ("57000", 4)])
def test_a_fired_trigger_closes_the_lead_and_its_copy_with_close_type_3_or_4(
    live_server: LiveServer,
    team: tuple[dict[str, Any], dict[str, Any]],
    mark: str,
    close_type: int,
) -> None:
    trader, follower = team
    market_open(live_server, trader)
    sub_id = positions(live_server, trader)[0]["sub_position_id"]
    ok(post(live_server, trader, "tpsl_order", sub_position_id=sub_id,
            tp_trigger_price="63000", sl_trigger_price="57000"))  # fmt: skip

    live_server.set_price("BTC-USDT", mark)

    assert positions(live_server, trader) == []
    history = ok(get(live_server, trader, "position_positions", contract_code="BTC-USDT"))
    assert [(h["sub_position_id"], h["close_type"]) for h in history["positions"]] == [
        (sub_id, close_type)
    ]
    view = live_server.user(follower["uid"])
    assert view["positions"] == []
    assert [p["close_type"] for p in view["closed_positions"]] == [close_type]
    assert ok(get(live_server, trader, "tpsl_open_orders")) == []


# ----- add_margin (§6.5) ---------------------------------------------------------------------


def isolated_row(server: LiveServer, creds: dict[str, Any]) -> dict[str, str]:
    rows = ok(get(server, creds, "position_list"))["positions"]
    (row,) = [r for r in rows if r["margin_mode"] == "isolated"]
    return {k: row[k] for k in ("position_margin", "margin_rate", "liquidation_price")}


def test_add_margin_reproduces_the_running_example(htx_fees: LiveServer) -> None:
    server = htx_fees
    server.set_price("BTC-USDT", "60500")
    trader = server.create_user("trader", balance="1000")
    maker_long(server, trader, "BTC-USDT", "60000", "10", fill_mark="59994", back_mark="60500")
    assert isolated_row(server, trader) == {
        "position_margin": "119.64",
        "margin_rate": "0.097079589216944801",
        "liquidation_price": "49246",
    }

    echo = ok(post(server, trader, "add_margin", contract_code="BTC-USDT", amount="50", type=1,
                   position_side="long"))  # fmt: skip

    assert echo == {"contract_code": "BTC-USDT", "amount": "50", "type": 1, "position_side": "long"}
    assert isolated_row(server, trader) == {
        "position_margin": "169.64",
        "margin_rate": "0.069285387081997251",
        "liquidation_price": "44246",
    }
    assert Decimal(server.user(trader["uid"])["balance"]) == Decimal("1000") - 120 - 50


def test_v5_position_margin_reproduces_the_running_example(htx_fees: LiveServer) -> None:
    # spec htx-v5-v6.md §9.3: add_margin's replacement moves the same numbers (§6.5, §7.6)
    server = htx_fees
    server.set_price("BTC-USDT", "60500")
    trader = server.create_user("trader", balance="1000")
    maker_long(server, trader, "BTC-USDT", "60000", "10", fill_mark="59994", back_mark="60500")
    body = {"contract_code": "BTC-USDT", "amount": "50", "type": "add", "position_side": "long"}

    reply = server.signed(trader, "POST", "/v5/position/margin", body=body).json()

    assert (reply["code"], reply["data"]) == (200, {}), reply
    assert isolated_row(server, trader) == {
        "position_margin": "169.64",
        "margin_rate": "0.069285387081997251",
        "liquidation_price": "44246",
    }
    (row,) = server.signed(trader, "GET", "/v5/trade/position/opens").json()["data"]
    assert (Decimal(row["margin"]), Decimal(row["liquidation_price"])) == (
        Decimal("169.64"),
        Decimal("44246"),
    )
    assert Decimal(server.user(trader["uid"])["balance"]) == Decimal("1000") - 120 - 50
    reduce = {**body, "type": "reduce", "amount": "49.64"}  # the most it may take (§6.5)
    assert server.signed(trader, "POST", "/v5/position/margin", body=reduce).json()["code"] == 200
    assert isolated_row(server, trader)["position_margin"] == "120"
    again = {**body, "type": "reduce", "amount": "0.01"}
    assert server.signed(trader, "POST", "/v5/position/margin", body=again).json()["code"] == 1047


def test_add_margin_reproduces_the_dot_example(htx_fees: LiveServer) -> None:
    server = htx_fees
    server.set_price("DOT-USDT", "10")
    trader = server.create_user("trader", balance="100")
    maker_long(server, trader, "DOT-USDT", "10", "1", fill_mark="9.999", back_mark="10")

    echo = ok(post(server, trader, "add_margin", contract_code="DOT-USDT", amount=1, type=1,
                   position_side="long"))  # fmt: skip

    assert echo["amount"] == 1  # echoed with the JSON type the client sent
    assert isolated_row(server, trader) == {
        "position_margin": "2.994",
        "margin_rate": "0.066800267201068804",
        "liquidation_price": "7.206",
    }
    ok(post(server, trader, "add_margin", contract_code="DOT-USDT", amount="0.994", type=2,
            position_side="long"))  # fmt: skip
    assert isolated_row(server, trader)["position_margin"] == "2"
    refused(post(server, trader, "add_margin", contract_code="DOT-USDT", amount="0.01", type=2,
                 position_side="long"), 1047)  # fmt: skip


def test_add_margin_errors(
    live_server: LiveServer, team: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    trader, _ = team

    def add(**body: Any) -> Any:
        fields = {"contract_code": "BTC-USDT", "amount": "1", "type": 1, "position_side": "long"}
        return post(live_server, trader, "add_margin", **{**fields, **body})

    refused(add(), 4006)  # nothing open
    market_open(live_server, trader, mode="cross")
    refused(add(), 4006)  # cross only
    market_open(live_server, trader)
    refused(add(amount="1000000"), 1047)
    refused(add(type=3), 1067)
    assert refused(add(amount="0"), 1067) == "Illegal parameter amount."
    refused(add(contract_code="NOPE-USDT"), 1014)
    refused(add(position_side="up"), 1067)
    refused(post(live_server, trader, "add_margin", contract_code="BTC-USDT", type=1,
                 position_side="long"), 1066)  # fmt: skip
    ok(add())


def test_add_margin_is_spread_over_the_sub_positions_by_volume(
    live_server: LiveServer, team: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """Sub margins move in proportion to volume and still add up to the aggregate (§6.5)."""
    trader, _ = team
    market_open(live_server, trader, amount="10")
    market_open(live_server, trader, amount="30")

    def margins() -> dict[str, Decimal]:
        return {p["sub_position_id"]: Decimal(p["position_margin"])
                for p in positions(live_server, trader)}  # fmt: skip

    before = margins()
    volumes = {p["sub_position_id"]: p["volume"] for p in positions(live_server, trader)}
    balance = Decimal(live_server.user(trader["uid"])["balance"])

    ok(post(live_server, trader, "add_margin", contract_code="BTC-USDT", amount="40", type=1,
            position_side="long"))  # fmt: skip

    after = margins()
    assert {k: after[k] - before[k] for k in after} == {
        k: Decimal(volumes[k])
        for k in after  # 40 over volumes 10 and 30: +10 and +30
    }
    assert Decimal(isolated_row(live_server, trader)["position_margin"]) == sum(after.values())
    assert Decimal(live_server.user(trader["uid"])["balance"]) == balance - 40
    ok(post(live_server, trader, "add_margin", contract_code="BTC-USDT", amount="20", type=2,
            position_side="long"))  # fmt: skip
    reduced = margins()
    assert {k: after[k] - reduced[k] for k in after} == {k: Decimal(volumes[k]) / 2 for k in after}


# ----- updated_contract_lever / query_contract_lever (§6.7, §6.8) ---------------------------


def test_leverage_defaults_to_5_and_re_levering_moves_isolated_margin(
    htx_fees: LiveServer,
) -> None:
    server = htx_fees
    server.set_price("BTC-USDT", "60500")
    trader = server.create_user("trader", balance="1000")
    query = {"contract_code": "BTC-USDT", "margin_mode": "isolated"}
    assert ok(get(server, trader, "query_contract_lever", **query)) == {
        "lever_rate_range": [1, 200],
        "current_lever_rate": 5,
        "contract_code": "BTC-USDT",
        "margin_mode": "isolated",
    }
    maker_long(server, trader, "BTC-USDT", "60000", "10", fill_mark="59994", back_mark="60500")

    reply = ok(post(server, trader, "updated_contract_lever", lever=10, **query))

    assert reply == {"lever": 10, "contract_code": "BTC-USDT", "margin_mode": "isolated"}
    assert ok(get(server, trader, "query_contract_lever", **query))["current_lever_rate"] == 10
    assert isolated_row(server, trader)["position_margin"] == "59.64"  # 119.64 − (120 − 60)
    assert positions(server, trader)[0]["lever"] == "10"
    assert Decimal(server.user(trader["uid"])["balance"]) == Decimal(940)


def test_re_levering_cross_moves_no_money_and_lowering_isolated_takes_the_im_difference(
    live_server: LiveServer, team: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """Cross: the sub positions take the new leverage, their initial margin is recomputed, the
    wallet does not move. Isolated with ΔIM > 0: the margin grows by ΔIM from the wallet (§6.7).
    The follower's copies keep their leverage (§8.3)."""
    trader, follower = team
    market_open(live_server, trader, amount="10", mode="cross", lever=10)
    market_open(live_server, trader, amount="10", mode="isolated", lever=10)

    def rows() -> dict[str, dict[str, Any]]:
        listed = ok(get(live_server, trader, "position_list"))["positions"]
        return {r["margin_mode"]: r for r in listed}

    def wallet() -> Decimal:
        return Decimal(live_server.user(trader["uid"])["balance"])

    before, cash = rows(), wallet()
    ok(post(live_server, trader, "updated_contract_lever", contract_code="BTC-USDT", lever=20,
            margin_mode="cross"))  # fmt: skip
    after = rows()
    assert wallet() == cash
    assert Decimal(after["cross"]["position_margin"]) * 2 == Decimal(
        before["cross"]["position_margin"]
    )
    assert after["isolated"] == before["isolated"]  # the other margin mode is untouched

    ok(post(live_server, trader, "updated_contract_lever", contract_code="BTC-USDT", lever=5,
            margin_mode="isolated"))  # fmt: skip
    (isolated,) = [p for p in positions(live_server, trader) if p["margin_mode"] == "isolated"]
    notional = Decimal(isolated["open_avg_price"]) * 10 * Decimal("0.001")
    delta = notional / 5 - notional / 10
    assert wallet() == cash - delta
    assert Decimal(rows()["isolated"]["position_margin"]) == (
        Decimal(before["isolated"]["position_margin"]) + delta
    )
    assert {p["margin_mode"]: p["lever"] for p in positions(live_server, trader)} == {
        "cross": "20",
        "isolated": "5",
    }
    copies = live_server.user(follower["uid"])["positions"]
    assert sorted(p["lever"] for p in copies) == ["10", "10"]


def test_later_copies_use_the_new_leverage(
    live_server: LiveServer, team: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    trader, follower = team
    market_open(live_server, trader, lever=5)
    ok(post(live_server, trader, "updated_contract_lever", contract_code="BTC-USDT", lever=20,
            margin_mode="isolated"))  # fmt: skip

    refused(
        post(live_server, trader, "place_order", contract_code="BTC-USDT", amount="1",
             margin_mode="isolated", order_price_type=17, order_direction=1, lever=5),
        1349,
    )  # fmt: skip
    market_open(live_server, trader, amount="2", lever=20)

    copies = live_server.user(follower["uid"])["positions"]
    assert sorted(p["lever"] for p in copies) == ["20", "5"]  # the older copy keeps its leverage


def test_leverage_errors(
    live_server: LiveServer, team: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    trader, _ = team

    def change(**body: Any) -> Any:
        fields = {"contract_code": "BTC-USDT", "lever": 10, "margin_mode": "cross"}
        return post(live_server, trader, "updated_contract_lever", **{**fields, **body})

    limit_open(live_server, trader, "BTC-USDT", "50000", "1", mode="cross", lever=5)
    refused(change(), 1045)  # an order rests in BTC-USDT cross
    ok(change(margin_mode="isolated"))  # the other margin mode is free
    refused(change(margin_mode="isolated", lever=201), 1037)
    refused(change(contract_code="DOT-USDT", margin_mode="isolated", lever=76), 1037)
    refused(change(contract_code="NOPE-USDT"), 1014)
    refused(change(margin_mode="both"), 1067)
    refused(post(live_server, trader, "updated_contract_lever", contract_code="BTC-USDT",
                 margin_mode="cross"), 1094)  # fmt: skip
    dot = ok(get(live_server, trader, "query_contract_lever", contract_code="dot-usdt",
                 margin_mode="cross"))  # fmt: skip
    assert (dot["lever_rate_range"], dot["contract_code"]) == ([1, 75], "DOT-USDT")
    refused(get(live_server, trader, "query_contract_lever", contract_code="BTC-USDT"), 1066)


def test_lowering_leverage_needs_the_added_isolated_margin_or_answers_1047(
    live_server: LiveServer, team: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """ΔIM > 0 on an isolated position needs available balance (spec §6.7)."""
    poor = live_server.create_user("trader", balance="100")
    market_open(live_server, poor, amount="10", lever=10)  # IM ≈ 60.5 of the 100
    before = (live_server.user(poor["uid"])["balance"], positions(live_server, poor))

    refused(post(live_server, poor, "updated_contract_lever", contract_code="BTC-USDT", lever=1,
                 margin_mode="isolated"), 1047)  # fmt: skip

    assert (live_server.user(poor["uid"])["balance"], positions(live_server, poor)) == before
    query = {"contract_code": "BTC-USDT", "margin_mode": "isolated"}
    assert ok(get(live_server, poor, "query_contract_lever", **query))["current_lever_rate"] == 10


# ----- open_orders / query_contract (§6.13, §6.9) --------------------------------------------


def test_open_orders_match_the_spec_example_and_filter_by_contract(
    live_server: LiveServer, team: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    trader, _ = team
    assert ok(get(live_server, trader, "open_orders")) == []
    limit_open(live_server, trader, "BTC-USDT", "61000", "10", direction=2)
    limit_open(live_server, trader, "DOT-USDT", "9", "3", mode="cross")

    btc = ok(get(live_server, trader, "open_orders", contract_code="BTC-USDT"))

    assert btc == [
        {"contract_code": "BTC-USDT", "position_side": "short", "order_direction": "open",
         "lever": 5, "margin_mode": "isolated", "volume": "10.000000000000000000",
         "price": "61000", "avg_volume": "0.000000000000000000", "avg_price": None, "fee": "0"}
    ]  # fmt: skip
    every = ok(get(live_server, trader, "open_orders"))
    assert [o["contract_code"] for o in every] == ["DOT-USDT", "BTC-USDT"]  # newest first
    refused(get(live_server, trader, "open_orders", contract_code="NOPE-USDT"), 1014)


def test_query_contract_lists_the_copy_enabled_contracts(
    live_server: LiveServer, team: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    trader, _ = team
    assert ok(get(live_server, trader, "query_contract")) == ["BTC-USDT", "ETH-USDT", "DOT-USDT"]


# ----- remove_follower (§6.19, §8.5) ---------------------------------------------------------


def test_remove_follower_closes_its_copies_and_stops_copying(
    live_server: LiveServer, team: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    trader, follower = team
    market_open(live_server, trader)
    market_open(live_server, trader, "DOT-USDT", "5", "cross", 2)
    listed = ok(get(live_server, trader, "query_followers"))["follower"]
    assert [f["follower_uid"] for f in listed] == [follower_id(follower["uid"])]
    counts = ("total_follower_num", "current_follower_num")
    stats = ok(get(live_server, trader, "order_total_detail"))
    assert tuple(stats[k] for k in counts) == ("1", "1")

    assert ok(post(live_server, trader, "remove_follower",
                   follower_uid=follower_id(follower["uid"]))) is True  # fmt: skip

    stats = ok(get(live_server, trader, "order_total_detail"))
    assert tuple(stats[k] for k in counts) == ("1", "0")  # total unchanged, current −1 (§8.5)

    view = live_server.user(follower["uid"])
    assert view["positions"] == []
    assert sorted(p["close_type"] for p in view["closed_positions"]) == [7, 7]
    assert ok(get(live_server, trader, "query_followers"))["follower"] == []
    assert len(positions(live_server, trader)) == 1  # the lead positions stay open
    market_open(live_server, trader, amount="3")
    assert live_server.user(follower["uid"])["positions"] == []  # no longer copied
    refused(post(live_server, trader, "remove_follower",
                 follower_uid=follower_id(follower["uid"])), 1067)  # fmt: skip


def test_remove_follower_errors(
    live_server: LiveServer, team: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    trader, follower = team
    other = live_server.create_user("trader", balance="1000")
    stranger = live_server.create_user("follower", balance="1000")

    refused(post(live_server, other, "remove_follower",
                 follower_uid=follower_id(follower["uid"])), 1067)  # fmt: skip
    refused(post(live_server, trader, "remove_follower",
                 follower_uid=follower_id(stranger["uid"])), 1067)  # fmt: skip
    refused(post(live_server, trader, "remove_follower", follower_uid="not base64!"), 1067)
    refused(post(live_server, trader, "remove_follower"), 1066)


# ----- statistics and profit shares (§6.15–§6.17) --------------------------------------------


def test_statistics_and_profit_shares_after_a_profitable_copy(
    live_server: LiveServer, team: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    trader, follower = team
    empty = ok(get(live_server, trader, "order_total_detail"))
    assert (empty["total_pl"], empty["win_rate"], empty["current_follower_num"]) == ("0", "0", "1")
    assert ok(get(live_server, trader, "total_profit_history")) == {
        "items": [{"profit_currency": "USDT", "total_profit_amount": "0"}]
    }
    market_open(live_server, trader)
    live_server.set_price("BTC-USDT", "62000")
    sub_id = positions(live_server, trader)[0]["sub_position_id"]
    ok(post(live_server, trader, "close_order", sub_position_id=sub_id))

    (closed,) = ok(get(live_server, trader, "position_positions", contract_code="BTC-USDT"))[
        "positions"
    ]
    stats = ok(get(live_server, trader, "order_total_detail"))
    items = ok(get(live_server, trader, "profit_history_details"))
    totals = ok(get(live_server, trader, "total_profit_history"))

    assert stats["total_pl"] == closed["profit"]
    assert (stats["win_rate"], stats["current_follower_num"], stats["total_follower_num"]) == (
        "1",
        "1",
        "1",
    )
    assert stats["last_24_hours_profit"][-1]["amount"] == closed["profit"]
    assert stats["last_90_days_profit"][-1]["amount"] == closed["profit"]
    hours, days = stats["last_24_hours_profit"], stats["last_90_days_profit"]
    assert (len(hours), len(days)) == (24, 90)
    hour_ts = [int(p["ts"]) for p in hours]  # epoch-ms strings, an hour apart
    assert all(isinstance(p["ts"], str) for p in hours + days)
    assert [b - a for a, b in itertools.pairwise(hour_ts)] == [3_600_000] * 23
    assert all((int(p["ts"]) + 8 * 3_600_000) % 86_400_000 == 0 for p in days)  # UTC+8 midnights
    initial_margin = (
        Decimal(closed["open_avg_price"]) * Decimal(closed["volume"]) * Decimal("0.001")
        / Decimal(closed["lever"])
    )  # fmt: skip
    rate = Decimal(hours[-1]["rate"])
    assert abs(rate - Decimal(closed["profit"]) / initial_margin) < Decimal("1e-17")
    (item,) = items["profit_items"]
    assert (item["user_id"], item["profit_currency"]) == (str(follower["uid"]), "USDT")
    assert item["profit_amount"] == closed["follow_takes"]
    assert items["query_id"] is not None
    assert totals == {
        "items": [{"profit_currency": "USDT", "total_profit_amount": closed["follow_takes"]}]
    }
    page = ok(get(live_server, trader, "profit_history_details",
                  from_id=str(items["query_id"]), direct="prev"))  # fmt: skip
    assert page == {"profit_items": [], "query_id": None}
    refused(get(live_server, trader, "profit_history_details", limit="0"), 1067)


def test_follower_settings_are_validated_and_kept(live_server: LiveServer) -> None:
    trader = live_server.create_user("trader")
    follower = live_server.create_user("follower")
    body = {"follower_uid": follower["uid"], "trader_uid": trader["uid"]}

    invalid = live_server.http.post("/_sim/follow", json={**body, "tp_ratio": "-1"})
    kept = live_server.http.post("/_sim/follow", json={**body, "tp_ratio": "0.2"})

    assert (invalid.status_code, invalid.json()["field"]) == (400, "tp_ratio")
    assert kept.status_code == 200, kept.text
    assert live_server.user(follower["uid"])["following"]["tp_ratio"] == "0.2"


def test_profit_history_details_pages_and_filters_on_profit_time(
    live_server: LiveServer, team: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """Three profit shares, paged both ways by ``query_id`` and filtered on ``profit_time``
    (spec §6.16 with the paging rules of §6.11)."""
    trader, follower = team
    for _ in range(3):  # three winning round trips: one profit share each
        market_open(live_server, trader, amount="10")
        live_server.set_price("BTC-USDT", "62000")
        sub_id = positions(live_server, trader)[0]["sub_position_id"]
        ok(post(live_server, trader, "close_order", sub_position_id=sub_id))
        live_server.set_price("BTC-USDT", "60500")
        time.sleep(0.005)  # distinct profit times

    newest_first = ok(get(live_server, trader, "profit_history_details"))
    items = newest_first["profit_items"]
    times = [i["profit_time"] for i in items]
    assert len(items) == 3
    assert times == sorted(times, reverse=True)
    assert {i["user_id"] for i in items} == {str(follower["uid"])}

    first = ok(get(live_server, trader, "profit_history_details", direct="prev", limit="2"))
    assert first["profit_items"] == items[:2]
    rest = ok(get(live_server, trader, "profit_history_details", direct="prev",
                  from_id=str(first["query_id"])))  # fmt: skip
    assert rest["profit_items"] == items[2:]
    oldest = ok(get(live_server, trader, "profit_history_details", direct="next", limit="2"))
    assert oldest["profit_items"] == [items[2], items[1]]
    after = ok(get(live_server, trader, "profit_history_details", direct="next",
                   from_id=str(oldest["query_id"])))  # fmt: skip
    assert after["profit_items"] == [items[0]]

    middle = str(times[1])
    window = ok(get(live_server, trader, "profit_history_details", start_time=middle,
                    end_time=middle))  # fmt: skip
    assert window["profit_items"] == [items[1]]
    since = ok(get(live_server, trader, "profit_history_details", start_time=middle))
    assert since["profit_items"] == items[:2]
    refused(get(live_server, trader, "profit_history_details", start_time=str(times[0]),
                end_time=str(times[2])), 1067)  # fmt: skip
    refused(get(live_server, trader, "profit_history_details", limit="101"), 1067)
