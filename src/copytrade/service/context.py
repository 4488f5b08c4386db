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


PathAhead = Callable[[str, int], Decimal | None]
"""``(contract_code, at_ms)`` → the mark the market's price path reaches by then (``None``: no
path, or no tick by then), without moving the path."""


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
    path_ahead: PathAhead | None = None
    """Peeks at the price paths (set by the server's market ticker; ``None``: no paths, so a
    copy latency leaves the marks where they are). See :meth:`markets_at`."""
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
            if mark is not None:
                out[code] = self._market(spec, mark)
        self._last_markets = (dict(marks), out)
        return out

    def _market(self, spec: ContractSpec, mark: Decimal) -> Market:
        code = spec.contract_code
        cached = self._book_cache.get((code, mark))
        if cached is None:
            if len(self._book_cache) > 256:
                self._book_cache.clear()
            cached = Market.at(spec, mark)
            self._book_cache[(code, mark)] = cached
        return cached

    def markets_at(self, markets: dict[str, Market], at_ms: int) -> dict[str, Market]:
        """Return ``markets`` as the price paths will have moved them by ``at_ms``.

        The copy latency (``impact.copy_latency_ms``): a lead's copies are placed that much
        later and meet the book quoted around the mark its market's path reaches by then. The
        paths are peeked, not moved (the ticks are applied when due, as always), and a peek is
        a pure function of the path's seed and state, so a replay meets the same marks. Without
        a path (or no tick by ``at_ms``) a market stays as it is; ``markets`` itself comes
        back when nothing moves.
        """
        ahead = self.path_ahead
        if ahead is None:
            return markets
        out = markets
        for code, market in markets.items():
            mark = ahead(code, at_ms)
            if mark is not None and mark != market.mark:
                if out is markets:
                    out = dict(markets)
                out[code] = self._market(market.spec, mark)
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

    def env(self, now_ms: int | None = None) -> Env:
        """Return a fresh operation environment (now, ids, empty change set).

        ``now_ms``: the command's simulation time when it is not the clock's (a funding
        settlement runs at its own time).
        """
        changes = ChangeSet()
        depth = self.depth.fork(changes.book_takes) if self.impact.enabled else None
        now = self.clock.now_ms() if now_ms is None else now_ms
        ids = self.ids
        return Env(self.fees, now, ids.next_id, changes, depth, self.pause, ids.next_ids)
