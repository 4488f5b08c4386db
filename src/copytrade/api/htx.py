"""The HTX copy-trading endpoint: authenticate, rate-limit, check permission, dispatch, envelope.

Every path of the family is served here; the ones not built yet answer a clear error.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from copytrade.api.auth import Authenticator, AuthError
from copytrade.api.errors import domain_error_reply
from copytrade.api.routes import ROUTES, Call
from copytrade.api.wire import WireError, parse_body
from copytrade.domain.errors import DomainError
from copytrade.protocol.endpoints import BY_PATH, Endpoint, HttpMethod, Permission
from copytrade.protocol.envelope import error_body, new_tid, success_body
from copytrade.protocol.error_codes import ErrorCode, message
from copytrade.protocol.signing import QueryDecodeError, parse_query
from copytrade.service.context import ServiceContext
from copytrade.service.ports import ApiKey, RateLimiter, ServiceBusy

log = logging.getLogger("copytrade.api")

NOT_IMPLEMENTED = "This endpoint is not implemented yet by copytrade."


def json_response(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """Render compact JSON (key order kept)."""
    return Response(
        json.dumps(body, separators=(",", ":"), ensure_ascii=False),
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
        executor: Executor,
        wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        """Wire the service context, authenticator, limiter and database executor."""
        self.ctx = ctx
        self.auth = auth
        self.limiter = limiter
        self.executor = executor
        self.wall_ms = wall_ms

    async def handle(self, request: Request) -> Response:
        """Handle one request to a copy-trading path."""
        tid = new_tid()
        endpoint = BY_PATH.get(request.url.path)
        if endpoint is None:
            return json_response(error_body(404, tid), 404)
        if request.method != endpoint.method.value:
            return json_response(error_body(405, tid), 405)
        try:
            params = parse_query(request.scope.get("query_string", b"").decode("latin-1"))
        except (QueryDecodeError, UnicodeDecodeError):
            return json_response(error_body(ErrorCode.INPUT_ERROR, tid))
        host = request.headers.get("host", "")
        await self.auth.prefetch(params, self._load_key)
        try:
            principal = self.auth.authenticate(request.method, host, request.url.path, params)
        except AuthError as exc:
            return json_response(error_body(exc.code, tid, exc.msg))
        try:
            decision = self.limiter.hit(principal.uid, self.wall_ms())
        except ServiceBusy:
            log.warning("rate limiter unavailable (tid %s)", tid)
            return json_response(error_body(ErrorCode.SYSTEM_BUSY, tid))
        headers = decision.headers()
        if not decision.allowed:
            return json_response(error_body(ErrorCode.RATE_LIMITED, tid), headers=headers)
        if endpoint.permission is Permission.TRADE and not principal.can_trade:
            return json_response(error_body(ErrorCode.NO_PERMISSION, tid), headers=headers)
        body = await request.body()
        try:
            call_params = await self._params(endpoint, params, body)
        except WireError as exc:
            return json_response(self._wire_error(exc, tid), headers=headers)
        route = ROUTES.get(endpoint.name)
        if route is None:
            return json_response(
                error_body(ErrorCode.SYSTEM_ERROR, tid, NOT_IMPLEMENTED), headers=headers
            )
        call = Call(principal.uid, call_params, self.ctx.clock.now_ms())
        reply = await self._run(route, call, tid)
        return json_response(reply, headers=headers)

    async def _load_key(self, access_key: str) -> ApiKey | None:
        def load() -> ApiKey | None:
            with self.ctx.uow() as uow:
                return uow.key(access_key)

        return await asyncio.get_running_loop().run_in_executor(self.executor, load)

    async def _params(
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

    async def _run(self, route: Any, call: Call, tid: str) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        try:
            data = await loop.run_in_executor(self.executor, route, self.ctx, call)
        except WireError as exc:
            return self._wire_error(exc, tid)
        except DomainError as exc:
            code, msg = domain_error_reply(exc)
            return error_body(code, tid, msg)
        except ServiceBusy:
            log.warning("database busy after retries (tid %s)", tid)
            return error_body(ErrorCode.SYSTEM_BUSY, tid)
        except Exception:
            log.exception("unexpected error (tid %s)", tid)
            return error_body(ErrorCode.SYSTEM_ERROR, tid)
        return success_body(data, tid)


_AUTH_NAMES = frozenset(
    {"AccessKeyId", "SignatureMethod", "SignatureVersion", "Timestamp", "Signature"}
)
