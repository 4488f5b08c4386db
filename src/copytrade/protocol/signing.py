"""HTX signature version 2: canonical string, HmacSHA256 and Ed25519 (spec §3).

Pure functions shared by the server (verification) and the SDK (signing). The key type is
always explicit (:class:`SignatureMethod`), never found by trial.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hmac
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from urllib.parse import quote, unquote_to_bytes

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from copytrade.protocol.memo import BoundedMemo

SIGNATURE_VERSION = "2"
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S"
AUTH_PARAMS = ("AccessKeyId", "SignatureMethod", "SignatureVersion", "Timestamp")


class SignatureMethod(enum.Enum):
    """The two signature methods of version 2 (exact spelling, compared case-sensitively)."""

    HMAC_SHA256 = "HmacSHA256"
    ED25519 = "Ed25519"


class QueryDecodeError(ValueError):
    """A query string carried a malformed percent-escape."""


_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")

# Names, access keys, methods and the timestamp of the current second recur in request after
# request; their encodings and decodings are remembered. The memos are keyed by client input,
# so each is bounded in bytes: an entry over MEMO_ITEM_BYTES (a long value, which does not
# recur) is never kept, and a memo about to pass MEMO_BYTES is emptied first.
MEMO_BYTES = 1 << 20
MEMO_ITEM_BYTES = 1024
_encoded: BoundedMemo[str, str] = BoundedMemo(MEMO_BYTES, MEMO_ITEM_BYTES, 4096)
_decoded: BoundedMemo[str, str] = BoundedMemo(MEMO_BYTES, MEMO_ITEM_BYTES, 4096)
_pairs: BoundedMemo[tuple[str, str], str] = BoundedMemo(MEMO_BYTES, MEMO_ITEM_BYTES, 4096)
_SHORT = 256  # characters: longer texts are never remembered (checked before measuring)


def memo_bytes() -> int:
    """Return the bytes the signing memos hold together (at most ``3 * MEMO_BYTES``)."""
    return _encoded.bytes + _decoded.bytes + _pairs.bytes


def percent_encode(value: str) -> str:
    """Percent-encode per RFC 3986: unreserved kept, upper-case hex, space as ``%20``."""
    if _UNRESERVED.fullmatch(value):
        return value  # most names and values: nothing to escape
    encoded = _encoded.get(value)
    if encoded is None:
        encoded = quote(value, safe="")
        if len(value) <= _SHORT:
            _encoded.remember(value, encoded)
    return encoded


def _encode_pair(pair: tuple[str, str]) -> str:
    encoded = percent_encode(pair[0]) + "=" + percent_encode(pair[1])
    if len(encoded) <= _SHORT:
        _pairs.remember(pair, encoded)
    return encoded


def canonical_query(params: Iterable[tuple[str, str]]) -> str:
    """Return the sorted, encoded ``name=value`` pairs joined by ``&``.

    Sorting is one global sort by name in byte order (then by value for duplicates),
    with the auth parameters included. ``Signature`` must not be among ``params``.
    Python orders strings by code point, and UTF-8 keeps code point order, so sorting the
    strings is sorting their UTF-8 bytes without encoding them. The auth pairs recur (a key
    signs many requests, a timestamp serves a second), so encoded pairs are remembered.
    """
    memo = _pairs
    return "&".join([memo.get(pair) or _encode_pair(pair) for pair in sorted(params)])


def canonical_string(method: str, host: str, path: str, params: Iterable[tuple[str, str]]) -> str:
    r"""Build ``METHOD\nhost\npath\nquery`` with the host lower-cased and no trailing newline."""
    return "\n".join((method.upper(), host.lower(), path, canonical_query(params)))


def sign_hmac(secret_key: str, canonical: str) -> str:
    """Return base64(HMAC-SHA256(secret, canonical)) with the standard padded alphabet."""
    digest = hmac.digest(secret_key.encode(), canonical.encode(), "sha256")
    return base64.b64encode(digest).decode()


def verify_hmac(secret_key: str, canonical: str, signature: str) -> bool:
    """Compare the expected HMAC signature with ``signature`` in constant time."""
    return hmac.compare_digest(sign_hmac(secret_key, canonical).encode(), signature.encode())


def hmac_key(secret_key: str) -> hmac.HMAC:
    """Return HMAC-SHA256 keyed with ``secret_key``, for :func:`verify_keyed_hmac`.

    Keying (hashing the padded key into the inner and outer states) is done once per key
    instead of once per request: a verification then costs about two thirds of
    :func:`verify_hmac`'s.
    """
    return hmac.new(secret_key.encode(), digestmod="sha256")


def verify_keyed_hmac(keyed: hmac.HMAC, canonical: str, signature: str) -> bool:
    """Do :func:`verify_hmac` with a key prepared by :func:`hmac_key` (same answer)."""
    mac = keyed.copy()
    mac.update(canonical.encode())
    return hmac.compare_digest(base64.b64encode(mac.digest()), signature.encode())


def sign_ed25519(private_key: Ed25519PrivateKey, canonical: str) -> str:
    """Return base64 of the 64-byte Ed25519 signature of ``canonical``."""
    return base64.b64encode(private_key.sign(canonical.encode())).decode()


def verify_ed25519(public_key: Ed25519PublicKey, canonical: str, signature: str) -> bool:
    """Verify a base64 Ed25519 signature; any malformed input is a failed verification."""
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(raw) != 64:
        return False
    try:
        public_key.verify(raw, canonical.encode())
    except InvalidSignature:
        return False
    return True


def load_ed25519_public_key(hex_key: str) -> Ed25519PublicKey:
    """Load a raw 32-byte public key given as 64 hex characters."""
    raw = bytes.fromhex(hex_key)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def format_timestamp(moment: datetime) -> str:
    """Format an aware datetime as HTX's ``YYYY-MM-DDThh:mm:ss`` in UTC."""
    return moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


# "%2B" -> "+": every escape of an ASCII character (first hex digit 0-7), in any letter case
_ASCII_ESCAPES = {
    f"{hi}{lo}": chr(int(f"{hi}{lo}", 16)) for hi in "01234567" for lo in "0123456789abcdefABCDEF"
}


def _unquote_ascii(text: str) -> str | None:
    """Decode ``text`` whose escapes are all of ASCII characters; ``None`` if one is not.

    What :func:`_unquote_strict` returns for such a text, without its bytes round trip
    (``unquote_to_bytes`` is pure Python): a base64 signature's ``%2B``, ``%2F`` and ``%3D``,
    a timestamp's ``%3A``. Unescaped characters are kept as they are (UTF-8 encoding and
    decoding them again gives them back).
    """
    parts = text.split("%")
    out = [parts[0]]
    escapes = _ASCII_ESCAPES
    for part in parts[1:]:
        char = escapes.get(part[:2])
        if char is None:  # a byte of a multi-byte character, or a malformed escape
            return None
        out.append(char)
        out.append(part[2:])
    return "".join(out)


def _unquote_strict(text: str, remember: bool = True) -> str:
    """Percent-decode one query component per RFC 3986 ('+' stays '+'); reject bad escapes.

    ``remember``: keep the answer for the next request (a signature never recurs: neither
    looked up nor kept).
    """
    if "%" not in text:
        return text
    if remember:
        decoded = _decoded.get(text)
        if decoded is not None:
            return decoded
    decoded = _unquote_ascii(text)
    if decoded is None:
        if _BAD_ESCAPE.search(text):
            raise QueryDecodeError(text)
        try:
            decoded = unquote_to_bytes(text).decode()
        except UnicodeDecodeError as exc:
            raise QueryDecodeError(text) from exc
    if remember and len(text) <= _SHORT:
        _decoded.remember(text, decoded)
    return decoded


def parse_query(raw_query: str) -> list[tuple[str, str]]:
    """Split a raw query string into decoded ``(name, value)`` pairs, keeping empty values."""
    pairs: list[tuple[str, str]] = []
    if not raw_query:
        return pairs
    for piece in raw_query.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        if "%" in name:
            name = _unquote_strict(name)
        if "%" in value:  # a signature never recurs: not worth remembering
            value = _unquote_strict(value, name != "Signature")
        pairs.append((name, value))
    return pairs


class Signer:
    """Sign requests for one API key (HmacSHA256 secret or Ed25519 private key)."""

    __slots__ = ("_ed_key", "_secret", "access_key", "method")

    def __init__(
        self,
        access_key: str,
        *,
        secret_key: str | None = None,
        private_key: Ed25519PrivateKey | None = None,
    ) -> None:
        """Create a signer; give exactly one of ``secret_key`` or ``private_key``."""
        if (secret_key is None) == (private_key is None):
            raise ValueError("give exactly one of secret_key (HmacSHA256) or private_key (Ed25519)")
        self.access_key = access_key
        self._secret = secret_key
        self._ed_key = private_key
        self.method = (
            SignatureMethod.HMAC_SHA256 if secret_key is not None else SignatureMethod.ED25519
        )

    def __repr__(self) -> str:
        """Show the key id and method, never the secret."""
        return f"Signer(access_key={self.access_key!r}, method={self.method.value})"

    def sign(self, canonical: str) -> str:
        """Return the base64 signature of a canonical string."""
        if self._secret is not None:
            return sign_hmac(self._secret, canonical)
        assert self._ed_key is not None
        return sign_ed25519(self._ed_key, canonical)

    def signed_params(
        self,
        method: str,
        host: str,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        timestamp: str,
    ) -> list[tuple[str, str]]:
        """Return the query pairs to send: ``params``, the auth parameters and ``Signature``.

        ``params`` are the GET business parameters (empty for POST, whose body is not signed).
        """
        pairs = [
            ("AccessKeyId", self.access_key),
            ("SignatureMethod", self.method.value),
            ("SignatureVersion", SIGNATURE_VERSION),
            ("Timestamp", timestamp),
        ]
        if params:
            pairs.extend((k, v) for k, v in params.items())
        signature = self.sign(canonical_string(method, host, path, pairs))
        pairs.append(("Signature", signature))
        return pairs


def encode_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Encode query pairs for the URL with the same RFC 3986 rules as the canonical string."""
    return "&".join(percent_encode(k) + "=" + percent_encode(v) for k, v in pairs)
