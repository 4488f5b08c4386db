"""Sans-I/O core shared by the sync and async clients.

:func:`exchange` is a generator that says what to do (``_Send`` a request, ``_Sleep``) and is
told what happened; the clients only drive it with their own I/O. Signing, the rate-limit
wait, the GET retry after 1032 and the reply decoding therefore exist once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import httpx

from copytrade import __version__
from copytrade.client.builders import DataRejection, PreparedRequest
from copytrade.client.errors import (
    ExchangeError,
    InvalidResponse,
    RateLimitExceeded,
    TransportError,
    error_class_for,
)
from copytrade.client.models import ApiResponse, RateLimit, WireFormatError
from copytrade.client.ratelimit import TokenBucket
from copytrade.protocol.endpoints import Endpoint as EndpointRow
from copytrade.protocol.envelope import ParsedEnvelope, parse_envelope
from copytrade.protocol.profiles import PROFILES
from copytrade.protocol.signing import Signer, encode_query, format_timestamp

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.hbdm.com"
HTX_HOSTS = frozenset({"api.hbdm.com", "api.hbdm.vn", "api.btcgateway.pro"})
"""HTX's own API hosts (``api.hbdm.vn`` and ``api.btcgateway.pro`` serve the same API)."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_DEFAULT_WAIT_MS = 1000
_ENVELOPES: dict[EndpointRow, Callable[[Any, int], ParsedEnvelope]] = {
    e: p.envelope.parse for p in PROFILES for e in p.endpoints
}
"""Each endpoint's family envelope reader (v6 succeeds with the string code ``"0"``)."""


@dataclass(frozen=True, slots=True)
class Send:
    """Action: send this request and resume with the response."""

    request: httpx.Request


@dataclass(frozen=True, slots=True)
class Sleep:
    """Action: wait this many milliseconds, then resume with ``None``."""

    ms: int


Action = Send | Sleep
Flow = Generator[Action, "httpx.Response | None", ApiResponse[T]]


def utc_now() -> datetime:
    """Return the current aware UTC time (the default clock)."""
    return datetime.now(UTC)


def epoch_ms(moment: datetime) -> int:
    """Return integer epoch milliseconds of an aware datetime."""
    return (moment - _EPOCH) // _MS


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and how to reach the server: origin, path prefix, signed host."""

    origin: str
    prefix: str
    host_header: str
    signed_host: str

    @classmethod
    def from_base_url(cls, base_url: str, sign_host: str | None = None) -> Endpoint:
        """Validate ``base_url`` (http or https, any port) and derive the signed host.

        The signed host is what httpx sends as ``Host``: lower-case, with ``:port`` only
        when the port is not the scheme's default (spec §3.2).
        """
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"base_url must be an http(s) URL with a host, got {base_url!r}")
        if url.query or url.fragment:
            raise ValueError("base_url must not carry a query or fragment")
        netloc = url.netloc.decode("ascii")
        return cls(
            origin=f"{url.scheme}://{netloc}",
            prefix=url.path.rstrip("/"),
            host_header=netloc,
            signed_host=(sign_host or netloc).lower(),
        )


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything :func:`exchange` needs besides the request."""

    endpoint: Endpoint
    signer: Signer
    clock: Callable[[], datetime]
    limiter: TokenBucket | None
    retry_rate_limited_gets: int


def build_http_request(
    prepared: PreparedRequest[Any], endpoint: Endpoint, signer: Signer, timestamp: str
) -> httpx.Request:
    """Build the signed ``httpx.Request`` for ``prepared`` (pure)."""
    path = endpoint.prefix + prepared.path
    pairs = signer.signed_params(
        prepared.method, endpoint.signed_host, path, dict(prepared.params), timestamp=timestamp
    )
    headers = {"Accept": "application/json", "User-Agent": f"copytrade-sdk/{__version__}"}
    content = prepared.content()
    if content is not None:
        headers["Content-Type"] = "application/json"
    url = f"{endpoint.origin}{path}?{encode_query(pairs)}"
    return httpx.Request(prepared.method, url, headers=headers, content=content)


def transport_failure(exc: httpx.HTTPError, request: httpx.Request) -> TransportError:
    """Return the :class:`TransportError` for a failed exchange.

    Return the :class:`TransportError` for a failed exchange: the URL (never its signed
    query) and, when nothing answered, a hint: for live HTX, the network or a copytrade
    server's URL instead; for any other URL, that the server runs there.
    """
    url = request.url
    origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
    detail = str(exc).strip()
    text = f"{type(exc).__name__} on {request.method} {origin}{url.path}"
    if detail:
        text += f" ({detail})"
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        if url.scheme == "https" and url.host in HTX_HOSTS:
            text += (
                f": cannot reach HTX at {origin}; check the network, or set the base URL "
                "(COPYTRADE_BASE_URL) to a copytrade server, e.g. http://127.0.0.1:8080"
            )
        else:
            text += f": is a server running at {origin}? Check the base URL and that it runs"
    return TransportError(text)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name} in reply")


def decode_reply(prepared: PreparedRequest[T], response: httpx.Response) -> ApiResponse[T]:
    """Turn an HTTP reply into an ``ApiResponse`` or raise the mapped ``ExchangeError``."""
    status = response.status_code
    rate_limit = RateLimit.from_headers(response.headers)
    text = response.content.decode("utf-8", errors="replace")

    def fail(
        cls: type[ExchangeError], code: int | None, msg: str | None, tid: str | None = None
    ) -> ExchangeError:
        return cls(code, msg, tid=tid, http_status=status, body=text, rate_limit=rate_limit)

    try:
        body = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except ValueError as exc:
        cls = error_class_for(None, status) if status >= 400 else InvalidResponse
        raise fail(cls, None, "reply is not JSON") from exc
    env = _ENVELOPES.get(prepared.endpoint, parse_envelope)(body, status)
    if not env.ok:
        raise fail(error_class_for(env.code, status), env.code, env.msg, env.tid)
    try:
        data = prepared.parse(body if prepared.whole_body else env.data)
    except DataRejection as rej:
        raise fail(error_class_for(rej.code, status), rej.code, rej.msg, env.tid) from None
    except (WireFormatError, ValueError, TypeError) as exc:
        raise fail(InvalidResponse, env.code, f"unexpected data: {exc}", env.tid) from exc
    return ApiResponse(data, env.tid, rate_limit, status, env.data)


def retry_wait_ms(rate_limit: RateLimit | None, now_ms: int) -> int:
    """Return how long to wait after a 1032 before the window resets."""
    interval = _DEFAULT_WAIT_MS
    if rate_limit is not None and rate_limit.interval:
        interval = rate_limit.interval
    if rate_limit is None or rate_limit.reset is None:
        return interval
    return max(0, min(rate_limit.reset - now_ms, interval))


def exchange(prepared: PreparedRequest[T], settings: Settings) -> Flow[T]:
    """Drive one API call: throttle, sign, send, decode, and retry a rate-limited GET.

    POSTs are never retried (a retry could place a second order). GETs are retried after a
    1032 at most ``retry_rate_limited_gets`` times, once the window has reset.
    """
    retries_left = 0 if prepared.is_post else max(0, settings.retry_rate_limited_gets)
    while True:
        response = yield from _send_paced(prepared, settings)
        try:
            return decode_reply(prepared, response)
        except RateLimitExceeded as exc:
            if settings.limiter is not None:
                settings.limiter.record_refusal()
            if retries_left <= 0:
                raise
            retries_left -= 1
            yield Sleep(retry_wait_ms(exc.rate_limit, epoch_ms(settings.clock())))


def _signed(prepared: PreparedRequest[Any], settings: Settings) -> httpx.Request:
    timestamp = format_timestamp(settings.clock())
    return build_http_request(prepared, settings.endpoint, settings.signer, timestamp)


def _send_paced(
    prepared: PreparedRequest[Any], settings: Settings
) -> Generator[Action, httpx.Response | None, httpx.Response]:
    """Wait for the limiter's go, sign and send; tell the limiter how the request went."""
    limiter = settings.limiter
    if limiter is None:
        response = yield Send(_signed(prepared, settings))
        assert response is not None
        return response
    ticket, wait = limiter.acquire()
    while True:
        if wait > 0:
            yield Sleep(wait)
        wait = limiter.admit(ticket)
        if wait == 0:
            break
    response = None
    try:
        response = yield Send(_signed(prepared, settings))
        assert response is not None
    finally:
        # no reply (transport failure, cancelled task): the limiter charges the current window
        limiter.release(
            ticket, None if response is None else RateLimit.from_headers(response.headers)
        )
    return response
