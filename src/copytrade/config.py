"""Settings (pydantic-settings): environment variables ``COPYTRADE_*`` and an optional TOML file."""

from __future__ import annotations

import os
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB_URL = "sqlite:///copytrade-data/copytrade.db"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# The settings a `serve --workers N` parent hands to its worker processes (JSON).
SETTINGS_ENV = "COPYTRADE_SETTINGS_JSON"


class ContractSettings(BaseModel):
    """One contract of the configuration file (spec §7.2)."""

    contract_code: str
    contract_size: Decimal
    price_tick: Decimal
    lever_min: int = 1
    lever_max: int
    mark_price: Decimal
    max_order_volume: Decimal = Decimal(100_000)
    adjustment_factor: Decimal = Decimal("0.1")
    copy_enabled: bool = True
    cross_enabled: bool = True
    mm_spread: Decimal = Decimal("0.0001")
    mm_step: Decimal = Decimal("0.0001")
    mm_levels: int = 50
    mm_depth: Decimal = Decimal(1000)


class Settings(BaseSettings):
    """Every server setting with its default (spec §9.1)."""

    model_config = SettingsConfigDict(env_prefix="COPYTRADE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8080
    db_url: str = DEFAULT_DB_URL
    sqlite_synchronous: str = Field(
        default="NORMAL",
        description="NORMAL: a process crash loses nothing; FULL: power loss neither",
    )
    server_key: str | None = Field(default=None, description="encrypts API secrets at rest")
    server_key_file: str | None = None
    admin_token: str | None = None
    group_commit_window_ms: float = Field(
        default=1.0,
        description="SQLite: under load, hold a commit group open this long to fill it",
    )
    rate_limit_per_second: int = 18
    timestamp_window_seconds: int = 300
    signature_host_aliases: list[str] = Field(
        default_factory=lambda: ["api.hbdm.com", "api.hbdm.vn", "api.btcgateway.pro"]
    )
    signature_host_strict: bool = Field(
        default=False,
        description=(
            "accept only signatures over the Host header as sent and the aliases as configured; "
            "by default each is also accepted without its port, and each alias with ':443'"
        ),
    )
    tpsl_position_side_mode: Literal["htx", "natural"] = Field(
        default="htx",
        description=(
            "tpsl_open_orders position_side: 'htx' shows the closing order's side, as HTX "
            "does (the opposite of the protected position); 'natural' the position's own"
        ),
    )
    accept_unsigned_get_params: bool = Field(
        default=False,
        description=(
            "also accept a GET signed over the four auth parameters only, as HTX's official "
            "sync Python SDK sends it (its business parameters are then unprotected)"
        ),
    )
    fee_maker: Decimal = Decimal("0.0002")
    fee_taker: Decimal = Decimal("0.0006")
    profit_share_ratio: Decimal = Decimal("0.10")
    demo_seed: bool = True
    db_threads: int = Field(
        default=4,
        description=(
            "PostgreSQL: threads (and pooled connections) per process running use cases. They "
            "overlap database round trips; past that they only contend for Python's "
            "interpreter lock: on the 2-core bench machine 2 threads served ~890 req/s per "
            "process, 4 threads ~1,050 and 8 no more; scale with --workers"
        ),
    )
    redis_url: str | None = Field(
        default=None, description="Redis for a rate limit shared by every process"
    )
    redis_prefix: str = Field(default="copytrade", description="prefix of this server's Redis keys")
    contracts: list[ContractSettings] = Field(default_factory=list)

    @property
    def is_loopback(self) -> bool:
        """Return whether the server binds to loopback only."""
        return self.host in LOOPBACK_HOSTS or self.host.startswith("127.")


def load_settings(config_file: str | None = None, **overrides: Any) -> Settings:
    """Build settings: command-line ``overrides`` > environment > TOML file > defaults."""
    data: dict[str, Any] = {}
    if config_file:
        with Path(config_file).open("rb") as fh:
            data.update(tomllib.load(fh))
    from_env = Settings()
    data.update(from_env.model_dump(include=from_env.model_fields_set))
    data.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**data)


def settings_to_env(settings: Settings) -> dict[str, str]:
    """Return the environment that makes :func:`settings_from_env` rebuild ``settings``."""
    return {SETTINGS_ENV: settings.model_dump_json()}


def settings_from_env() -> Settings:
    """Return the settings a parent process passed down, else ``COPYTRADE_*`` and defaults."""
    passed = os.environ.get(SETTINGS_ENV)
    if passed:
        return Settings.model_validate_json(passed)
    return load_settings(os.environ.get("COPYTRADE_CONFIG"))
