"""ccxt 4.5.90's unified calls for trigger and trailing orders against a live server.

``create_order(..., params={'triggerPrice': …})`` and ``{'trailingPercent': …,
'trailingTriggerPrice': …}`` go to ``POST /v5/algo/order`` (spec ``htx-v5-v6.md`` §6.9); the
algo flags of ``fetch_open_orders``/``fetch_order``/``cancel_order`` and of the closed and
cancelled listings read and cancel them (§6.10, §6.11). When the mark crosses, the order fires
down the v5 order path, so the lead's fill is copied to its followers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ccxt
import pytest
from test_ccxt_v5 import _open_volumes, _team, ccxt_config

from copytrade.testing.server import LiveServer

ETH = "ETH/USDT:USDT"


@pytest.fixture
def connect(live_server: LiveServer) -> Iterator[Any]:
    made: list[ccxt.htx] = []

    def make(creds: dict[str, Any]) -> ccxt.htx:
        exchange = ccxt.htx(ccxt_config(live_server, creds))
        made.append(exchange)
        return exchange

    yield make
    for exchange in made:
        if exchange.session is not None:
            exchange.session.close()


@pytest.fixture
def eth_at_3000(live_server: LiveServer) -> Iterator[None]:
    """ETH-USDT at 3000 (the session's server: other tests move it); back there afterwards."""
    live_server.set_price("ETH-USDT", "3000")
    yield
    live_server.set_price("ETH-USDT", "3000")


@pytest.mark.usefixtures("eth_at_3000")
def test_a_ccxt_trigger_order_fires_when_the_mark_crosses_and_is_copied(
    live_server: LiveServer, connect: Any
) -> None:
    trader, (follower,) = _team(live_server, ("1",))
    exchange = connect(trader)
    exchange.load_markets()
    placed = exchange.create_order(ETH, "market", "buy", 4, None, {"triggerPrice": 3100})
    later = exchange.create_order(ETH, "limit", "buy", 1, 2900, {"triggerPrice": 3200})
    flags = {"trigger": True}

    resting = exchange.fetch_open_orders(ETH, params=flags)
    assert [(o["id"], o["triggerPrice"], o["status"]) for o in resting] == [
        (placed["id"], 3100, "open"),
        (later["id"], 3200, "open"),
    ]
    one = exchange.fetch_order(placed["id"], ETH, flags)
    assert (one["side"], one["amount"], one["type"]) == ("buy", 4, "trigger")
    assert exchange.fetch_open_orders(ETH, params={"stopLossTakeProfit": True}) == []
    assert exchange.fetch_positions([ETH]) == []
    assert _open_volumes(live_server, follower["uid"]) == []

    live_server.set_price("ETH-USDT", "3150")  # crosses 3100, not 3200

    (position,) = exchange.fetch_positions([ETH])
    assert (position["side"], position["contracts"]) == ("long", 4)
    assert _open_volumes(live_server, follower["uid"]) == ["4"]
    fired = exchange.fetch_order(placed["id"], ETH, flags)
    assert fired["status"] == "effective"  # ccxt passes an algo state it does not map through
    closed = exchange.fetch_closed_orders(ETH, params=flags)
    assert [o["id"] for o in closed] == [placed["id"]]
    lead_order = fired["info"]["relation_order_id"]
    assert exchange.fetch_order(lead_order, ETH)["filled"] == 4

    cancelled = exchange.cancel_order(later["id"], ETH, flags)
    assert cancelled["id"] == later["id"]
    assert exchange.fetch_open_orders(ETH, params=flags) == []
    assert [o["id"] for o in exchange.fetch_canceled_orders(ETH, params=flags)] == [later["id"]]
    live_server.set_price("ETH-USDT", "3300")  # a cancelled trigger stays quiet
    assert _open_volumes(live_server, follower["uid"]) == ["4"]
    with pytest.raises(ccxt.OrderNotFound):
        exchange.fetch_order("123", ETH, flags)
    exchange.close_position(ETH)


@pytest.mark.usefixtures("eth_at_3000")
def test_a_ccxt_trailing_stop_closes_the_lead_and_its_copies_on_the_retrace(
    live_server: LiveServer, connect: Any
) -> None:
    trader, (follower,) = _team(live_server, ("0.5",))
    exchange = connect(trader)
    exchange.load_markets()
    exchange.create_order(ETH, "market", "buy", 6)
    assert _open_volumes(live_server, follower["uid"]) == ["3"]
    trailing = exchange.create_order(
        ETH,
        "market",
        "sell",
        6,
        None,
        {"trailingPercent": 2, "trailingTriggerPrice": 3100, "reduceOnly": True},
    )
    flags = {"trailing": True}
    (shown,) = exchange.fetch_open_orders(ETH, params=flags)
    assert shown["id"] == trailing["id"]
    assert shown["reduceOnly"] is True
    info = shown["info"]
    assert (info["type"], info["callback_rate"], info["active_price"]) == (
        "trailing_stop",
        "0.02",
        "3100",
    )
    assert info["extreme_price"] is None  # not active below 3100

    for mark in ("3120", "3300", "3250"):  # active at 3120, highest 3300, 3234 fires
        live_server.set_price("ETH-USDT", mark)
    info = exchange.fetch_order(trailing["id"], ETH, flags)["info"]
    assert (info["state"], info["extreme_price"], info["formula_price"]) == (
        "active",
        "3300",
        "3234",
    )
    assert _open_volumes(live_server, follower["uid"]) == ["3"]

    live_server.set_price("ETH-USDT", "3234")

    assert exchange.fetch_positions([ETH]) == []
    assert _open_volumes(live_server, follower["uid"]) == []
    (done,) = exchange.fetch_closed_orders(ETH, params=flags)
    assert (done["id"], done["info"]["extreme_price"]) == (trailing["id"], "3300")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("market", "sell", 1, None, {"trailingPercent": 20}), ccxt.InvalidOrder),  # > 5 %
        (("market", "sell", 1, None, {"trailingPercent": 0.05}), ccxt.InvalidOrder),  # < 0.1 %
        (
            ("market", "sell", 1, None, {"triggerPrice": 2900, "reduceOnly": True}),
            ccxt.InsufficientFunds,
        ),
        (("limit", "buy", 1, None, {"triggerPrice": 3100}), ccxt.InvalidOrder),  # no price
    ],
)
@pytest.mark.usefixtures("eth_at_3000")
def test_refused_ccxt_conditional_orders_raise_and_store_nothing(
    live_server: LiveServer, connect: Any, args: tuple[Any, ...], error: type[Exception]
) -> None:
    exchange = connect(live_server.create_user("trader", balance="100000"))
    exchange.load_markets()
    with pytest.raises(error):
        exchange.create_order(ETH, *args)
    for flag in ("trigger", "trailing"):
        assert exchange.fetch_open_orders(ETH, params={flag: True}) == []
