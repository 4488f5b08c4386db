"""The dashboard at ``/_sim/ui``: markets, traders, positions, copies, skips and fills, live.

Same token rule as the admin API. A browser cannot add an ``Authorization`` header to a page
load, so with a token configured ``/_sim/ui`` shows a form; the token entered is checked and
answered with an HttpOnly, SameSite=Strict cookie holding an HMAC of the token (never the token
itself), good only for the dashboard's read-only pages under ``/_sim/ui``.

The page polls ``/_sim/ui/live`` (an HTML fragment) every second; ``/_sim/ui/state.json`` is
the same snapshot for scripts. Price charts draw the marks this process has seen (kept in
memory, 240 points per contract; with ``--workers N`` each worker keeps its own).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from copytrade.api.admin import AdminApi
from copytrade.api.admin_http import TOKEN_REQUIRED, error_reply, json_default, reply
from copytrade.api.dashboard_html import Point, render_live, render_login, render_page
from copytrade.domain.trading import Market
from copytrade.protocol.decimals import fmt
from copytrade.service import queries
from copytrade.service.context import ServiceContext
from copytrade.service.overview import Overview, OverviewReader, overview

COOKIE = "copytrade_ui"
POLL_MS = 1000
HISTORY_POINTS = 240
ROW_LIMIT = 50


class PriceHistory:
    """The last marks seen per contract (thread-safe; recorded on change only)."""

    def __init__(self, points: int = HISTORY_POINTS) -> None:
        """Keep at most ``points`` marks per contract."""
        self._points = points
        self._series: dict[str, deque[Point]] = {}
        self._lock = threading.Lock()

    def record(self, contract_code: str, price: Decimal, now_ms: int) -> None:
        """Remember ``price`` at ``now_ms`` unless it equals the last mark recorded."""
        with self._lock:
            series = self._series.setdefault(contract_code, deque(maxlen=self._points))
            if not series or series[-1][1] != price:
                series.append((now_ms, price))

    def snapshot(self) -> dict[str, list[Point]]:
        """Return a copy of every series."""
        with self._lock:
            return {code: list(series) for code, series in self._series.items()}

    def clear(self) -> None:
        """Forget everything (after a reset)."""
        with self._lock:
            self._series.clear()


def _cookie_value(token: str) -> str:
    return hmac.new(token.encode(), b"copytrade dashboard", hashlib.sha256).hexdigest()


class Dashboard:
    """Routes under ``/_sim/ui``."""

    def __init__(
        self,
        ctx: ServiceContext,
        run: Callable[..., Awaitable[Any]],
        reader: OverviewReader,
        *,
        token: str | None,
        open_without_token: bool,
    ) -> None:
        """Read markets through ``run`` (the command runner) and rows through ``reader``."""
        self.ctx = ctx
        self._run = run
        self.reader = reader
        self.token = token
        self.open = open_without_token
        self.history = PriceHistory()

    @classmethod
    def for_admin(cls, admin: AdminApi, reader: OverviewReader) -> Dashboard:
        """Return the dashboard beside ``admin`` (same token rule), told of its price moves."""
        dashboard = cls(
            admin.ctx, admin.runner, reader, token=admin.token, open_without_token=admin.open
        )
        admin.price_listeners.append(dashboard.history.record)
        admin.reset_listeners.append(dashboard.history.clear)
        return dashboard

    def routes(self) -> list[Route]:
        """Return the dashboard's routes."""
        return [
            Route("/_sim/ui", self.page, methods=["GET"]),
            Route("/_sim/ui/live", self.live, methods=["GET"]),
            Route("/_sim/ui/state.json", self.state, methods=["GET"]),
            Route("/_sim/ui/login", self.login, methods=["POST"]),
        ]

    def _authorised(self, request: Request) -> bool:
        if not self.token:
            return self.open
        given = request.headers.get("authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
            return True
        cookie = request.cookies.get(COOKIE, "")
        return hmac.compare_digest(cookie.encode(), _cookie_value(self.token).encode())

    async def snapshot(self) -> Overview:
        """Read one snapshot: markets via the command runner, rows on a thread of their own."""
        markets: dict[str, Market] = await self._run(queries.markets, self.ctx)
        view = await asyncio.to_thread(overview, self.ctx, self.reader, markets, ROW_LIMIT)
        for code, market in markets.items():
            self.history.record(code, market.mark, view.now_ms)
        return view

    async def page(self, request: Request) -> Response:
        """The dashboard page (or the token form)."""
        if not self._authorised(request):
            return HTMLResponse(render_login(), status_code=401)
        view = await self.snapshot()
        return HTMLResponse(render_page(render_live(view, self.history.snapshot()), POLL_MS))

    async def live(self, request: Request) -> Response:
        """The live fragment the page polls."""
        if not self._authorised(request):
            return error_reply(401, TOKEN_REQUIRED)
        view = await self.snapshot()
        return HTMLResponse(
            render_live(view, self.history.snapshot()), headers={"cache-control": "no-store"}
        )

    async def state(self, request: Request) -> Response:
        """The snapshot as JSON (decimals as strings)."""
        if not self._authorised(request):
            return error_reply(401, TOKEN_REQUIRED)
        view = await self.snapshot()
        return reply(_state_json(view, self.history.snapshot()))

    async def login(self, request: Request) -> Response:
        """Check a token typed into the form; answer with the dashboard cookie."""
        body = await request.body()
        given = parse_qs(body.decode("utf-8", "replace")).get("token", [""])[0]
        if not self.token or not hmac.compare_digest(given.encode(), self.token.encode()):
            return HTMLResponse(render_login("That is not the admin token."), status_code=401)
        answer = RedirectResponse("/_sim/ui", status_code=303)
        answer.set_cookie(
            COOKIE, _cookie_value(self.token), path="/_sim/ui", httponly=True, samesite="strict"
        )
        return answer


def _plain(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {name: _plain(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, Decimal):
        return fmt(value)
    if isinstance(value, str | int | type(None)):
        return value
    return json_default(value)


def _state_json(view: Overview, history: dict[str, list[Point]]) -> dict[str, Any]:
    rows = view.rows
    return {
        "now_ms": view.now_ms,
        "markets": {
            code: {
                "mark_price": fmt(m.mark),
                "best_bid": fmt(m.book.bids[0].price) if m.book.bids else None,
                "best_ask": fmt(m.book.asks[0].price) if m.book.asks else None,
                "history": [[ms, fmt(p)] for ms, p in history.get(code, [])],
            }
            for code, m in view.markets.items()
        },
        "traders": _plain(rows.traders),
        "positions": _plain(rows.positions),
        "copies": [{**_plain(c), "slippage_bps": str(c.slippage_bps)} for c in rows.copies],
        "skips": _plain(rows.skips),
        "fills": _plain(rows.fills),
        "slippage": [
            {
                "lead_sub_position_id": s.lead.sub_position_id,
                "lead_uid": s.lead.uid,
                "contract_code": s.lead.contract_code,
                "position_side": s.lead.side.value,
                "lead_price": fmt(s.lead.open_avg_price),
                "copies": s.stats.copies,
                "mean_bps": _plain(s.stats.mean_bps),
                "worst_bps": _plain(s.stats.worst_bps),
                "best_bps": _plain(s.stats.best_bps),
                "distribution": s.stats.distribution,
                "percentiles": {k: fmt(v) for k, v in s.stats.percentiles.items()},
            }
            for s in view.slippage
        ],
        "totals": {"users": rows.users, "open_positions": rows.open_positions},
    }
