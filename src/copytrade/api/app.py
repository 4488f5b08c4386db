"""``create_app``: the ASGI application (Starlette) over bootstrapped services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from copytrade.adapters.clock import SystemClock
from copytrade.api.admin import AdminApi
from copytrade.api.auth import Authenticator
from copytrade.api.dashboard import Dashboard
from copytrade.api.htx import HtxApi, json_response
from copytrade.bootstrap import Services
from copytrade.protocol.endpoints import ENDPOINTS
from copytrade.protocol.envelope import error_body, new_tid
from copytrade.service.ports import Clock

PING = b'{"pong":true}'
HTX_PATHS = frozenset(e.path for e in ENDPOINTS)


def _load_key(services: Services) -> Any:
    def load(access_key: str) -> Any:
        with services.ctx.uow() as uow:
            return uow.key(access_key)

    return load


def create_app(
    services: Services, *, seed_on_start: bool = True, wall_clock: Clock | None = None
) -> Any:
    """Return the ASGI app: HTX's 19 paths, ``/_sim/`` admin routes, and a raw ping.

    ``wall_clock`` places requests in rate-limit windows (default: the system clock); tests
    inject a controllable one instead of waiting for second boundaries.
    """
    settings = services.settings
    auth = Authenticator(
        _load_key(services),
        window_seconds=settings.timestamp_window_seconds,
        host_aliases=tuple(settings.signature_host_aliases),
        strict_host=settings.signature_host_strict,
        accept_unsigned_get_params=settings.accept_unsigned_get_params,
    )
    wall_ms = (wall_clock or SystemClock()).now_ms
    htx = HtxApi(services.ctx, auth, services.limiter, services.runner(), wall_ms)

    def on_reset() -> None:
        auth.forget_keys()
        services.limiter.reset()
        services.clock.reset()

    admin = AdminApi(
        services.ctx,
        services.run,
        token=settings.admin_token,
        open_without_token=settings.is_loopback,
        on_reset=on_reset,
        seed=services.seed,
        clock_control=services.clock,
    )
    routes = admin.routes()  # HTX's paths never reach the router: asgi() below serves them
    if services.overview is not None:
        routes += Dashboard.for_admin(admin, services.overview).routes()

    async def not_found(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        code = 405 if status == 405 else 404
        return json_response(error_body(code, new_tid()), code)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if seed_on_start:
            await services.run(services.seed)
        yield

    app = Starlette(
        routes=routes, exception_handlers={404: not_found, 405: not_found}, lifespan=lifespan
    )

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        # A raw-ASGI ping outside the framework: liveness and the benchmark's baseline.
        if scope["type"] == "http" and scope["path"] in HTX_PATHS:
            await htx.asgi(scope, receive, send)
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


def app_from_env() -> Any:
    """Build the app in a worker process: ``uvicorn copytrade.api.app:app_from_env --factory``.

    Settings come from the environment (:func:`copytrade.config.settings_from_env`): the JSON a
    ``copytrade serve --workers N`` parent passes down, else ``COPYTRADE_*`` variables. Nothing
    happens at import time; each call bootstraps its own engine, worker number and limiter. A
    parent that passed settings has already checked the schema and seeded, so workers do not.
    """
    import os

    from copytrade.bootstrap import bootstrap
    from copytrade.config import SETTINGS_ENV, settings_from_env

    from_parent = SETTINGS_ENV in os.environ
    services = bootstrap(settings_from_env(), migrate_sqlite=not from_parent)
    return create_app(services, seed_on_start=not from_parent)
