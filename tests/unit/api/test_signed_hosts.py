"""Which signed hosts and parameter sets the server accepts (issue 13, spec §3.2, §8.6 Q18).

Signatures here come from a test-only reference signer (hmac + base64 + RFC 3986 quoting),
not from ``copytrade.protocol.signing``, so a bug shared by the server's verifier and the SDK's
signer cannot hide.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from copytrade.api.auth import Authenticator, AuthError
from copytrade.api.signed_hosts import host_candidates, signed_param_sets, without_port
from copytrade.service.ports import ApiKey

SECRET = "sk-hosts"
STAMP = "2024-06-25T08:30:00"
EPOCH = 1719304200.0
PATH = "/copytrading/trader/current_positions"
ALIASES = ("api.hbdm.com", "api.hbdm.vn")
AUTH = [
    ("AccessKeyId", "ak-hosts"),
    ("SignatureMethod", "HmacSHA256"),
    ("SignatureVersion", "2"),
    ("Timestamp", STAMP),
]
BUSINESS = [("contract_code", "BTC-USDT"), ("limit", "10")]
HMAC_KEY = ApiKey("ak-hosts", 7, "HmacSHA256", SECRET, None, True)


def reference_canonical(method: str, host: str, path: str, pairs: list[tuple[str, str]]) -> str:
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in sorted(pairs))
    return f"{method}\n{host}\n{path}\n{query}"


def hmac_sign(canonical: str) -> str:
    digest = hmac.new(SECRET.encode(), canonical.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def authenticator(key: ApiKey = HMAC_KEY, **options: bool) -> Authenticator:
    return Authenticator(
        lambda access_key: key if access_key == key.access_key else None,
        host_aliases=ALIASES,
        wall_clock=lambda: EPOCH,
        **options,
    )


def get(
    signed_host: str,
    header_host: str = "127.0.0.1:8080",
    signed_pairs: list[tuple[str, str]] | None = None,
    sent_pairs: list[tuple[str, str]] | None = None,
    **options: bool,
) -> int:
    """Sign a GET over ``signed_host``/``signed_pairs``, send ``sent_pairs``; return the UID."""
    sent = sent_pairs if sent_pairs is not None else [*AUTH, *BUSINESS]
    covered = signed_pairs if signed_pairs is not None else sent
    signature = hmac_sign(reference_canonical("GET", signed_host, PATH, covered))
    params = [*sent, ("Signature", signature)]
    return authenticator(**options).authenticate("GET", header_host, PATH, params).uid


# ----- host candidates ----------------------------------------------------------------------


def test_candidates_are_the_host_with_and_without_port_then_aliases_with_and_without_443() -> None:
    assert host_candidates("127.0.0.1:8080", ALIASES) == (
        "127.0.0.1:8080",
        "127.0.0.1",
        "api.hbdm.com",
        "api.hbdm.com:443",
        "api.hbdm.vn",
        "api.hbdm.vn:443",
    )


def test_strict_candidates_are_the_host_as_sent_and_the_aliases_as_configured() -> None:
    assert host_candidates("127.0.0.1:8080", ALIASES, strict=True) == (
        "127.0.0.1:8080",
        "api.hbdm.com",
        "api.hbdm.vn",
    )


def test_an_alias_configured_with_a_port_is_also_tried_without_it() -> None:
    assert host_candidates("API.HBDM.COM", ("proxy.example:8443",)) == (
        "api.hbdm.com",
        "proxy.example:8443",
        "proxy.example",
    )


@pytest.mark.parametrize(
    ("host", "bare"),
    [
        ("127.0.0.1:8080", "127.0.0.1"),
        ("localhost", "localhost"),
        ("[::1]:8080", "[::1]"),
        ("[::1]", "[::1]"),
        ("::1", "::1"),
        ("api.hbdm.com:443", "api.hbdm.com"),
        ("host:notaport", "host:notaport"),
    ],
)
def test_without_port_strips_only_a_numeric_port(host: str, bare: str) -> None:
    assert without_port(host) == bare


# ----- the authenticator --------------------------------------------------------------------


@pytest.mark.parametrize(
    "signed_host",
    [
        "127.0.0.1:8080",  # the Host header, as the docs say
        "127.0.0.1",  # the Host header without its port (HTX's official async SDK)
        "api.hbdm.com",  # an alias (clients signing HTX's hostname)
        "api.hbdm.com:443",  # an alias with :443 (HTX's FAQ)
        "api.hbdm.vn:443",
    ],
)
def test_a_signature_over_any_accepted_host_authenticates(signed_host: str) -> None:
    assert get(signed_host) == 7


@pytest.mark.parametrize("signed_host", ["127.0.0.1", "api.hbdm.com:443"])
def test_a_strict_server_refuses_port_variants(signed_host: str) -> None:
    with pytest.raises(AuthError) as refused:
        get(signed_host, strict_host=True)
    assert (refused.value.code, refused.value.msg) == (403, "Verification failure")


@pytest.mark.parametrize(
    "signed_host", ["127.0.0.1:8081", "localhost:8080", "api.hbdm.com:80", "evil.example"]
)
def test_a_signature_over_any_other_host_is_refused(signed_host: str) -> None:
    with pytest.raises(AuthError) as refused:
        get(signed_host)
    assert refused.value.code == 403


def test_a_host_header_without_port_accepts_the_alias_signatures() -> None:
    assert get("api.hbdm.com:443", header_host="copytrade.internal") == 7


def test_ed25519_signatures_are_accepted_over_the_same_host_candidates() -> None:
    private = Ed25519PrivateKey.generate()
    public_hex = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    key = ApiKey("ak-ed", 9, "Ed25519", None, public_hex, True)
    auth = [("AccessKeyId", "ak-ed"), ("SignatureMethod", "Ed25519"), *AUTH[2:]]
    canonical = reference_canonical("GET", "127.0.0.1", PATH, [*auth, *BUSINESS])
    signature = base64.b64encode(private.sign(canonical.encode())).decode()
    params = [*auth, *BUSINESS, ("Signature", signature)]

    assert authenticator(key).authenticate("GET", "127.0.0.1:8080", PATH, params).uid == 9
    with pytest.raises(AuthError):
        authenticator(key, strict_host=True).authenticate("GET", "127.0.0.1:8080", PATH, params)


# ----- GET parameters signed or not ---------------------------------------------------------


def test_a_get_signed_over_the_auth_parameters_only_is_refused_by_default() -> None:
    with pytest.raises(AuthError) as refused:
        get("127.0.0.1:8080", signed_pairs=AUTH)
    assert refused.value.code == 403


def test_accept_unsigned_get_params_accepts_a_get_signed_over_the_auth_parameters_only() -> None:
    assert get("127.0.0.1:8080", signed_pairs=AUTH, accept_unsigned_get_params=True) == 7
    assert get("api.hbdm.com", signed_pairs=AUTH, accept_unsigned_get_params=True) == 7


def test_with_the_option_on_fully_signed_gets_still_authenticate() -> None:
    assert get("127.0.0.1:8080", accept_unsigned_get_params=True) == 7


def test_with_the_option_on_the_unsigned_business_parameters_are_not_protected() -> None:
    # documented risk of the option: parameters outside the signature may be changed in transit
    tampered = [*AUTH, ("contract_code", "ETH-USDT"), ("limit", "1")]
    assert (
        get(
            "127.0.0.1:8080",
            signed_pairs=AUTH,
            sent_pairs=tampered,
            accept_unsigned_get_params=True,
        )
        == 7
    )
    with pytest.raises(AuthError):
        get("127.0.0.1:8080", signed_pairs=[*AUTH, *BUSINESS], sent_pairs=tampered)


def test_the_option_never_drops_an_auth_parameter_from_the_signature() -> None:
    with pytest.raises(AuthError):
        get("127.0.0.1:8080", signed_pairs=AUTH[:3], accept_unsigned_get_params=True)


def test_a_post_is_unaffected_by_the_get_option() -> None:
    signature = hmac_sign(reference_canonical("POST", "127.0.0.1", PATH, AUTH))
    params = [*AUTH, ("Signature", signature)]
    assert authenticator().authenticate("POST", "127.0.0.1:8080", PATH, params).uid == 7
    assert signed_param_sets("POST", AUTH, accept_unsigned_get_params=True) == [AUTH]


def test_param_sets_offer_the_auth_subset_only_for_a_get_with_other_parameters() -> None:
    pairs = [*AUTH, *BUSINESS]
    assert signed_param_sets("GET", pairs) == [pairs]
    assert signed_param_sets("GET", pairs, accept_unsigned_get_params=True) == [pairs, AUTH]
    assert signed_param_sets("GET", AUTH, accept_unsigned_get_params=True) == [AUTH]
