"""The shipped pytest plugin: a session server reset per test, a trader-with-followers factory,
``client_for``, and ``--copytrade-url`` to run the same tests against an external server."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from copytrade.client import Client, MarginMode, OrderDirection, OrderPriceType, TransferType
from copytrade.testing import LiveServer, Sandbox

pytest_plugins = ["pytester"]


def test_followers_made_by_the_factory_copy_an_order_placed_through_client_for(
    copytrade: Sandbox, trader_with_followers: object, client_for: object
) -> None:
    assert callable(trader_with_followers)
    assert callable(client_for)
    team = trader_with_followers(2, ratio="0.5")
    assert len(team.followers) == 2
    bot = client_for(team.trader)
    assert isinstance(bot, Client)
    bot.place_order(
        contract_code="BTC-USDT",
        amount=Decimal(4),
        margin_mode=MarginMode.CROSS,
        order_price_type=OrderPriceType.MARKET,
        order_direction=OrderDirection.BUY,
        lever=10,
    )
    for uid in team.follower_uids:
        (position,) = copytrade.admin.user(uid)["positions"]
        assert position["volume"] == "2"
        assert position["lead_uid"] == team.trader["uid"]


def test_the_sandbox_funds_spot_and_futures_and_the_sdk_transfers_between_them(
    copytrade: Sandbox, client_for: object
) -> None:
    trader = copytrade.create_user("trader", "1000", spot="250.5", futures=Decimal(40))
    view = copytrade.admin.user(trader["uid"])
    assert (view["balance"], view["spot"], view["futures"]) == ("1000", "250.5", "40")
    assert copytrade.set_funds(trader["uid"], futures="60") == {
        "uid": trader["uid"],
        "balance": "1000",
        "spot": "250.5",
        "futures": "60",
    }
    assert callable(client_for)
    bot = client_for(trader)
    assert bot.account_transfer(amount=Decimal("50.5"), type=TransferType.SPOT_TO_COPY) is True
    view = copytrade.admin.user(trader["uid"])
    assert (view["balance"], view["spot"], view["futures"]) == ("1050.5", "200", "60")


INNER_TESTS = """
import pytest

seen = []


@pytest.mark.parametrize("round", [1, 2])
def test_each_test_starts_from_a_reset_server(copytrade, trader_with_followers, round):
    seen.append(copytrade.base_url)
    team = trader_with_followers(1)
    # after the reset the uid allocator starts again: both rounds get the same first uid
    seen.append(team.trader["uid"])
    if round == 2:
        assert seen[0] == seen[2], "one session server"
        assert seen[1] == seen[3], "reset between tests"
    print("BASE_URL", copytrade.base_url)


def test_the_old_fixture_still_gives_a_server_of_its_own(copytrade_server, copytrade):
    assert copytrade_server.base_url != copytrade.base_url
    assert copytrade_server.create_user("trader")["uid"]
"""


def test_the_plugin_resets_its_session_server_before_each_test(
    pytester: pytest.Pytester,
) -> None:
    # a fresh interpreter, as a user's run: the plugin loads from its entry point alone (the
    # other inner runs are in process, each a new pytest session, which spares an interpreter
    # start-up and the imports a run)
    pytester.makepyfile(test_inner=INNER_TESTS)
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_copytrade_url_runs_the_same_tests_against_an_external_server(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(test_inner=INNER_TESTS)
    with LiveServer(db_path=tmp_path / "external.db", demo_seed=False) as external:
        before = external.create_user("trader")
        result = pytester.runpytest_inprocess(
            "-s", "-p", "no:cacheprovider", f"--copytrade-url={external.base_url}"
        )
        result.assert_outcomes(passed=3)
        result.stdout.fnmatch_lines([f"*BASE_URL {external.base_url}*"])
        # the inner session reset the external server: what was there before is gone
        assert external.http.get(f"/_sim/users/{before['uid']}").status_code == 404


def test_an_external_server_with_a_token_takes_it_from_the_option(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        test_inner="""
def test_create(copytrade):
    assert copytrade.create_user("trader")["uid"]
"""
    )
    token = "plug-" + "ab" * 16
    with LiveServer(db_path=tmp_path / "t.db", demo_seed=False, admin_token=token) as external:
        refused = pytester.runpytest_inprocess(
            "-p", "no:cacheprovider", f"--copytrade-url={external.base_url}"
        )
        refused.assert_outcomes(errors=1)
        ok = pytester.runpytest_inprocess(
            "-p",
            "no:cacheprovider",
            f"--copytrade-url={external.base_url}",
            f"--copytrade-admin-token={token}",
        )
        ok.assert_outcomes(passed=1)


def test_the_factory_gives_every_follower_the_settings_asked_for(
    copytrade: Sandbox, trader_with_followers: object, client_for: object
) -> None:
    assert callable(trader_with_followers)
    assert callable(client_for)
    team = trader_with_followers(2, settings={"fixed_amount": "100", "contracts": ["ETH-USDT"]})
    bot = client_for(team.trader)
    for code in ("BTC-USDT", "ETH-USDT"):
        bot.place_order(
            contract_code=code,
            amount=Decimal(10),
            margin_mode=MarginMode.ISOLATED,
            order_price_type=OrderPriceType.MARKET,
            order_direction=OrderDirection.BUY,
            lever=5,
        )
    for uid in team.follower_uids:
        view = copytrade.admin.user(uid)
        assert view["following"]["mode"] == "fixed_amount"
        (copy,) = view["positions"]
        assert copy["contract_code"] == "ETH-USDT"
        assert Decimal(copy["position_margin"]) <= 100
        assert [s["reason"] for s in view["skipped_copies"]] == ["contract_not_followed"]

    changed = copytrade.follower_settings(team.followers[0], tp_ratio="0.5", contracts=None)
    assert (changed["tp_ratio"], changed["contracts"]) == ("0.5", None)
    assert copytrade.admin.follow_of(team.follower_uids[0])["tp_ratio"] == "0.5"
