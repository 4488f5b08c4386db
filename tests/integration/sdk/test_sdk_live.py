"""The SDK and the CLI against a real copytrade server (the ``live_server`` fixture).

``live_server`` (tests/conftest.py) yields an object with ``base_url`` and
``admin(path, json) -> dict`` for the emulator's ``/_sim/`` API.
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from copytrade.cli.api import api
from copytrade.client import (
    AsyncClient,
    AuthenticationError,
    Client,
    Ed25519Auth,
    HmacAuth,
    MarginMode,
    OrderDirection,
    OrderPriceType,
    PermissionDenied,
    PositionNotFound,
    PositionSide,
)

BTC = "BTC-USDT"


def _trader(live_server: Any, **extra: Any) -> dict[str, Any]:
    body = {"role": "trader", "balance": "10000", "permissions": "trade"} | extra
    return live_server.admin("/_sim/users", body)


@pytest.fixture
def trader(live_server: Any) -> dict[str, Any]:
    return _trader(live_server)


@pytest.fixture
def client(live_server: Any, trader: dict[str, Any]) -> Any:
    with Client(live_server.base_url, HmacAuth(trader["access_key"], trader["secret_key"])) as c:
        yield c


def _open_long(
    client: Client, amount: str = "2", margin_mode: MarginMode = MarginMode.CROSS
) -> None:
    assert client.place_order(
        contract_code=BTC,
        amount=Decimal(amount),
        margin_mode=margin_mode,
        order_price_type=OrderPriceType.MARKET,
        order_direction=OrderDirection.BUY,
        lever=10,
    )


def test_open_close_all_and_read_history(client: Client) -> None:
    _open_long(client, "2")
    _open_long(client, "3")

    open_page = client.current_positions(contract_code=BTC)
    assert sorted(p.volume for p in open_page.items) == [Decimal(2), Decimal(3)]
    assert all(p.position_side == "long" and p.margin_mode == "cross" for p in open_page.items)
    (aggregate,) = client.position_list()
    assert (aggregate.contract_code, aggregate.volume, aggregate.lever) == (BTC, Decimal(5), 10)

    assert client.close_all_position(
        contract_code=BTC, margin_mode=MarginMode.CROSS, position_side=PositionSide.LONG
    )

    assert client.current_positions(contract_code=BTC).items == ()
    assert client.position_list() == ()
    history = client.position_positions(contract_code=BTC)
    assert {p.sub_position_id for p in history.items} == {
        p.sub_position_id for p in open_page.items
    }
    assert {p.close_type for p in history.items} == {2}
    assert all(isinstance(p.profit, Decimal) for p in history.items)
    response = client.last_response
    assert response is not None
    assert response.tid is not None
    assert len(response.tid) == 32
    assert response.rate_limit is not None
    assert response.rate_limit.limit == 18


def test_close_all_with_nothing_open_raises_position_not_found(client: Client) -> None:
    with pytest.raises(PositionNotFound) as info:
        client.close_all_position(
            contract_code=BTC, margin_mode=MarginMode.ISOLATED, position_side=PositionSide.SHORT
        )
    assert info.value.code == 1046
    assert info.value.tid


def test_close_all_leaves_other_margin_modes_alone(client: Client) -> None:
    _open_long(client, "1", MarginMode.CROSS)
    _open_long(client, "1", MarginMode.ISOLATED)

    client.close_all_position(
        contract_code=BTC, margin_mode=MarginMode.CROSS, position_side=PositionSide.LONG
    )

    (left,) = client.current_positions(contract_code=BTC).items
    assert left.margin_mode == "isolated"


def test_close_order_closes_one_sub_position(client: Client) -> None:
    _open_long(client, "1")
    _open_long(client, "2")
    first, second = client.current_positions(contract_code=BTC).items

    assert client.close_order(sub_position_id=first.sub_position_id)

    (left,) = client.current_positions(contract_code=BTC).items
    assert left.sub_position_id == second.sub_position_id
    closed = client.position_positions(contract_code=BTC).items
    assert [(p.sub_position_id, p.close_type) for p in closed] == [(first.sub_position_id, 1)]


def test_followers_are_listed_with_their_opaque_uid(
    live_server: Any, trader: dict[str, Any]
) -> None:
    follower = live_server.admin(
        "/_sim/users", {"role": "follower", "balance": "10000", "permissions": "trade"}
    )
    live_server.admin(
        "/_sim/follow",
        {"follower_uid": follower["uid"], "trader_uid": trader["uid"], "ratio": "1"},
    )

    with Client(live_server.base_url, HmacAuth(trader["access_key"], trader["secret_key"])) as c:
        page = c.query_followers()

    assert len(page.items) == 1
    assert isinstance(page.items[0].follower_uid, str)


def test_v1_reads_parse_into_typed_results(client: Client) -> None:
    stats = client.order_total_detail()
    assert (stats.total_pl, stats.win_rate) == (0, 0)
    assert len(stats.last_24_hours_profit) == 24
    assert client.query_contract() == ("BTC-USDT", "ETH-USDT", "DOT-USDT")
    assert client.open_orders() == ()
    assert client.tpsl_open_orders() == ()


def test_a_v1_refusal_raises_its_typed_error(client: Client) -> None:
    with pytest.raises(PositionNotFound) as info:
        client.tpsl_order(sub_position_id="999", tp_trigger_price=Decimal(70000))
    assert info.value.code == 1046


def test_wrong_secret_raises_authentication_error(live_server: Any, trader: dict[str, Any]) -> None:
    with (
        Client(live_server.base_url, HmacAuth(trader["access_key"], "wrong")) as c,
        pytest.raises(AuthenticationError),
    ):
        c.position_list()


def test_read_only_key_cannot_trade(live_server: Any) -> None:
    reader = _trader(live_server, permissions="read")
    with (
        Client(live_server.base_url, HmacAuth(reader["access_key"], reader["secret_key"])) as c,
        pytest.raises(PermissionDenied),
    ):
        _open_long(c)


def test_ed25519_key_is_accepted(live_server: Any) -> None:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    user = _trader(live_server, ed25519_public_key=public)

    with Client(live_server.base_url, Ed25519Auth(user["access_key"], key)) as c:
        assert c.position_list() == ()


def test_async_client_against_the_server(live_server: Any, trader: dict[str, Any]) -> None:
    async def scenario() -> int:
        auth = HmacAuth(trader["access_key"], trader["secret_key"])
        async with AsyncClient(live_server.base_url, auth) as c:
            await c.place_order(
                contract_code=BTC,
                amount=Decimal(1),
                margin_mode=MarginMode.CROSS,
                order_price_type=OrderPriceType.MARKET,
                order_direction=OrderDirection.SELL,
                lever=10,
            )
            results = await asyncio.gather(
                c.position_list(), c.current_positions(contract_code=BTC)
            )
            return len(results[0]) + len(results[1].items)

    assert asyncio.run(scenario()) == 2


def test_cli_round_trip_against_the_server(live_server: Any, trader: dict[str, Any]) -> None:
    env = {
        "COPYTRADE_BASE_URL": live_server.base_url,
        "COPYTRADE_ACCESS_KEY": trader["access_key"],
        "COPYTRADE_SECRET_KEY": trader["secret_key"],
        "COPYTRADE_PROFILE_FILE": "/nonexistent/profiles.toml",
    }
    runner = CliRunner()

    order = ["place-order", "-c", BTC, "--amount", "1", "-m", "cross", "-d", "buy", "--lever", "10"]
    opened = runner.invoke(api, order, env=env)
    assert opened.exit_code == 0, opened.output
    listed = runner.invoke(api, ["current-positions", "-c", BTC, "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout)["items"][0]["volume"] == "1"
    closed = runner.invoke(api, ["close-all", "-c", BTC, "-m", "cross", "-s", "long"], env=env)
    assert closed.exit_code == 0, closed.output
    again = runner.invoke(api, ["close-all", "-c", BTC, "-m", "cross", "-s", "long"], env=env)
    assert again.exit_code == 1
    assert "1046" in again.stderr
    assert trader["secret_key"] not in again.output
