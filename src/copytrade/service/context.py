"""What every handler needs besides its command: the wiring chosen by bootstrap."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from copytrade.domain.errors import UnknownContract
from copytrade.domain.funding import FundingConfig
from copytrade.domain.impact import DepthLedger, ImpactSettings
from copytrade.domain.instruments import ContractSpec, FeeSchedule
from copytrade.domain.model import ChangeSet
from copytrade.domain.tpsl import SideDisplay
from copytrade.domain.trading import Env, Market
from copytrade.service.ports import (
    AdminUnitOfWorkFactory,
    Clock,
    IdGenerator,
    Metrics,
    NoMetrics,
    ReadModelFactory,
    UnitOfWorkFactory,
)

if TYPE_CHECKING:
    from copytrade.service.market import MarketTape


def _new_tape() -> MarketTape:
    from copytrade.service.market import MarketTape

    return MarketTape()


def _no_pause() -> None:
    """Do nothing: stores that never hold the event loop need no pause."""


@dataclass(slots=True)
class ServiceContext:
    """The store's factories (units of work, admin units, reads), clock, ids, contracts, fees."""

    uow: UnitOfWorkFactory
    admin: AdminUnitOfWorkFactory
    reads: ReadModelFactory
    clock: Clock
    ids: IdGenerator
    contracts: dict[str, ContractSpec]
    fees: FeeSchedule = field(default_factory=FeeSchedule)
    default_profit_share_ratio: Decimal = Decimal("0.10")
    tape: MarketTape = field(default_factory=_new_tape)
    """The market data's settings; trades and marks are read from the store."""
    tpsl_side_display: SideDisplay = SideDisplay.HTX
    metrics: Metrics = field(default_factory=NoMetrics)
    funding: FundingConfig = field(default_factory=FundingConfig)
    """When and at what rate funding settles (:mod:`copytrade.service.funding`)."""
    impact: ImpactSettings = field(default_factory=ImpactSettings)
    """Market impact on copies (off by default)."""
    depth: DepthLedger = field(default_factory=lambda: DepthLedger(0))
    """Depth fills took from the market maker's book, in this process (see ``set_impact``)."""
    pause: Callable[[], None] = field(default=_no_pause)
    """Called by long operations between chunks (``Env.pause``): the store may serve others."""
    _book_cache: dict[tuple[str, Decimal], Market] = field(default_factory=dict)
    _last_markets: tuple[dict[str, Decimal], dict[str, Market]] | None = None

    def spec(self, contract_code: str) -> ContractSpec:
        """Return a contract's spec or raise :class:`UnknownContract`."""
        spec = self.contracts.get(contract_code)
        if spec is None:
            raise UnknownContract(contract_code)
        return spec

    def copy_contracts(self) -> tuple[str, ...]:
        """Return the contracts open to copy trading (``query_contract``)."""
        return tuple(code for code, spec in self.contracts.items() if spec.copy_enabled)

    def markets(self, marks: dict[str, Decimal]) -> dict[str, Market]:
        """Return a market (spec, mark, quoted book) per configured contract.

        The same marks as last time give the same markets (marks move far less often than
        orders arrive); callers never mutate the mapping returned.
        """
        last = self._last_markets
        if last is not None and last[0] == marks:
            return last[1]
        out: dict[str, Market] = {}
        for code, spec in self.contracts.items():
            mark = marks.get(code)
            if mark is None:
                continue
            cached = self._book_cache.get((code, mark))
            if cached is None:
                if len(self._book_cache) > 256:
                    self._book_cache.clear()
                cached = Market.at(spec, mark)
                self._book_cache[(code, mark)] = cached
            out[code] = cached
        self._last_markets = (dict(marks), out)
        return out

    def committed(self, changes: ChangeSet) -> None:
        """Hook for a committed change set: the depth it took joins the shared ledger.

        The store keeps everything the reads need (trades, marks, orders).
        """
        if changes.book_takes:
            self.depth.apply(changes.book_takes)

    def set_impact(self, settings: ImpactSettings) -> None:
        """Use new impact settings; a new half-life starts from a full book."""
        if settings.half_life_ms != self.depth.half_life_ms:
            self.depth = DepthLedger(settings.half_life_ms)
        self.impact = settings

    def env(self) -> Env:
        """Return a fresh operation environment (now, ids, empty change set)."""
        changes = ChangeSet()
        depth = self.depth.fork(changes.book_takes) if self.impact.enabled else None
        return Env(self.fees, self.clock.now_ms(), self.ids.next_id, changes, depth, self.pause)
