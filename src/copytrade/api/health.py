"""Liveness (``/_sim/health``), readiness (``/_sim/ready``) and ``/metrics``.

Health and readiness are admin calls (:meth:`HealthApi.operations`): they are served, guarded
and described in ``/_sim/openapi.json`` by the admin API's one operation table, with one reply
model each (:class:`~copytrade.api.admin_models.HealthReply`, ``ReadyReply``). ``/metrics``
answers Prometheus text under the same token rule: open without a token only when the server
binds to loopback; with an admin token configured, ``Authorization: Bearer <token>``.

``/_sim/health`` answers 200 while the process serves, with what it runs on: version, worker,
store kind, schema revision, Redis state. ``/_sim/ready`` answers 200 only when the database
answers at this code's schema revision and Redis (when configured) answers a ping, else 503
with the reasons.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from copytrade import __version__
from copytrade.api import admin_models as m
from copytrade.api.admin_http import TOKEN_REQUIRED, Operation, authorised, error_reply, reply
from copytrade.api.metrics import CONTENT_TYPE, ServerMetrics, TraderGauges
from copytrade.bootstrap import Services

PROBE_TIMEOUT_S = 2.0
NOT_CONFIGURED = "not configured"


class HealthApi:
    """Health, readiness and metrics over the bootstrapped services."""

    def __init__(self, services: Services, metrics: ServerMetrics) -> None:
        """Keep the services and the metrics to render."""
        self.services = services
        self.metrics = metrics

    def operations(self) -> list[Operation]:
        """Return health and readiness as admin calls (the admin API serves and documents them)."""
        return [
            Operation("GET", "/_sim/health", self.health, m.HealthReply),
            Operation(
                "GET",
                "/_sim/ready",
                self.ready,
                m.ReadyReply,
                also={"503": "Not ready: `problems` says why."},
            ),
        ]

    def routes(self) -> list[Route]:
        """Return the ``/metrics`` route (Prometheus text, not an admin JSON call)."""
        return [Route("/metrics", self.render_metrics, methods=["GET"])]

    async def _probe(self, fn: Callable[[], Any]) -> tuple[bool, Any]:
        loop = asyncio.get_running_loop()
        try:
            value = await asyncio.wait_for(loop.run_in_executor(None, fn), PROBE_TIMEOUT_S)
        except Exception as exc:  # reported, never raised: this is the health check
            text = str(exc).strip().splitlines()
            return False, f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
        return True, value

    async def _state(self) -> m.HealthReply:
        store = self.services.store
        db_ok, found = await self._probe(store.schema_revisions)
        revision, head = found if db_ok else (None, None)
        return m.HealthReply(
            status="ok",
            version=__version__,
            worker=getattr(self.services.ctx.ids, "worker", 0),
            store=store.kind,
            database=store.describe(),
            schema_revision=revision,
            schema_head=head,
            database_state="ok" if db_ok else f"unreachable ({found})",
            redis=await self._redis(),
        )

    async def _redis(self) -> str:
        services = self.services
        limiter_state = getattr(services.limiter, "state", None)
        if limiter_state is not None and limiter_state() == "down":
            # the limiter's own calls are failing: say so at once, no probe to wait for
            return "unreachable (rate limiter calls failing)"
        if services.settings.redis_url and hasattr(services.limiter, "ping"):
            redis_ok, detail = await self._probe(services.limiter.ping)
            return "ok" if redis_ok else f"unreachable ({detail})"
        return NOT_CONFIGURED

    async def health(self, _: None) -> m.HealthReply:
        """Report liveness and what this process runs on (200 while it serves).

        ``worker`` is the process's snowflake worker number (several with ``--workers N``).
        """
        return await self._state()

    async def ready(self, _: None) -> m.ReadyReply | Response:
        """Answer 200 when the database (and Redis, if configured) can serve, else 503.

        ``problems`` names each reason the process cannot serve yet: the database unreachable
        or at another schema revision than this server needs, Redis unreachable.
        """
        state = await self._state()
        problems = []
        if state.database_state != "ok":
            problems.append(f"database {state.database_state}")
        elif state.schema_revision != state.schema_head:
            problems.append(
                f"schema at {state.schema_revision}, this server needs {state.schema_head}"
            )
        if state.redis not in ("ok", NOT_CONFIGURED):
            problems.append(f"redis {state.redis}")
        answer = m.ReadyReply(**state.model_dump(), ready=not problems, problems=problems)
        return reply(answer, 503) if problems else answer

    async def render_metrics(self, request: Request) -> Response:
        """Return every metric in Prometheus text format (the admin API's token rule)."""
        settings = self.services.settings
        if not authorised(request, settings.admin_token, settings.is_loopback):
            return error_reply(401, TOKEN_REQUIRED)
        gauges = None
        overview = self.services.overview
        if overview is not None:
            ok, rows = await self._probe(overview.trader_counts)
            gauges = TraderGauges(rows) if ok else None
        text = self.metrics.render(gauges)
        return Response(text, media_type=CONTENT_TYPE)
