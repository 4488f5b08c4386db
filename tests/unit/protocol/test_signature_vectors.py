"""The shared signature vectors, used as is, against protocol.signing and the Authenticator."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from copytrade.api.auth import Authenticator, AuthError
from copytrade.protocol import signing
from copytrade.service.ports import ApiKey

VECTORS_PATH = Path(__file__).resolve().parents[2] / "data" / "signature-vectors.json"
VECTORS: dict[str, Any] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
HMAC = VECTORS["hmac_sha256"]
ED25519 = VECTORS["ed25519"]
ALL_POSITIVE = HMAC + ED25519
BY_ID = {v["id"]: v for v in ALL_POSITIVE}
NEGATIVE = VECTORS["negative_vectors"]
EXTERNAL = VECTORS["external_reference_vectors"]


def _ids(vector: dict[str, Any]) -> str:
    return str(vector["id"])


def _pairs(vector: dict[str, Any]) -> list[tuple[str, str]]:
    """The query pairs a client sends (without ``Signature``), in no particular order."""
    auth = {
        "AccessKeyId": vector["access_key"],
        "SignatureMethod": vector["algorithm"],
        "SignatureVersion": "2",
        "Timestamp": vector["timestamp"],
    }
    business = vector["params"] if vector["method"] == "GET" else {}
    return list(business.items()) + list(auth.items())


def _canonical(vector: dict[str, Any]) -> str:
    return signing.canonical_string(
        vector["method"], vector["host"], vector["path"], _pairs(vector)
    )


def _epoch(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp).replace(tzinfo=UTC).timestamp()


def _key_of(vector: dict[str, Any]) -> ApiKey:
    if vector["algorithm"] == "Ed25519":
        return ApiKey(vector["access_key"], 7, "Ed25519", None, vector["public_key_hex"], True)
    return ApiKey(vector["access_key"], 7, "HmacSHA256", vector["secret_key"], None, True)


def _authenticator(vector: dict[str, Any], **options: bool) -> Authenticator:
    key = _key_of(vector)
    stamp = _epoch(vector["timestamp"])
    return Authenticator(
        lambda access_key: key if access_key == key.access_key else None,
        host_aliases=(),
        wall_clock=lambda: stamp,
        **options,
    )


def _authenticate(
    vector: dict[str, Any], signature: str, host: str | None = None, **options: bool
) -> int:
    params = [*_pairs(vector), ("Signature", signature)]
    principal = _authenticator(vector, **options).authenticate(
        vector["method"], host or vector["host"], vector["path"], params
    )
    return principal.uid


# -- positive vectors ---------------------------------------------------------------------------


@pytest.mark.parametrize("vector", ALL_POSITIVE, ids=_ids)
def test_canonical_string_equals_the_vector(vector: dict[str, Any]) -> None:
    assert _canonical(vector) == vector["canonical_string"]


@pytest.mark.parametrize("vector", ALL_POSITIVE, ids=_ids)
def test_signed_params_name_exactly_the_vectors_signed_params(vector: dict[str, Any]) -> None:
    signed = dict(_pairs(vector))
    assert signed == vector["signed_params"]
    assert (
        signing.canonical_string(
            vector["method"], vector["host_signed"], vector["path"], signed.items()
        )
        == vector["canonical_string"]
    )


@pytest.mark.parametrize("vector", HMAC, ids=_ids)
def test_hmac_signature_equals_the_vector(vector: dict[str, Any]) -> None:
    assert (
        signing.sign_hmac(vector["secret_key"], _canonical(vector))
        == (vector["expected_signature"])
    )
    signer = signing.Signer(vector["access_key"], secret_key=vector["secret_key"])
    assert signer.sign(vector["canonical_string"]) == vector["expected_signature"]
    assert signing.verify_hmac(
        vector["secret_key"], vector["canonical_string"], vector["expected_signature"]
    )


@pytest.mark.parametrize("vector", HMAC, ids=_ids)
def test_a_key_keyed_once_verifies_as_the_one_shot_hmac_does(vector: dict[str, Any]) -> None:
    keyed = signing.hmac_key(vector["secret_key"])
    canonical, expected = vector["canonical_string"], vector["expected_signature"]
    for _ in range(2):  # the keyed state is copied, never consumed
        assert signing.verify_keyed_hmac(keyed, canonical, expected)
    assert not signing.verify_keyed_hmac(keyed, canonical + "x", expected)
    assert not signing.verify_keyed_hmac(keyed, canonical, expected.swapcase())
    assert not signing.verify_keyed_hmac(signing.hmac_key("other"), canonical, expected)


@pytest.mark.parametrize("vector", ED25519, ids=_ids)
def test_ed25519_signature_equals_the_vector(vector: dict[str, Any]) -> None:
    private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(vector["private_key_seed_hex"]))
    signer = signing.Signer(vector["access_key"], private_key=private)
    signature = signer.sign(_canonical(vector))
    assert signature == vector["expected_signature"]
    assert len(signature) == 88
    public = signing.load_ed25519_public_key(vector["public_key_hex"])
    assert signing.verify_ed25519(public, vector["canonical_string"], signature)


@pytest.mark.parametrize("vector", [v for v in ALL_POSITIVE if "expected_url" in v], ids=_ids)
def test_signer_produces_the_vectors_url_query(vector: dict[str, Any]) -> None:
    if vector["algorithm"] == "Ed25519":
        seed = bytes.fromhex(vector["private_key_seed_hex"])
        signer = signing.Signer(
            vector["access_key"], private_key=Ed25519PrivateKey.from_private_bytes(seed)
        )
    else:
        signer = signing.Signer(vector["access_key"], secret_key=vector["secret_key"])
    pairs = signer.signed_params(
        vector["method"],
        vector["host"],
        vector["path"],
        vector["params"] if vector["method"] == "GET" else None,
        timestamp=vector["timestamp"],
    )
    expected_query = vector["expected_url"].split("?", 1)[1]
    expected = signing.parse_query(expected_query)
    assert sorted(pairs) == sorted(expected)
    assert sorted(signing.encode_query(pairs).split("&")) == sorted(expected_query.split("&"))


@pytest.mark.parametrize("vector", ALL_POSITIVE, ids=_ids)
def test_server_accepts_the_vectors_signature(vector: dict[str, Any]) -> None:
    assert _authenticate(vector, vector["expected_signature"]) == 7


def test_server_rejects_a_signature_made_over_the_upper_case_host() -> None:
    vector = BY_ID["hmac-07-post-upper-case-host-input"]
    wrong = vector["wrong_signature_if_host_not_lowercased"]
    assert wrong != vector["expected_signature"]
    with pytest.raises(AuthError) as refused:
        _authenticate(vector, wrong)
    assert (refused.value.code, refused.value.msg) == (403, "Verification failure")


def test_server_rejects_ccxts_auth_first_ordering_of_mixed_case_names() -> None:
    vector = BY_ID["hmac-11-edge-global-ascii-sort-uppercase-param"]
    with pytest.raises(AuthError) as refused:
        _authenticate(vector, vector["ccxt_divergent_signature"])
    assert refused.value.code == 403


# -- negative vectors ---------------------------------------------------------------------------


def _based_on(negative: dict[str, Any]) -> dict[str, Any]:
    return BY_ID[negative["based_on"]]


@pytest.mark.parametrize("negative", NEGATIVE, ids=_ids)
def test_negative_canonical_string_differs_from_the_correct_one(negative: dict[str, Any]) -> None:
    base = _based_on(negative)
    assert negative["canonical_string"] != _canonical(base)
    # The negative signature is what a buggy client computes over its wrong canonical string.
    assert (
        signing.sign_hmac(base["secret_key"], negative["canonical_string"])
        == (negative["signature"])
    )


@pytest.mark.parametrize("negative", NEGATIVE, ids=_ids)
def test_negative_signature_does_not_verify_against_the_correct_canonical_string(
    negative: dict[str, Any],
) -> None:
    base = _based_on(negative)
    assert not signing.verify_hmac(base["secret_key"], _canonical(base), negative["signature"])


@pytest.mark.parametrize("negative", NEGATIVE, ids=_ids)
def test_a_strict_server_rejects_every_negative_vectors_signature(
    negative: dict[str, Any],
) -> None:
    base = _based_on(negative)
    with pytest.raises(AuthError) as refused:
        _authenticate(base, negative["signature"], strict_host=True)
    assert (refused.value.code, refused.value.msg) == (403, "Verification failure")


LENIENT_BY_DEFAULT = {"neg-05-port-dropped-from-host"}  # issue 13: the async SDK drops the port
LENIENT_WHEN_OPTED_IN = {"neg-04-get-business-params-not-signed"}  # the official sync SDK


@pytest.mark.parametrize("negative", NEGATIVE, ids=_ids)
def test_by_default_only_a_dropped_port_is_forgiven(negative: dict[str, Any]) -> None:
    base = _based_on(negative)
    if negative["id"] in LENIENT_BY_DEFAULT:
        assert _authenticate(base, negative["signature"]) == 7
        return
    with pytest.raises(AuthError) as refused:
        _authenticate(base, negative["signature"])
    assert refused.value.code == 403


@pytest.mark.parametrize("negative", NEGATIVE, ids=_ids)
def test_accept_unsigned_get_params_forgives_only_auth_only_get_signatures(
    negative: dict[str, Any],
) -> None:
    base = _based_on(negative)
    lenient = LENIENT_BY_DEFAULT | LENIENT_WHEN_OPTED_IN
    if negative["id"] in lenient:
        assert _authenticate(base, negative["signature"], accept_unsigned_get_params=True) == 7
        return
    with pytest.raises(AuthError):
        _authenticate(base, negative["signature"], accept_unsigned_get_params=True)


def test_a_port_less_signature_is_refused_by_a_strict_server_even_with_aliases() -> None:
    negative = next(n for n in NEGATIVE if n["id"].startswith("neg-05"))
    base = _based_on(negative)
    stamp = _epoch(base["timestamp"])
    key = _key_of(base)

    def server(strict: bool) -> Authenticator:
        return Authenticator(
            lambda _: key,
            host_aliases=("api.hbdm.com", "api.hbdm.vn"),
            wall_clock=lambda: stamp,
            strict_host=strict,
        )

    params = [*_pairs(base), ("Signature", negative["signature"])]
    with pytest.raises(AuthError) as refused:
        server(True).authenticate(base["method"], "127.0.0.1:8080", base["path"], params)
    assert refused.value.code == 403
    assert server(False).authenticate(base["method"], "127.0.0.1:8080", base["path"], params)
    good = [*_pairs(base), ("Signature", base["expected_signature"])]
    assert server(True).authenticate(base["method"], "127.0.0.1:8080", base["path"], good).uid == 7


# -- external reference vectors -----------------------------------------------------------------


@pytest.mark.parametrize("vector", EXTERNAL, ids=_ids)
def test_external_sdk_vector_signs_to_the_published_signature(vector: dict[str, Any]) -> None:
    signature = signing.sign_hmac(vector["secret_key"], vector["canonical_string"])
    assert signature == vector["expected_signature"]
    assert signing.verify_hmac(
        vector["secret_key"], vector["canonical_string"], vector["expected_signature"]
    )


@pytest.mark.parametrize("vector", EXTERNAL, ids=_ids)
def test_external_sdk_vector_canonical_string_is_rebuilt_from_its_parts(
    vector: dict[str, Any],
) -> None:
    method, host, path, query = vector["canonical_string"].split("\n")
    pairs = signing.parse_query(query)
    assert signing.canonical_string(method, host, path, pairs) == vector["canonical_string"]
