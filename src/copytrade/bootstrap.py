"""Composition root: settings -> engine, unit of work, clock, ids, limiter, app.

Only this module (and ``create_app``) chooses implementations; nothing runs at import time.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from copytrade.adapters.clock import SimClock
from copytrade.adapters.db.batching import InlineGroupExecutor
from copytrade.adapters.db.cached import AccountCache, CachedUnitOfWork, write_changes
from copytrade.adapters.db.checkpoint import WalCheckpointer
from copytrade.adapters.db.engine import (
    ConnectionKeeper,
    allocate_worker,
    is_sqlite,
    make_engine,
    migrate,
    require_current_schema,
)
from copytrade.adapters.db.overview import SqlOverviewReader
from copytrade.adapters.db.uow import SqlUnitOfWork
from copytrade.adapters.db.versions import AccountVersions
from copytrade.adapters.ids import SnowflakeIds
from copytrade.adapters.ratelimit import MemoryRateLimiter
from copytrade.adapters.secrets import SecretBox
from copytrade.api.wire import WireError
from copytrade.config import Settings
from copytrade.domain.errors import DomainError
from copytrade.domain.instruments import (
    DEFAULT_CONTRACTS,
    DEFAULT_MARKS,
    ContractSpec,
    FeeSchedule,
    MarketMaker,
)
from copytrade.domain.tpsl import SideDisplay
from copytrade.service import sim
from copytrade.service.context import ServiceContext
from copytrade.service.overview import OverviewReader
from copytrade.service.ports import RateLimiter


class ConfigError(RuntimeError):
    """The settings cannot make a working server."""


@dataclass(slots=True)
class Services:
    """Everything the app needs, built once."""

    settings: Settings
    engine: Engine
    ctx: ServiceContext
    clock: SimClock
    limiter: RateLimiter
    executor: Executor
    marks: dict[str, object]
    checkpointer: WalCheckpointer | None = None
    account_versions: AccountVersions | None = None
    keeper: ConnectionKeeper | None = None
    overview: OverviewReader | None = None
    replays: Any = None  # the opt-in reject_replays guard (adapters.replays)

    async def run(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        """Run a (blocking) use case for the event loop: in the current commit group for
        SQLite, on a database thread otherwise."""
        if isinstance(self.executor, InlineGroupExecutor):
            return await self.executor.run(fn, *args)
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    def runner(self) -> Callable[..., Awaitable[Any]]:
        """Return :meth:`run`, or for SQLite the group executor's own ``run`` (one coroutine
        fewer per request on the hot path)."""
        if isinstance(self.executor, InlineGroupExecutor):
            return self.executor.run
        return self.run

    def seed(self) -> None:
        """Seed markets, and on loopback the demo trader and followers."""
        sim.seed_markets(self.ctx, self.marks)  # type: ignore[arg-type]
        if self.settings.demo_seed and self.settings.is_loopback:
            sim.seed_demo(self.ctx)

    def close(self) -> None:
        """Release threads and connections."""
        self.executor.shutdown(wait=True)
        if self.checkpointer is not None:
            self.checkpointer.stop()
        if self.keeper is not None:
            self.keeper.close()
        if self.overview is not None:
            self.overview.close()
        self.engine.dispose()


def contracts_from(settings: Settings) -> tuple[dict[str, ContractSpec], dict[str, object]]:
    """Return the contract specs and initial marks from settings (defaults per spec §7.2)."""
    if not settings.contracts:
        return ({c.contract_code: c for c in DEFAULT_CONTRACTS}, dict(DEFAULT_MARKS))
    specs: dict[str, ContractSpec] = {}
    marks: dict[str, object] = {}
    for c in settings.contracts:
        code = c.contract_code.upper()
        specs[code] = ContractSpec(
            code,
            c.contract_size,
            c.price_tick,
            c.lever_min,
            c.lever_max,
            c.max_order_volume,
            c.adjustment_factor,
            c.copy_enabled,
            c.cross_enabled,
            MarketMaker(c.mm_spread, c.mm_step, c.mm_levels, c.mm_depth),
        )
        marks[code] = c.mark_price
    return specs, marks


def server_key(settings: Settings) -> str:
    """Return the key that encrypts API secrets at rest.

    Order: ``server_key``, ``server_key_file``; for a SQLite file, a key generated once and
    kept beside the database (mode 0600). Other databases need it configured, so that every
    process shares it.
    """
    if settings.server_key:
        return settings.server_key
    if settings.server_key_file:
        return Path(settings.server_key_file).read_text().strip()
    if not is_sqlite(settings.db_url):
        raise ConfigError("set COPYTRADE_SERVER_KEY (shared by every server process)")
    database = make_url(settings.db_url).database or ""
    if database in ("", ":memory:"):
        return secrets.token_hex(32)
    path = Path(database).with_name(Path(database).name + ".key")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def make_limiter(settings: Settings) -> RateLimiter:
    """Return the rate limiter: Redis (shared by processes) with ``redis_url``, else in-process."""
    if settings.redis_url:
        from copytrade.adapters.ratelimit_redis import RedisRateLimiter

        return RedisRateLimiter.from_url(
            settings.redis_url,
            settings.rate_limit_per_second,
            prefix=settings.redis_prefix,
            timeout_s=settings.redis_timeout_ms / 1000,
            retry_after_s=settings.redis_retry_after_ms / 1000,
        )
    return MemoryRateLimiter(settings.rate_limit_per_second)


def make_replay_guard(settings: Settings, limiter: RateLimiter) -> Any:
    """Return the ``reject_replays`` guard (Redis when configured, else in-process) or None."""
    if not settings.reject_replays:
        return None
    from copytrade.adapters.replays import MemoryReplayGuard, RedisReplayGuard

    client = getattr(limiter, "async_client", None)
    if client is not None:
        return RedisReplayGuard(
            client, prefix=settings.redis_prefix, timeout_s=settings.redis_timeout_ms / 1000
        )
    return MemoryReplayGuard(settings.replay_cache_bytes)


def bootstrap(settings: Settings, *, migrate_sqlite: bool = True) -> Services:
    """Build the services: engine (migrated for SQLite), unit of work, clock, ids, limiter."""
    if not settings.is_loopback and not settings.admin_token:
        raise ConfigError(
            "binding outside loopback needs an admin token (COPYTRADE_ADMIN_TOKEN) "
            "to protect /_sim/"
        )
    sqlite = is_sqlite(settings.db_url)
    sqlite_file = sqlite and (make_url(settings.db_url).database or ":memory:") != ":memory:"
    engine = make_engine(
        settings.db_url,
        sqlite_synchronous=settings.sqlite_synchronous,
        pool_size=settings.db_threads,
        background_checkpoint=sqlite_file,
    )
    if sqlite and migrate_sqlite:
        migrate(engine)
    else:
        require_current_schema(engine)
    box = SecretBox(server_key(settings))
    clock = SimClock()
    specs, marks = contracts_from(settings)
    # PostgreSQL: each process keeps the accounts it committed, checked by row version
    versions = None if sqlite else AccountVersions()
    # PostgreSQL: each database thread keeps its connection between commands
    keeper = None if sqlite else ConnectionKeeper(engine)
    ctx = ServiceContext(
        uow=lambda: SqlUnitOfWork(engine, box, versions, keeper),
        clock=clock,
        # SQLite is one process (worker 0); on a shared database each process draws its own.
        ids=SnowflakeIds(0 if sqlite else allocate_worker(engine)),
        contracts=specs,
        fees=FeeSchedule(settings.fee_maker, settings.fee_taker),
        default_profit_share_ratio=settings.profit_share_ratio,
        tpsl_side_display=SideDisplay(settings.tpsl_position_side_mode),
    )
    executor: Executor
    if sqlite:
        # One process, one writer: accounts stay in memory and commands commit in groups.
        cache = AccountCache()
        group = InlineGroupExecutor(
            engine,
            write_changes(engine, box),
            cache.clear,
            expected=(DomainError, WireError),
            window_s=settings.group_commit_window_ms / 1000,
        )
        ctx.uow = lambda: CachedUnitOfWork(engine, box, group, cache)
        executor = group
    else:
        executor = ThreadPoolExecutor(
            max_workers=settings.db_threads, thread_name_prefix="copytrade-db"
        )
    limiter = make_limiter(settings)
    replays = make_replay_guard(settings, limiter)
    checkpointer = None
    if sqlite_file:
        # the engine's commits leave checkpoints to this thread (see adapters.db.checkpoint)
        checkpointer = WalCheckpointer(str(make_url(settings.db_url).database)).start()
    return Services(
        settings,
        engine,
        ctx,
        clock,
        limiter,
        executor,
        marks,
        checkpointer,
        versions,
        keeper,
        overview=SqlOverviewReader(engine),
        replays=replays,
    )
