"""``copytrade api`` through click's CliRunner with a MockTransport."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
from click.testing import CliRunner, Result

from copytrade.cli.api import api
from copytrade.client import Client, HmacAuth
from copytrade.protocol import signing

ACCESS_KEY = "ak-cli-0001"
SECRET_KEY = "sk-cli-very-secret-0001"
TID = "0c5e2f8a9b7d4e31a6f0c2d4b8e91a73"
VECTORS = Path(__file__).resolve().parents[2] / "data" / "signature-vectors.json"


class Server:
    """MockTransport handler: records requests, answers with a queued envelope."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.bodies: list[Any] = []
        self.error: Exception | None = None

    def answer(self, data: Any) -> None:
        self.bodies.append({"code": 200, "data": data, "tid": TID, "success": True})

    def answer_error(self, code: int, msg: str) -> None:
        self.bodies.append({"code": code, "msg": msg, "data": None, "tid": TID, "success": False})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        return httpx.Response(200, json=self.bodies.pop(0))

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def params(self) -> dict[str, str]:
        return dict(signing.parse_query(self.last.url.query.decode()))


@pytest.fixture
def server() -> Server:
    return Server()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("BASE_URL", "ACCESS_KEY", "SECRET_KEY", "ED25519_KEY_FILE", "PROFILE"):
        monkeypatch.delenv(f"COPYTRADE_{name}", raising=False)
    monkeypatch.setenv("COPYTRADE_PROFILE_FILE", str(tmp_path / "absent.toml"))


def invoke(server: Server, args: list[str], env: dict[str, str] | None = None) -> Result:
    base = {
        "COPYTRADE_BASE_URL": "http://127.0.0.1:8080",
        "COPYTRADE_ACCESS_KEY": ACCESS_KEY,
        "COPYTRADE_SECRET_KEY": SECRET_KEY,
    }
    runner = CliRunner()
    return runner.invoke(api, args, obj=httpx.MockTransport(server), env=base | (env or {}))


def test_close_all_sends_the_triple_and_says_what_it_closed(server: Server) -> None:
    server.answer(True)

    result = invoke(server, ["close-all", "-c", "BTC-USDT", "-m", "cross", "-s", "long"])

    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith(
        "closed: every long BTC-USDT cross sub position at market"
    )
    assert server.last.url.path == "/copytrading/trader/close_all_position"
    assert json.loads(server.last.content) == {
        "contract_code": "BTC-USDT",
        "margin_mode": "cross",
        "position_side": "long",
    }
    assert server.last.headers["host"] == "127.0.0.1:8080"
    assert server.params()["AccessKeyId"] == ACCESS_KEY


POSITION = {
    "lever": "10", "position_side": "long", "contract_code": "BTC-USDT",
    "open_avg_price": "60000", "volume": "20", "margin_mode": "cross",
    "position_margin": "120", "margin_rate": "0.013606513134220942", "unreal_profit": "10",
    "profit": "10", "profit_rate": "0.083333333333333333", "liquidation_price": "16641",
}  # fmt: skip


def test_positions_prints_a_table_for_people(server: Server) -> None:
    server.answer({"positions": [POSITION]})

    result = invoke(server, ["positions"])

    assert result.exit_code == 0, result.output
    header, row = result.stdout.strip().splitlines()
    assert header.split()[:3] == ["CONTRACT_CODE", "MARGIN_MODE", "POSITION_SIDE"]
    assert "0.013606513134220942" in row


def test_positions_json_keeps_decimals_as_exact_strings(server: Server) -> None:
    server.answer({"positions": [POSITION]})

    result = invoke(server, ["positions", "--json"])

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data[0]["margin_rate"] == "0.013606513134220942"
    assert data[0]["lever"] == 10
    assert data[0]["volume"] == "20"


SUB = {
    "sub_position_id": "300001", "lever": "10", "position_side": "long",
    "open_avg_price": "60000", "volume": "20", "margin_mode": "cross",
    "open_time": 1719304200000, "open_fee": "0.72", "position_margin": "120",
    "tp_trigger_price": None, "sl_trigger_price": None,
    "open_order_id": "1310000000000000001", "liquidation_price": None,
}  # fmt: skip

COMMANDS: list[tuple[list[str], str, Any, dict[str, Any]]] = [
    (["place-order", "-c", "BTC-USDT", "--amount", "20", "-m", "cross", "-d", "buy",
      "--lever", "10"], "place_order", True,
     {"contract_code": "BTC-USDT", "amount": "20", "margin_mode": "cross",
      "order_price_type": 17, "order_direction": 1, "lever": 10}),
    (["place-order", "-c", "BTC-USDT", "--amount", "10", "-m", "isolated", "-d", "sell",
      "-t", "limit", "--price", "61000.50", "--lever", "5", "--tp-trigger-price", "58000",
      "--sl-trigger-price", "62500"], "place_order", True,
     {"contract_code": "BTC-USDT", "price": "61000.5", "amount": "10",
      "margin_mode": "isolated", "order_price_type": 1, "order_direction": 2, "lever": 5,
      "tp_trigger_price": "58000", "sl_trigger_price": "62500"}),
    (["close-all", "-c", "BTC-USDT", "-m", "isolated", "-s", "short"], "close_all_position",
     True, {"contract_code": "BTC-USDT", "margin_mode": "isolated", "position_side": "short"}),
    (["close-order", "300002"], "close_order", True, {"sub_position_id": "300002"}),
    (["tpsl", "300002", "--tp-trigger-price", "63000"], "tpsl_order", True,
     {"sub_position_id": "300002", "tp_trigger_price": "63000"}),
    (["add-margin", "-c", "BTC-USDT", "--amount", "50", "-s", "long"], "add_margin",
     {"contract_code": "BTC-USDT", "amount": "50", "type": 1, "position_side": "long"},
     {"contract_code": "BTC-USDT", "amount": "50", "type": 1, "position_side": "long"}),
    (["transfer", "--amount", "1000", "--type", "futures-to-copy"], "account_transfer", True,
     {"amount": "1000", "type": 1, "currency": "USDT"}),
    (["set-leverage", "-c", "BTC-USDT", "-m", "cross", "--lever", "10"],
     "updated_contract_lever", {"lever": 10, "contract_code": "BTC-USDT", "margin_mode": "cross"},
     {"contract_code": "BTC-USDT", "lever": 10, "margin_mode": "cross"}),
    (["remove-follower", "MjAwMDAwMDI"], "remove_follower", True,
     {"follower_uid": "MjAwMDAwMDI"}),
    (["leverage", "-c", "BTC-USDT", "-m", "cross"], "query_contract_lever",
     {"lever_rate_range": [1, 200], "current_lever_rate": 10, "contract_code": "BTC-USDT",
      "margin_mode": "cross"}, {"contract_code": "BTC-USDT", "margin_mode": "cross"}),
    (["contracts"], "query_contract", ["BTC-USDT"], {}),
    (["positions"], "position_list", {"positions": [POSITION]}, {}),
    (["current-positions", "-c", "BTC-USDT", "--direct", "prev", "--limit", "10"],
     "current_positions", {"positions": [SUB], "query_id": 300001},
     {"contract_code": "BTC-USDT", "direct": "prev", "limit": "10"}),
    (["history", "-c", "BTC-USDT", "--from-id", "300003", "--start-time", "1"],
     "position_positions", {"positions": [], "query_id": None},
     {"contract_code": "BTC-USDT", "from_id": "300003", "start_time": "1"}),
    (["open-orders"], "open_orders", [], {}),
    (["tpsl-orders", "-c", "BTC-USDT"], "tpsl_open_orders", [], {"contract_code": "BTC-USDT"}),
    (["stats"], "order_total_detail",
     {"total_follower_num": "3", "current_follower_num": "2", "total_pl": "12.341294",
      "win_rate": "1", "last_24_hours_profit": [], "last_90_days_profit": []}, {}),
    (["profit-history", "--direct", "next"], "profit_history_details",
     {"profit_items": [], "query_id": None}, {"direct": "next"}),
    (["profit-total"], "total_profit_history",
     {"items": [{"profit_currency": "USDT", "total_profit_amount": "2.4682588"}]}, {}),
    (["followers", "--limit", "5"], "query_followers", {"follower": [], "query_id": None},
     {"limit": "5"}),
]  # fmt: skip


@pytest.mark.parametrize("as_json", [False, True], ids=["table", "json"])
@pytest.mark.parametrize(
    ("args", "endpoint", "data", "sent"), COMMANDS, ids=[" ".join(c[0][:1]) for c in COMMANDS]
)
def test_subcommand_calls_its_endpoint(
    args: list[str], endpoint: str, data: Any, sent: dict[str, Any], as_json: bool,
    server: Server,
) -> None:  # fmt: skip
    server.answer(data)

    result = invoke(server, [*args, *(["--json"] if as_json else [])])

    assert result.exit_code == 0, result.output
    assert server.last.url.path == f"/copytrading/trader/{endpoint}"
    if server.last.method == "POST":
        assert json.loads(server.last.content) == sent
    else:
        skip = {*signing.AUTH_PARAMS, "Signature"}
        assert {k: v for k, v in server.params().items() if k not in skip} == sent
    if as_json:
        json.loads(result.stdout)
    assert SECRET_KEY not in result.output


def test_every_endpoint_has_a_subcommand() -> None:
    from copytrade.protocol.endpoints import ENDPOINTS

    assert {c[1] for c in COMMANDS} == {e.name for e in ENDPOINTS}
    v1 = [name for name, command in api.commands.items() if not isinstance(command, click.Group)]
    assert len(v1) == 19
    assert set(api.commands) - set(v1) == {"v5", "v6"}  # the v5 and v6 families' groups


@pytest.mark.parametrize(
    ("code", "exit_code"),
    [(1046, 1), (1047, 1), (1000, 1), (1067, 1), (403, 3), (12001, 3), (1205, 3), (1032, 3)],
)
def test_api_errors_exit_with_the_documented_codes(
    code: int, exit_code: int, server: Server
) -> None:
    server.answer_error(code, "refused")

    result = invoke(server, ["close-all", "-c", "BTC-USDT", "-m", "cross", "-s", "long"])

    assert result.exit_code == exit_code
    assert f"{code}: refused" in result.stderr
    assert TID in result.stderr
    assert SECRET_KEY not in result.output


def test_transport_failure_exits_1_without_leaking_the_secret(server: Server) -> None:
    server.error = httpx.ConnectError("connection refused")

    result = invoke(server, ["positions"])

    assert result.exit_code == 1
    assert "ConnectError" in result.stderr
    assert SECRET_KEY not in result.output


def test_usage_errors_exit_2(server: Server) -> None:
    result = invoke(server, ["close-all", "-c", "BTC-USDT", "-m", "sideways", "-s", "long"])
    assert result.exit_code == 2

    result = invoke(server, ["transfer", "--amount", "1e3", "--type", "futures-to-copy"])
    assert result.exit_code == 2
    assert server.requests == []


def test_missing_credentials_is_a_usage_error(server: Server) -> None:
    result = CliRunner().invoke(api, ["positions"], obj=httpx.MockTransport(server), env={})

    assert result.exit_code == 2
    assert "no credentials" in result.stderr


def test_help_needs_no_credentials() -> None:
    result = CliRunner().invoke(api, ["close-all", "--help"], env={})

    assert result.exit_code == 0
    assert "current-positions" in result.stdout


def test_profile_file_supplies_server_and_key(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profiles = tmp_path / "profiles.toml"
    profiles.write_text(
        '[demo]\nbase_url = "http://LOCALHOST:9999"\naccess_key = "ak-profile"\n'
        f'secret_key = "{SECRET_KEY}"\n'
    )
    monkeypatch.setenv("COPYTRADE_PROFILE_FILE", str(profiles))
    server.answer(["BTC-USDT"])

    result = CliRunner().invoke(
        api, ["--profile", "demo", "contracts"], obj=httpx.MockTransport(server), env={}
    )

    assert result.exit_code == 0, result.output
    assert server.last.headers["host"] == "localhost:9999"
    assert server.params()["AccessKeyId"] == "ak-profile"


def test_command_line_and_env_override_the_profile(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profiles = tmp_path / "profiles.toml"
    profiles.write_text('[default]\nbase_url = "http://10.1.1.1:1"\naccess_key = "ak-profile"\n')
    monkeypatch.setenv("COPYTRADE_PROFILE_FILE", str(profiles))
    server.answer(["BTC-USDT"])

    result = invoke(server, ["--access-key", "ak-flag", "contracts"])

    assert result.exit_code == 0, result.output
    assert server.last.headers["host"] == "127.0.0.1:8080"
    assert server.params()["AccessKeyId"] == "ak-flag"


def test_unknown_profile_is_a_usage_error(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profiles = tmp_path / "profiles.toml"
    profiles.write_text('[default]\naccess_key = "x"\n')
    monkeypatch.setenv("COPYTRADE_PROFILE_FILE", str(profiles))

    result = invoke(server, ["--profile", "nope", "contracts"])

    assert result.exit_code == 2
    assert "nope" in result.stderr


def test_ed25519_key_file_signs_with_ed25519(server: Server, tmp_path: Path) -> None:
    vector = json.loads(VECTORS.read_text())["ed25519"][0]
    key_file = tmp_path / "key.pem"
    key_file.write_text(vector["private_key_pem_pkcs8"])
    server.answer(["BTC-USDT"])

    result = invoke(
        server,
        ["--ed25519-key-file", str(key_file), "contracts"],
        env={"COPYTRADE_SECRET_KEY": ""},
    )

    assert result.exit_code == 0, result.output
    assert server.params()["SignatureMethod"] == "Ed25519"


def test_an_injected_client_is_used_as_ctx_obj(server: Server) -> None:
    server.answer(["ETH-USDT"])
    client = Client("http://127.0.0.1:7000", HmacAuth("ak-inj", SECRET_KEY),
                    transport=httpx.MockTransport(server))  # fmt: skip

    result = CliRunner().invoke(api, ["contracts"], obj=client, env={})

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "ETH-USDT"
    assert server.last.headers["host"] == "127.0.0.1:7000"
    client.close()
