"""SDK signatures against the independent vectors, ccxt's htx signer, and the Host header."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import ccxt
import httpx
import pytest
from sdk_fakes import SECRET_KEY, Recorder, envelope, query_pairs, signature_is_valid

from copytrade.client import (
    Client,
    Ed25519Auth,
    HmacAuth,
    MarginMode,
    PositionSide,
    PreparedRequest,
)
from copytrade.protocol import signing
from copytrade.protocol.endpoints import Endpoint, HttpMethod, Permission

VECTORS_PATH = Path(__file__).resolve().parents[2] / "data" / "signature-vectors.json"
VECTORS = json.loads(VECTORS_PATH.read_text())


def _vector_request(vector: dict[str, Any]) -> PreparedRequest[Any]:
    endpoint = Endpoint("vector", HttpMethod(vector["method"]), vector["path"], Permission.READ, "")
    body = json.loads(vector["body_json"]) if vector["body_json"] else None
    if vector["method"] == "POST" and body is None:
        body = {}
    return PreparedRequest(endpoint, tuple(vector["params"].items()), body, lambda d: d)


def _send_vector(vector: dict[str, Any], auth: HmacAuth | Ed25519Auth) -> httpx.Request:
    recorder = Recorder()
    recorder.reply(envelope(True))
    scheme = urlsplit(vector.get("expected_url", "https://x")).scheme or "https"
    moment = datetime.fromisoformat(vector["timestamp"]).replace(tzinfo=UTC)
    with Client(
        f"{scheme}://{vector['host']}",
        auth,
        transport=httpx.MockTransport(recorder),
        clock=lambda: moment,
    ) as client:
        client.send(_vector_request(vector))
    return recorder.last


@pytest.mark.parametrize("vector", VECTORS["hmac_sha256"], ids=lambda v: v["id"])
def test_hmac_signature_matches_the_independent_vector(vector: dict[str, Any]) -> None:
    request = _send_vector(vector, HmacAuth(vector["access_key"], vector["secret_key"]))

    sent = dict(query_pairs(request))
    assert sent.pop("Signature") == vector["expected_signature"]
    assert sent == vector["signed_params"]
    assert request.headers["host"].lower() == vector["host_signed"]
    if vector["body_json"]:
        assert request.content == vector["body_json"].encode()


@pytest.mark.parametrize("vector", VECTORS["ed25519"], ids=lambda v: v["id"])
def test_ed25519_signature_matches_the_independent_vector(vector: dict[str, Any]) -> None:
    request = _send_vector(
        vector, Ed25519Auth(vector["access_key"], vector["private_key_pem_pkcs8"])
    )

    assert dict(query_pairs(request))["Signature"] == vector["expected_signature"]
    assert dict(query_pairs(request))["SignatureMethod"] == "Ed25519"


def _ccxt_signature(port: int, path: str, method: str, params: dict[str, Any], ms: int) -> str:
    ex = ccxt.htx(
        {
            "apiKey": "ak-ccxt",
            "secret": SECRET_KEY,
            "urls": {
                "hostnames": {"contract": f"127.0.0.1:{port}"},
                "api": {"contract": "http://{hostname}"},
            },
        }
    )
    ex.nonce = lambda: ms
    signed = ex.sign(path, ["contract", "private"], method, dict(params))
    return parse_qs(urlsplit(signed["url"]).query)["Signature"][0]


@pytest.mark.parametrize(
    ("method_name", "kwargs", "ccxt_path", "http", "ccxt_params"),
    [
        (
            "close_all_position",
            {"contract_code": "BTC-USDT", "margin_mode": MarginMode.CROSS,
             "position_side": PositionSide.LONG},
            "copytrading/trader/close_all_position", "POST",
            {"contract_code": "BTC-USDT", "margin_mode": "cross", "position_side": "long"},
        ),
        (
            "current_positions",
            {"contract_code": "BTC-USDT", "limit": 10},
            "copytrading/trader/current_positions", "GET",
            {"contract_code": "BTC-USDT", "limit": "10"},
        ),
    ],
)  # fmt: skip
def test_sdk_and_ccxt_htx_sign_the_same_request_identically(
    method_name: str,
    kwargs: dict[str, Any],
    ccxt_path: str,
    http: str,
    ccxt_params: dict[str, Any],
    recorder: Recorder,
) -> None:
    port = 18080
    moment = datetime(2024, 6, 25, 8, 30, 5, tzinfo=UTC)
    ms = int(moment.timestamp()) * 1000
    data: Any = True if http == "POST" else {"positions": [], "query_id": None}
    recorder.reply(envelope(data))
    with Client(
        f"http://127.0.0.1:{port}",
        HmacAuth("ak-ccxt", SECRET_KEY),
        transport=httpx.MockTransport(recorder),
        clock=lambda: moment,
    ) as client:
        getattr(client, method_name)(**kwargs)

    sdk_signature = dict(query_pairs(recorder.last))["Signature"]
    assert sdk_signature == _ccxt_signature(port, ccxt_path, http, ccxt_params, ms)


@pytest.mark.parametrize(
    ("base_url", "host_header"),
    [
        ("http://127.0.0.1:8080", "127.0.0.1:8080"),
        ("http://LOCALHOST:8443/", "localhost:8443"),
        ("http://127.0.0.1:80", "127.0.0.1"),
        ("https://API.HBDM.COM", "api.hbdm.com"),
        ("https://api.hbdm.com:443", "api.hbdm.com"),
        ("http://[::1]:9000", "[::1]:9000"),
    ],
)
def test_signed_host_is_the_host_header_actually_sent(
    base_url: str, host_header: str, make_client: Callable[..., Client], recorder: Recorder
) -> None:
    recorder.reply(envelope(["BTC-USDT"]))

    make_client(base_url).query_contract()

    assert recorder.last.headers["host"] == host_header
    assert signature_is_valid(recorder.last)


def test_sign_host_override_signs_another_host_than_the_one_connected(
    make_client: Callable[..., Client], recorder: Recorder
) -> None:
    recorder.reply(envelope(["BTC-USDT"]))

    make_client("http://10.0.0.5:8080", sign_host="API.hbdm.com").query_contract()

    request = recorder.last
    pairs = query_pairs(request)
    signed = [(k, v) for k, v in pairs if k != "Signature"]
    canonical = signing.canonical_string("GET", "api.hbdm.com", request.url.path, signed)
    assert signing.verify_hmac(SECRET_KEY, canonical, dict(pairs)["Signature"])
    assert request.headers["host"] == "10.0.0.5:8080"


def test_base_url_path_prefix_is_part_of_the_signed_path(
    make_client: Callable[..., Client], recorder: Recorder
) -> None:
    recorder.reply(envelope(["BTC-USDT"]))

    make_client("http://127.0.0.1:8080/htx/").query_contract()

    assert recorder.last.url.path == "/htx/copytrading/trader/query_contract"
    assert signature_is_valid(recorder.last)


@pytest.mark.parametrize("bad", ["ftp://x", "127.0.0.1:8080", "http://", "http://h/?a=1"])
def test_base_url_must_be_an_http_url(bad: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        Client(bad, HmacAuth("a", "b"))


def test_timestamp_is_utc_seconds_without_zone(
    make_client: Callable[..., Client], recorder: Recorder
) -> None:
    from datetime import timedelta, timezone

    local = datetime(2024, 6, 25, 10, 30, 0, 987000, tzinfo=timezone(timedelta(hours=2)))
    recorder.reply(envelope(["BTC-USDT"]))

    make_client(clock=lambda: local).query_contract()

    assert dict(query_pairs(recorder.last))["Timestamp"] == "2024-06-25T08:30:00"


def test_secrets_never_appear_in_reprs() -> None:
    vector = VECTORS["ed25519"][0]
    hmac_auth = HmacAuth("ak-visible", "sk-hidden-value")
    ed_auth = Ed25519Auth("ak-ed", vector["private_key_pem_pkcs8"])
    client = Client("http://127.0.0.1:8080", hmac_auth)
    try:
        text = repr(hmac_auth) + repr(ed_auth) + repr(client)
    finally:
        client.close()
    assert "ak-visible" in text
    assert "sk-hidden-value" not in text
    assert "PRIVATE" not in text


def test_ed25519_auth_rejects_a_non_ed25519_pem() -> None:
    with pytest.raises(ValueError, match="PEM"):
        Ed25519Auth("ak", "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
