"""Funding and market impact settings set through the admin API, shared through the store.

``serve --workers N`` runs N processes over one store, each with its own
:class:`~copytrade.service.context.ServiceContext`. An admin change of the funding or impact
settings reaches one of them; it is written to the store's meta table (``settings_funding``,
``settings_impact``, JSON) in the same call that applies it, and every process applies what the
store holds each time its market ticker looks at the clock (at least every 0.25 s, and before
an admin clock move is answered). No key means the configured settings (the server's
settings file or environment): a ``/_sim/reset`` deletes the keys with the rest of the state,
so every process goes back to them. The settings are store state, like the marks: a server
restarted on the same database finds the ones last set through the admin API.

What stays per process: the depth ledger (what fills took from the market maker's book and
its recovery, :class:`~copytrade.domain.impact.DepthLedger`) and the price paths' cursors.
Sharing the ledger would put a store write on every fill; with ``--workers N`` each process's
copies walk only the depth its own commands took.
"""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from typing import Any

from copytrade.domain.funding import FundingConfig
from copytrade.domain.impact import ImpactSettings
from copytrade.service.context import ServiceContext

FUNDING_KEY = "settings_funding"
IMPACT_KEY = "settings_impact"


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _number(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def funding_json(config: FundingConfig) -> str:
    """Return funding settings as the meta table keeps them."""
    return json.dumps(
        {
            "mode": config.mode,
            "interval_ms": config.interval_ms,
            "default_rate": str(config.default_rate),
            "rates": {code: str(rate) for code, rate in sorted(config.rates.items())},
            "impact_volume": _text(config.impact_volume),
        },
        sort_keys=True,
    )


def funding_from(text: str) -> FundingConfig:
    """Return the funding settings a meta value holds."""
    raw = json.loads(text)
    return FundingConfig(
        mode=raw["mode"],
        interval_ms=int(raw["interval_ms"]),
        default_rate=Decimal(raw["default_rate"]),
        rates={code: Decimal(rate) for code, rate in raw["rates"].items()},
        impact_volume=_number(raw["impact_volume"]),
    )


def impact_json(settings: ImpactSettings) -> str:
    """Return impact settings as the meta table keeps them."""
    return json.dumps(
        {
            "half_life_ms": settings.half_life_ms,
            "copy_order": settings.copy_order,
            "seed": settings.seed,
            "copy_latency_ms": settings.copy_latency_ms,
            "max_slippage": _text(settings.max_slippage),
        },
        sort_keys=True,
    )


def impact_from(text: str) -> ImpactSettings:
    """Return the impact settings a meta value holds."""
    raw = json.loads(text)
    return ImpactSettings(
        half_life_ms=int(raw["half_life_ms"]),
        copy_order=raw["copy_order"],
        seed=int(raw["seed"]),
        copy_latency_ms=int(raw["copy_latency_ms"]),
        max_slippage=_number(raw["max_slippage"]),
    )


class SharedMarketSettings:
    """One process's view of the shared settings: publish a change, apply the store's."""

    def __init__(self, ctx: ServiceContext, funding: FundingConfig, impact: ImpactSettings) -> None:
        """Share ``ctx``'s settings; ``funding`` and ``impact`` are the configured ones."""
        self.ctx = ctx
        self.configured = (funding, impact)
        self._seen: tuple[str | None, str | None] = (None, None)
        # a refresh reads and applies, a publish writes and applies: one at a time, so a
        # refresh that read the old value cannot apply it over a change published meanwhile
        self._lock = threading.Lock()

    def publish(
        self, funding: FundingConfig | None = None, impact: ImpactSettings | None = None
    ) -> None:
        """Write new settings to the store and apply them here (blocking)."""
        with self._lock, self.ctx.admin() as uow:
            seen_funding, seen_impact = self._seen
            if funding is not None:
                seen_funding = funding_json(funding)
                uow.admin.set_meta(FUNDING_KEY, seen_funding)
            if impact is not None:
                seen_impact = impact_json(impact)
                uow.admin.set_meta(IMPACT_KEY, seen_impact)
            uow.commit()
            self._apply(seen_funding, seen_impact)

    def refresh(self) -> None:
        """Apply the settings the store holds (the configured ones where it holds none)."""
        with self._lock:
            with self.ctx.admin() as uow:
                texts = (uow.admin.meta(FUNDING_KEY), uow.admin.meta(IMPACT_KEY))
            if texts != self._seen:
                self._apply(*texts)

    def revert(self) -> None:
        """After a reset (the keys went with the rest): back to the configured settings."""
        with self._lock:
            self._apply(None, None)

    def _apply(self, funding: str | None, impact: str | None) -> None:
        configured_funding, configured_impact = self.configured
        self.ctx.funding = funding_from(funding) if funding is not None else configured_funding
        self.ctx.set_impact(impact_from(impact) if impact is not None else configured_impact)
        self._seen = (funding, impact)
