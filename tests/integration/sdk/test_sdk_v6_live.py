"""The SDK's ``client.v6`` methods against a live server: typed results over v1's follows."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from copytrade.client import (
    BadRequest,
    Client,
    HmacAuth,
    InsufficientFunds,
    PermissionDenied,
    PositionSide,
    RateLimitExceeded,
    TokenBucket,
    TransferAccount,
)
from copytrade.protocol import v6 as p6
from copytrade.testing.server import LiveServer

Team = tuple[Client, dict[str, Any], dict[str, Any]]


def _client(live_server: LiveServer, user: dict[str, Any], paced: bool = True) -> Client:
    """A client for ``user``; paced to v6's 5 requests per second unless told otherwise."""
    auth = HmacAuth(user["access_key"], user["secret_key"])
    bucket = TokenBucket(5) if paced else None
    return Client(live_server.base_url, auth, rate_limiter=bucket)


@pytest.fixture
def team(live_server: LiveServer, restore_marks: None) -> Iterator[Team]:
    """A lead trader's client (paced for v6), the trader and one follower copying at ratio 1."""
    trader = live_server.create_user("trader", balance="100000")
    follower = live_server.create_user("follower", balance="50000")
    live_server.follow(follower["uid"], trader["uid"], "1")
    with _client(live_server, trader) as client:
        yield client, trader, follower


def test_v6_reads_return_the_declared_structures_over_the_same_follows_as_v1(
    live_server: LiveServer, team: Team
) -> None:
    client, trader, follower = team
    assert p6.Instrument("BTC-USDT-PERP", "PERP") in client.v6.instruments()
    config = client.v6.config()
    assert (config.inst_type, config.enable, config.max_followers) == ("PERP", True, 100)
    assert config.profit_sharing_ratio is not None

    client.v5.place_order(contract_code="BTC-USDT", side="buy", volume=Decimal(10))
    (position,) = client.v5.positions()
    live_server.set_price("BTC-USDT", position.mark_price * Decimal("1.1"))
    (pending,) = client.v6.unrealized_profit_sharing_summary()
    assert (pending.ccy, pending.inst_type) == ("USDT", "PERP")
    assert pending.total_amt > 0
    client.v5.close_position(contract_code="BTC-USDT", position_side=PositionSide.LONG)

    (row,) = client.v6.followers()
    v1 = live_server.signed(trader, "GET", "/copytrading/trader/query_followers").json()
    assert row.follower_uid == v1["data"]["follower"][0]["follower_uid"]
    assert len(str(row.follow_time)) == 16  # microseconds
    (share,) = client.v6.profit_sharing_history(limit=10)
    assert share.profit_sharing_amt == row.follower_profit_sharing_amt > 0
    assert len(live_server.user(follower["uid"])["profit_shares_paid"]) == 1
    (total,) = client.v6.profit_sharing_summary()
    assert total.total_amt == share.profit_sharing_amt
    assert client.v6.profit_sharing_history(after=share.id) == ()


def test_v6_minted_key_trades_the_same_account(live_server: LiveServer, team: Team) -> None:
    client = team[0]
    minted = client.v6.create_apikey()
    assert minted.secret_key
    assert minted.key_label == "copytrading"  # HTX's "label", not a trailing-underscore name
    assert minted.access_key != team[1]["access_key"]
    second = {"access_key": minted.access_key, "secret_key": minted.secret_key}
    with _client(live_server, second) as other:
        assert other.v5.balance().equity == client.v5.balance().equity


def test_v6_refusals_raise_the_sdk_exceptions(live_server: LiveServer, team: Team) -> None:
    follower = team[2]
    with _client(live_server, follower) as as_follower, pytest.raises(PermissionDenied) as nope:
        as_follower.v6.create_apikey()  # a follower does not lead
    assert nope.value.code == 1220
    reader = live_server.create_user("trader", permissions="read")
    with _client(live_server, reader) as read_only, pytest.raises(PermissionDenied) as denied:
        read_only.v6.create_apikey()  # Trade permission needed
    assert denied.value.code == 1205

    def burst(client: Client) -> None:
        for _ in range(20):
            client.v6.instruments()

    with (
        _client(live_server, reader, paced=False) as unpaced,
        pytest.raises(RateLimitExceeded) as limited,
    ):
        burst(unpaced)
    assert (limited.value.code, limited.value.http_status) == (1032, 429)


def test_v6_statistics_settings_and_follower_removal(live_server: LiveServer, team: Team) -> None:
    client, trader, follower = team
    client.v5.place_order(contract_code="BTC-USDT", side="buy", volume=Decimal(10))
    (position,) = client.v5.positions()
    live_server.set_price("BTC-USDT", position.mark_price * Decimal("1.05"))
    client.v5.close_position(contract_code="BTC-USDT", position_side=PositionSide.LONG)
    stats = client.v6.statistics()
    assert (stats.cur_follower_num, stats.win_num, stats.loss_num) == (1, 1, 0)
    assert stats.win_rate == 1
    assert stats.total_pnl > 0
    assert stats.follower_total_pnl > 0

    settings = client.v6.follower_settings(
        enable=True, profit_sharing_ratio=Decimal("0.2"), max_followers=200
    )
    assert (settings.enable, settings.profit_sharing_ratio, settings.max_followers) == (
        True,
        Decimal("0.2"),
        200,
    )
    assert client.v6.config() == settings

    (row,) = client.v6.followers()
    removed = client.v6.remove_followers(follower_uids=[row.follower_uid, "MjAwMDAwMDAwMDA"])
    assert [(r.follower_uid, r.s_code) for r in removed] == [
        (row.follower_uid, "0"),
        ("MjAwMDAwMDAwMDA", "1067"),
    ]
    assert client.v6.followers() == ()
    v1 = live_server.signed(trader, "GET", "/copytrading/trader/query_followers").json()
    assert v1["data"]["follower"] == []
    client.v5.place_order(contract_code="BTC-USDT", side="buy", volume=Decimal(1))
    assert live_server.user(follower["uid"])["positions"] == []  # no longer copied

    off = client.v6.follower_settings(enable=False)
    assert (off.enable, off.profit_sharing_ratio, off.max_followers) == (False, None, None)
    assert client.v6.config().enable is False


def test_v6_transfer_moves_usdt_between_the_three_accounts(
    live_server: LiveServer, team: Team
) -> None:
    client, trader, _follower = team
    live_server.set_funds(trader["uid"], futures="1000", spot="0")
    before = client.v5.balance().equity
    moved = client.v6.transfer(
        amount=Decimal("250.5"),
        from_account=TransferAccount.FUTURES,
        to_account=TransferAccount.COPY_TRADING,
    )
    assert moved is True
    assert client.v5.balance().equity == before + Decimal("250.5")
    client.v6.transfer(
        amount=Decimal(100),
        from_account=TransferAccount.COPY_TRADING,
        to_account=TransferAccount.SPOT,
    )
    funds = live_server.user(trader["uid"])
    assert (Decimal(funds["spot"]), Decimal(funds["futures"])) == (Decimal(100), Decimal("749.5"))

    with pytest.raises(InsufficientFunds) as short:
        client.v6.transfer(
            amount=Decimal(5000),
            from_account=TransferAccount.SPOT,
            to_account=TransferAccount.FUTURES,
        )
    assert short.value.code == 1047
    with pytest.raises(BadRequest) as same:
        client.v6.transfer(
            amount=Decimal(1), from_account=TransferAccount.SPOT, to_account=TransferAccount.SPOT
        )
    assert same.value.code == 1067
