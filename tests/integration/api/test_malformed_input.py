"""Malformed numbers, deep JSON and hostile access keys answer a clean code, never 1000.

Runs on SQLite and PostgreSQL (the ``live_server`` fixture): on PostgreSQL a NUL in
``AccessKeyId`` used to reach the driver and log a full SQL traceback per request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import pytest

from copytrade.protocol.signing import format_timestamp
from copytrade.testing.server import LiveServer

P = "/copytrading/trader/"
ORDER: dict[str, Any] = {
    "contract_code": "BTC-USDT",
    "amount": "1",
    "margin_mode": "cross",
    "order_price_type": 17,
    "order_direction": 1,
    "lever": 10,
}


def _code(reply: Any) -> int:
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["success"] is False, body
    return int(body["code"])


@pytest.fixture
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Any:
    caplog.set_level(logging.WARNING)
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
    assert "Traceback" not in caplog.text


@pytest.mark.usefixtures("no_errors_logged")
@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("lever", "--10", 1030),
        ("lever", "+10", 1030),
        ("lever", "1e1", 1030),
        ("lever", "1" * 5000, 1037),
        ("order_direction", "--1", 1030),
        ("order_price_type", "١٧", 1030),  # Arabic-Indic digits
        ("amount", "--1", 1030),
        ("amount", "1e3", 1030),
        ("amount", "0." + "0" * 5000 + "1", 1030),
    ],
)
def test_place_order_refuses_sign_tricks_and_oversized_numbers(
    live_server: LiveServer, trader: dict[str, Any], field: str, value: str, code: int
) -> None:
    reply = live_server.signed(trader, "POST", P + "place_order", body={**ORDER, field: value})
    assert _code(reply) == code


@pytest.mark.usefixtures("no_errors_logged")
@pytest.mark.parametrize(
    ("name", "value", "code"),
    [
        ("start_time", "--1", 1030),
        ("end_time", "-+5", 1030),
        ("from_id", "1" * 5000, 1067),
        ("limit", "٥", 1030),
    ],
)
def test_paging_refuses_malformed_integers(
    live_server: LiveServer, trader: dict[str, Any], name: str, value: str, code: int
) -> None:
    params = {"contract_code": "BTC-USDT", name: value}
    reply = live_server.signed(trader, "GET", P + "current_positions", params)
    assert _code(reply) == code


@pytest.mark.usefixtures("no_errors_logged")
def test_close_order_with_a_non_ascii_digit_id_is_an_unknown_position(
    live_server: LiveServer, trader: dict[str, Any]
) -> None:
    reply = live_server.signed(trader, "POST", P + "close_order", body={"sub_position_id": "²"})
    assert _code(reply) == 1046


@pytest.mark.usefixtures("no_errors_logged")
def test_deeply_nested_json_is_an_input_error(
    live_server: LiveServer, trader: dict[str, Any]
) -> None:
    reply = live_server.signed(trader, "POST", P + "place_order", body=b'{"a":' * 5000)
    assert _code(reply) == 1030


@pytest.mark.usefixtures("no_errors_logged")
@pytest.mark.parametrize("access_key", ["x%00", "x%27%3B--", "k" * 200, "%E2%80%AE"])
def test_hostile_access_keys_are_unknown_keys_not_driver_errors(
    live_server: LiveServer, access_key: str
) -> None:
    stamp = format_timestamp(datetime.now(UTC))
    url = (
        f"{P}current_positions?AccessKeyId={access_key}&SignatureMethod=HmacSHA256"
        f"&SignatureVersion=2&Timestamp={stamp.replace(':', '%3A')}&Signature=abc"
    )
    reply = live_server.http.get(url)
    assert _code(reply) == 403
    assert reply.json()["msg"] == "Incorrect Access key"


@pytest.fixture(scope="module")
def sqlite_server(
    tmp_path_factory: pytest.TempPathFactory,
    server_on: Callable[..., AbstractContextManager[LiveServer]],
) -> Iterator[LiveServer]:
    """The memos are per process, whatever the database: one SQLite server shows it."""
    with server_on("sqlite", tmp_path_factory) as server:
        yield server


def test_unique_large_query_values_do_not_grow_the_signing_memos(
    sqlite_server: LiveServer,
) -> None:
    from copytrade.protocol import signing

    live_server = sqlite_server
    trader = live_server.create_user("trader", balance="10000")
    big = "%41" * 16_000  # ~48 KB percent-encoded, unique per request
    for i in range(120):
        url = f"{P}current_positions?x{i}={i}{big}&AccessKeyId={i}{big[:300]}&Signature=s"
        assert live_server.http.get(url).json()["code"] != 1000
    for i in range(60):  # with a valid key and a bad signature
        params = {"contract_code": "BTC-USDT", f"x{i}": f"{i}{'A' * 16_000}"}
        reply = live_server.signed(trader, "GET", P + "current_positions", params)
        assert reply.json()["code"] in (200, 1032)
    assert signing.memo_bytes() <= 3 * signing.MEMO_BYTES
