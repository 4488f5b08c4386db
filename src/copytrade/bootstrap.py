"""Composition root: settings -> engine, unit of work, clock, ids, limiter, app.

Only this module (and ``create_app``) chooses implementations; nothing runs at import time.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from copytrade.adapters.clock import SimClock
from copytrade.adapters.ids import SnowflakeIds
from copytrade.adapters.ratelimit import MemoryRateLimiter
from copytrade.adapters.secrets import SecretBox
from copytrade.config import Settings
from copytrade.domain.funding import FundingConfig
from copytrade.domain.impact import ImpactSettings
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
from copytrade.service.ports import AdminUnitOfWork, RateLimiter, ReadModel, UnitOfWork


class ConfigError(RuntimeError):
    """The settings cannot make a working server."""


class Store(Protocol):
    """What the composition root needs of a store.

    Memory, embedded SQLite or shared PostgreSQL: its unit-of-work, admin and read factories,
    how use cases run on it, and what health and metrics report of it.
    """

    @property
    def worker(self) -> int:
        """Return this process's snowflake worker number."""
        ...

    @property
    def executor(self) -> Executor:
        """Return the executor use cases run on."""
        ...

    def uow(self) -> UnitOfWork:
        """Return a unit of work."""
        ...

    def admin(self) -> AdminUnitOfWork:
        """Return a unit of work with admin operations."""
        ...

    def reads(self) -> ReadModel:
        """Return a read of committed state."""
        ...

    def overview(self) -> OverviewReader | None:
        """Return the dashboard's reader, or ``None`` when the store has none."""
        ...

    def runner(self) -> Callable[..., Awaitable[Any]]:
        """Return the function that runs a blocking use case for the event loop.

        Called on the loop, it returns an awaitable of the use case's result (a coroutine, or
        the call's future itself where the store can start it at once).
        """
        ...

    def describe(self) -> str:
        """Return the store's URL without secrets."""
        ...

    @property
    def kind(self) -> str:
        """Return ``memory``, ``sqlite`` or ``postgresql``."""
        ...

    def schema_revisions(self) -> tuple[str | None, str | None]:
        """Return the database's schema revision and this code's head (blocking; may raise)."""
        ...

    def observe_commits(self, listener: Callable[[int, float], None]) -> None:
        """Call ``listener(commands, seconds)`` after each commit group, where there are any."""
        ...

    def close(self) -> None:
        """Release threads and connections."""
        ...


@dataclass(slots=True)
class Services:
    """Everything the app needs, built once."""

    settings: Settings
    store: Store
    ctx: ServiceContext
    clock: SimClock
    limiter: RateLimiter
    marks: dict[str, object]
    overview: OverviewReader | None = None
    replays: Any = None  # the opt-in reject_replays guard (adapters.replays)

    @property
    def executor(self) -> Executor:
        """Return the executor use cases run on (the commit-group executor for SQLite)."""
        return self.store.executor

    @property
    def engine(self) -> Any:
        """Return the store's SQLAlchemy engine (database stores only)."""
        return getattr(self.store, "engine", None)

    @property
    def account_versions(self) -> Any:
        """Return the shared store's kept accounts (PostgreSQL only), else ``None``."""
        return getattr(self.store, "versions", None)

    async def run(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        """Run a (blocking) use case for the event loop, as the store wants it run."""
        return await self.store.runner()(fn, *args)

    def runner(self) -> Callable[..., Awaitable[Any]]:
        """Return the store's runner (one coroutine fewer per request on the hot path)."""
        return self.store.runner()

    def seed(self) -> None:
        """Seed markets, and on loopback the demo trader and followers."""
        sim.seed_markets(self.ctx, self.marks)  # type: ignore[arg-type]
        if self.settings.demo_seed and self.settings.is_loopback:
            sim.seed_demo(self.ctx)

    def close(self) -> None:
        """Release threads and connections."""
        if self.overview is not None:
            self.overview.close()
        self.store.close()


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


def store_kind(url: str) -> str:
    """Return ``memory``, ``sqlite`` or ``postgresql`` for a database URL (by its scheme)."""
    scheme = url.partition("://")[0].partition("+")[0].lower()
    if scheme == "memory":
        return "memory"
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgresql", "postgres"):
        return "postgresql"
    raise ConfigError(
        f"unknown database URL scheme {scheme!r}: use memory://, sqlite:///, postgresql://"
    )


def _sqlite_file(url: str) -> str | None:
    """Return a SQLite URL's file, ``None`` for an in-memory database."""
    from sqlalchemy.engine import make_url

    database = make_url(url).database or ""
    return None if database in ("", ":memory:") else database


def server_key(settings: Settings) -> str:
    """Return the key that encrypts API secrets at rest.

    Order: ``server_key``, ``server_key_file``; for a SQLite file, a key generated once and
    kept beside the database (mode 0600); for memory or an in-memory SQLite database, a fresh
    one. PostgreSQL needs it configured, so that every process shares it.
    """
    if settings.server_key:
        return settings.server_key
    if settings.server_key_file:
        return Path(settings.server_key_file).read_text().strip()
    kind = store_kind(settings.db_url)
    if kind == "postgresql":
        raise ConfigError("set COPYTRADE_SERVER_KEY (shared by every server process)")
    database = _sqlite_file(settings.db_url) if kind == "sqlite" else None
    if database is None:
        return secrets.token_hex(32)
    path = Path(database).with_name(Path(database).name + ".key")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def make_store(settings: Settings, box: SecretBox, *, migrate_sqlite: bool = True) -> Store:
    """Build the store the URL's scheme names (the one place that chooses)."""
    kind = store_kind(settings.db_url)
    if kind == "memory":
        from copytrade.adapters.memory import MemoryStore

        return MemoryStore()
    from copytrade.adapters.db.engine import make_engine

    if kind == "sqlite":
        from copytrade.adapters.db.sqlite_store import EmbeddedStore

        database = _sqlite_file(settings.db_url)
        engine = make_engine(
            settings.db_url,
            sqlite_synchronous=settings.sqlite_synchronous,
            background_checkpoint=database is not None,
        )
        return EmbeddedStore(
            engine,
            box,
            window_s=settings.group_commit_window_ms / 1000,
            checkpoint_file=database,
            migrate_schema=migrate_sqlite,
        )
    from copytrade.adapters.db.pg_store import SharedStore

    engine = make_engine(settings.db_url, pool_size=settings.db_threads)
    return SharedStore(engine, box, settings.db_threads)


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


def funding_config(settings: Settings) -> FundingConfig:
    """Return the funding settings of ``settings`` (per-market rates from ``[[contracts]]``)."""
    return FundingConfig(
        mode=settings.funding_mode,
        interval_ms=settings.funding_interval_hours * 3_600_000,
        default_rate=settings.funding_rate,
        rates={
            c.contract_code.upper(): c.funding_rate
            for c in settings.contracts
            if c.funding_rate is not None
        },
        impact_volume=settings.funding_impact_volume,
    )


def impact_settings(settings: Settings) -> ImpactSettings:
    """Return the market impact settings of ``settings`` (off unless a half-life is set)."""
    return ImpactSettings(
        half_life_ms=settings.impact_half_life_ms,
        copy_order=settings.copy_order,
        seed=settings.copy_order_seed,
        copy_latency_ms=settings.copy_latency_ms,
        max_slippage=settings.max_copy_slippage,
    )


def bootstrap(settings: Settings, *, migrate_sqlite: bool = True) -> Services:
    """Build the services: store (by URL scheme), clock, ids, limiter, service context."""
    if not settings.is_loopback and not settings.admin_token:
        raise ConfigError(
            "binding outside loopback needs an admin token (COPYTRADE_ADMIN_TOKEN) "
            "to protect /_sim/"
        )
    store = make_store(settings, SecretBox(server_key(settings)), migrate_sqlite=migrate_sqlite)
    clock = SimClock()
    specs, marks = contracts_from(settings)
    ctx = ServiceContext(
        uow=store.uow,
        admin=store.admin,
        reads=store.reads,
        clock=clock,
        ids=SnowflakeIds(store.worker),
        contracts=specs,
        fees=FeeSchedule(settings.fee_maker, settings.fee_taker),
        default_profit_share_ratio=settings.profit_share_ratio,
        tpsl_side_display=SideDisplay(settings.tpsl_position_side_mode),
        funding=funding_config(settings),
    )
    ctx.set_impact(impact_settings(settings))
    pause = getattr(store, "pause", None)  # the embedded store serves others mid-fan-out
    if pause is not None:
        ctx.pause = pause
    limiter = make_limiter(settings)
    replays = make_replay_guard(settings, limiter)
    return Services(settings, store, ctx, clock, limiter, marks, store.overview(), replays)
