"""The emulator's own API under ``/_sim/`` (plain JSON, never under HTX paths).

Open without a token only when the server binds to loopback; otherwise every call needs
``Authorization: Bearer <admin token>``. When a token is configured it is always required.
Requests and replies are typed (:mod:`copytrade.api.admin_models`), described at
``/_sim/openapi.json`` and ``/_sim/docs``; a refused call answers ``{"error", "field"}``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from copytrade.api import admin_models as m
from copytrade.api.admin_http import (
    TOKEN_REQUIRED,
    AdminError,
    Operation,
    authorised,
    dispatch,
    error_reply,
    reply,
)
from copytrade.api.admin_openapi import openapi_document, render_docs
from copytrade.api.ticker import MarketTicker, PathState
from copytrade.domain.copytrading import Follow
from copytrade.domain.enums import CopyMode, PositionSide
from copytrade.domain.impact import slippage_stats
from copytrade.domain.model import Account, SubPosition
from copytrade.domain.paths import PathError, ReplayPath, StochasticPath, make_path
from copytrade.protocol.decimals import fmt
from copytrade.protocol.schema import render
from copytrade.protocol.sim import SimAccount, SimOrder, SimPosition
from copytrade.service import funding, queries, sim
from copytrade.service.context import ServiceContext
from copytrade.service.errors import InvalidFollow, NotFollowing, UnknownUser
from copytrade.service.follow_rules import SettingsChange, change_settings
from copytrade.service.market_settings import SharedMarketSettings


def _opt_fmt(value: Decimal | None) -> str | None:
    return fmt(value) if value is not None else None


def _record_json(record: Any) -> dict[str, Any]:
    """Return a history record (fill, skipped copy, profit share) with its stored field names."""
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


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


def follow_fields(follow: Follow) -> dict[str, Any]:
    """Return a follow's trader and settings as the admin API shows them."""
    return {
        "trader_uid": follow.trader_uid,
        "ratio": fmt(follow.ratio),
        "mode": follow.mode.value,
        "fixed_amount": _opt_fmt(follow.fixed_amount),
        "tp_ratio": _opt_fmt(follow.tp_ratio),
        "sl_ratio": _opt_fmt(follow.sl_ratio),
        "total_stop_loss": _opt_fmt(follow.total_stop_loss),
        "contracts": sorted(follow.contracts) if follow.contracts is not None else None,
        "max_slippage": _opt_fmt(follow.max_slippage),
    }


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
        SimAccount(
            account.balance,
            tuple(sim_position(p) for p in positions),
            tuple(orders),
            account.spot,
            account.futures,
        )
    )


class AdminApi:
    """Routes under ``/_sim/``: the operation table, its OpenAPI document and docs page."""

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
        ticker: MarketTicker | None = None,
        extra_operations: Sequence[Operation] = (),
    ) -> None:
        """Wire the service context; ``on_reset`` clears caches, ``seed`` re-seeds markets.

        ``extra_operations`` are calls served by other parts (health and readiness), served
        and documented with this table's own.
        """
        self.extra_operations = tuple(extra_operations)
        self.ctx = ctx
        self._runner = run
        self.token = token
        self.open = open_without_token
        self.on_reset = on_reset
        self.seed = seed
        self.clock = clock_control
        self.ticker = ticker or MarketTicker(ctx, run, clock_control, {})
        self._openapi: dict[str, Any] | None = None
        self.price_listeners: list[Callable[[str, Decimal, int], None]] = []
        """Told ``(contract, mark, now_ms)`` of every move: an admin move also tells the mark it
        started from first, so a chart begun by the move has both ends."""
        self.shared_settings: SharedMarketSettings | None = None
        """Where funding and impact changes go to reach every process (``None``: here only)."""
        self.reset_listeners: list[Callable[[], None]] = []

    @property
    def runner(self) -> Callable[..., Awaitable[Any]]:
        """Return the function that runs a blocking use case for the event loop."""
        return self._runner

    def operations(self) -> list[Operation]:
        """Return every admin call with its models (the one table routes and docs use)."""
        op = Operation
        return [
            *self.extra_operations,
            op("POST", "/_sim/users", self.create_user, m.CreateUserReply, m.CreateUserRequest),
            op("GET", "/_sim/users/{uid}", self.get_user, m.UserReply, path_params=("uid",)),
            op(
                "POST",
                "/_sim/users/{uid}/funds",
                self.set_funds,
                m.FundsReply,
                m.FundsRequest,
                ("uid",),
            ),
            op("POST", "/_sim/follow", self.follow, m.FollowReply, m.FollowRequest),
            op(
                "GET",
                "/_sim/users/{uid}/follow",
                self.get_follow,
                m.FollowReply,
                path_params=("uid",),
            ),
            op(
                "PATCH",
                "/_sim/users/{uid}/follow",
                self.change_follow,
                m.FollowSettingsReply,
                m.FollowSettingsRequest,
                ("uid",),
            ),
            op(
                "POST",
                "/_sim/followers/bulk",
                self.bulk,
                m.BulkFollowersReply,
                m.BulkFollowersRequest,
            ),
            op("GET", "/_sim/markets", self.markets, m.MarketsReply),
            op(
                "POST",
                "/_sim/markets/{contract_code}/price",
                self.set_price,
                m.SetPriceReply,
                m.SetPriceRequest,
                ("contract_code",),
            ),
            op(
                "GET",
                "/_sim/markets/{contract_code}/path",
                self.get_path,
                m.PathReply,
                path_params=("contract_code",),
            ),
            op(
                "POST",
                "/_sim/markets/{contract_code}/path",
                self.set_path,
                m.PathReply,
                m.PathRequest,
                ("contract_code",),
            ),
            op(
                "GET",
                "/_sim/traders/{uid}/slippage",
                self.slippage,
                m.SlippageReply,
                path_params=("uid",),
            ),
            op("GET", "/_sim/funding", self.get_funding, m.FundingReply),
            op("POST", "/_sim/funding", self.set_funding, m.FundingReply, m.FundingRequest),
            op("GET", "/_sim/impact", self.get_impact, m.ImpactReply),
            op("POST", "/_sim/impact", self.set_impact, m.ImpactReply, m.ImpactRequest),
            op("GET", "/_sim/clock", self.read_clock, m.ClockReply),
            op("POST", "/_sim/clock", self.set_clock, m.ClockReply, m.ClockRequest),
            op("POST", "/_sim/reset", self.reset, m.ResetReply),
        ]

    def routes(self) -> list[Route]:
        """Return the admin routes, the OpenAPI document and the docs page."""
        routes = [
            Route(o.path, self._endpoint(o), methods=[o.method], name=o.handler.__name__)
            for o in self.operations()
        ]
        routes += [
            Route("/_sim/openapi.json", self._guard(self.openapi_json), methods=["GET"]),
            Route("/_sim/docs", self._guard(self.docs), methods=["GET"]),
        ]
        return routes

    def authorised(self, request: Request) -> bool:
        """Return whether a request may use the admin API."""
        return authorised(request, self.token, self.open)

    def _guard(
        self, fn: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            if not self.authorised(request):
                return error_reply(401, TOKEN_REQUIRED)
            return await fn(request)

        return endpoint

    def _endpoint(self, operation: Operation) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await dispatch(operation, request)

        return self._guard(endpoint)

    def openapi(self) -> dict[str, Any]:
        """Return the OpenAPI 3.1 document of the admin API (built once)."""
        if self._openapi is None:
            self._openapi = openapi_document(self.operations())
        return self._openapi

    async def openapi_json(self, request: Request) -> Response:
        """Serve the OpenAPI document."""
        return reply(self.openapi())

    async def docs(self, request: Request) -> Response:
        """Serve the human-readable docs, rendered on the server from the OpenAPI document."""
        return HTMLResponse(render_docs(self.openapi()))

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await self._runner(fn, *args)

    async def create_user(self, body: m.CreateUserRequest) -> m.CreateUserReply:
        """Create a trader or follower with a funded account and one API key.

        The reply carries the key's secret, shown only here. With ``ed25519_public_key`` the
        key signs with Ed25519 and has no secret.
        """
        creds = await self._run(
            lambda: sim.create_user(
                self.ctx,
                body.role,
                body.balance,
                body.permissions == "trade",
                body.ed25519_public_key,
                profit_share_ratio=body.profit_share_ratio,
                spot=body.spot,
                futures=body.futures,
            )
        )
        return m.CreateUserReply(
            uid=creds.uid, access_key=creds.access_key, secret_key=creds.secret_key
        )

    async def set_funds(self, body: m.FundsRequest, uid: int) -> m.FundsReply:
        """Set any of a UID's three USDT balances (``balance``: the copy-trading account)."""
        account: Account = await self._run(
            lambda: sim.set_funds(
                self.ctx, uid, balance=body.balance, spot=body.spot, futures=body.futures
            )
        )
        return m.FundsReply(
            uid=uid,
            balance=fmt(account.balance),
            spot=fmt(account.spot),
            futures=fmt(account.futures),
        )

    async def get_user(self, _: None, uid: int) -> dict[str, Any]:
        """Show a user: balance, positions, orders, follow, fills, skipped copies, shares."""
        view: sim.UserView = await self._run(sim.user_view, self.ctx, uid)
        follow, report = view.follow, view.report
        return {
            "uid": uid,
            "role": view.user.role,
            **_account_json(view.account),
            "following": follow_fields(follow) if follow else None,
            "closed_positions": [position_json(p) for p in report.closed_positions],
            "fills": [_record_json(r) for r in report.fills],
            "skipped_copies": [_record_json(r) for r in report.skipped_copies],
            "profit_shares_received": [_record_json(r) for r in report.profit_shares_received],
            "profit_shares_paid": [_record_json(r) for r in report.profit_shares_paid],
        }

    async def follow(self, body: m.FollowRequest) -> m.FollowReply:
        """Make a follower copy a trader at ``ratio`` (one trader per follower)."""
        follow = _follow_of(body, body.follower_uid, body.trader_uid, body.ratio)
        try:
            await self._run(sim.follow_with, self.ctx, follow)
        except UnknownUser as exc:
            field = "trader_uid" if exc.uid == body.trader_uid else "follower_uid"
            raise AdminError(404, f"{field}: unknown uid {exc.uid}", field) from None
        return m.FollowReply(follower_uid=body.follower_uid, **follow_fields(follow))

    async def get_follow(self, _: None, uid: int) -> m.FollowReply:
        """Show whom a follower copies, with its settings (404 when it follows no one)."""
        view: sim.UserView = await self._run(sim.user_view, self.ctx, uid)
        if view.follow is None:
            raise AdminError(404, f"uid: {uid} follows no trader", "uid")
        return m.FollowReply(follower_uid=uid, **follow_fields(view.follow))

    async def change_follow(self, body: m.FollowSettingsRequest, uid: int) -> m.FollowSettingsReply:
        """Change a follower's settings; only the fields given change, ``null`` clears one.

        The follow keeps its start (its total stop-loss counts the copy PnL since then). New
        TP/SL ratios and a new total stop-loss apply at once at the current marks: the reply
        says which copies they closed. Later lead fills are copied with the new settings;
        open copies of contracts no longer followed stay open until their lead closes.
        """
        try:
            done: SettingsChange = await self._run(
                change_settings, self.ctx, uid, body.changes(), body.trader_uid
            )
        except NotFollowing:
            raise AdminError(404, f"uid: {uid} follows no trader", "uid") from None
        except InvalidFollow as exc:
            raise AdminError(409, f"trader_uid: {exc.detail}", "trader_uid") from None
        outcome = done.outcome
        return m.FollowSettingsReply(
            follower_uid=uid,
            **follow_fields(done.follow),
            copy_exits=outcome.copy_exits,
            stopped=outcome.follows_stopped > 0,
            copies_stopped=outcome.copies_stopped,
        )

    async def bulk(self, body: m.BulkFollowersRequest) -> m.BulkFollowersReply:
        """Create ``count`` funded followers of one trader in one transaction."""
        try:
            template = _follow_of(body, 0, body.trader_uid, body.ratio)
            uids = await self._run(
                sim.bulk_followers,
                self.ctx,
                body.trader_uid,
                body.count,
                body.balance,
                body.ratio,
                template,
            )
        except InvalidFollow as exc:
            raise AdminError(400, f"trader_uid: {exc.detail}", "trader_uid") from None
        return m.BulkFollowersReply(uids=uids)

    async def markets(self, _: None) -> dict[str, Any]:
        """List every contract's mark price and best quotes."""
        markets = await self._run(queries.markets, self.ctx)
        return {
            code: {
                "mark_price": fmt(mk.mark),
                "best_bid": fmt(mk.book.bids[0].price) if mk.book.bids else None,
                "best_ask": fmt(mk.book.asks[0].price) if mk.book.asks else None,
            }
            for code, mk in markets.items()
        }

    async def set_price(self, body: m.SetPriceRequest, contract_code: str) -> Any:
        """Move a contract's mark price.

        The price is rounded to the contract's tick and must be at least one tick. The book
        re-centres; resting orders, take-profit/stop-loss triggers and liquidations fire.
        """
        self.ctx.spec(contract_code)
        before = None
        if self.price_listeners:  # the dashboard's chart: where the move started from
            before = (await self._run(queries.marks, self.ctx)).get(contract_code)
        moved = await self._run(sim.set_price, self.ctx, contract_code, body.price)
        mark = Decimal(moved["mark_price"])
        self.ticker.rebase(contract_code, mark)
        now_ms = self.clock.now_ms()
        for listener in self.price_listeners:
            if before is not None and before != mark:
                listener(contract_code, before, now_ms)
            listener(contract_code, mark, now_ms)
        return moved

    async def slippage(self, _: None, uid: int) -> m.SlippageReply:
        """Report, per open lead position of a trader, its copies' prices against the lead's.

        In basis points, positive when a copy paid more (long) or got less (short) than the
        lead: count, mean, worst, best and a distribution. Copies are the followers' open
        positions linked to the lead position.
        """

        def read() -> tuple[Account, list[SubPosition]]:
            with self.ctx.uow() as uow:
                user, account = uow.users.get(uid), uow.accounts.get(uid)
                if user is None or account is None:
                    raise UnknownUser(uid)
                _, followers = uow.accounts.followers_of(uid)
            copies = [p for a in followers.values() for p in a.positions.values()]
            return account, copies

        account, copies = await self._run(read)
        by_lead: dict[int, list[SubPosition]] = {}
        for copy in copies:
            if copy.lead_sub_position_id is not None:
                by_lead.setdefault(copy.lead_sub_position_id, []).append(copy)
        rows = []
        for lead in sorted(account.positions.values(), key=lambda p: p.sub_position_id):
            stats = slippage_stats(
                lead.open_avg_price,
                lead.side is PositionSide.LONG,
                [c.open_avg_price for c in by_lead.get(lead.sub_position_id, [])],
            )
            rows.append(
                m.LeadSlippage(
                    lead_sub_position_id=str(lead.sub_position_id),
                    contract_code=lead.contract_code,
                    position_side=lead.side.value,
                    lead_price=fmt(lead.open_avg_price),
                    lead_volume=fmt(lead.volume),
                    copies=stats.copies,
                    mean_bps=_fmt_or_none(stats.mean_bps),
                    worst_bps=_fmt_or_none(stats.worst_bps),
                    best_bps=_fmt_or_none(stats.best_bps),
                    distribution=stats.distribution,
                    percentiles={k: fmt(v) for k, v in stats.percentiles.items()},
                )
            )
        return m.SlippageReply(trader_uid=uid, positions=rows)

    async def get_path(self, _: None, contract_code: str) -> m.PathReply:
        """Show a market's price path: parameters, start, ticks applied, next tick."""
        return _path_reply(self.ticker.state(contract_code))

    async def set_path(self, body: m.PathRequest, contract_code: str) -> m.PathReply:
        """Give a market a price path that moves its mark on the simulation clock.

        The path starts now from the current mark and lasts until the next reset. While the
        clock runs the mark moves by itself; an advance of the clock applies every tick it
        passes, in order. A mark set by hand meanwhile is where a random path walks on from.
        """
        self.ctx.spec(contract_code)
        try:
            path = make_path(
                body.kind,
                seed=body.seed,
                volatility=body.volatility,
                drift=body.drift,
                tick_ms=body.tick_ms,
                csv_text=body.csv,
            )
        except PathError as exc:
            field = _path_field(body.kind)
            raise AdminError(400, f"{field}: {exc}", field) from None
        return _path_reply(await self.ticker.set_path(contract_code, path))

    async def get_funding(self, _: None) -> m.FundingReply:
        """Show funding: mode, interval, each market's rate now, the last settlements."""
        config = self.ctx.funding
        now = self.clock.now_ms()

        def rates() -> dict[str, str]:
            with self.ctx.reads() as reads:
                markets = self.ctx.markets(reads.marks())
            return {c: fmt(funding.current_rate(self.ctx, mk, now)) for c, mk in markets.items()}

        schedule = self.ticker.funding
        history = schedule.history if schedule is not None else []
        return m.FundingReply(
            mode=config.mode,
            interval_hours=config.interval_ms // 3_600_000,
            default_rate=fmt(config.default_rate),
            rates=await self._run(rates),
            impact_volume=_fmt_or_none(config.impact_volume),
            last_settled_ms=schedule.last_settled() if schedule is not None else None,
            next_settlement_ms=config.next_settlement(now),
            settlements=[
                m.SettlementView(
                    at_ms=h.at_ms,
                    payments=h.payments,
                    paid=fmt(h.paid),
                    received=fmt(h.received),
                    venue=fmt(h.venue),
                    liquidated=h.liquidated,
                )
                for h in history
            ],
        )

    async def set_funding(self, body: m.FundingRequest) -> m.FundingReply:
        """Change funding settings (mode, interval, rates); they apply from the next settlement.

        Turning funding on starts the schedule at the clock's time: nothing is settled for
        the past.
        """
        config = self.ctx.funding
        rates = dict(config.rates)
        for code, rate in (body.rates or {}).items():
            if code not in self.ctx.contracts:
                raise AdminError(400, f"rates: unknown contract {code!r}", "rates")
            if rate is None:
                rates.pop(code, None)
            else:
                rates[code] = rate
        changed = dataclasses.replace(
            config,
            mode=body.mode or config.mode,
            interval_ms=body.interval_hours * 3_600_000
            if body.interval_hours is not None
            else config.interval_ms,
            default_rate=body.default_rate
            if body.default_rate is not None
            else config.default_rate,
            rates=rates,
            impact_volume=body.impact_volume
            if "impact_volume" in body.model_fields_set
            else config.impact_volume,
        )
        if self.shared_settings is not None:
            await self._run(self.shared_settings.publish, changed)
        else:
            self.ctx.funding = changed
        schedule = self.ticker.funding
        if schedule is not None:  # turned on: the schedule starts now, not at the next tick
            await self._run(schedule.due, self.clock.now_ms())
        return await self.get_funding(None)

    async def get_impact(self, _: None) -> m.ImpactReply:
        """Show the market impact settings."""
        i = self.ctx.impact
        return m.ImpactReply(
            enabled=i.enabled,
            half_life_ms=i.half_life_ms,
            copy_order=i.copy_order,
            seed=i.seed,
            copy_latency_ms=i.copy_latency_ms,
            max_slippage=_fmt_or_none(i.max_slippage),
        )

    async def set_impact(self, body: m.ImpactRequest) -> m.ImpactReply:
        """Change market impact on copies (``half_life_ms`` 0: off); from the next order on."""
        changes = {
            k: getattr(body, k)
            for k in body.model_fields_set
            if getattr(body, k) is not None or k == "max_slippage"  # null: no guard
        }
        changed = dataclasses.replace(self.ctx.impact, **changes)
        if self.shared_settings is not None:
            await self._run(self.shared_settings.publish, None, changed)
        else:
            self.ctx.set_impact(changed)
        return await self.get_impact(None)

    async def read_clock(self, _: None) -> m.ClockReply:
        """Read the simulation clock."""
        return m.ClockReply(now_ms=self.clock.now_ms())

    async def set_clock(self, body: m.ClockRequest) -> m.ClockReply:
        """Advance (``advance_ms``), freeze (``now_ms``) or resume (``now_ms: null``) the clock.

        The clock stays between the epoch and 2100-01-01; a move beyond is refused. Resuming
        runs on from the simulated time (or from real time if that is out of range).
        """
        if body.advance_ms is not None:
            target = self.clock.now_ms() + body.advance_ms
            if not 0 <= target <= m.MAX_CLOCK_MS:
                raise AdminError(
                    400,
                    f"advance_ms: would move the clock to {target}, outside 0 … {m.MAX_CLOCK_MS}",
                    "advance_ms",
                )
            self.clock.advance(body.advance_ms)
        elif "now_ms" in body.model_fields_set:
            self.clock.freeze(body.now_ms)
            if not 0 <= self.clock.now_ms() <= m.MAX_CLOCK_MS:
                self.clock.reset()
        await self.ticker.catch_up()  # every price-path tick the move passed, in order
        return m.ClockReply(now_ms=self.clock.now_ms())

    async def reset(self, _: None) -> m.ResetReply:
        """Delete all state, then seed markets (and the demo users on loopback) again."""
        async with self.ticker.paused():
            await self._run(sim.reset, self.ctx)
            self.ticker.reset()
            self.on_reset()
            for listener in self.reset_listeners:
                listener()
            await self._run(self.seed)
        return m.ResetReply(reset=True)


def _follow_of(body: m.CopySettings, follower_uid: int, trader_uid: int, ratio: Decimal) -> Follow:
    """Return the follow a request's copy settings describe."""
    return Follow(
        follower_uid,
        trader_uid,
        ratio,
        CopyMode(body.mode),
        body.fixed_amount,
        body.tp_ratio,
        body.sl_ratio,
        body.total_stop_loss,
        frozenset(body.contracts) if body.contracts is not None else None,
        body.max_slippage,
    )


def _fmt_or_none(value: Decimal | None) -> str | None:
    return None if value is None else fmt(value)


def _path_field(kind: str) -> str:
    return "csv" if kind == "replay" else "kind"


def _path_reply(state: PathState) -> m.PathReply:
    path = state.path
    extra: dict[str, Any] = {}
    if isinstance(path, StochasticPath):
        extra = {
            "seed": path.seed,
            "volatility": fmt(path.volatility),
            "drift": fmt(path.drift),
            "tick_ms": path.tick_ms,
        }
    elif isinstance(path, ReplayPath):
        extra = {"rows": len(path.points)}
    return m.PathReply(
        contract_code=state.contract_code,
        kind=path.kind,
        start_ms=state.start_ms,
        origin=fmt(state.origin) if state.origin is not None else None,
        ticks_applied=state.ticks_applied,
        next_tick_ms=state.next_tick_ms,
        **extra,
    )
