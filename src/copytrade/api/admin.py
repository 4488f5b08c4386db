"""The emulator's own API under ``/_sim/`` (plain JSON, never under HTX paths).

Open without a token only when the server binds to loopback; otherwise every call needs
``Authorization: Bearer <admin token>``. When a token is configured it is always required.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from copytrade.api.wire import WireError, decimal_field, parse_body
from copytrade.domain.errors import DomainError
from copytrade.domain.model import Account, SubPosition
from copytrade.protocol.decimals import fmt
from copytrade.protocol.schema import render
from copytrade.protocol.sim import SimAccount, SimOrder, SimPosition
from copytrade.service import sim
from copytrade.service.context import ServiceContext
from copytrade.service.errors import UnknownUser


class AdminError(Exception):
    """A refused admin call: HTTP status and text."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(status, detail)
        self.status = status
        self.detail = detail


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return fmt(value)
    if hasattr(value, "value"):
        return value.value
    raise TypeError(type(value).__name__)


def _reply(body: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(body, default=_json_default), status_code=status, media_type="application/json"
    )


def position_json(p: SubPosition) -> dict[str, Any]:
    """Return a sub position with HTX's field names (declared as ``SimPosition``)."""
    return render(sim_position(p))


def sim_position(p: SubPosition) -> SimPosition:
    """Return a sub position, open or closed, as the admin API shows it."""
    return SimPosition(
        sub_position_id=str(p.sub_position_id),
        contract_code=p.contract_code,
        margin_mode=p.margin_mode,
        position_side=p.side,
        lever=p.lever,
        volume=p.volume,
        open_avg_price=p.open_avg_price,
        open_fee=p.open_fee,
        position_margin=p.position_margin,
        open_time=p.open_time,
        open_order_id=str(p.open_order_id),
        lead_uid=p.lead_uid,
        lead_sub_position_id=str(p.lead_sub_position_id) if p.lead_sub_position_id else None,
        close_time=p.close_time,
        close_avg_price=p.close_avg_price,
        close_fee=p.close_fee,
        profit=p.profit,
        close_type=p.close_type,
        follow_takes=p.follow_takes,
    )


def _account_json(account: Account) -> dict[str, Any]:
    positions = sorted(account.positions.values(), key=lambda p: p.sub_position_id)
    orders = [
        SimOrder(
            order_id=str(o.order_id),
            contract_code=o.contract_code,
            margin_mode=o.margin_mode,
            position_side=o.side,
            price=o.price,
            volume=o.volume,
            filled=o.filled,
            lever=o.lever,
        )
        for o in account.orders.values()
    ]
    return render(
        SimAccount(account.balance, tuple(sim_position(p) for p in positions), tuple(orders))
    )


class AdminApi:
    """Routes under ``/_sim/``."""

    def __init__(
        self,
        ctx: ServiceContext,
        run: Callable[..., Awaitable[Any]],
        *,
        token: str | None,
        open_without_token: bool,
        on_reset: Callable[[], None],
        seed: Callable[[], None],
        clock_control: Any,
    ) -> None:
        """Wire the service context; ``on_reset`` clears caches, ``seed`` re-seeds markets."""
        self.ctx = ctx
        self._runner = run
        self.token = token
        self.open = open_without_token
        self.on_reset = on_reset
        self.seed = seed
        self.clock = clock_control

    def routes(self) -> list[Route]:
        """Return the admin routes."""
        h = self._handle
        return [
            Route("/_sim/health", h(self.health), methods=["GET"]),
            Route("/_sim/users", h(self.create_user), methods=["POST"]),
            Route("/_sim/users/{uid:int}", h(self.get_user), methods=["GET"]),
            Route("/_sim/follow", h(self.follow), methods=["POST"]),
            Route("/_sim/followers/bulk", h(self.bulk), methods=["POST"]),
            Route("/_sim/markets", h(self.markets), methods=["GET"]),
            Route("/_sim/markets/{contract_code}/price", h(self.set_price), methods=["POST"]),
            Route("/_sim/clock", h(self.clock_route), methods=["GET", "POST"]),
            Route("/_sim/reset", h(self.reset), methods=["POST"]),
        ]

    def _authorised(self, request: Request) -> bool:
        if self.token:
            given = request.headers.get("authorization", "")
            return hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode())
        return self.open

    def _handle(
        self, fn: Callable[[Request], Awaitable[Any]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            if not self._authorised(request):
                return _reply({"error": "admin token required"}, 401)
            try:
                return _reply(await fn(request))
            except AdminError as exc:
                return _reply({"error": exc.detail}, exc.status)
            except WireError as exc:
                return _reply({"error": f"bad parameter {exc.arg or ''}".strip()}, 400)
            except UnknownUser as exc:
                return _reply({"error": f"unknown uid {exc.uid}"}, 404)
            except DomainError as exc:
                return _reply({"error": f"{type(exc).__name__}: {exc}"}, 400)

        return endpoint

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await self._runner(fn, *args)

    @staticmethod
    async def _body(request: Request) -> dict[str, Any]:
        return parse_body(await request.body())

    @staticmethod
    def _int(body: dict[str, Any], name: str) -> int:
        value = body.get(name)
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
            raise AdminError(400, f"{name} must be an integer")
        return int(value)

    @staticmethod
    def _signed_int(value: Any, name: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise AdminError(400, f"{name} must be an integer")
        try:
            return int(value)
        except ValueError:
            raise AdminError(400, f"{name} must be an integer") from None

    async def health(self, request: Request) -> Any:
        """Report liveness, and which server process answered (its snowflake worker number)."""
        return {"status": "ok", "worker": getattr(self.ctx.ids, "worker", 0)}

    async def create_user(self, request: Request) -> Any:
        """Create a trader or follower with an API key."""
        body = await self._body(request)
        role = body.get("role", "trader")
        if role not in ("trader", "follower"):
            raise AdminError(400, "role must be trader or follower")
        permissions = body.get("permissions", "trade")
        if permissions not in ("trade", "read"):
            raise AdminError(400, "permissions must be trade or read")
        balance = decimal_field(body.get("balance", "10000"), "balance")
        public = body.get("ed25519_public_key")
        if public is not None:
            try:
                raw = bytes.fromhex(str(public))
            except ValueError:
                raw = b""
            if len(raw) != 32:
                raise AdminError(400, "ed25519_public_key must be 64 hex characters")
        ratio = body.get("profit_share_ratio")
        creds = await self._run(
            lambda: sim.create_user(
                self.ctx,
                role,
                balance,
                permissions == "trade",
                public,
                profit_share_ratio=decimal_field(ratio, "profit_share_ratio") if ratio else None,
            )
        )
        return {"uid": creds.uid, "access_key": creds.access_key, "secret_key": creds.secret_key}

    async def get_user(self, request: Request) -> Any:
        """Return a user's balance, positions, fills and skipped copies."""
        uid = int(request.path_params["uid"])
        view = await self._run(sim.user_view, self.ctx, uid)
        user = view["user"]
        follow = view["follow"]
        return {
            "uid": uid,
            "role": user.role,
            **_account_json(view["account"]),
            "following": {"trader_uid": follow.trader_uid, "ratio": fmt(follow.ratio)}
            if follow
            else None,
            "closed_positions": [position_json(p) for p in view["closed_positions"]],
            "fills": view["fills"],
            "skipped_copies": view["skipped_copies"],
            "profit_shares_received": view["profit_shares_received"],
            "profit_shares_paid": view["profit_shares_paid"],
        }

    async def follow(self, request: Request) -> Any:
        """Make a follower copy a trader."""
        body = await self._body(request)
        follower, trader = self._int(body, "follower_uid"), self._int(body, "trader_uid")
        ratio = decimal_field(body.get("ratio", "1"), "ratio")
        await self._run(sim.follow, self.ctx, follower, trader, ratio)
        return {"follower_uid": follower, "trader_uid": trader, "ratio": fmt(ratio)}

    async def bulk(self, request: Request) -> Any:
        """Create many funded followers of one trader."""
        body = await self._body(request)
        trader, count = self._int(body, "trader_uid"), self._int(body, "count")
        if count > 100_000:
            raise AdminError(400, "count must be at most 100000")
        balance = decimal_field(body.get("balance", "10000"), "balance")
        ratio = decimal_field(body.get("ratio", "1"), "ratio")
        uids = await self._run(sim.bulk_followers, self.ctx, trader, count, balance, ratio)
        return {"uids": uids}

    async def markets(self, request: Request) -> Any:
        """Return every contract's mark and best quotes."""

        def read() -> Any:
            with self.ctx.uow() as uow:
                return self.ctx.markets(uow.marks())

        markets = await self._run(read)
        return {
            code: {
                "mark_price": fmt(m.mark),
                "best_bid": fmt(m.book.bids[0].price) if m.book.bids else None,
                "best_ask": fmt(m.book.asks[0].price) if m.book.asks else None,
            }
            for code, m in markets.items()
        }

    async def set_price(self, request: Request) -> Any:
        """Move a contract's mark price."""
        code = request.path_params["contract_code"].upper()
        body = await self._body(request)
        price = decimal_field(body.get("price"), "price")
        return await self._run(sim.set_price, self.ctx, code, price)

    async def clock_route(self, request: Request) -> Any:
        """Read, advance (``advance_ms``), freeze (``now_ms``) or resume (``now_ms: null``)."""
        if request.method == "POST":
            body = await self._body(request)
            if "advance_ms" in body:
                self.clock.advance(self._signed_int(body["advance_ms"], "advance_ms"))
            elif "now_ms" in body:
                now = body["now_ms"]
                self.clock.freeze(None if now is None else self._signed_int(now, "now_ms"))
        return {"now_ms": self.clock.now_ms()}

    async def reset(self, request: Request) -> Any:
        """Delete all state, then seed markets (and the demo data on loopback) again."""
        await self._run(sim.reset, self.ctx)
        self.on_reset()
        await self._run(self.seed)
        return {"reset": True}
