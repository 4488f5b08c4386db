"""``create_app``: the ASGI application (Starlette) over bootstrapped services."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route

from copytrade import __version__
from copytrade.api.admin import AdminApi
from copytrade.api.admin_http import error_reply, reply
from copytrade.api.auth import Authenticator
from copytrade.api.dashboard import Dashboard
from copytrade.api.health import HealthApi
from copytrade.api.htx import HtxApi, json_response
from copytrade.api.metrics import ServerMetrics
from copytrade.api.observe import Observer, observe_admin
from copytrade.api.recorder import Recorder
from copytrade.api.ticker import MarketTicker, configured_paths
from copytrade.bootstrap import Services, funding_config, impact_settings, make_limiter
from copytrade.protocol.envelope import error_body, new_tid
from copytrade.service import queries
from copytrade.service.funding import FundingSchedule
from copytrade.service.market_settings import SharedMarketSettings
from copytrade.service.ports import Clock, ServiceBusy

PING = b'{"pong":true}'
HTX_PREFIX = "/copytrading/"


async def _quietly(job: Awaitable[None]) -> None:
    """Run a background job; a failure is logged (a warning), never raised."""
    try:
        await job
    except ServiceBusy as exc:
        logging.getLogger("copytrade.api").warning("background reset failed: %s", exc)


def _load_key(services: Services) -> Any:
    def load(access_key: str) -> Any:
        return queries.api_key(services.ctx, access_key)

    return load


def _family_limiter(services: Services, family: str, per_second: Any) -> Any:
    """A limiter with a budget (and a Redis key prefix) of its own for an HTX family."""
    settings = services.settings
    return make_limiter(
        settings.model_copy(
            update={
                "rate_limit_per_second": per_second,
                "redis_prefix": f"{settings.redis_prefix}:{family}",
            }
        )
    )


def _authenticator(services: Services) -> Authenticator:
    settings = services.settings
    return Authenticator(
        _load_key(services),
        window_seconds=settings.timestamp_window_seconds,
        host_aliases=tuple(settings.signature_host_aliases),
        strict_host=settings.signature_host_strict,
        accept_unsigned_get_params=settings.accept_unsigned_get_params,
    )


def _reset_hook(
    services: Services,
    auth: Authenticator,
    limiters: list[Any],
    shared: SharedMarketSettings,
) -> Callable[[], None]:
    """Return the admin API's reset hook: forget keys, budgets and the clock."""
    background: set[asyncio.Task[None]] = set()

    def on_reset() -> None:
        auth.forget_keys()
        # funding and impact set through the admin API last until a reset, as paths do (the
        # reset deleted the shared keys too: other processes go back at their next refresh)
        shared.revert()
        services.ctx.depth.clear()
        for limiter in limiters:
            reset_async = getattr(limiter, "reset_async", None)
            if reset_async is None:
                limiter.reset()
            else:  # Redis: off the event loop's back, with a deadline (a hung Redis must not stall)
                task = asyncio.get_running_loop().create_task(_quietly(reset_async()))
                background.add(task)
                task.add_done_callback(background.discard)
        services.clock.reset()

    return on_reset


SIM_PREFIX = "/_sim/"
INDEX = {
    "service": "copytrade",
    "version": __version__,
    "dashboard": "/_sim/ui",
    "admin_docs": "/_sim/docs",
    "admin_openapi": "/_sim/openapi.json",
    "health": "/_sim/health",
    "ready": "/_sim/ready",
    "metrics": "/metrics",
}
"""What ``/`` and ``/_sim/`` answer: where a newcomer finds the rest (paths only, no data)."""


async def _index(request: Request) -> Response:
    return reply(INDEX)


def _allowed_methods(request: Request) -> str:
    """Return every method some route serves at this path (Starlette's 405 names one route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods or set()
    return ", ".join(sorted(methods))


async def _not_found(request: Request, exc: Exception) -> Response:
    """Answer an unknown path or method: the admin shape under ``/_sim/``, else HTX's envelope."""
    code = 405 if getattr(exc, "status_code", 404) == 405 else 404
    headers = {"Allow": _allowed_methods(request)} if code == 405 else None
    path = request.url.path
    if (path + "/").startswith(SIM_PREFIX):
        if code == 405:
            text = f"{request.method} is not allowed on {path} (see /_sim/docs)"
        else:
            text = f"no admin call {request.method} {path} (see /_sim/docs)"
        answer = error_reply(code, text)
        answer.headers.update(headers or {})
        return answer
    return json_response(error_body(code, new_tid()), code, headers)


def _lifespan(
    services: Services, ticker: MarketTicker, recorder: Recorder | None, seed_on_start: bool
) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if seed_on_start and recorder is not None:
            with services.clock.held(recorder.start_ms):  # at the time the record's header names
                await services.run(services.seed)
        elif seed_on_start:
            await services.run(services.seed)
        ticker.start()
        try:
            yield
        finally:
            await ticker.stop()
            if recorder is not None:
                recorder.close()

    return lifespan


def _entry(app: Any, htx_asgi: Any, htx_paths: Any) -> Any:
    """Return the ASGI entry: HTX's paths and the ping served raw, the rest by ``app``."""

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        # A raw-ASGI ping outside the framework: liveness and the benchmark's baseline.
        # every path of an HTX family, and any under /copytrading/ (a trailing slash, a typo),
        # answers in HTX's envelope: never the framework's redirect or plain-text error
        path = scope.get("path", "")
        if scope["type"] == "http" and (path in htx_paths or path.startswith(HTX_PREFIX)):
            await htx_asgi(scope, receive, send)
            return
        if scope["type"] == "http" and scope["path"] == "/_sim/ping":
            more = scope["method"] == "POST"
            while more:  # a trivial endpoint still reads the request it was sent
                more = (await receive()).get("more_body", False)
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(PING)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": PING})
            return
        await app(scope, receive, send)

    return asgi


def create_app(
    services: Services, *, seed_on_start: bool = True, wall_clock: Clock | None = None
) -> Any:
    """Return the ASGI app: every HTX family's paths, ``/_sim/`` admin routes, and a raw ping.

    ``wall_clock`` places requests in rate-limit windows (default: the system clock); tests
    inject a controllable one instead of waiting for second boundaries.
    """
    settings = services.settings
    auth = _authenticator(services)
    # the v5 family draws from a budget of its own (spec htx-v5-v6.md §5)
    v5_limiter = _family_limiter(services, "v5", settings.rate_limit_v5_per_second)
    # v6: 5 requests per second per UID, one budget for its 11 endpoints (spec §5)
    v6_limiter = _family_limiter(services, "v6", settings.rate_limit_v6_per_second)
    htx = HtxApi(
        services.ctx,
        auth,
        services.limiter,
        services.runner(),
        limiters={"v5": v5_limiter, "v6": v6_limiter},
        replays=services.replays,
    )
    if wall_clock is not None:
        htx.wall_ms = wall_clock.now_ms
    htx_paths = htx.paths
    metrics = ServerMetrics()
    services.ctx.metrics = metrics
    services.store.observe_commits(metrics.commit_group)
    htx.observer = Observer(metrics, auth.cached_uid, auth.host_aliases)
    htx_asgi = htx.asgi
    health = HealthApi(services, metrics)

    price_listeners: list[Any] = []
    shared = SharedMarketSettings(services.ctx, funding_config(settings), impact_settings(settings))
    ticker = MarketTicker(
        services.ctx,
        services.run,
        services.clock,
        configured_paths(settings),
        price_listeners,
        FundingSchedule(services.ctx),
        refresh=shared.refresh,
    )
    admin = AdminApi(
        services.ctx,
        services.run,
        token=settings.admin_token,
        open_without_token=settings.is_loopback,
        on_reset=_reset_hook(services, auth, [services.limiter, v5_limiter, v6_limiter], shared),
        seed=services.seed,
        clock_control=services.clock,
        ticker=ticker,
        extra_operations=health.operations(),
    )
    admin.price_listeners = price_listeners  # dashboard history hears the paths' ticks too
    admin.shared_settings = shared  # funding and impact changes reach every process
    # HTX's paths never reach the router: the entry (_entry) serves them
    routes = [
        Route("/", _index, methods=["GET"]),
        Route(SIM_PREFIX, _index, methods=["GET"]),
        *health.routes(),
        *admin.routes(),
    ]
    if services.overview is not None:
        routes += Dashboard.for_admin(admin, services.overview).routes()

    recorder = None
    if settings.record_file:
        recorder = Recorder(
            lambda *_: _never(),
            settings.record_file,
            settings,
            services.clock,
            htx_paths,
            append=settings.record_append,
        )

    app = Starlette(
        routes=routes,
        exception_handlers={404: _not_found, 405: _not_found},
        lifespan=_lifespan(services, ticker, recorder, seed_on_start),
    )
    # admin, dashboard, health and index calls get an access line too (HTX's get theirs above)
    asgi = _entry(observe_admin(app), htx_asgi, htx_paths)
    if recorder is not None:
        recorder.app = asgi
        return recorder
    return asgi


async def _never() -> None:
    raise AssertionError("the recorder is given the app before it serves")


def app_from_env() -> Any:
    """Build the app in a worker process: ``uvicorn copytrade.api.app:app_from_env --factory``.

    Settings come from the environment (:func:`copytrade.config.settings_from_env`): the JSON a
    ``copytrade serve --workers N`` parent passes down, else ``COPYTRADE_*`` variables. Nothing
    happens at import time; each call bootstraps its own engine, worker number and limiter. A
    parent that passed settings has already checked the schema and seeded, so workers do not.
    """
    import os

    from copytrade.api.logs import configure_logging
    from copytrade.bootstrap import bootstrap
    from copytrade.config import SETTINGS_ENV, settings_from_env

    from_parent = SETTINGS_ENV in os.environ
    settings = settings_from_env()
    configure_logging(settings.log_level, settings.log_format, access_log=settings.access_log)
    services = bootstrap(settings, migrate_sqlite=not from_parent)
    return create_app(services, seed_on_start=not from_parent)
