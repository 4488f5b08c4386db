"""Signature v2 verification of incoming requests (spec §3.6).

Order of checks: parameters present, version, method, timestamp window, key, signature. The
signed host is the request's ``Host`` header or one of the configured aliases (``api.hbdm.com``
…), with and without a port, so that every HTX client is accepted
(:mod:`copytrade.api.signed_hosts`).
"""

from __future__ import annotations

import hmac
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from copytrade.api.signed_hosts import host_candidates, signed_param_sets
from copytrade.protocol.error_codes import INCORRECT_ACCESS_KEY, ErrorCode, message
from copytrade.protocol.memo import BoundedMemo
from copytrade.protocol.signing import (
    SignatureMethod,
    canonical_query,
    hmac_key,
    load_ed25519_public_key,
    verify_ed25519,
    verify_keyed_hmac,
)
from copytrade.protocol.strict import is_access_key
from copytrade.service.ports import ApiKey

KEY_CACHE_SECONDS = 60.0
MISS_CACHE_SECONDS = 1.0
KEY_CACHE_BYTES = 16 << 20
"""Budget of the key cache (about 16,000 keys): it is keyed by what clients send."""
MISS_CACHE_BYTES = 1 << 20
"""Budget of unknown keys remembered: kept apart, so a flood of them never evicts real keys."""
KEY_ENTRY_BYTES = 1024
"""Bytes counted per cached key besides its access key text (key record, parsed public key)."""


class AuthError(Exception):
    """Authentication refused: an HTX code and message."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(code, msg)
        self.code = code
        self.msg = msg


class Principal(NamedTuple):
    """Who signed a request (a named tuple: one is built per request, cheaply)."""

    uid: int
    access_key: str
    can_trade: bool
    is_trader: bool = True


@dataclass(frozen=True, slots=True)
class _CachedKey:
    key: ApiKey | None
    public_key: Ed25519PublicKey | None
    expires: float
    keyed: hmac.HMAC | None = None  # an HmacSHA256 key's secret, keyed once (hmac_key)


_METHODS = {m.value: m for m in SignatureMethod}


def _epoch_seconds(value: str) -> float | None:
    """Return HTX's ``YYYY-MM-DDThh:mm:ss`` (UTC) as epoch seconds; ``None`` when malformed."""
    if len(value) != 19 or value[10] != "T":
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        return None
    return moment.replace(tzinfo=UTC).timestamp()


class Authenticator:
    """Verify HTX v2 signatures with keys looked up through ``load_key`` (cached briefly)."""

    def __init__(
        self,
        load_key: Callable[[str], ApiKey | None],
        *,
        window_seconds: int = 300,
        host_aliases: tuple[str, ...] = (),
        wall_clock: Callable[[], float] = time.time,
        strict_host: bool = False,
        accept_unsigned_get_params: bool = False,
    ) -> None:
        """Create an authenticator; the timestamp window uses the real wall clock.

        ``strict_host`` and ``accept_unsigned_get_params``: see :mod:`copytrade.api.signed_hosts`.
        """
        self._load_key = load_key
        self._window = window_seconds
        self._aliases = tuple(a.lower() for a in host_aliases)
        self._strict_host = strict_host
        self._unsigned_get_params = accept_unsigned_get_params
        self.host_aliases = self._aliases
        self._strict_host = strict_host
        self._unsigned_get_params = accept_unsigned_get_params
        self._wall = wall_clock
        self._cache: BoundedMemo[str, _CachedKey] = BoundedMemo(
            KEY_CACHE_BYTES, 4 * KEY_ENTRY_BYTES
        )
        self._misses: BoundedMemo[str, _CachedKey] = BoundedMemo(
            MISS_CACHE_BYTES, 4 * KEY_ENTRY_BYTES
        )
        # timestamp text -> epoch seconds: one entry per second in use, stays small
        self._moments: BoundedMemo[str, float] = BoundedMemo(64 << 10, 256)
        # Host header -> the hosts its signature may cover: a client sends the same header on
        # every request, and deriving the candidates cost ~10 % of a signed request's CPU
        self._hosts: BoundedMemo[str, tuple[str, ...]] = BoundedMemo(64 << 10, 4096)

    def forget_keys(self) -> None:
        """Drop every cached key (after a reset)."""
        self._cache.clear()
        self._misses.clear()

    def cache_bytes(self) -> int:
        """Return the bytes the caches keyed by client input hold (keys, misses, timestamps)."""
        return self._cache.bytes + self._misses.bytes + self._moments.bytes + self._hosts.bytes

    def _remember(self, access_key: str, key: ApiKey | None, now: float) -> _CachedKey:
        public = keyed = None
        if key is not None and key.public_key_hex:
            public = load_ed25519_public_key(key.public_key_hex)
        elif key is not None and key.secret is not None:
            keyed = hmac_key(key.secret)
        expires = now + (KEY_CACHE_SECONDS if key else MISS_CACHE_SECONDS)
        cached = _CachedKey(key, public, expires, keyed)
        size = sys.getsizeof(access_key) + KEY_ENTRY_BYTES
        if key is not None:
            self._misses.forget(access_key, size)
            self._cache.remember(access_key, cached, size)
        else:
            self._cache.forget(access_key, size)
            self._misses.remember(access_key, cached, size)
        return cached

    def _key(self, access_key: str) -> _CachedKey | None:
        now = self._wall()
        cached = self._cache.get(access_key) or self._misses.get(access_key)
        if cached is None or cached.expires <= now:
            if not is_access_key(access_key):  # never cached or sent to a database driver
                return None
            cached = self._remember(access_key, self._load_key(access_key), now)
        return cached if cached.key is not None else None

    def cached_uid(self, access_key: str) -> int | None:
        """Return the uid of a key in the cache (no I/O): for logs; ``None`` when not known."""
        cached = self._cache.get(access_key)
        return cached.key.uid if cached is not None and cached.key is not None else None

    def must_load(self, access_key: str | None) -> bool:
        """Return whether ``access_key`` is missing from (or stale in) the key cache."""
        if not access_key:
            return False
        cached = self._cache.get(access_key) or self._misses.get(access_key)
        if cached is not None and cached.expires > self._wall():
            return False
        return is_access_key(access_key)  # only a possible key is worth a lookup

    async def prefetch(
        self, access_key: str, load: Callable[[str], Awaitable[ApiKey | None]]
    ) -> None:
        """Load a key into the cache off the event loop.

        Load a key into the cache off the event loop (when :meth:`must_load` says so), so
        :meth:`authenticate` never blocks on I/O.
        """
        self._remember(access_key, await load(access_key), self._wall())

    def _check_timestamp(self, value: str | None) -> None:
        if value is None or value == "":
            raise AuthError(ErrorCode.TIMESTAMP_EMPTY, message(12006))
        seconds = self._moments.get(value)
        if seconds is None:
            seconds = _epoch_seconds(value)
            if seconds is None:
                raise AuthError(ErrorCode.TIMESTAMP_INVALID, message(12001))
            self._moments.remember(value, seconds)
        if abs(seconds - self._wall()) > self._window:
            raise AuthError(ErrorCode.TIMESTAMP_INVALID, message(12001))

    def accepted_until(self, timestamp: str) -> float:
        """Return when a signature stamped ``timestamp`` leaves the window (epoch seconds).

        Call after :meth:`authenticate` accepted the request (the timestamp is then valid).
        """
        seconds = self._moments.get(timestamp)
        if seconds is None:
            seconds = _epoch_seconds(timestamp) or self._wall()
        return seconds + self._window

    def authenticate(
        self,
        method: str,
        host: str,
        path: str,
        params: list[tuple[str, str]],
        values: dict[str, str] | None = None,
        *,
        lenient: bool = False,
    ) -> Principal:
        """Return the principal of a signed request or raise :class:`AuthError`.

        ``values`` is ``dict(params)`` when the caller has already built it. ``lenient`` also
        accepts a GET signed over its four auth parameters only, whatever the server-wide
        setting (the v5/v6 families do, spec ``htx-v5-v6.md`` §3.5).
        """
        if values is None:
            values = dict(params)
        access_key = values.get("AccessKeyId")
        signature = values.get("Signature")
        if not access_key:
            raise AuthError(ErrorCode.VERIFICATION, INCORRECT_ACCESS_KEY)
        if not signature:
            raise AuthError(ErrorCode.VERIFICATION, message(403))
        version = values.get("SignatureVersion")
        if version != "2":
            raise AuthError(ErrorCode.SIGNATURE_VERSION, message(12002))
        method_kind = _METHODS.get(values.get("SignatureMethod", ""))
        if method_kind is None:
            raise AuthError(ErrorCode.SIGNATURE_METHOD, message(12003))
        self._check_timestamp(values.get("Timestamp"))
        cached = self._key(access_key)
        if cached is None or cached.key is None:
            raise AuthError(ErrorCode.VERIFICATION, INCORRECT_ACCESS_KEY)
        key = cached.key
        if key.method != method_kind.value:
            raise AuthError(ErrorCode.VERIFICATION, message(403))
        signed = [(k, v) for k, v in params if k != "Signature"]
        hosts = self._hosts.get(host)
        if hosts is None:
            hosts = host_candidates(host, self._aliases, strict=self._strict_host)
            self._hosts.remember(host, hosts)
        verb = method.upper()
        for pairs in signed_param_sets(
            verb, signed, accept_unsigned_get_params=self._unsigned_get_params or lenient
        ):
            query = canonical_query(pairs)
            for candidate in hosts:
                if self._verify(cached, f"{verb}\n{candidate}\n{path}\n{query}", signature):
                    return Principal(key.uid, access_key, key.can_trade, key.role != "follower")
        raise AuthError(ErrorCode.VERIFICATION, message(403))

    @staticmethod
    def _verify(cached: _CachedKey, canonical: str, signature: str) -> bool:
        if cached.public_key is not None:
            return verify_ed25519(cached.public_key, canonical, signature)
        return cached.keyed is not None and verify_keyed_hmac(cached.keyed, canonical, signature)
