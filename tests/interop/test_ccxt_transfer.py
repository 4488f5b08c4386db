"""ccxt 4.5.90's ``htx``, unchanged, moving USDT between a UID's three balances on a live server:
the unified ``transfer`` (spot ↔ USDT-M futures, ``/v2/account/transfer``, spec htx-v5-v6.md
§6.16) and the implicit v6 ``transfer`` into and out of the copy-trading account (§8.8), which
``fetch_balance`` (the copy-trading account of §9.2) then shows."""

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


def balances(server: LiveServer, uid: int) -> tuple[Decimal, Decimal, Decimal]:
    view = server.user(uid)
    return D(view["balance"]), D(view["spot"]), D(view["futures"])


def test_ccxt_transfer_moves_usdt_between_spot_and_usdt_m_futures(
    live_server: LiveServer, connect: Any
) -> None:
    trader = live_server.create_user("trader", balance="1000", spot="100")
    exchange = connect(trader)
    exchange.load_markets()
    there = exchange.transfer("USDT", 10, "spot", "swap")
    assert there["id"].isdigit()
    assert balances(live_server, trader["uid"]) == (D(1000), D(90), D(10))
    back = exchange.transfer("USDT", 2.5, "swap", "spot")
    assert back["id"] != there["id"]
    assert balances(live_server, trader["uid"]) == (D(1000), D("92.5"), D("7.5"))
    with pytest.raises(ccxt.InsufficientFunds):
        exchange.transfer("USDT", 1000, "spot", "swap")
    assert balances(live_server, trader["uid"]) == (D(1000), D("92.5"), D("7.5"))
    # the copy-trading account is not in ccxt's unified transfer: fetch_balance did not move
    assert exchange.fetch_balance()["USDT"]["total"] == 1000


def test_ccxt_transfer_with_a_wrong_secret_raises_authentication_error(
    live_server: LiveServer, connect: Any
) -> None:
    trader = live_server.create_user("trader", balance="1000", spot="100")
    exchange = connect({**trader, "secret_key": "0" * 32})
    exchange.load_markets()
    with pytest.raises(ccxt.AuthenticationError):
        exchange.transfer("USDT", 10, "spot", "swap")
    assert balances(live_server, trader["uid"]) == (D(1000), D(100), D(0))


def test_v6_transfer_through_ccxt_funds_the_copy_trading_account_fetch_balance_shows(
    live_server: LiveServer, connect: Any
) -> None:
    trader = live_server.create_user("trader", balance="1000", spot="100")
    exchange = connect(trader)
    exchange.load_markets()
    exchange.transfer("USDT", 60, "spot", "swap")
    reply = exchange.contractPrivatePostApiV6CopyTradingTraderTransfer(
        {"amt": "50", "from": "2", "to": "4", "ccy": "USDT"}
    )
    assert reply == {"code": "0", "msg": "", "data": []}
    assert exchange.fetch_balance()["USDT"]["total"] == 1050
    exchange.contractPrivatePostApiV6CopyTradingTraderTransfer({"amt": "1050", "from": 4, "to": 1})
    assert exchange.fetch_balance()["USDT"]["total"] == 0
    assert balances(live_server, trader["uid"]) == (D(0), D(1090), D(10))
    with pytest.raises(ccxt.InsufficientFunds):
        exchange.contractPrivatePostApiV6CopyTradingTraderTransfer(
            {"amt": "10.5", "from": "2", "to": "4"}
        )
