"""Marks that move by themselves: price paths driven by the simulation clock.

:class:`MarketTicker` keeps one :class:`~copytrade.domain.paths.PathCursor` per market with a
path. Every due tick goes through the set-price use case (:func:`copytrade.service.sim.
set_price`), so resting orders, take-profit/stop-loss and liquidations fire on the way, tick by
tick, in time order across markets. Funding settlements
(:class:`~copytrade.service.funding.FundingSchedule`) take their place among the ticks. Ticks
and settlements become due in two ways: a background task on the server's loop follows the
clock while it runs, and an admin clock move applies every one it jumped over, in order,
before it answers.

A copy latency (``copy_latency_ms``) lets the paths move the marks between a lead and its
copies: a command peeks at its markets' cursors (:meth:`MarketTicker.ahead`) for the mark they
reach by the copies' time, without applying those ticks; they are applied when due, as always.

Paths live in the server process: configured ones (TOML ``[[contracts]] path``) start when the
markets are seeded and start again after ``/_sim/reset``; ones set through the admin API last
until the next reset. With ``serve --workers N`` each process walks its configured paths on its
own; a seeded path gives every process the same marks at the same times.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from copytrade.config import Settings
from copytrade.domain.paths import (
    FixedPath,
    PathCursor,
    PathError,
    PricePath,
    ReplayPath,
    Tick,
    make_path,
)
from copytrade.service import sim, v5_others
from copytrade.service.context import ServiceContext
from copytrade.service.funding import FundingSchedule
from copytrade.service.ports import Clock

log = logging.getLogger(__name__)

IDLE_S = 0.25
"""The longest the background task sleeps, so that clock moves and new paths are noticed."""

PriceListener = Callable[[str, Decimal, int], None]


def configured_paths(settings: Settings) -> dict[str, PricePath]:
    """Return the price paths of the ``[[contracts]]`` tables (a replay's CSV is read here).

    Raises:
        PathError: a path that cannot be used (the message names the contract).
    """
    paths: dict[str, PricePath] = {}
    for contract in settings.contracts:
        p = contract.path
        if p is None or p.kind == "fixed":
            continue
        code = contract.contract_code.upper()
        try:
            text = Path(p.csv_file).read_text() if p.csv_file else None
            paths[code] = make_path(
                p.kind,
                seed=p.seed,
                volatility=p.volatility,
                drift=p.drift,
                tick_ms=p.tick_ms,
                csv_text=text,
            )
        except (OSError, PathError) as exc:
            raise PathError(f"{code} path: {exc}") from None
    return paths


@dataclass(frozen=True, slots=True)
class PathState:
    """A market's path as the admin API shows it."""

    contract_code: str
    path: PricePath
    start_ms: int | None
    origin: Decimal | None
    ticks_applied: int
    next_tick_ms: int | None


class MarketTicker:
    """Walks each market's price path on the simulation clock through the set-price use case."""

    def __init__(
        self,
        ctx: ServiceContext,
        run: Callable[..., Awaitable[Any]],
        clock: Clock,
        configured: dict[str, PricePath],
        listeners: list[PriceListener] | None = None,
        funding: FundingSchedule | None = None,
        refresh: Callable[[], None] | None = None,
    ) -> None:
        """``run`` runs a blocking use case for the loop; ``configured`` paths start at seed.

        ``funding``: settlements to apply in time order with the ticks (a tick at a
        settlement's time goes first, so the settlement uses the mark of that time).
        ``refresh``: applies the settings other processes set (blocking), before each look at
        the clock (:class:`~copytrade.service.market_settings.SharedMarketSettings`).
        """
        self.ctx = ctx
        self.refresh = refresh
        self.funding = funding
        self.run = run
        self.clock = clock
        self.configured = {c: p for c, p in configured.items() if not isinstance(p, FixedPath)}
        self.listeners = listeners if listeners is not None else []
        self.cursors: dict[str, PathCursor] = {}
        self.pending: dict[str, PricePath] = dict(self.configured)
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        ctx.path_ahead = self.ahead  # the copy latency peeks at these paths

    def ahead(self, contract_code: str, at_ms: int) -> Decimal | None:
        """Return the mark a market's path reaches by ``at_ms``, without moving it.

        Called from the store's runner thread by a command with a copy latency; the cursor
        is read as one snapshot (:meth:`PathCursor.ahead`). ``None``: no path there, or no
        tick by ``at_ms``.
        """
        cursor = self.cursors.get(contract_code)
        return cursor.ahead(at_ms) if cursor is not None else None

    # -- control -----------------------------------------------------------------------------
    async def set_path(self, contract_code: str, path: PricePath) -> PathState:
        """Start ``path`` on a market now, from its current mark; apply what is due at once."""
        tick = self.ctx.spec(contract_code).price_tick
        async with self._lock:
            self.pending.pop(contract_code, None)
            self.cursors.pop(contract_code, None)
            if not isinstance(path, FixedPath):
                mark = (await self.run(self._marks)).get(contract_code)
                origin = mark if mark is not None else tick
                self.cursors[contract_code] = PathCursor(path, self.clock.now_ms(), origin, tick)
        await self.catch_up()
        return self.state(contract_code)

    def state(self, contract_code: str) -> PathState:
        """Return a market's path, where it started and its next tick."""
        self.ctx.spec(contract_code)
        cursor = self.cursors.get(contract_code)
        if cursor is None:
            path = self.pending.get(contract_code, FixedPath())
            return PathState(contract_code, path, None, None, 0, None)
        return PathState(
            contract_code,
            cursor.path,
            cursor.start_ms,
            cursor.origin,
            cursor.ticks,
            cursor.next_at(),
        )

    def rebase(self, contract_code: str, price: Decimal) -> None:
        """A mark set by hand (a price shock): a random path walks on from there."""
        cursor = self.cursors.get(contract_code)
        if cursor is not None and not isinstance(cursor.path, ReplayPath):
            cursor.exact = price

    @contextlib.asynccontextmanager
    async def paused(self) -> AsyncIterator[None]:
        """Hold every tick back meanwhile (a reset must not meet a tick half way)."""
        async with self._lock:
            yield

    def reset(self) -> None:
        """Forget admin-set paths; configured ones start again once the markets are seeded."""
        self.cursors.clear()
        self.pending = dict(self.configured)
        if self.funding is not None:
            self.funding.forget()

    # -- applying ticks ----------------------------------------------------------------------
    def _marks(self) -> dict[str, Decimal]:
        with self.ctx.reads() as reads:
            return dict(reads.marks())

    def _quiet(self, codes: list[str]) -> list[str]:
        """Return the markets among ``codes`` where no account holds a position or order."""
        with self.ctx.uow() as uow:
            return [code for code in codes if not uow.accounts.exposed_to(code)]

    async def _start_pending(self) -> None:
        if not self.pending:
            return
        marks = await self.run(self._marks)
        now = self.clock.now_ms()
        for code in [c for c in self.pending if c in marks]:
            spec = self.ctx.contracts.get(code)
            path = self.pending.pop(code)
            if spec is not None:
                self.cursors[code] = PathCursor(path, now, marks[code], spec.price_tick)

    async def catch_up(self) -> int:
        """Apply every tick due by now, in time order across markets; return how many."""
        applied = 0
        async with self._lock:
            if self.refresh is not None:
                await self.run(self.refresh)
            await self._start_pending()
            now = self.clock.now_ms()
            moving = [
                code
                for code, c in self.cursors.items()
                if (at := c.next_at()) is not None and at <= now
            ]
            for code in await self.run(self._quiet, moving) if moving else []:
                # nobody holds a position or order there: only the last mark can matter
                ticks = self.cursors[code].due(now)
                await self._apply(code, ticks[-1])
                applied += 1
            settle_at = await self._settlement_due(now)  # changes only once settled
            cancel_at = await self._cancel_after_due(now)
            while True:
                due = [(c.next_at(), code) for code, c in self.cursors.items()]
                ready = sorted((at, code) for at, code in due if at is not None and at <= now)
                # a cancel-after deadline: the orders go before a tick of the same time could
                # fill them, and before a settlement that is not earlier
                if (
                    cancel_at is not None
                    and (not ready or cancel_at <= ready[0][0])
                    and (settle_at is None or cancel_at <= settle_at)
                ):
                    await self.run(v5_others.fire_cancel_after, self.ctx, cancel_at)
                    cancel_at = await self._cancel_after_due(now)
                    continue
                if settle_at is not None and (not ready or settle_at < ready[0][0]):
                    assert self.funding is not None
                    await self.run(self.funding.settle, settle_at)
                    settle_at = await self._settlement_due(now)
                    continue
                if not ready:
                    return applied
                code = ready[0][1]
                (tick,) = self.cursors[code].due(now, limit=1)
                await self._apply(code, tick)
                applied += 1

    async def _cancel_after_due(self, now: int) -> int | None:
        """Return the earliest cancel-after deadline reached by ``now`` (``None``: none)."""
        at: int | None = await self.run(v5_others.next_cancel_after, self.ctx)
        return at if at is not None and at <= now else None

    async def _settlement_due(self, now: int) -> int | None:
        if self.funding is None or self.ctx.funding.mode == "off":
            return None
        due: int | None = await self.run(self.funding.due, now)
        return due

    async def _apply(self, contract_code: str, tick: Tick) -> None:
        moved = await self.run(sim.set_price, self.ctx, contract_code, tick.price, tick.at_ms)
        for listener in self.listeners:
            listener(contract_code, Decimal(moved["mark_price"]), tick.at_ms)

    def _sleep_s(self) -> float:
        upcoming = [at for c in self.cursors.values() if (at := c.next_at()) is not None]
        if not upcoming:
            return IDLE_S
        wait = (min(upcoming) - self.clock.now_ms()) / 1000
        return min(max(wait, 0.001), IDLE_S)

    # -- background task ---------------------------------------------------------------------
    async def _follow_clock(self) -> None:
        while True:
            try:
                await self.catch_up()
            except Exception:  # a failed tick must not stop the market: log, retry later
                log.exception("price path tick failed")
                await asyncio.sleep(IDLE_S)
            await asyncio.sleep(self._sleep_s())

    def start(self) -> None:
        """Start following the clock on the running loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._follow_clock())

    async def stop(self) -> None:
        """Stop the background task (server shutdown)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
