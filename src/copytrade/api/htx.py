"""The HTX copy-trading endpoint: authenticate, rate-limit, check permission, dispatch, envelope.

Every path of the family is served here; the ones not built yet answer a clear error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import orjson
from starlette.responses import Response

from copytrade.api.auth import Authenticator, AuthError
from copytrade.api.errors import domain_error_reply
from copytrade.api.routes import ROUTES
from copytrade.api.wire import WireError, parse_body
from copytrade.domain.errors import DomainError
from copytrade.protocol.endpoints import BY_PATH, Endpoint, HttpMethod, Permission
from copytrade.protocol.envelope import error_body, new_tid, success_body
from copytrade.protocol.error_codes import ErrorCode, message
from copytrade.protocol.signing import QueryDecodeError, parse_query
from copytrade.service import queries
from copytrade.service.context import ServiceContext
from copytrade.service.ports import ApiKey, RateDecision, RateLimiter, ServiceBusy

log = logging.getLogger("copytrade.api")

Runner = Callable[..., Awaitable[Any]]
"""Runs a blocking use case for the event loop (``Services.run``)."""

MAX_BODY_BYTES = 64 * 1024
NOT_IMPLEMENTED = "This endpoint is not implemented yet by copytrade."


class ReplayGuard(Protocol):
    """Remembers verified signatures until they leave the timestamp window."""

    async def first_use(self, signature: str, expires_at: float) -> bool:
        """Record ``signature``; return ``False`` if it was used before (a replay)."""
        ...


class ClientGone(Exception):
    """The client disconnected (or was cut off by a deadline) before its body arrived."""


def encode_json(body: dict[str, Any]) -> bytes:
    """Render compact UTF-8 JSON, key order kept (orjson: a tenth of the stdlib's time)."""
    return orjson.dumps(body)


def json_response(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """Render compact JSON (key order kept)."""
    return Response(
        encode_json(body),
        status_code=status,
        headers=headers,
        media_type="application/json",
    )


class HtxApi:
    """Serves the 19 copy-trading paths."""

    def __init__(
        self,
        ctx: ServiceContext,
        auth: Authenticator,
        limiter: RateLimiter,
        run: Runner,
        wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
        replays: ReplayGuard | None = None,
    ) -> None:
        """Wire the service context, authenticator, limiter and use-case runner.

        Wire the service context, authenticator, limiter and the use-case runner;
        ``replays`` (the opt-in ``reject_replays``) refuses a signature used before.
        """
        self.ctx = ctx
        self.auth = auth
        self.limiter = limiter
        # a shared limiter (Redis) is awaited with a deadline; the in-process one is a call
        self._hit_async: Callable[[int, int], Awaitable[RateDecision]] | None = getattr(
            limiter, "hit_async", None
        )
        self.run = run
        self.wall_ms = wall_ms
        self.replays = replays

    async def asgi(self, scope: Any, receive: Any, send: Any) -> None:
        """Serve one request as a raw ASGI app (no router or middleware on the hot path)."""
        host = ""
        for name, value in scope["headers"]:
            if name == b"host":
                host = value.decode("latin-1")
                break

        async def read_body() -> bytes:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            body: bytes = message.get("body", b"")
            if not message.get("more_body", False) and len(body) <= MAX_BODY_BYTES:
                return body  # the usual case: the whole body in one message
            chunks = [body]
            size = len(body)
            while True:
                if size > MAX_BODY_BYTES:  # HTX bodies are a few hundred bytes
                    raise WireError(ErrorCode.INPUT_ERROR)
                if not message.get("more_body", False):
                    return b"".join(chunks)
                message = await receive()
                if message["type"] == "http.disconnect":  # gone (or timed out) mid-body
                    raise ClientGone
                chunk = message.get("body", b"")
                size += len(chunk)
                chunks.append(chunk)

        try:
            status, body, decision = await self.process(
                scope["method"], scope["path"], scope.get("query_string", b""), host, read_body
            )
        except ClientGone:
            return  # nobody to answer, and a partial body is never run as a command
        except Exception:
            log.exception("unexpected error outside a command")
            status, body, decision = 200, error_body(ErrorCode.SYSTEM_ERROR, new_tid()), None
        payload = encode_json(body)
        raw_headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
        ]
        if decision is not None:
            raw_headers += decision.raw_headers()
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": payload})

    async def process(
        self,
        method: str,
        path: str,
        raw_query: bytes,
        host: str,
        read_body: Callable[[], Awaitable[bytes]],
    ) -> tuple[int, dict[str, Any], RateDecision | None]:
        """Run one copy-trading request; return (HTTP status, envelope, rate decision).

        The decision, once the request was counted, gives the ``ratelimit-*`` headers.
        """
        tid = new_tid()
        endpoint = BY_PATH.get(path)
        if endpoint is None:
            return 404, error_body(404, tid), None
        if method != endpoint.method:
            return 405, error_body(405, tid), None
        try:
            params = parse_query(raw_query.decode("latin-1"))
        except (QueryDecodeError, UnicodeDecodeError):
            return 200, error_body(ErrorCode.INPUT_ERROR, tid), None
        values = dict(params)
        access_key = values.get("AccessKeyId")
        if access_key and self.auth.must_load(access_key):  # load it off the event loop
            await self.auth.prefetch(access_key, self._load_key)
        try:
            principal = self.auth.authenticate(method, host, path, params, values)
        except AuthError as exc:
            return 200, error_body(exc.code, tid, exc.msg), None
        if self.replays is not None:  # verified: now refuse a second use of the signature
            try:
                fresh = await self.replays.first_use(
                    values["Signature"], self.auth.accepted_until(values["Timestamp"])
                )
            except ServiceBusy:
                log.warning("replay store unavailable (tid %s)", tid)
                return 200, error_body(ErrorCode.SYSTEM_BUSY, tid), None
            if not fresh:
                return 200, error_body(ErrorCode.SIGNATURE_REPLAYED, tid), None
        try:
            if self._hit_async is None:
                decision = self.limiter.hit(principal.uid, self.wall_ms())
            else:
                decision = await self._hit_async(principal.uid, self.wall_ms())
        except ServiceBusy:
            log.warning("rate limiter unavailable (tid %s)", tid)
            return 200, error_body(ErrorCode.SYSTEM_BUSY, tid), None
        if not decision.allowed:
            return 200, error_body(ErrorCode.RATE_LIMITED, tid), decision
        if endpoint.permission is Permission.TRADE and not principal.can_trade:
            return 200, error_body(ErrorCode.NO_PERMISSION, tid), decision
        if not principal.is_trader and endpoint.method is HttpMethod.POST:
            # a follower is not a lead trader (spec §8.1): it cannot act on this family
            return 200, error_body(ErrorCode.COPY_TRADING_ACTIVE, tid), decision
        try:
            body = await read_body()
            call_params = self._params(endpoint, params, body)
        except WireError as exc:
            return 200, self._wire_error(exc, tid), decision
        route = ROUTES.get(endpoint.name)
        if route is None:
            return 200, error_body(ErrorCode.SYSTEM_ERROR, tid, NOT_IMPLEMENTED), decision
        # parse and render here on the event loop; only the use case runs in the database
        # runner (awaited here, not in a helper coroutine: one frame fewer per request)
        try:
            arguments = route.parse(call_params, self.ctx.clock.now_ms())
            result = await self.run(route.run, self.ctx, principal.uid, *arguments)
            data = route.render(self.ctx, arguments, result)
        except WireError as exc:
            return 200, self._wire_error(exc, tid), decision
        except DomainError as exc:
            code, msg = domain_error_reply(exc)
            return 200, error_body(code, tid, msg), decision
        except ServiceBusy:
            log.warning("database busy after retries (tid %s)", tid)
            return 200, error_body(ErrorCode.SYSTEM_BUSY, tid), decision
        except Exception:
            log.exception("unexpected error (tid %s)", tid)
            return 200, error_body(ErrorCode.SYSTEM_ERROR, tid), decision
        return 200, success_body(data, tid), decision

    async def _load_key(self, access_key: str) -> ApiKey | None:
        return await self.run(queries.api_key, self.ctx, access_key)  # type: ignore[no-any-return]

    def _params(
        self, endpoint: Endpoint, params: list[tuple[str, str]], body: bytes
    ) -> dict[str, Any]:
        if endpoint.method is HttpMethod.GET:
            if body.strip():
                raise WireError(ErrorCode.INPUT_ERROR)
            return {k: v for k, v in params if k not in _AUTH_NAMES}
        return parse_body(body)

    @staticmethod
    def _wire_error(exc: WireError, tid: str) -> dict[str, Any]:
        with_arg = exc.code in (ErrorCode.EMPTY_PARAM, ErrorCode.ILLEGAL_PARAM) and exc.arg
        return error_body(exc.code, tid, message(exc.code, exc.arg) if with_arg else None)


_AUTH_NAMES = frozenset(
    {"AccessKeyId", "SignatureMethod", "SignatureVersion", "Timestamp", "Signature"}
)
