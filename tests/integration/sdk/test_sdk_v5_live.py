"""The SDK's ``client.v5`` methods against a live server: typed results, copies, errors."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from copytrade.client import BadRequest, Client, HmacAuth, InsufficientFunds, OrderNotFound
from copytrade.protocol import v5 as p5
from copytrade.protocol.enums import MarginMode, PositionSide
from copytrade.testing.server import LiveServer


@pytest.fixture
def lead(
    live_server: LiveServer, restore_marks: None
) -> Iterator[tuple[Client, dict[str, Any], dict[str, Any]]]:
    """A trader's v5 client, the trader and one follower copying at ratio 2."""
    trader = live_server.create_user("trader", balance="100000")
    follower = live_server.create_user("follower", balance="50000")
    live_server.follow(follower["uid"], trader["uid"], "2")
    auth = HmacAuth(trader["access_key"], trader["secret_key"])
    with Client(live_server.base_url, auth) as client:
        yield client, trader, follower


def test_v5_methods_return_the_declared_structures_and_copy_the_lead(
    live_server: LiveServer, lead: tuple[Client, dict[str, Any], dict[str, Any]]
) -> None:
    client, _trader, follower = lead
    assert client.v5.set_lever(contract_code="BTC-USDT", lever_rate=20).lever_rate == 20
    ack = client.v5.place_order(contract_code="BTC-USDT", side="buy", volume=Decimal(3))
    assert isinstance(ack, p5.OrderAck)
    assert ack.client_order_id == ack.order_id
    (position,) = client.v5.positions()
    assert (position.position_side, position.volume, position.lever_rate) == (
        "long",
        Decimal(3),
        20,
    )
    assert [p["volume"] for p in live_server.user(follower["uid"])["positions"]] == ["6"]

    resting = client.v5.place_order(
        contract_code="BTC-USDT", side="sell", volume=Decimal(1), type="limit", price=Decimal(90000)
    )
    (opened,) = client.v5.open_orders(contract_code="BTC-USDT")
    assert (opened.id, opened.state, opened.position_side) == (resting.order_id, "new", "short")
    assert client.v5.order(contract_code="BTC-USDT", order_id=resting.order_id).price == 90000
    (cancelled,) = client.v5.cancel_all_orders(contract_code="BTC-USDT")
    assert cancelled.order_id == resting.order_id
    with pytest.raises(OrderNotFound):
        client.v5.cancel_order(contract_code="BTC-USDT", order_id=resting.order_id)

    balance = client.v5.balance()
    assert balance.details[0].currency == "USDT"
    assert balance.available_margin < balance.equity
    assert {f.side for f in client.v5.fills(contract_code="BTC-USDT")} == {"buy"}

    client.v5.close_position(contract_code="BTC-USDT", position_side=PositionSide.LONG)
    assert client.v5.positions() == ()
    assert live_server.user(follower["uid"])["positions"] == []
    assert client.v5.get_position_mode().position_mode == "dual_side"
    levers = {(lv.contract_code, lv.margin_mode): lv.lever_rate for lv in client.v5.get_lever()}
    assert levers[("BTC-USDT", MarginMode.CROSS.value)] == 20


def test_v5_errors_raise_the_sdk_exceptions(
    lead: tuple[Client, dict[str, Any], dict[str, Any]],
) -> None:
    client = lead[0]
    with pytest.raises(InsufficientFunds) as raised:
        client.v5.place_order(contract_code="BTC-USDT", side="buy", volume=Decimal(100000))
    assert raised.value.code == 1047


def test_official_sdk_path_aliases_reach_the_v5_endpoints(live_server: LiveServer) -> None:
    trader = live_server.create_user("trader", balance="1000")
    for alias in ("/api/V5/trade/order/details", "/api/v5/position/mode"):
        reply = live_server.signed(trader, "GET", alias, params={}).json()
        assert (reply["code"], reply["message"]) == (200, "Success")
    mode = live_server.signed(trader, "GET", "/api/v5/position/mode").json()
    assert mode["data"] == {"position_mode": "dual_side"}


def test_market_methods_return_the_declared_structures(
    live_server: LiveServer, lead: tuple[Client, dict[str, Any], dict[str, Any]]
) -> None:
    client = lead[0]
    client.v5.place_order(contract_code="ETH-USDT", side="sell", volume=Decimal(2))
    btc = next(c for c in client.market.contracts() if c.contract_code == "BTC-USDT")
    assert (btc.contract_size, btc.business_type) == (Decimal("0.001"), "swap")
    assert abs(client.market.server_time() - live_server.services.clock.now_ms()) < 60_000
    assert client.market.status().linear_swap_heartbeat == 1
    ticker = client.market.ticker(contract_code="ETH-USDT")
    book = client.market.depth(contract_code="ETH-USDT")
    assert ticker.bid[0] == book.bids[0][0] < book.asks[0][0] == ticker.ask[0]
    assert {t.contract_code for t in client.market.tickers()} >= {"BTC-USDT", "ETH-USDT"}
    # the lead's fill and its follower's copy (ratio 2) are both real fills, newest first
    prints = [b.data[0] for b in client.market.trades(contract_code="ETH-USDT", size=2)]
    assert [(t.direction, t.amount) for t in prints] == [("sell", Decimal(4)), ("sell", Decimal(2))]
    candles = client.market.candles(contract_code="ETH-USDT", period="1min", size=3)
    assert candles[-1].vol >= 2
    (rate,) = client.market.funding_rate(contract_code="ETH-USDT")
    assert rate.next_funding_time - rate.funding_time == 8 * 3600 * 1000


def test_v5_order_history_position_mode_and_take_profit_methods(
    live_server: LiveServer, lead: tuple[Client, dict[str, Any], dict[str, Any]]
) -> None:
    client, _trader, follower = lead
    assert client.v5.set_position_mode(position_mode="single_side").position_mode == "single_side"
    assert client.v5.get_position_mode().position_mode == "single_side"
    assert client.v5.set_position_mode(position_mode="dual_side").position_mode == "dual_side"
    resting = client.v5.place_order(
        contract_code="BTC-USDT", side="buy", volume=Decimal(1), type="limit", price=Decimal(1000)
    )
    client.v5.cancel_order(contract_code="BTC-USDT", order_id=resting.order_id)
    client.v5.place_order(contract_code="BTC-USDT", side="buy", volume=Decimal(2))
    cancelled = client.v5.order_history(contract_code="BTC-USDT", states=["canceled"])
    assert [(o.order_id, o.state) for o in cancelled] == [(resting.order_id, "canceled")]
    filled = client.v5.order_history(contract_code="BTC-USDT", states=["filled"])
    assert [(o.side, o.volume, o.state) for o in filled] == [("buy", Decimal(2), "filled")]

    with pytest.raises(BadRequest) as refused:  # only while flat (spec §6.15)
        client.v5.set_position_mode(position_mode="single_side")
    assert refused.value.code == 1067

    (position,) = client.v5.positions(contract_code="BTC-USDT")
    take = (position.mark_price * Decimal("1.2")).quantize(Decimal(1))
    (ack,) = client.v5.place_algo_order(
        contract_code="BTC-USDT", side="sell", type="tp", tp_trigger_price=take
    )
    (armed,) = client.v5.algo_open_orders(contract_code="BTC-USDT")
    assert (armed.algo_id, armed.type, armed.position_side, armed.tp_trigger_price) == (
        ack.algo_id,
        "tp",
        "long",
        take,
    )
    live_server.set_price("BTC-USDT", take + 100)  # the take profit fires, copies close too
    assert client.v5.positions() == ()
    assert live_server.user(follower["uid"])["positions"] == []
    assert client.v5.algo_open_orders() == ()
    (fired,) = client.v5.algo_order_history(contract_code="BTC-USDT", states=["effective"])
    assert (fired.algo_id, fired.type, fired.state) == (ack.algo_id, "tp", "effective")
    assert client.v5.algo_order(algo_id=fired.algo_id, type="tp").state == fired.state


def test_v5_algo_cancel_reports_each_id(
    lead: tuple[Client, dict[str, Any], dict[str, Any]],
) -> None:
    client = lead[0]
    client.v5.place_order(contract_code="ETH-USDT", side="sell", volume=Decimal(1))
    (position,) = client.v5.positions(contract_code="ETH-USDT")
    stop = (position.mark_price * Decimal("1.1")).quantize(Decimal(1))
    (ack,) = client.v5.place_algo_order(
        contract_code="ETH-USDT", side="buy", type="sl", sl_trigger_price=stop
    )
    done = client.v5.cancel_algo_orders(contract_code="ETH-USDT", algo_ids=[ack.algo_id, "42"])
    assert [(c.algo_id, c.code) for c in done] == [(ack.algo_id, 200), ("42", 1017)]
    assert client.v5.algo_open_orders(contract_code="ETH-USDT") == ()


def test_v5_trigger_and_trailing_orders_through_the_typed_builders(
    live_server: LiveServer, lead: tuple[Client, dict[str, Any], dict[str, Any]]
) -> None:
    client, _trader, follower = lead
    live_server.set_price("DOT-USDT", "10")
    (trigger,) = client.v5.place_trigger_order(
        contract_code="DOT-USDT",
        side="buy",
        volume=Decimal(5),
        trigger_price=Decimal(11),
        algo_client_order_id=4242,
    )
    assert trigger.algo_client_order_id == "4242"
    (opened,) = client.v5.algo_open_orders(contract_code="DOT-USDT", type="trigger")
    assert (opened.algo_id, opened.state, opened.trigger_type) == (trigger.algo_id, "active", "ge")
    assert client.v5.algo_order(algo_client_order_id=4242).trigger_price == 11

    live_server.set_price("DOT-USDT", "11")  # the trigger opens a long, copied at ratio 2

    assert [p["volume"] for p in live_server.user(follower["uid"])["positions"]] == ["10"]
    fired = client.v5.algo_order(algo_id=trigger.algo_id, type="trigger")
    assert (fired.state, fired.relation_order_id is not None) == ("effective", True)
    (trailing,) = client.v5.place_trailing_order(
        contract_code="DOT-USDT",
        side="sell",
        volume=Decimal(5),
        callback_rate=Decimal("0.05"),
        active_price=Decimal(12),
        reduce_only=True,
    )
    live_server.set_price("DOT-USDT", "12.5")  # active, highest 12.5: fires at 11.875
    assert client.v5.algo_order(algo_id=trailing.algo_id).formula_price == Decimal("11.875")
    live_server.set_price("DOT-USDT", "11.8")  # closes the long, the copy with it

    assert client.v5.positions(contract_code="DOT-USDT") == ()
    assert live_server.user(follower["uid"])["positions"] == []
    history = client.v5.algo_order_history(contract_code="DOT-USDT", states=["effective"])
    assert [h.algo_id for h in history] == [trailing.algo_id, trigger.algo_id]
