"""Liveness (``/_sim/health``), readiness (``/_sim/ready``) and ``/metrics`` routes.

The same token rule as the admin API: open without a token only when the server binds to
loopback; with an admin token configured, ``Authorization: Bearer <token>`` is required.

``/_sim/health`` answers 200 while the process serves, with what it runs on: version, worker,
store kind, schema revision, Redis state. ``/_sim/ready`` answers 200 only when the database
answers at this code's schema revision and Redis (when configured) answers a ping, else 503
with the reasons.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from copytrade import __version__
from copytrade.api.metrics import CONTENT_TYPE, ServerMetrics, TraderGauges
from copytrade.bootstrap import Services

PROBE_TIMEOUT_S = 2.0


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


class HealthApi:
    """Health, readiness and metrics over the bootstrapped services."""

    def __init__(self, services: Services, metrics: ServerMetrics) -> None:
        """Keep the services and the metrics to render."""
        self.services = services
        self.metrics = metrics
        settings = services.settings
        self._token = settings.admin_token
        self._open = settings.is_loopback

    def routes(self) -> list[Route]:
        """Return the routes (mounted before the admin API's)."""
        guard = self._guard
        return [
            Route("/_sim/health", guard(self.health), methods=["GET"]),
            Route("/_sim/ready", guard(self.ready), methods=["GET"]),
            Route("/metrics", guard(self.render_metrics), methods=["GET"]),
        ]

    def _guard(
        self, fn: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            if self._token:
                given = request.headers.get("authorization", "")
                allowed = hmac.compare_digest(given.encode(), f"Bearer {self._token}".encode())
            else:
                allowed = self._open
            if not allowed:
                return _json({"error": "admin token required"}, 401)
            return await fn(request)

        return endpoint

    async def _probe(self, fn: Callable[[], Any]) -> tuple[bool, Any]:
        loop = asyncio.get_running_loop()
        try:
            value = await asyncio.wait_for(loop.run_in_executor(None, fn), PROBE_TIMEOUT_S)
        except Exception as exc:  # reported, never raised: this is the health check
            text = str(exc).strip().splitlines()
            return False, f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
        return True, value

    async def _state(self) -> dict[str, Any]:
        store = self.services.store
        db_ok, found = await self._probe(store.schema_revisions)
        revision, head = found if db_ok else (None, None)
        state: dict[str, Any] = {
            "version": __version__,
            "worker": getattr(self.services.ctx.ids, "worker", 0),
            "store": store.kind,
            "database": store.describe(),
            "schema_revision": revision,
            "schema_head": head,
            "database_state": "ok" if db_ok else f"unreachable ({found})",
        }
        return await self._with_redis(state)

    async def _with_redis(self, state: dict[str, Any]) -> dict[str, Any]:
        services = self.services
        limiter_state = getattr(services.limiter, "state", None)
        if limiter_state is not None and limiter_state() == "down":
            # the limiter's own calls are failing: say so at once, no probe to wait for
            state["redis"] = "unreachable (rate limiter calls failing)"
        elif services.settings.redis_url and hasattr(services.limiter, "ping"):
            redis_ok, detail = await self._probe(services.limiter.ping)
            state["redis"] = "ok" if redis_ok else f"unreachable ({detail})"
        else:
            state["redis"] = "not configured"
        return state

    async def health(self, request: Request) -> Response:
        """Report liveness and what this process runs on (200 while it serves)."""
        return _json({"status": "ok", **await self._state()})

    async def ready(self, request: Request) -> Response:
        """Answer 200 when the database (and Redis, if configured) can serve, else 503."""
        state = await self._state()
        problems = []
        if state["database_state"] != "ok":
            problems.append(f"database {state['database_state']}")
        elif state["schema_revision"] != state["schema_head"]:
            problems.append(
                f"schema at {state['schema_revision']}, this server needs {state['schema_head']}"
            )
        if state["redis"] not in ("ok", "not configured"):
            problems.append(f"redis {state['redis']}")
        if problems:
            return _json({"ready": False, "problems": problems, **state}, 503)
        return _json({"ready": True, **state})

    async def render_metrics(self, request: Request) -> Response:
        """Return every metric in Prometheus text format."""
        gauges = None
        overview = self.services.overview
        if overview is not None:
            ok, rows = await self._probe(overview.trader_counts)
            gauges = TraderGauges(rows) if ok else None
        text = self.metrics.render(gauges)
        return Response(text, media_type=CONTENT_TYPE)
