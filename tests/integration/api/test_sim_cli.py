"""``copytrade sim``: every admin call from the command line, tables and ``--json``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from copytrade.cli.main import main
from copytrade.testing.server import LiveServer, free_port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    db = tmp_path_factory.mktemp("sim-cli") / "s.db"
    with LiveServer(db_path=db, demo_seed=False) as live:
        yield live


def _sim(server: LiveServer, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["sim", "--url", server.base_url, *args], env=env)
    return result.exit_code, result.output


def _json(server: LiveServer, *args: str) -> object:
    code, out = _sim(server, *args, "--json")
    assert code == 0, out
    return json.loads(out)


def test_users_follow_bulk_and_show_round_trip(server: LiveServer) -> None:
    trader = _json(server, "users", "create", "--role", "trader", "--balance", "50000")
    assert isinstance(trader, dict)
    follower = _json(server, "users", "create", "--role", "follower")
    assert isinstance(follower, dict)
    code, out = _sim(server, "follow", str(follower["uid"]), str(trader["uid"]), "--ratio", "0.5")
    assert code == 0, out
    assert f"{follower['uid']} now follows {trader['uid']} at ratio 0.5" in out
    bulk = _json(server, "followers", "bulk", str(trader["uid"]), "--count", "3")
    assert isinstance(bulk, dict)
    assert len(bulk["uids"]) == 3
    code, out = _sim(server, "followers", "bulk", str(trader["uid"]), "--count", "2")
    assert code == 0
    assert "created 2 followers" in out
    code, out = _sim(server, "users", "show", str(follower["uid"]))
    assert code == 0, out
    assert "follower" in out
    assert f"{trader['uid']} (ratio 0.5)" in out
    shown = _json(server, "users", "show", str(trader["uid"]))
    assert isinstance(shown, dict)
    assert shown["balance"] == "50000"


def test_users_create_prints_a_table_for_people(server: LiveServer) -> None:
    code, out = _sim(server, "users", "create", "--count", "2")
    assert code == 0, out
    header, *rows = out.strip().splitlines()
    assert header.split() == ["UID", "ACCESS_KEY", "SECRET_KEY"]
    assert len(rows) == 2


def test_markets_price_and_clock(server: LiveServer) -> None:
    code, out = _sim(server, "markets")
    assert code == 0
    assert "BTC-USDT" in out
    assert "MARK_PRICE" in out
    moved = _json(server, "price", "eth-usdt", "3100")
    assert isinstance(moved, dict)
    assert moved["mark_price"] == "3100"
    markets = _json(server, "markets")
    assert isinstance(markets, dict)
    assert markets["ETH-USDT"]["mark_price"] == "3100"
    frozen = _json(server, "clock", "--set", "1719304200000")
    assert frozen == {"now_ms": 1719304200000}
    code, out = _sim(server, "clock", "--advance", "1000")
    assert code == 0
    assert "1719304201000 (2024-06-25 08:30:01.000Z)" in out
    assert _sim(server, "clock", "--resume")[0] == 0
    assert _sim(server, "clock", "--advance", "1", "--resume")[0] == 2


def test_a_refused_call_exits_1_with_the_servers_reason(server: LiveServer) -> None:
    code, out = _sim(server, "price", "BTC-USDT", "0.01")
    assert code == 1
    assert "price" in out
    assert "tick" in out
    assert "Traceback" not in out
    code, out = _sim(server, "users", "show", "999999999")
    assert code == 1
    assert "unknown uid" in out


def test_an_unreachable_server_is_named_with_a_hint(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(main, ["sim", "--url", url, "markets"])
    assert result.exit_code == 1
    assert url in result.output
    assert "copytrade serve" in result.output


def test_the_admin_token_comes_from_the_environment(tmp_path: Path) -> None:
    token = "tok-" + "12" * 16
    with LiveServer(db_path=tmp_path / "t.db", demo_seed=False, admin_token=token) as live:
        args = ["sim", "--url", live.base_url, "markets"]
        refused = CliRunner().invoke(main, args, env={"COPYTRADE_ADMIN_TOKEN": ""})
        assert refused.exit_code == 3
        assert "COPYTRADE_ADMIN_TOKEN" in refused.output
        ok = CliRunner().invoke(main, args, env={"COPYTRADE_ADMIN_TOKEN": token})
        assert ok.exit_code == 0, ok.output
        assert token not in ok.output + refused.output


def test_reset_asks_first_then_deletes_everything(server: LiveServer) -> None:
    user = _json(server, "users", "create")
    assert isinstance(user, dict)
    asked = CliRunner().invoke(main, ["sim", "--url", server.base_url, "reset"], input="n\n")
    code = asked.exit_code
    assert code == 1  # aborted
    assert server.http.get(f"/_sim/users/{user['uid']}").status_code == 200
    assert _sim(server, "reset", "--yes")[0] == 0
    assert server.http.get(f"/_sim/users/{user['uid']}").status_code == 404


def test_the_installed_command_runs_against_a_live_server(server: LiveServer) -> None:
    exe = Path(sys.executable).with_name("copytrade")
    env = {**os.environ, "COPYTRADE_SIM_URL": server.base_url}
    env.pop("COPYTRADE_ADMIN_TOKEN", None)
    done = subprocess.run(
        [str(exe), "sim", "users", "create", "--role", "trader", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    made = json.loads(done.stdout)
    assert server.user(made["uid"])["role"] == "trader"


def test_path_sets_shows_and_stops_a_price_path(server: LiveServer, tmp_path: Path) -> None:
    shown = _json(server, "path", "dot-usdt", "--kind", "gbm", "--seed", "5", "--volatility", "0.7")
    assert isinstance(shown, dict)
    assert (shown["kind"], shown["seed"], shown["volatility"]) == ("gbm", 5, "0.7")
    code, out = _sim(server, "path", "DOT-USDT")
    assert code == 0, out
    assert "gbm" in out
    rows = tmp_path / "dot.csv"
    rows.write_text("0,10\n1000,11\n")
    replay = _json(server, "path", "DOT-USDT", "--kind", "replay", "--csv", str(rows))
    assert isinstance(replay, dict)
    assert (replay["kind"], replay["rows"]) == ("replay", 2)
    code, out = _sim(server, "path", "DOT-USDT", "--kind", "replay")
    assert code != 0
    assert "csv" in out
    assert _json(server, "path", "DOT-USDT", "--kind", "fixed") is not None


def test_slippage_shows_each_open_lead_position_and_its_copies(server: LiveServer) -> None:
    trader = _json(server, "users", "create", "--role", "trader", "--balance", "50000")
    assert isinstance(trader, dict)
    code, out = _sim(server, "slippage", str(trader["uid"]))
    assert (code, out.strip()) == (0, "no open lead positions")
    _json(server, "followers", "bulk", str(trader["uid"]), "--count", "4")
    order = {
        "contract_code": "ETH-USDT",
        "amount": "2",
        "margin_mode": "cross",
        "order_direction": 1,
        "lever": 5,
        "order_price_type": 17,
    }
    assert (
        server.signed(trader, "POST", "/copytrading/trader/place_order", body=order).json()["code"]
        == 200
    )
    report = _json(server, "slippage", str(trader["uid"]))
    assert isinstance(report, dict)
    (lead,) = report["positions"]
    assert (lead["copies"], lead["worst_bps"]) == (4, "0")
    code, out = _sim(server, "slippage", str(trader["uid"]))
    assert code == 0, out
    assert "[<= 0]:4" in out
    assert "p50:0 p90:0 p99:0" in out


def test_users_create_funds_the_spot_and_futures_balances(server: LiveServer) -> None:
    made = _json(server, "users", "create", "--balance", "7", "--spot", "12.5", "--futures", "30")
    assert isinstance(made, dict)
    shown = _json(server, "users", "show", str(made["uid"]))
    assert isinstance(shown, dict)
    assert (shown["balance"], shown["spot"], shown["futures"]) == ("7", "12.5", "30")
    plain = _json(server, "users", "create")
    assert isinstance(plain, dict)
    shown = _json(server, "users", "show", str(plain["uid"]))
    assert isinstance(shown, dict)
    assert (shown["spot"], shown["futures"]) == ("0", "0")
    code, out = _sim(server, "users", "create", "--spot", "-1")
    assert code == 1
    assert "spot" in out


def test_follower_settings_show_change_and_clear(server: LiveServer) -> None:
    trader = server.create_user("trader")
    follower = server.create_user("follower")
    uid = str(follower["uid"])
    code, out = _sim(server, "follow", uid, str(trader["uid"]), "--fixed-amount", "100",
                     "--contracts", "btc-usdt,eth-usdt")  # fmt: skip
    assert code == 0, out
    assert f"{uid} now follows {trader['uid']} (100 USDT a copy, only BTC-USDT,ETH-USDT)" in out

    code, out = _sim(server, "follower-settings", uid)
    assert code == 0, out
    lines = dict(line.split(None, 1) for line in out.strip().splitlines())
    assert lines["mode"] == "fixed_amount"
    assert lines["fixed_amount"] == "100"
    assert lines["contracts"] == "BTC-USDT,ETH-USDT"
    assert lines["tp_ratio"] == "-"

    changed = _json(server, "follower-settings", uid, "--tp-ratio", "0.5", "--sl-ratio", "0.25",
                    "--total-stop-loss", "40", "--trader", str(trader["uid"]))  # fmt: skip
    assert isinstance(changed, dict)
    assert (changed["tp_ratio"], changed["sl_ratio"], changed["total_stop_loss"]) == (
        "0.5",
        "0.25",
        "40",
    )
    assert (changed["copy_exits"], changed["stopped"]) == (0, False)

    code, out = _sim(server, "follower-settings", uid, "--clear", "contracts", "--clear",
                     "sl-ratio", "--mode", "ratio", "--ratio", "2")  # fmt: skip
    assert code == 0, out
    lines = dict(line.split(None, 1) for line in out.strip().splitlines())
    assert (lines["mode"], lines["ratio"], lines["fixed_amount"]) == ("ratio", "2", "-")
    assert (lines["contracts"], lines["sl_ratio"], lines["tp_ratio"]) == ("(all)", "-", "0.5")
    assert lines["stopped"] == "no"
    code, out = _sim(server, "users", "show", uid)
    assert f"{trader['uid']} (ratio 2, tp 0.5, stop 40)" in out


def test_follower_settings_refusals_name_the_field_and_exit_1(server: LiveServer) -> None:
    trader = server.create_user("trader")
    follower = server.create_user("follower")
    loner = server.create_user("follower")
    server.follow(follower["uid"], trader["uid"])
    code, out = _sim(server, "follower-settings", str(follower["uid"]), "--tp-ratio", "-1")
    assert code == 1
    assert "refused (400): tp_ratio:" in out
    code, out = _sim(server, "follower-settings", str(loner["uid"]))
    assert code == 1
    assert "refused (404)" in out
    code, out = _sim(server, "follower-settings", str(follower["uid"]), "--tp-ratio", "1",
                     "--clear", "tp-ratio")  # fmt: skip
    assert code == 2
    assert "both set and cleared" in out


def test_bulk_followers_with_settings_from_the_command_line(server: LiveServer) -> None:
    trader = server.create_user("trader")
    made = _json(server, "followers", "bulk", str(trader["uid"]), "--count", "2",
                 "--tp-ratio", "0.5", "--contracts", "dot-usdt")  # fmt: skip
    assert isinstance(made, dict)
    for uid in made["uids"]:
        shown = _json(server, "follower-settings", str(uid))
        assert isinstance(shown, dict)
        assert (shown["tp_ratio"], shown["contracts"]) == ("0.5", ["DOT-USDT"])


def test_funds_funding_impact_and_ready_from_the_command_line(server: LiveServer) -> None:
    uid = server.create_user("follower", balance="100")["uid"]
    assert _json(server, "users", "funds", str(uid), "--spot", "7") == {
        "uid": uid,
        "balance": "100",
        "spot": "7",
        "futures": "0",
    }
    code, out = _sim(server, "users", "funds", str(uid))
    assert code == 2
    assert "give at least one of --balance, --spot, --futures" in out
    funding = _json(server, "funding", "--mode", "rate", "--rate", "ETH-USDT=0.0003")
    assert funding["mode"] == "rate"
    assert funding["rates"]["ETH-USDT"] == "0.0003"
    code, out = _sim(server, "funding")
    assert code == 0
    assert "ETH-USDT=0.0003" in out
    code, out = _sim(server, "funding", "--rate", "ETH-USDT")
    assert code == 2
    assert "write CONTRACT=RATE" in out
    code, out = _sim(server, "funding", "--mode", "off")
    assert code == 0, out
    impact = _json(server, "impact", "--half-life-ms", "500", "--max-slippage", "0.01")
    assert (impact["half_life_ms"], impact["max_slippage"]) == (500, "0.01")
    impact = _json(server, "impact", "--half-life-ms", "0", "--no-max-slippage")
    assert (impact["enabled"], impact["max_slippage"]) == (False, None)
    ready = _json(server, "ready")
    assert ready["ready"] is True
    code, out = _sim(server, "ready")
    assert code == 0
    assert "ready" in out


def test_ready_exits_1_and_says_why_when_the_server_is_not_ready(tmp_path: Path) -> None:
    with LiveServer(
        db_path=tmp_path / "r.db", demo_seed=False, redis_url="redis://127.0.0.1:9/0"
    ) as live:
        code, out = _sim(live, "ready")
    assert code == 1
    assert "redis unreachable" in out
