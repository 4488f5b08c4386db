"""The v5/v6 signature vectors (``tests/data/signature-vectors-v5-v6.json``) against the server.

Every HMAC vector must canonicalise and sign to the published value and be accepted by the
Authenticator as the v5/v6 families configure it (the host aliases of spec ``htx-v5-v6.md``
§3.2, auth-only GETs accepted); the client variants are accepted, the negative ones refused.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from copytrade.api.auth import Authenticator, AuthError
from copytrade.config import Settings
from copytrade.protocol import signing
from copytrade.service.ports import ApiKey

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "data" / "signature-vectors-v5-v6.json").read_text()
)
HMAC = VECTORS["hmac_sha256"]
VARIANTS = {v["id"][:5]: v for v in VECTORS["client_variants"]}
NEGATIVE = {v["id"][:6]: v for v in VECTORS["negative_vectors"]}
ALIASES = tuple(Settings().signature_host_aliases)


def _ids(vector: dict[str, Any]) -> str:
    return str(vector["id"])


def _auth(access_key: str, secret: str, timestamp: str) -> Authenticator:
    key = ApiKey(access_key, 7, "HmacSHA256", secret, None, True)
    moment = datetime.fromisoformat(timestamp).replace(tzinfo=UTC).timestamp()
    return Authenticator(
        lambda k: key if k == access_key else None,
        host_aliases=ALIASES,
        wall_clock=lambda: moment,
    )


def _auth_pairs(access_key: str, timestamp: str) -> list[tuple[str, str]]:
    return [
        ("AccessKeyId", access_key),
        ("SignatureMethod", "HmacSHA256"),
        ("SignatureVersion", "2"),
        ("Timestamp", timestamp),
    ]


def _query(vector: dict[str, Any]) -> list[tuple[str, str]]:
    business = list(vector["params"].items()) if vector["method"] == "GET" else []
    return _auth_pairs(vector["access_key"], vector["timestamp"]) + business


@pytest.mark.parametrize("vector", HMAC, ids=_ids)
def test_canonical_string_and_signature_equal_the_vector(vector: dict[str, Any]) -> None:
    canonical = signing.canonical_string(
        vector["method"], vector["host_signed"], vector["path"], _query(vector)
    )
    assert canonical == vector["canonical_string"]
    assert signing.sign_hmac(vector["secret_key"], canonical) == vector["expected_signature"]


@pytest.mark.parametrize("vector", HMAC, ids=_ids)
def test_server_accepts_the_vector_from_a_client_on_loopback(vector: dict[str, Any]) -> None:
    # the request reaches copytrade with Host 127.0.0.1:8080 whatever host the client signed
    auth = _auth(vector["access_key"], vector["secret_key"], vector["timestamp"])
    params = [*_query(vector), ("Signature", vector["expected_signature"])]
    principal = auth.authenticate(
        vector["method"], "127.0.0.1:8080", vector["path"], params, lenient=True
    )
    assert principal.uid == 7


def test_python_sync_sdk_auth_only_get_is_accepted_by_the_v5_v6_families_only() -> None:
    v = VARIANTS["cv-01"]
    auth = _auth(v["access_key"], v["secret_key"], v["timestamp"])
    params = [
        *_auth_pairs(v["access_key"], v["timestamp"]),
        ("Signature", v["expected_signature"]),
        *v["business_params_unsigned"].items(),
    ]
    assert auth.authenticate("GET", "api.hbdm.com", v["path"], params, lenient=True).uid == 7
    with pytest.raises(AuthError):
        auth.authenticate("GET", "api.hbdm.com", v["path"], params)


def test_python_async_sdk_host_without_port_is_accepted() -> None:
    v = VARIANTS["cv-02"]
    auth = _auth(v["access_key"], v["secret_key"], v["timestamp"])
    params = [
        *_auth_pairs(v["access_key"], v["timestamp"]),
        *v["params"].items(),
        ("Signature", v["expected_signature"]),
    ]
    assert auth.authenticate("GET", v["host_header"], v["path"], params, lenient=True).uid == 7


def test_java_sdk_post_with_signed_business_query_is_accepted() -> None:
    v = VARIANTS["cv-03"]
    auth = _auth(v["access_key"], v["secret_key"], v["timestamp"])
    params = [
        *_auth_pairs(v["access_key"], v["timestamp"]),
        *v["query_params"].items(),
        ("Signature", v["expected_signature"]),
    ]
    assert auth.authenticate("POST", "127.0.0.1:8080", v["path"], params, lenient=True).uid == 7


def test_ccxt_with_only_urls_api_overridden_signs_api_hbdm_vn_and_is_accepted() -> None:
    v = VARIANTS["cv-04"]
    auth = _auth(v["access_key"], v["secret_key"], v["timestamp"])
    params = [*_auth_pairs(v["access_key"], v["timestamp"]), ("Signature", v["expected_signature"])]
    assert auth.authenticate("GET", v["host_header"], v["path"], params, lenient=True).uid == 7


@pytest.mark.parametrize("name", ["neg-01", "neg-02", "neg-03"])
def test_negative_vectors_are_refused_with_403(name: str) -> None:
    v = NEGATIVE[name]
    method, host, path, query = v["canonical_string"].split("\n")
    # the request the buggy client sends: its query (no body piece), the real path
    pairs = [
        (k, unquote(val))
        for k, _, val in (piece.partition("=") for piece in query.split("&"))
        if not k.startswith("{")
    ]
    real_path = path.replace("copytrading", "copyTrading")
    stamp = dict(pairs)["Timestamp"]
    auth = _auth(v["access_key"], v["secret_key"], stamp)
    assert signing.sign_hmac(v["secret_key"], v["canonical_string"]) == v["signature"]
    bad = [*pairs, ("Signature", v["signature"])]
    with pytest.raises(AuthError) as refused:
        auth.authenticate(method, host, real_path, bad, lenient=True)
    assert refused.value.code == 403
    good = [*pairs, ("Signature", v["correct_signature"])]
    assert auth.authenticate(method, host, real_path, good, lenient=True).uid == 7


def test_every_vector_of_the_file_has_its_test() -> None:
    """A vector added to the file without a test here fails (the HMAC ones are parametrised)."""
    assert sorted(VARIANTS) == ["cv-01", "cv-02", "cv-03", "cv-04"]
    assert len(VECTORS["client_variants"]) == len(VARIANTS)
    assert sorted(NEGATIVE) == ["neg-01", "neg-02", "neg-03"]
    assert len(VECTORS["negative_vectors"]) == len(NEGATIVE)
    assert len(HMAC) == 13
    assert set(VECTORS) == {
        "how_made",
        "conventions",
        "hmac_sha256",
        "client_variants",
        "negative_vectors",
    }
