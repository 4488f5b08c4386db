"""Settings (pydantic-settings): environment variables ``COPYTRADE_*`` and an optional TOML file."""

from __future__ import annotations

import difflib
import ipaddress
import os
import tomllib
import typing
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from copytrade.domain.paths import PathError, parse_price_csv

DEFAULT_DB_URL = "sqlite:///copytrade-data/copytrade.db"
# The settings a `serve --workers N` parent hands to its worker processes (JSON).
SETTINGS_ENV = "COPYTRADE_SETTINGS_JSON"


class PathSettings(BaseModel):
    """How a contract's mark moves on the simulation clock (see :mod:`copytrade.domain.paths`).

    ``fixed``: only when set by hand. ``gbm`` / ``walk``: a seeded geometric Brownian motion /
    arithmetic random walk with annualised ``volatility`` and ``drift``, one tick every
    ``tick_ms``. ``replay``: the rows of ``csv_file`` (``timestamp_ms,price`` or
    ``timestamp_ms,open,high,low,close``), replayed from the time the server starts.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["fixed", "gbm", "walk", "replay"] = "fixed"
    seed: int = 0
    volatility: Decimal = Field(default=Decimal(0), ge=0)
    drift: Decimal = Decimal(0)
    tick_ms: int = Field(default=1000, gt=0)
    csv_file: str | None = None

    @model_validator(mode="after")
    def _usable(self) -> Self:
        """A replay needs a readable CSV file of prices: checked at start-up, in one line."""
        if self.kind != "replay":
            return self
        if self.csv_file is None:
            raise ValueError("a replay path needs csv_file")
        try:
            parse_price_csv(Path(self.csv_file).read_text())
        except OSError as exc:
            raise ValueError(f"cannot read {self.csv_file}: {exc.strerror}") from None
        except PathError as exc:
            raise ValueError(f"{self.csv_file}: {exc}") from None
        return self


class SettingsError(ValueError):
    """The settings are unusable; the message is one line, fit to show a user as is."""


class ContractSettings(BaseModel):
    """One contract of the configuration file (spec §7.2)."""

    model_config = ConfigDict(extra="forbid")

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
    path: PathSettings | None = None
    funding_rate: Decimal | None = Field(
        default=None,
        ge=Decimal("-0.0075"),
        le=Decimal("0.0075"),
        description="this market's funding rate per settlement (funding_mode 'rate'); "
        "default: the server's funding_rate",
    )


class Settings(BaseSettings):
    """Every server setting with its default (spec §9.1)."""

    model_config = SettingsConfigDict(env_prefix="COPYTRADE_", extra="forbid")

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
    rate_limit_v5_per_second: int = Field(
        default=48,
        description="v5 private requests per second per UID (HTX: 144 per 3 s, spec v5 §5)",
    )
    rate_limit_v6_per_second: int = Field(
        default=5, description="v6 copy-trading requests per second per UID (spec v5 §5)"
    )
    funding_rate: Decimal = Field(
        default=Decimal("0.0001"),
        ge=Decimal("-0.0075"),
        le=Decimal("0.0075"),
        description="the funding rate per settlement of markets without one of their own "
        "(what /v5/market/funding_rate shows unless funding_mode is 'premium')",
    )
    funding_mode: Literal["off", "rate", "premium"] = Field(
        default="off",
        description="'off': no settlement (spec §7.11 lets the simulator skip funding); "
        "'rate': every open position pays or receives the market's rate each interval; "
        "'premium': the rate of HTX's premium-index formula over the current book",
    )
    funding_interval_hours: int = Field(
        default=8, gt=0, le=24 * 7, description="hours between settlements (from 00:00 UTC)"
    )
    funding_impact_volume: Decimal | None = Field(
        default=None,
        gt=0,
        description="'premium': contracts the impact bid and ask are averaged over "
        "(default: one level of the market maker's book)",
    )
    impact_half_life_ms: int = Field(
        default=0,
        ge=0,
        description="market impact: depth fills take from the market maker's book comes back "
        "with this half-life of simulation time; 0 (off): it re-quotes at once",
    )
    copy_order: Literal["follow_time", "shuffle"] = Field(
        default="follow_time",
        description="market impact: the order copies are placed in after the lead's fill: "
        "'follow_time' (who followed first copies first) or 'shuffle' (seeded per lead "
        "position, copy_order_seed)",
    )
    copy_order_seed: int = 0
    copy_latency_ms: int = Field(
        default=0,
        ge=0,
        description="market impact: simulation time between the lead's fill and its copies "
        "(the lead's depth comes partly back, and a price path moves the mark, meanwhile)",
    )
    max_copy_slippage: Decimal | None = Field(
        default=None,
        ge=0,
        description="market impact: skip a copy (reason 'slippage') expected worse than the "
        "lead's price by more than this fraction (0.01 = 1 %); none by default",
    )
    timestamp_window_seconds: int = 300
    signature_host_aliases: list[str] = Field(
        default_factory=lambda: [
            "api.hbdm.com",
            "api.hbdm.vn",
            "api.btcgateway.pro",
            "api.huobi.pro",
            "api-aws.huobi.pro",
        ]
    )
    signature_host_strict: bool = Field(
        default=False,
        description=(
            "accept only signatures over the Host header as sent and the aliases as configured; "
            "by default each is also accepted without its port, and each alias with ':443'"
        ),
    )
    accept_unsigned_get_params: bool = Field(
        default=False,
        description=(
            "also accept a GET signed over the four auth parameters only, as HTX's official "
            "sync Python SDK sends it (its business parameters are then unprotected)"
        ),
    )
    tpsl_position_side_mode: Literal["htx", "natural"] = Field(
        default="htx",
        description=(
            "tpsl_open_orders position_side: 'htx' shows the closing order's side, as HTX "
            "does (the opposite of the protected position); 'natural' the position's own"
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
    redis_timeout_ms: int = Field(
        default=75, gt=0, description="deadline of each Redis call (no retries); then 1004"
    )
    redis_retry_after_ms: int = Field(
        default=500,
        ge=0,
        description="after a failed Redis call, answer 1004 at once for this long",
    )
    reject_replays: bool = Field(
        default=False,
        description="refuse a signature seen before inside the timestamp window (12008); off "
        "by default, as HTX: see docs/security.md for the trade-off",
    )
    replay_cache_bytes: int = Field(
        default=32 << 20, gt=0, description="in-process budget of remembered signatures"
    )
    keep_alive_timeout_s: float = Field(
        default=5.0, gt=0, description="an idle keep-alive connection is closed after this long"
    )
    header_timeout_s: float = Field(
        default=5.0,
        gt=0,
        description="a request's line and headers must arrive within this long of the "
        "connection (or of the request's first byte); else the connection is closed",
    )
    body_timeout_s: float = Field(
        default=5.0,
        gt=0,
        description="a request's body must arrive within this long of its headers",
    )
    graceful_shutdown_s: float = Field(
        default=5.0, gt=0, description="on stop, in-flight requests get this long to finish"
    )
    contracts: list[ContractSettings] = Field(default_factory=list)
    record_file: str | None = Field(
        default=None,
        description="record every accepted request with its simulation time (copytrade replay)",
    )
    record_append: bool = Field(
        default=False,
        description="continue the record already in record_file (on the store it left)",
    )
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    log_format: Literal["plain", "json"] = Field(
        default="plain", description="plain text or one JSON object per line"
    )
    access_log: bool = Field(
        default=False,
        description=(
            "one log line per HTX request (at info); off by default: a line costs ~9-13 us "
            "of CPU, +15-21% on a cached GET in process (bench/log_cost.py)"
        ),
    )

    @field_validator("db_url")
    @classmethod
    def _db_url_is_a_url(cls, value: str) -> str:
        if "://" not in value:
            raise ValueError(f"{value!r} is a path, not a database URL: {db_url_hint(value)}")
        return value

    @property
    def is_loopback(self) -> bool:
        """Return whether the server binds to loopback only (see :func:`is_loopback`)."""
        return is_loopback(self.host)


def db_url_hint(path: str) -> str:
    """Say which URL to write for a ``--db`` given as a path (``memory``: the in-memory store)."""
    if path.lower() in ("memory", ":memory:"):
        return "write memory:// for the in-memory store (or sqlite:///file.db)"
    return f"write sqlite:///{path} (or postgresql://user@host/db)"


def is_loopback(host: str) -> bool:
    """Return whether ``host`` is a loopback address.

    Return whether ``host`` is a loopback address: ``localhost``, or an IP address in
    127.0.0.0/8 or ``::1`` (IPv4-mapped too), parsed, never matched by prefix.

    ``127.0.0.1.nip.io`` is a name that resolves anywhere, so it is not loopback.
    """
    text = host.strip()
    if text.lower() == "localhost":
        return True
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def load_settings(config_file: str | None = None, **overrides: Any) -> Settings:
    """Build settings: command-line ``overrides`` > environment > TOML file > defaults.

    Raises:
        SettingsError: the file cannot be read or parsed, a key is unknown (the message names
            the nearest valid one), or a value is invalid; the message is one line.
    """
    data: dict[str, Any] = {}
    if config_file:
        data.update(_read_toml(config_file))
    try:
        from_env = Settings()
    except ValidationError as exc:
        raise SettingsError(f"environment: {_describe(exc)}") from None
    data.update(from_env.model_dump(include=from_env.model_fields_set))
    data.update({k: v for k, v in overrides.items() if v is not None})
    where = f"config file {config_file}" if config_file else "settings"
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise SettingsError(f"{where}: {_describe(exc)}") from None


def _read_toml(config_file: str) -> dict[str, Any]:
    try:
        with Path(config_file).open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise SettingsError(f"cannot read config file {config_file}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {config_file} is not valid TOML: {exc}") from None
    _refuse_unknown_keys(config_file, data, Settings.model_fields, "")
    for i, contract in enumerate(data.get("contracts") or []):
        if isinstance(contract, dict):
            where = f"contracts[{i}]."
            _refuse_unknown_keys(config_file, contract, ContractSettings.model_fields, where)
    return data


def _refuse_unknown_keys(
    config_file: str, data: dict[str, Any], known: dict[str, Any], where: str
) -> None:
    for key in data:
        if key not in known:
            near = difflib.get_close_matches(key, list(known), n=1)
            hint = f" (did you mean {where}{near[0]}?)" if near else ""
            raise SettingsError(f"config file {config_file}: unknown key {where}{key}{hint}")


def _describe(exc: ValidationError) -> str:
    """Return pydantic's errors as one line: ``port: Input should be … (got 'abc')``."""
    parts = []
    for error in exc.errors():
        loc = error["loc"]
        where = _location(loc) or "value"
        text = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            near = difflib.get_close_matches(str(loc[-1]), _fields_at(loc), n=1)
            hint = f" (did you mean {_location((*loc[:-1], near[0]))}?)" if near else ""
            text = "unknown setting" + hint
        elif error["type"] not in ("missing", "value_error"):
            text += f" (got {error['input']!r})"
        parts.append(f"{where}: {text}")
    return "; ".join(parts)


def _location(loc: tuple[int | str, ...]) -> str:
    """Name a place in the settings as the TOML file reads: ``contracts[0].price_tick``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def _fields_at(loc: tuple[int | str, ...]) -> list[str]:
    """The setting names valid beside ``loc``'s last part (for a "did you mean")."""
    model: type[BaseModel] = Settings
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        nested = _models_in(field.annotation) if field is not None else []
        if not nested:
            return []
        model = nested[0]
    return list(model.model_fields)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation holds (``list[X]``, ``X | None``, ``X``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def settings_to_env(settings: Settings) -> dict[str, str]:
    """Return the environment that makes :func:`settings_from_env` rebuild ``settings``."""
    return {SETTINGS_ENV: settings.model_dump_json()}


def settings_from_env() -> Settings:
    """Return the settings a parent process passed down, else ``COPYTRADE_*`` and defaults."""
    passed = os.environ.get(SETTINGS_ENV)
    if passed:
        return Settings.model_validate_json(passed)
    return load_settings(os.environ.get("COPYTRADE_CONFIG"))
