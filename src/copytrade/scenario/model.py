"""The scenario file (TOML): what it declares, validated before anything runs."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from copytrade.config import ContractSettings, Settings


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PathSpec(_Strict):
    """A price path an action gives a market (a replay's rows are the action's ``csv``)."""

    kind: Literal["fixed", "gbm", "walk", "replay"]
    seed: int = 0
    volatility: Decimal = Decimal(0)
    drift: Decimal = Decimal(0)
    tick_ms: int = 1000


class TraderSpec(_Strict):
    """A trader, named for the actions that follow."""

    name: str
    balance: Decimal = Decimal(10_000)
    profit_share_ratio: Decimal | None = None


class FollowerGroup(_Strict):
    """``count`` followers of one trader, alike."""

    name: str
    trader: str
    count: int = Field(default=1, ge=1, le=100_000)
    balance: Decimal = Decimal(10_000)
    ratio: Decimal = Field(default=Decimal(1), gt=0)
    max_slippage: Decimal | None = Field(
        default=None, ge=0, le=1, description="each follower's own slippage guard (fraction)"
    )


class Action(_Strict):
    """One step at ``at_ms`` after the start (the clock is advanced there first).

    ``order``: a trader opens (``direction`` buy/sell, ``amount``, ``lever``, ``margin_mode``,
    ``price`` for a limit order, ``tp``/``sl`` triggers). ``close_all``: a trader closes a side.
    ``price``: the mark is set (a shock). ``path``: the market gets a price path.
    """

    at_ms: int = Field(default=0, ge=0)
    do: Literal["order", "close_all", "price", "path"]
    trader: str | None = None
    contract_code: str = "ETH-USDT"
    direction: Literal["buy", "sell"] = "buy"
    amount: Decimal = Decimal(1)
    lever: int = 10
    margin_mode: Literal["isolated", "cross"] = "isolated"
    position_side: Literal["long", "short"] = "long"
    price: Decimal | None = None
    tp: Decimal | None = None
    sl: Decimal | None = None
    path: PathSpec | None = None
    csv: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> Action:
        if self.do in ("order", "close_all") and self.trader is None:
            raise ValueError(f"{self.do} needs a trader")
        if self.do == "price" and self.price is None:
            raise ValueError("price needs a price")
        if self.do == "path" and self.path is None:
            raise ValueError("path needs a path table")
        return self


class Expect(_Strict):
    """Declared outcomes; the report says which hold."""

    copies: int | None = None
    liquidations_min: int | None = None
    liquidations_max: int | None = None
    skips: dict[str, int] = Field(default_factory=dict)
    closes: dict[str, int] = Field(
        default_factory=dict, description="closed positions by close type (stop_loss, …)"
    )
    final_marks: dict[str, Decimal] = Field(default_factory=dict)
    max_copy_slippage_bps: Decimal | None = None
    min_mean_copy_slippage_bps: Decimal | None = Field(
        default=None, description="the copies' mean slippage is at least this (impact on)"
    )
    funding_settlements: int | None = Field(
        default=None, description="funding settlements that charged or credited a position"
    )
    funding_payers: list[str] = Field(
        default_factory=list, description="traders / follower groups whose funding net is < 0"
    )
    funding_receivers: list[str] = Field(
        default_factory=list, description="traders / follower groups whose funding net is > 0"
    )
    traders_pnl_positive: list[str] = Field(default_factory=list)
    traders_pnl_negative: list[str] = Field(default_factory=list)


class Scenario(_Strict):
    """A whole scenario file."""

    name: str
    description: str = ""
    start_ms: int = 1_767_225_600_000  # 2026-01-01T00:00:00Z
    end_ms: int = Field(default=0, ge=0, description="advance to here (after start) at the end")
    contracts: list[ContractSettings] = Field(default_factory=list)
    server: dict[str, Any] = Field(
        default_factory=dict,
        description="server settings for the run (funding_mode, impact_half_life_ms, …)",
    )
    traders: list[TraderSpec]
    followers: list[FollowerGroup] = Field(default_factory=list)
    actions: list[Action] = Field(default_factory=list)
    expect: Expect = Field(default_factory=Expect)

    @model_validator(mode="after")
    def _server(self) -> Scenario:
        # the run picks the store, the scenario its contracts ([[contracts]]) and users
        taken = {"db_url", "contracts", "demo_seed", "host", "port", "record_file", "record_append"}
        wrong = sorted((set(self.server) - set(Settings.model_fields)) | (set(self.server) & taken))
        if wrong:
            raise ValueError(f"server: not a setting a scenario may give: {wrong}")
        Settings.model_validate({**self.server, "demo_seed": False})  # refused before a run
        return self

    @model_validator(mode="after")
    def _names(self) -> Scenario:
        traders = {t.name for t in self.traders}
        if len(traders) != len(self.traders):
            raise ValueError("trader names must be unique")
        for group in self.followers:
            if group.trader not in traders:
                raise ValueError(f"followers {group.name!r}: no trader {group.trader!r}")
        for action in self.actions:
            if action.trader is not None and action.trader not in traders:
                raise ValueError(f"action at {action.at_ms}: no trader {action.trader!r}")
        return self


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; a relative ``csv_file`` is beside the file."""
    path = Path(path)
    with path.open("rb") as fh:
        data: dict[str, Any] = tomllib.load(fh)
    for contract in data.get("contracts", []):
        csv_file = (contract.get("path") or {}).get("csv_file")
        if csv_file and not Path(csv_file).is_absolute():
            contract["path"]["csv_file"] = str(path.parent / csv_file)
    return Scenario.model_validate(data)
