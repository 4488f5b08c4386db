"""Authentication over loopback HTTP: signed host, timestamps, versions, methods, permissions."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from copytrade.protocol.signing import (
    Signer,
    canonical_string,
    encode_query,
    format_timestamp,
    sign_hmac,
)
from copytrade.testing.server import LiveServer

P = "/copytrading/trader/"
PLACE = P + "place_order"
CURRENT = P + "current_positions"
POSITION_LIST = P + "position_list"
TID = re.compile(r"[0-9a-f]{32}")
ORDER = {
    "contract_code": "BTC-USDT",
    "amount": "1",
    "margin_mode": "cross",
    "order_price_type": 17,
    "order_direction": 1,
    "lever": 10,
}
BTC = {"contract_code": "BTC-USDT"}
DROP = object()


def _now(offset: timedelta = timedelta(0)) -> str:
    return format_timestamp(datetime.now(UTC) + offset)


def send(
    server: LiveServer,
    creds: dict[str, Any],
    method: str,
    path: str,
    *,
    params: dict[str, str] | None = None,
    body: Any = None,
    sign: Callable[[str], str] | None = None,
    sign_host: str | None = None,
    host_header: str | None = None,
    **auth: Any,
) -> httpx.Response:
    """Send a request whose auth parameters can be changed (``DROP`` removes one)."""
    values: dict[str, Any] = {
        "AccessKeyId": creds["access_key"],
        "SignatureMethod": "HmacSHA256",
        "SignatureVersion": "2",
        "Timestamp": _now(),
        **auth,
    }
    pairs = [(k, str(v)) for k, v in values.items() if v is not DROP]
    if method == "GET" and params:
        pairs += list(params.items())
    signature = values.get("Signature")
    pairs = [(k, v) for k, v in pairs if k != "Signature"]
    if signature is None:
        canonical = canonical_string(method, sign_host or server.host, path, pairs)
        signature = sign(canonical) if sign else sign_hmac(creds["secret_key"], canonical)
    if signature is not DROP:
        pairs.append(("Signature", signature))
    headers = {"content-type": "application/json"}
    if host_header is not None:
        headers["host"] = host_header
    content = None if method == "GET" else json.dumps(body or {})
    return server.http.request(
        method, f"{path}?{encode_query(pairs)}", content=content, headers=headers
    )


def assert_error(reply: httpx.Response, code: int, msg: str | None = None) -> dict[str, Any]:
    """Check the HTTP-200 error envelope with ``code`` (and ``msg`` when given)."""
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert list(body) == ["code", "msg", "data", "tid", "success"], body
    assert (body["code"], body["data"], body["success"]) == (code, None, False), body
    assert TID.fullmatch(body["tid"])
    if msg is not None:
        assert body["msg"] == msg
    return dict(body)


def assert_ok(reply: httpx.Response) -> Any:
    """Check the success envelope and return ``data``."""
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert list(body) == ["code", "data", "tid", "success"], body
    assert (body["code"], body["success"]) == (200, True), body
    return body["data"]


EMPTY_PAGE = {"positions": [], "query_id": None}


# -- the signed host -----------------------------------------------------------------------------


def test_a_request_signed_for_the_host_header_with_its_port_is_accepted(
    live_server: LiveServer, trader: dict[str, Any]
) -> None:
    assert live_server.host == f"127.0.0.1:{live_server.port}"
    reply = send(live_server, trader, "GET", CURRENT, params=BTC, sign_host=live_server.host)
    assert assert_ok(reply) == EMPTY_PAGE


def test_a_request_whose_host_header_is_the_htx_alias_is_accepted(
    live_server: LiveServer, trader: dict[str, Any]
) -> None:
    reply = send(
        live_server,
        trader,
        "GET",
        CURRENT,
        params=BTC,
        sign_host="api.hbdm.com",
        host_header="api.hbdm.com",
    )
    assert assert_ok(reply) == EMPTY_PAGE


def test_the_host_header_is_compared_in_lower_case(
    live_server: LiveServer, trader: dict[str, Any]
) -> None:
    reply = send(
        live_server,
        trader,
        "GET",
        CURRENT,
        params=BTC,
        sign_host="api.hbdm.vn",
        host_header="API.HBDM.VN",
    )
    assert assert_ok(reply) == EMPTY_PAGE


def test_a_request_signed_for_an_alias_through_the_loopback_host_is_accepted(
    live_server: LiveServer, trader: dict[str, Any]
) -> None:
    reply = send(live_server, trader, "POST", PLACE, body=ORDER, sign_host="api.hbdm.com")
    assert assert_ok(reply) is True


def test_a_request_signed_without_the_port_of_the_host_header_is_accepted_by_default(
    live_server: LiveServer, trader: dict[str, Any]
) -> None:
    # HTX's official async SDK signs the hostname without its port (issue 13); a server with
    # signature_host_strict refuses it (tests/interop/test_client_recipes.py)
    reply = send(live_server, trader, "GET", CURRENT, params=BTC, sign_host="127.0.0.1")
    assert assert_ok(reply) == EMPTY_PAGE


def test_a_request_signed_for_an_alias_with_port_443_is_accepted(
    live_server: LiveServer, trader: dict[str, Any]
) -> None:
    reply = send(live_server, trader, "GET", CURRENT, params=BTC, sign_host="api.hbdm.com:443")
    assert assert_ok(reply) == EMPTY_PAGE


def test_a_request_signed_for_another_unknown_host_is_refused(
    live_server: LiveServer, trader: dict[str, Any]
) -> None:
    reply = send(live_server, trader, "GET", CURRENT, params=BTC, sign_host="evil.example")
    assert_error(reply, 403, "Verification failure")


# -- signature and key ---------------------------------------------------------------------------


def test_a_bad_signature_is_403_verification_failure(
    live_server: LiveServer, trader: dict[str, Any]
) -> None:
    good = send(live_server, trader, "GET", CURRENT, params=BTC)
    assert assert_ok(good) == EMPTY_PAGE
    wrong = sign_hmac(trader["secret_key"] + "x", "anything")
    reply = send(live_server, trader, "GET", CURRENT, params=BTC, Signature=wrong)
    assert_error(reply, 403, "Verification failure")


def test_a_business_parameter_changed_after_signing_is_403(
    live_server: LiveServer, trader: dict[str, Any]
) -> None:
    canonical_for_eth = canonical_string(
        "GET",
        live_server.host,
        CURRENT,
        [
            ("AccessKeyId", trader["access_key"]),
            ("SignatureMethod", "HmacSHA256"),
            ("SignatureVersion", "2"),
            ("Timestamp", stamp := _now()),
            ("contract_code", "ETH-USDT"),
        ],
    )
    signature = sign_hmac(trader["secret_key"], canonical_for_eth)
    reply = send(
        live_server, trader, "GET", CURRENT, params=BTC, Timestamp=stamp, Signature=signature
    )
    assert_error(reply, 403, "Verification failure")


def test_a_missing_signature_is_403_verification_failure(
    live_server: LiveServer, trader: dict[str, Any]
) -> None:
    reply = send(live_server, trader, "GET", CURRENT, params=BTC, Signature=DROP)
    assert_error(reply, 403, "Verification failure")


def test_an_unknown_access_key_is_403_incorrect_access_key(live_server: LiveServer) -> None:
    stranger = {"access_key": "ak-unknown-0000", "secret_key": "whatever"}
    reply = send(live_server, stranger, "GET", CURRENT, params=BTC)
    assert_error(reply, 403, "Incorrect Access key")


def test_a_missing_access_key_is_403_incorrect_access_key(
    live_server: LiveServer, trader: dict[str, Any]
) -> None:
    reply = send(live_server, trader, "GET", CURRENT, params=BTC, AccessKeyId=DROP)
    assert_error(reply, 403, "Incorrect Access key")


def test_a_request_without_any_auth_parameter_is_403(live_server: LiveServer) -> None:
    assert_error(live_server.http.get(CURRENT, params=BTC), 403, "Incorrect Access key")


# -- timestamp -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stamp",
    [
        timedelta(minutes=-6),  # made when the test runs: a long session would age it
        timedelta(minutes=6),
        "2024-06-25 08:30:00",
        "2024-06-25T08:30",
        "2024-06-25T08:30:00Z",
        "2024-06-25T08:30:00.000",
        "2024-13-25T08:30:00",
        "not-a-timestamp-at",
    ],
    ids=[
        "6 minutes old",
        "6 minutes ahead",
        "space for T",
        "no seconds",
        "Z suffix",
        "milliseconds",
        "month 13",
        "garbage",
    ],
)
def test_a_timestamp_outside_the_window_or_malformed_is_12001(
    live_server: LiveServer, trader: dict[str, Any], stamp: str | timedelta
) -> None:
    if isinstance(stamp, timedelta):
        stamp = _now(stamp)
    reply = send(live_server, trader, "GET", CURRENT, params=BTC, Timestamp=stamp)
    assert_error(reply, 12001, "Invalid submission time.")


def test_a_timestamp_four_minutes_off_is_inside_the_window(
    live_server: LiveServer, trader: dict[str, Any]
) -> None:
    for offset in (timedelta(minutes=-4), timedelta(minutes=4)):
        reply = send(live_server, trader, "GET", CURRENT, params=BTC, Timestamp=_now(offset))
        assert assert_ok(reply) == EMPTY_PAGE


def test_a_missing_timestamp_is_12006(live_server: LiveServer, trader: dict[str, Any]) -> None:
    reply = send(live_server, trader, "GET", CURRENT, params=BTC, Timestamp=DROP)
    assert_error(reply, 12006, "The submission time cannot be left blank.")


# -- version and method --------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1", "2.1", "", DROP], ids=["1", "2.1", "empty", "missing"])
def test_a_signature_version_other_than_2_is_12002(
    live_server: LiveServer, trader: dict[str, Any], version: object
) -> None:
    reply = send(live_server, trader, "GET", CURRENT, params=BTC, SignatureVersion=version)
    assert_error(reply, 12002, "Incorrect signature version.")


@pytest.mark.parametrize(
    "method",
    ["hmacsha256", "HmacSHA1", "ed25519", "", DROP],
    ids=lambda m: "absent" if m is DROP else str(m),
)
def test_an_unsupported_signature_method_is_12003(
    live_server: LiveServer, trader: dict[str, Any], method: object
) -> None:
    reply = send(live_server, trader, "GET", CURRENT, params=BTC, SignatureMethod=method)
    assert_error(reply, 12003, "Incorrect signature method.")


# -- permissions ---------------------------------------------------------------------------------


def test_a_read_only_key_cannot_place_an_order_1205(live_server: LiveServer) -> None:
    reader = live_server.create_user("trader", permissions="read")
    reply = send(live_server, reader, "POST", PLACE, body=ORDER)
    assert_error(reply, 1205, "You have no access permissions.")
    assert live_server.user(reader["uid"])["positions"] == []
    assert live_server.user(reader["uid"])["balance"] == "10000"


def test_a_read_only_key_cannot_read_position_list_documented_as_trade_1205(
    live_server: LiveServer,
) -> None:
    reader = live_server.create_user("trader", permissions="read")
    assert_error(send(live_server, reader, "GET", POSITION_LIST), 1205)


def test_a_read_only_key_reads_current_positions(live_server: LiveServer) -> None:
    reader = live_server.create_user("trader", permissions="read")
    assert assert_ok(send(live_server, reader, "GET", CURRENT, params=BTC)) == EMPTY_PAGE


def test_a_trade_key_reads_position_list(live_server: LiveServer, trader: dict[str, Any]) -> None:
    assert assert_ok(send(live_server, trader, "GET", POSITION_LIST)) == {"positions": []}


# -- Ed25519 -------------------------------------------------------------------------------------


def _ed25519_user(server: LiveServer) -> tuple[dict[str, Any], Signer]:
    private = Ed25519PrivateKey.generate()
    public_hex = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    creds = server.create_user("trader", ed25519_public_key=public_hex)
    assert creds["secret_key"] is None
    return creds, Signer(creds["access_key"], private_key=private)


def test_an_ed25519_key_signs_requests_the_server_accepts(live_server: LiveServer) -> None:
    creds, signer = _ed25519_user(live_server)
    stamp = _now()
    pairs = signer.signed_params("POST", live_server.host, PLACE, timestamp=stamp)
    reply = live_server.http.post(f"{PLACE}?{encode_query(pairs)}", json=ORDER)
    assert assert_ok(reply) is True
    pairs = signer.signed_params("GET", live_server.host, CURRENT, BTC, timestamp=stamp)
    (position,) = assert_ok(live_server.http.get(f"{CURRENT}?{encode_query(pairs)}"))["positions"]
    assert position["volume"] == "1"
    assert dict(pairs)["SignatureMethod"] == "Ed25519"
    assert len(dict(pairs)["Signature"]) == 88
    (stored,) = live_server.user(creds["uid"])["positions"]
    assert stored["sub_position_id"] == position["sub_position_id"]


def test_an_ed25519_signature_by_another_private_key_is_403(live_server: LiveServer) -> None:
    creds, _ = _ed25519_user(live_server)
    impostor = Signer(creds["access_key"], private_key=Ed25519PrivateKey.generate())
    reply = send(
        live_server,
        creds,
        "GET",
        CURRENT,
        params=BTC,
        SignatureMethod="Ed25519",
        sign=impostor.sign,
    )
    assert_error(reply, 403, "Verification failure")


def test_an_ed25519_key_used_with_hmacsha256_is_403(live_server: LiveServer) -> None:
    creds, signer = _ed25519_user(live_server)
    reply = send(
        live_server,
        creds,
        "GET",
        CURRENT,
        params=BTC,
        SignatureMethod="HmacSHA256",
        sign=signer.sign,
    )
    assert_error(reply, 403, "Verification failure")


def test_an_hmac_key_used_with_ed25519_is_403(
    live_server: LiveServer, trader: dict[str, Any]
) -> None:
    reply = send(live_server, trader, "GET", CURRENT, params=BTC, SignatureMethod="Ed25519")
    assert_error(reply, 403, "Verification failure")
