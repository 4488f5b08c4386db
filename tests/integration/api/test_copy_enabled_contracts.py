"""Contracts closed to copy trading (spec §6.9, §8.6): ``query_contract`` lists only the open
ones, opening another answers 1505 naming them, and closing is always allowed.

On every store; the "closing is always allowed" case restarts a server over the same SQLite
file or PostgreSQL database with the contract taken off the copy list.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from copytrade.config import ContractSettings
from copytrade.testing.server import LiveServer

P = "/copytrading/trader/"
DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def contracts(xrp_copy_enabled: bool) -> list[ContractSettings]:
    return [
        ContractSettings(
            contract_code="BTC-USDT",
            contract_size=Decimal("0.001"),
            price_tick=Decimal("0.1"),
            lever_max=200,
            mark_price=Decimal(60500),
        ),
        ContractSettings(
            contract_code="XRP-USDT",
            contract_size=Decimal(10),
            price_tick=Decimal("0.0001"),
            lever_max=50,
            mark_price=Decimal("0.5"),
            copy_enabled=xrp_copy_enabled,
        ),
    ]


def _url(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "memory":
        return "memory://"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'c.db'}"
    return str(request.getfixturevalue("postgres_database"))  # fresh for this module


@pytest.fixture(params=["memory", *DATABASES])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL per store."""
    return _url(request.param, request, tmp_path)


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A SQLite file or PostgreSQL database: a restarted server finds its data again."""
    return _url(request.param, request, tmp_path)


def serve(url: str, xrp_copy_enabled: bool) -> LiveServer:
    return LiveServer(url, demo_seed=False, server_key=KEY, contracts=contracts(xrp_copy_enabled))


KEY = secrets.token_hex(32)


def open_xrp(server: LiveServer, trader: dict[str, Any]) -> Any:
    return server.signed(
        trader,
        "POST",
        P + "place_order",
        body={
            "contract_code": "XRP-USDT",
            "amount": "1",
            "margin_mode": "cross",
            "order_price_type": 17,
            "order_direction": 1,
            "lever": 5,
        },
    ).json()


def test_an_order_on_a_contract_closed_to_copy_trading_is_refused_with_1505(
    store_url: str,
) -> None:
    with serve(store_url, xrp_copy_enabled=False) as server:
        trader = server.create_user("trader", balance="10000")
        listed = server.signed(trader, "GET", P + "query_contract", params={}).json()
        assert (listed["code"], listed["data"]) == (200, ["BTC-USDT"])

        reply = open_xrp(server, trader)

        assert (reply["code"], reply["success"], reply["data"]) == (1505, False, None)
        assert reply["msg"] == (
            "After becoming a trader, only the following trading pairs are allowed to trade:"
            "BTC-USDT"
        )
        assert server.user(trader["uid"])["positions"] == []


def test_a_position_in_a_contract_taken_off_the_copy_list_can_still_be_closed(
    database_url: str,
) -> None:
    store_url = database_url
    with serve(store_url, xrp_copy_enabled=True) as first:
        first.set_price("XRP-USDT", "0.5")
        trader = first.create_user("trader", balance="10000")
        follower = first.create_user("follower", balance="10000")
        first.follow(follower["uid"], trader["uid"], "1")
        assert open_xrp(first, trader)["code"] == 200
        assert open_xrp(first, trader)["code"] == 200
        assert len(first.user(follower["uid"])["positions"]) == 2
    with serve(store_url, xrp_copy_enabled=False) as second:
        listed = second.signed(trader, "GET", P + "query_contract", params={}).json()["data"]
        assert listed == ["BTC-USDT"]
        assert open_xrp(second, trader)["code"] == 1505  # no new opens
        first_id = second.user(trader["uid"])["positions"][0]["sub_position_id"]
        one = second.signed(
            trader, "POST", P + "close_order", body={"sub_position_id": first_id}
        ).json()
        assert one["code"] == 200, one  # close_order too
        assert len(second.user(follower["uid"])["positions"]) == 1

        closed = second.signed(
            trader,
            "POST",
            P + "close_all_position",
            body={"contract_code": "XRP-USDT", "margin_mode": "cross", "position_side": "long"},
        ).json()

        assert closed["code"] == 200, closed
        assert second.user(trader["uid"])["positions"] == []
        assert second.user(follower["uid"])["positions"] == []  # the copy closed with its lead
