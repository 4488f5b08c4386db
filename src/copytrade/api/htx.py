"""One dispatcher for every HTX family: authenticate, rate-limit, check permission, run, envelope.

Each path belongs to one profile (:mod:`copytrade.protocol.profiles`), which decides the
envelope, the error codes and HTTP statuses, whether the path is signed and which request budget
it draws from. Endpoints not built yet answer a clear error in their family's envelope.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from time import perf_counter
from typing import Any, NamedTuple, Protocol

import orjson
from starlette.responses import Response

from copytrade.api.auth import Authenticator, AuthError, Principal
from copytrade.api.errors import domain_error_reply
from copytrade.api.routes import Route
from copytrade.api.served import SERVED
from copytrade.api.wire import WireError, parse_body
from copytrade.domain.errors import DomainError
from copytrade.protocol.endpoints import Endpoint, HttpMethod, Permission
from copytrade.protocol.envelope import error_body, new_tid
from copytrade.protocol.error_codes import ErrorCode, message
from copytrade.protocol.profiles import PROFILES, Profile
from copytrade.protocol.signing import QueryDecodeError, parse_query
from copytrade.service import queries
from copytrade.service.context import ServiceContext
from copytrade.service.ports import ApiKey, RateDecision, RateLimiter, ServiceBusy

log = logging.getLogger("copytrade.api")

Runner = Callable[..., Awaitable[Any]]
"""Runs a blocking use case for the event loop (``Services.run``)."""

MAX_BODY_BYTES = 64 * 1024
NOT_IMPLEMENTED = "This endpoint is not implemented yet by copytrade."


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


class ReplayGuard(Protocol):
    """Remembers verified signatures until they leave the timestamp window."""

    async def first_use(self, signature: str, expires_at: float) -> bool:
        """Record ``signature``; return ``False`` if it was used before (a replay)."""
        ...


class ClientGone(Exception):
    """The client disconnected (or was cut off by a deadline) before its body arrived."""


Reply = tuple[int, dict[str, Any], RateDecision | None]
"""HTTP status, envelope, and the rate decision once the request was counted."""


class Refused(Exception):
    """A stage of :meth:`HtxApi.asgi` refused the request; ``reply`` is the answer."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply[0])
        self.reply = reply


async def read_rest(
    receive: Callable[[], Awaitable[dict[str, Any]]], message: dict[str, Any], body: bytes
) -> bytes:
    """Return the rest of a body its first ASGI message (``message``, ``body``) did not end.

    Refuses a body over ``MAX_BODY_BYTES``.

    (The usual body, one message of a few hundred bytes, is taken by :meth:`HtxApi.asgi`
    itself.)

    Raises:
        ClientGone: the client disconnected (or timed out) before the body was complete.
        WireError: the body is larger than any HTX request (1030).
    """
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


class Served(NamedTuple):
    """What serves one (path, method): the family, the endpoint row and the family's routes.

    The route is looked up per request in ``routes`` (the family's table itself), so a route
    replaced in that table takes effect at once.
    """

    profile: Profile
    endpoint: Endpoint
    routes: Mapping[str, Route]


def serve_table(routes: Mapping[str, Mapping[str, Route]]) -> dict[str, dict[str, Served]]:
    """Return path -> method -> :class:`Served` for every endpoint of every profile.

    ``routes`` gives each profile's implemented routes by endpoint name; endpoints without a
    route answer "not implemented" in their family's envelope.
    """
    table: dict[str, dict[str, Served]] = {}
    for profile in PROFILES:
        built = routes.get(profile.name, {})
        for e in profile.endpoints:
            table.setdefault(e.path, {})[e.method] = Served(profile, e, built)
        for alias, path in profile.aliases.items():
            table[alias] = table[path]
    return table


class HtxApi:
    """Serves every HTX family (profile) from one endpoint table."""

    def __init__(
        self,
        ctx: ServiceContext,
        auth: Authenticator,
        limiter: RateLimiter,
        run: Runner,
        wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
        *,
        limiters: Mapping[str, RateLimiter] | None = None,
        routes: Mapping[str, Mapping[str, Route]] | None = None,
        replays: ReplayGuard | None = None,
    ) -> None:
        """Wire the service context, authenticator, limiters and the use-case runner.

        ``limiter`` is the v1 family's budget; ``limiters`` adds the others by name
        (:attr:`Profile.limiter`). ``routes`` defaults to every built route (:data:`SERVED`).
        ``replays`` (the opt-in ``reject_replays``) refuses a signature used before.
        """
        self.ctx = ctx
        self.auth = auth
        self.limiter = limiter
        self.limiters: dict[str, RateLimiter] = {"v1": limiter, **(limiters or {})}
        # a shared limiter (Redis) is awaited with a deadline; the in-process one is a call
        self._hit_async: dict[str, Callable[[int, int], Awaitable[RateDecision]] | None] = {
            name: getattr(lim, "hit_async", None) for name, lim in self.limiters.items()
        }
        self.replays = replays
        self.run = run
        self.wall_ms = wall_ms
        self.table = serve_table(SERVED if routes is None else routes)
        self.paths = frozenset(self.table)
        # told of every answered request: (scope, reply body or b"", seconds); see observe.py
        self.observer: Callable[[Any, bytes, float], None] | None = None

    async def asgi(self, scope: Any, receive: Any, send: Any) -> None:  # noqa: C901 - one frame
        """Serve one request as a raw ASGI app (no router or middleware on the hot path).

        Three stages: find what serves the path, admit the caller (signature, replay, rate
        limit, permission, role), then read and parse the request, run the use case and
        render. A stage that refuses raises :class:`Refused` carrying the reply. The decision,
        once the request was counted, gives the ``ratelimit-*`` headers.

        The stages run in this one coroutine, through plain functions: only the rare branches
        (a key to load, a replay check, a shared limiter, a body in several messages) await a
        coroutine of their own. Each coroutine layer on the way to the use case cost a frame
        made, resumed and torn down per request.
        """
        started = perf_counter()
        method: str = scope["method"]
        path: str = scope["path"]
        host = ""
        for name, value in scope["headers"]:
            if name == b"host":
                host = value.decode("latin-1")
                break
        try:
            tid = new_tid()
            try:
                profile, endpoint, family_routes = self._served(path, method, tid)
                try:
                    params = parse_query(scope.get("query_string", b"").decode("latin-1"))
                except (QueryDecodeError, UnicodeDecodeError):
                    raise self._refuse(profile, ErrorCode.INPUT_ERROR, tid) from None
                uid, decision = 0, None
                if endpoint.permission is not Permission.PUBLIC:  # admit the caller
                    values = dict(params)
                    access_key = values.get("AccessKeyId")
                    if access_key and self.auth.must_load(access_key):  # off the event loop
                        await self.auth.prefetch(access_key, self._load_key)
                    principal = self._authenticate(profile, method, host, path, params, values, tid)
                    if self.replays is not None:  # verified: now refuse a second use
                        await self._check_replay(profile, values, tid)
                    budget = profile.limiter or "v1"
                    if self._hit_async.get(budget) is None:  # in process: nothing to await
                        decision = self._count_here(profile, budget, principal.uid, tid)
                    else:
                        decision = await self._count(profile, principal.uid, tid)
                    self._permit(profile, endpoint, principal, decision, tid)
                    uid = principal.uid
            except Refused as refused:
                status, body, decision = refused.reply
            else:  # read and parse the request, run its use case, render the reply
                try:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise ClientGone
                    raw_body: bytes = message.get("body", b"")
                    if message.get("more_body", False) or len(raw_body) > MAX_BODY_BYTES:
                        raw_body = await read_rest(receive, message, raw_body)
                    call_params = self._params(endpoint, params, raw_body)
                except WireError as exc:
                    status, body = self._wire_error(profile, exc, tid)
                else:
                    route = family_routes.get(endpoint.name)
                    if route is None:
                        status, body = profile.failure(
                            ErrorCode.SYSTEM_ERROR, tid, self.wall_ms(), msg=NOT_IMPLEMENTED
                        )
                    else:  # parsed and rendered here; only the use case runs in the runner
                        try:
                            arguments = route.parse(call_params, self.ctx.clock.now_ms())
                            if route.per_item:
                                result = await self._each(route, uid, arguments)
                            else:
                                result = await self.run(route.run, self.ctx, uid, *arguments)
                            data = route.render(self.ctx, arguments, result)
                        except Exception as exc:
                            status, body = self._failed(profile, exc, tid)
                        else:
                            status, body = 200, profile.envelope.success(data, tid, self.wall_ms())
        except ClientGone:  # nobody to answer, and a partial body is never run as a command
            if self.observer is not None:
                self.observer(scope, b"", perf_counter() - started)
            return
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
        if self.observer is not None:
            self.observer(scope, payload, perf_counter() - started)

    def _served(self, path: str, method: str, tid: str) -> Served:
        methods = self.table.get(path)
        if methods is None:
            raise Refused((404, error_body(404, tid), None))
        served = methods.get(method)
        if served is None:
            profile = next(iter(methods.values())).profile
            raise self._refuse(profile, ErrorCode.METHOD_NOT_ALLOWED, tid)
        return served

    def _refuse(
        self, profile: Profile, code: int, tid: str, decision: RateDecision | None = None
    ) -> Refused:
        return Refused((*profile.failure(code, tid, self.wall_ms()), decision))

    def _authenticate(
        self,
        profile: Profile,
        method: str,
        host: str,
        path: str,
        params: list[tuple[str, str]],
        values: dict[str, str],
        tid: str,
    ) -> Principal:
        """Return the principal of a signed request (its key already in the cache)."""
        try:
            return self.auth.authenticate(
                method, host, path, params, values, lenient=profile.lenient_signing
            )
        except AuthError as exc:
            body = profile.auth_failure(exc.code, exc.msg, tid, self.wall_ms())
            raise Refused((200, body, None)) from None

    def _permit(
        self,
        profile: Profile,
        endpoint: Endpoint,
        principal: Principal,
        decision: RateDecision,
        tid: str,
    ) -> None:
        """Refuse a counted request its key may not make (trade permission, follower role)."""
        if endpoint.permission is Permission.TRADE and not principal.can_trade:
            raise Refused((200, profile.permission_failure(tid, self.wall_ms()), decision))
        refusal = profile.follower_refusal
        if refusal is not None and not principal.is_trader and endpoint.method is HttpMethod.POST:
            # a follower is not a lead trader (spec §8.1): it cannot act on this family
            raise self._refuse(profile, refusal, tid, decision)

    async def _check_replay(self, profile: Profile, values: dict[str, str], tid: str) -> None:
        assert self.replays is not None
        try:
            fresh = await self.replays.first_use(
                values["Signature"], self.auth.accepted_until(values["Timestamp"])
            )
        except ServiceBusy:
            log.warning("replay store unavailable (tid %s)", tid)
            raise self._refuse(profile, ErrorCode.SYSTEM_BUSY, tid) from None
        if not fresh:
            code = ErrorCode.SIGNATURE_REPLAYED
            body = profile.auth_failure(code, message(code), tid, self.wall_ms())
            raise Refused((200, body, None))

    def _count_here(self, profile: Profile, budget: str, uid: int, tid: str) -> RateDecision:
        """Count a request with an in-process limiter (what :meth:`_count` does, synchronously)."""
        try:
            decision = self.limiters.get(budget, self.limiter).hit(uid, self.wall_ms())
        except ServiceBusy:
            log.warning("rate limiter unavailable (tid %s)", tid)
            raise self._refuse(profile, ErrorCode.SYSTEM_BUSY, tid) from None
        if not decision.allowed:
            raise self._refuse(profile, ErrorCode.RATE_LIMITED, tid, decision)
        return decision

    async def _count(self, profile: Profile, uid: int, tid: str) -> RateDecision:
        budget = profile.limiter or "v1"
        hit_async = self._hit_async.get(budget)
        try:
            if hit_async is None:
                decision = self.limiters.get(budget, self.limiter).hit(uid, self.wall_ms())
            else:
                decision = await hit_async(uid, self.wall_ms())
        except ServiceBusy:
            log.warning("rate limiter unavailable (tid %s)", tid)
            raise self._refuse(profile, ErrorCode.SYSTEM_BUSY, tid) from None
        if not decision.allowed:
            raise self._refuse(profile, ErrorCode.RATE_LIMITED, tid, decision)
        return decision

    async def _each(self, route: Route, uid: int, arguments: tuple[Any, ...]) -> list[Any]:
        """Run a batch route's use case once per item; a refused item's error is its result.

        An item the parser refused already (an exception among the items) is not run.
        """
        if route.before is not None:
            await self.run(route.before, self.ctx, uid, *arguments)
        items, *rest = arguments
        results: list[Any] = []
        for item in items:
            if isinstance(item, Exception):
                results.append(item)
                continue
            try:
                results.append(await self.run(route.run, self.ctx, uid, item, *rest))
            except DomainError as exc:
                results.append(exc)
        return results

    def _failed(self, profile: Profile, exc: Exception, tid: str) -> tuple[int, dict[str, Any]]:
        """Answer a request whose parsing, use case or rendering raised ``exc``.

        Called in the ``except`` block (a system error logs its traceback).
        """
        if isinstance(exc, WireError):
            return self._wire_error(profile, exc, tid)
        if isinstance(exc, DomainError):
            code, msg = domain_error_reply(exc)
            return profile.failure(code, tid, self.wall_ms(), msg=msg)
        if isinstance(exc, ServiceBusy):
            log.warning("database busy after retries (tid %s)", tid)
            return profile.failure(ErrorCode.SYSTEM_BUSY, tid, self.wall_ms())
        log.exception("unexpected error (tid %s)", tid)
        return profile.failure(ErrorCode.SYSTEM_ERROR, tid, self.wall_ms())

    async def _load_key(self, access_key: str) -> ApiKey | None:
        return await self.run(queries.api_key, self.ctx, access_key)  # type: ignore[no-any-return]

    def _params(
        self, endpoint: Endpoint, params: list[tuple[str, str]], body: bytes
    ) -> dict[str, Any]:
        if endpoint.method is HttpMethod.GET:
            if body.strip():
                raise WireError(ErrorCode.INPUT_ERROR)
            return {k: v for k, v in params if k not in _AUTH_NAMES}
        if endpoint.array_body and body.lstrip()[:1] == b"[":  # the array as "items"
            return parse_body(b'{"items":' + body + b"}")
        return parse_body(body)

    def _wire_error(self, profile: Profile, exc: WireError, tid: str) -> tuple[int, dict[str, Any]]:
        return profile.failure(exc.code, tid, self.wall_ms(), arg=exc.arg)


_AUTH_NAMES = frozenset(
    {"AccessKeyId", "SignatureMethod", "SignatureVersion", "Timestamp", "Signature"}
)
