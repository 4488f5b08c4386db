"""``copytrade api v5`` against a live server: a lead order, its copy, the close."""

from __future__ import annotations

import json
import time

from click.testing import CliRunner

from copytrade.cli.api import api
from copytrade.testing.server import LiveServer


def test_v5_commands_trade_and_their_fills_are_copied(live_server: LiveServer) -> None:
    trader = live_server.create_user("trader", balance="100000")
    follower = live_server.create_user("follower", balance="50000")
    live_server.follow(follower["uid"], trader["uid"], "1")
    env = {
        "COPYTRADE_BASE_URL": live_server.base_url,
        "COPYTRADE_ACCESS_KEY": trader["access_key"],
        "COPYTRADE_SECRET_KEY": trader["secret_key"],
        "COPYTRADE_PROFILE_FILE": "/nonexistent",
    }
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(api, ["v5", *args], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    placed = run(
        "order", "-c", "BTC-USDT", "--side", "buy", "--volume", "5", "--tp-trigger-price", "99000"
    )
    assert placed.startswith("placed: buy 5 BTC-USDT cross market tp 99000, order "), placed
    (position,) = json.loads(run("positions", "--json"))
    assert (position["position_side"], position["volume"]) == ("long", "5")
    assert [p["volume"] for p in live_server.user(follower["uid"])["positions"]] == ["5"]
    assert "USDT" in run("balance")
    assert run("close", "-c", "BTC-USDT").startswith(
        "closed: every BTC-USDT cross position at market, order "
    )
    assert json.loads(run("positions", "--json")) == []
    assert live_server.user(follower["uid"])["positions"] == []
    refused = runner.invoke(api, ["v5", "close", "-c", "BTC-USDT"], env=env)
    assert refused.exit_code == 1
    assert "1048" in refused.output


def test_v5_tpsl_and_v6_commands_against_the_server(live_server: LiveServer) -> None:
    trader = live_server.create_user("trader", balance="100000")
    follower = live_server.create_user("follower", balance="50000")
    live_server.follow(follower["uid"], trader["uid"], "1")
    env = {
        "COPYTRADE_BASE_URL": live_server.base_url,
        "COPYTRADE_ACCESS_KEY": trader["access_key"],
        "COPYTRADE_SECRET_KEY": trader["secret_key"],
        "COPYTRADE_PROFILE_FILE": "/nonexistent",
    }
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(api, list(args), env=env)
        assert result.exit_code == 0, result.output
        return result.output

    run("v5", "order", "-c", "BTC-USDT", "--side", "buy", "--volume", "2")
    (position,) = json.loads(run("v5", "positions", "--json"))
    take = str(int(float(position["mark_price"]) * 1.2))
    (ack,) = json.loads(run("v5", "tpsl", "-c", "BTC-USDT", "--side", "sell",
                            "--tp-trigger-price", take, "--json"))  # fmt: skip
    (armed,) = json.loads(run("v5", "tpsl-orders", "--json"))
    assert (armed["algo_id"], armed["tp_trigger_price"]) == (ack["algo_id"], take)
    run("v5", "close", "-c", "BTC-USDT")
    history = json.loads(
        run("v5", "order-history", "-c", "BTC-USDT", "--state", "filled", "--json")
    )
    assert [(o["side"], o["volume"], o["state"]) for o in history][-1] == ("buy", "2", "filled")

    assert "BTC-USDT-PERP" in run("v6", "instruments")
    assert json.loads(run("v6", "config", "--json"))["enable"] is True
    (row,) = json.loads(run("v6", "followers", "--json"))
    assert len(str(row["follow_time"])) == 16  # microseconds
    assert "USDT" in run("v6", "profit-total")
    time.sleep(1)  # v6 allows 5 requests a second per UID, and each command is a new client
    assert json.loads(run("v6", "stats", "--json"))["cur_follower_num"] == 1
    capped = json.loads(run("v6", "settings", "--enable", "--max-followers", "200", "--json"))
    assert (capped["enable"], capped["max_followers"]) == (True, 200)
    assert run("v6", "remove-followers", row["follower_uid"]) == (
        f"removed: follower {row['follower_uid']} (its copies closed at market)\n"
    )
    assert json.loads(run("v6", "followers", "--json")) == []
    live_server.set_funds(trader["uid"], futures="10")
    assert run("v6", "transfer", "--amount", "10", "--from", "futures", "--to", "copy-trading") == (
        "transferred 10 USDT from futures to copy-trading\n"
    )
    assert live_server.user(trader["uid"])["futures"] == "0"
