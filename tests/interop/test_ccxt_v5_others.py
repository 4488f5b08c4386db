"""ccxt 4.5.90's implicit methods for spec htx-v5-v6.md §7's other v5 endpoints.

ccxt's ``htx`` declares ``v5/trade/batch_orders``, ``cancel_batch_orders``, ``position_all``,
``cancel-after``, ``v5/position/margin`` and ``v5/account/bills`` in its API table (not
``position/history``): each is reached as ``contractPrivate<Method><Path>``, unchanged, and a
lead's batch of opens is copied, ``position_all`` closes the copies.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import ccxt
import pytest
from test_ccxt_v5 import ccxt_config

from copytrade.testing.server import LiveServer

D = Decimal


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


def _order(side: str, **extra: Any) -> dict[str, Any]:
    body = {"contract_code": "ETH-USDT", "margin_mode": "cross", "side": side, "volume": "1"}
    return {"type": "market", **body, **extra}


def test_the_other_v5_endpoints_through_ccxt_implicit_methods(
    live_server: LiveServer, connect: Any
) -> None:
    trader = live_server.create_user("trader", balance="100000")
    follower = live_server.create_user("follower", balance="100000")
    live_server.follow(follower["uid"], trader["uid"], "1")
    exchange = connect(trader)

    # ccxt sends params as a JSON object: the v1 shape {"orders_data": [...]} is accepted
    rest = _order("buy", type="limit", price="1000")
    reply = exchange.contractPrivatePostV5TradeBatchOrders(
        {"orders_data": [_order("buy", volume="2"), rest, {**rest, "side": "up"}]}
    )
    assert [i["code"] for i in reply["data"]] == [200, 200, 1067]
    resting = reply["data"][1]["order_id"]
    assert [p["volume"] for p in live_server.user(follower["uid"])["positions"]] == ["2"]

    cancelled = exchange.contractPrivatePostV5TradeCancelBatchOrders(
        {"contract_code": "ETH-USDT", "order_id": f"{resting},1"}
    )
    assert [(i["order_id"], i["code"]) for i in cancelled["data"]] == [(resting, 200), ("1", 1017)]

    margin = {"contract_code": "ETH-USDT", "position_side": "long", "type": "add", "amount": "1"}
    with pytest.raises(ccxt.InsufficientFunds):  # no isolated position: 1048
        exchange.contractPrivatePostV5PositionMargin(margin)

    armed = exchange.contractPrivatePostV5TradeCancelAfter({"on_off": 1, "time_out": 5000})
    assert armed["data"]["trigger_time"] - armed["data"]["current_time"] == 5000
    with pytest.raises(ccxt.InvalidOrder):  # under 5000 ms: 1067
        exchange.contractPrivatePostV5TradeCancelAfter({"on_off": 1, "time_out": 10})
    exchange.contractPrivatePostV5TradeCancelAfter({"on_off": 0})

    (ack,) = exchange.contractPrivatePostV5TradePositionAll()["data"]
    assert ack["order_id"]
    assert live_server.user(follower["uid"])["positions"] == []

    bills = exchange.contractPrivateGetV5AccountBills({"limit": 100})["data"]
    balance = D(live_server.user(trader["uid"])["balance"])
    assert sum((D(b["amount"]) for b in bills), D(0)) == balance - 100000
