"""``copytrade api``: what a newcomer sees (target, transport failures, what was placed)."""

from __future__ import annotations

import json

import httpx
from click.testing import CliRunner, Result

from copytrade.cli.api import api

TID = "0c5e2f8a9b7d4e31a6f0c2d4b8e91a73"
CREDS = {"COPYTRADE_ACCESS_KEY": "ak-ux", "COPYTRADE_SECRET_KEY": "sk-ux-very-secret"}
LOCAL = {"COPYTRADE_BASE_URL": "http://127.0.0.1:8080"}
PLACE = ["place-order", "-c", "BTC-USDT", "--amount", "20", "-m", "cross", "-d", "buy",
         "--lever", "10"]  # fmt: skip


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"code": 200, "data": True, "tid": TID, "success": True})


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


def invoke(args: list[str], env: dict[str, str], handler: object = ok) -> Result:
    transport = httpx.MockTransport(handler)  # type: ignore[arg-type]
    clean = {"COPYTRADE_BASE_URL": None, "COPYTRADE_PROFILE": None}
    return CliRunner().invoke(api, args, obj=transport, env={**clean, **CREDS, **env})


def test_place_order_prints_what_was_placed() -> None:
    result = invoke([*PLACE, "--tp-trigger-price", "65000"], LOCAL)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        f"placed: buy 20 BTC-USDT cross market lever 10 tp 65000 (tid {TID})"
    )


def test_place_order_limit_json_has_the_order_and_the_tid() -> None:
    result = invoke([*PLACE[:-2], "--lever", "5", "-t", "limit", "--price", "60000.5", "--json"],
                    LOCAL)  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["accepted"] is True
    assert data["tid"] == TID
    assert data["order"]["price"] == "60000.5"
    assert data["order"]["order_price_type"] == "limit"
    assert data["order"]["amount"] == "20"


def test_without_a_base_url_the_cli_says_it_targets_live_htx() -> None:
    result = invoke(["contracts"], {}, lambda r: httpx.Response(
        200, json={"code": 200, "data": [], "tid": TID, "success": True}))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "target: live HTX at https://api.hbdm.com" in result.stderr
    assert "COPYTRADE_BASE_URL" in result.stderr


def test_a_local_base_url_gets_no_live_htx_notice() -> None:
    result = invoke(PLACE, LOCAL)
    assert "live HTX" not in result.stderr


def test_a_refused_connection_names_the_url_and_suggests_checking_the_server() -> None:
    result = invoke(["positions"], LOCAL, refused)
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert "ConnectError on GET http://127.0.0.1:8080/copytrading/trader/position_list" in line
    assert "is a server running at http://127.0.0.1:8080?" in line
    assert "Signature" not in line
    assert "sk-ux-very-secret" not in result.output


def test_api_help_lists_the_environment_variables() -> None:
    text = CliRunner().invoke(api, ["--help"], env={}).output
    for name in ("COPYTRADE_BASE_URL", "COPYTRADE_ACCESS_KEY", "COPYTRADE_SECRET_KEY",
                 "COPYTRADE_ED25519_KEY_FILE", "COPYTRADE_PROFILE"):  # fmt: skip
        assert name in text


def test_every_write_command_says_what_it_did_not_just_ok() -> None:
    said = {
        ("close-order", "123"): "closed: sub position 123 at market",
        ("close-all", "-c", "BTC-USDT", "-m", "cross", "--position-side", "long"): (
            "closed: every long BTC-USDT cross sub position at market"
        ),
        ("tpsl", "123", "--sl-trigger-price", "59000"): "set on sub position 123: sl 59000",
        ("transfer", "--amount", "7.5", "--type", "copy-to-spot"): (
            "transferred 7.5 USDT, copy to spot"
        ),
        ("remove-follower", "42"): "removed: follower 42 (its copies closed at market)",
    }
    for args, words in said.items():
        result = invoke(list(args), LOCAL)
        assert result.exit_code == 0, result.output
        assert result.stdout.strip() == f"{words} (tid {TID})", args
        as_json = invoke([*args, "--json"], LOCAL)
        assert json.loads(as_json.stdout) is True  # scripts keep HTX's data
