"""The dashboard's read side: what the whole sandbox is doing, in one snapshot.

:class:`OverviewReader` is the port (the SQL adapter reads committed rows on its own
connection, never inside a command's transaction); :func:`overview` adds what needs the
domain: marks, books and unrealised PnL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from copytrade.domain.enums import PositionSide
from copytrade.domain.impact import SlippageStats, slippage_stats
from copytrade.domain.margin import pnl
from copytrade.domain.trading import Market
from copytrade.service.context import ServiceContext


@dataclass(frozen=True, slots=True)
class TraderRow:
    """A lead trader with its following."""

    uid: int
    balance: Decimal
    followers: int
    open_positions: int
    unrealised_pnl: Decimal = Decimal(0)
    first_followers: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class PositionRow:
    """An open sub position (a lead's or a copy) valued at the mark."""

    sub_position_id: int
    uid: int
    contract_code: str
    side: PositionSide
    volume: Decimal
    open_avg_price: Decimal
    lever: int
    lead_uid: int | None
    open_time: int
    mark: Decimal | None = None
    unrealised_pnl: Decimal | None = None


@dataclass(frozen=True, slots=True)
class FillRow:
    """One fill, newest first."""

    trade_id: int
    uid: int
    contract_code: str
    side: str
    offset: str
    price: Decimal
    volume: Decimal
    fee: Decimal
    ts: int


@dataclass(frozen=True, slots=True)
class CopyRow:
    """A copy position beside its lead: the follower's and the lead's average open price."""

    sub_position_id: int
    follower_uid: int
    lead_uid: int
    contract_code: str
    side: PositionSide
    volume: Decimal
    follower_price: Decimal
    lead_price: Decimal
    lead_volume: Decimal
    is_open: bool
    open_time: int

    @property
    def slippage_bps(self) -> Decimal:
        """Return how much worse (positive) the follower's price is than the lead's, in bps."""
        if not self.lead_price:
            return Decimal(0)
        worse = self.follower_price - self.lead_price
        if self.side is PositionSide.SHORT:
            worse = -worse
        return (worse / self.lead_price * 10_000).quantize(Decimal("0.01"))


@dataclass(frozen=True, slots=True)
class SkipRow:
    """A copy the engine did not make, and why."""

    skip_id: int
    trader_uid: int
    follower_uid: int
    contract_code: str
    side: str
    wanted_volume: Decimal
    reason: str
    detail: str
    ts: int


@dataclass(frozen=True, slots=True)
class OverviewRows:
    """What :class:`OverviewReader` returns: recent rows, newest first, each list bounded."""

    traders: list[TraderRow]
    positions: list[PositionRow]
    fills: list[FillRow]
    copies: list[CopyRow]
    skips: list[SkipRow]
    lead_positions: list[PositionRow] = field(default_factory=list)
    users: int = 0
    open_positions: int = 0
    copy_prices: dict[int, list[Decimal]] = field(default_factory=dict)
    """Open copies' average open prices by lead sub position, for ``lead_positions``
    (sorted, so that every store shows the same)."""


@dataclass(frozen=True, slots=True)
class LeadSlippage:
    """An open lead position and its open copies' prices against its own (basis points)."""

    lead: PositionRow
    stats: SlippageStats


@dataclass(frozen=True, slots=True)
class Overview:
    """One dashboard snapshot: markets and the recent rows, valued at the marks."""

    now_ms: int
    markets: dict[str, Market]
    rows: OverviewRows
    totals: dict[str, int] = field(default_factory=dict)
    slippage: list[LeadSlippage] = field(default_factory=list)


class OverviewReader(Protocol):
    """Reads the recent state of the whole sandbox (committed rows only)."""

    def read(self, limit: int) -> OverviewRows:
        """Return at most ``limit`` rows of each kind, newest first."""
        ...

    def trader_counts(self) -> list[tuple[int, int, int]]:
        """Return ``(uid, open positions, active followers)`` of every trader, by uid."""
        ...

    def close(self) -> None:
        """Release what the reader holds."""
        ...


def _valued(p: PositionRow, markets: dict[str, Market]) -> PositionRow:
    market = markets.get(p.contract_code)
    if market is None:
        return p
    upnl = pnl(p.side, p.open_avg_price, market.mark, p.volume, market.spec.contract_size)
    return PositionRow(
        p.sub_position_id,
        p.uid,
        p.contract_code,
        p.side,
        p.volume,
        p.open_avg_price,
        p.lever,
        p.lead_uid,
        p.open_time,
        market.mark,
        upnl,
    )


def overview(
    ctx: ServiceContext, reader: OverviewReader, markets: dict[str, Market], limit: int = 50
) -> Overview:
    """Return a snapshot: ``markets``, recent rows, and open positions valued at the mark."""
    rows = reader.read(limit)
    positions = [_valued(p, markets) for p in rows.positions]
    by_trader: dict[int, Decimal] = {}
    for p in (_valued(p, markets) for p in rows.lead_positions):
        if p.unrealised_pnl is not None:
            by_trader[p.uid] = by_trader.get(p.uid, Decimal(0)) + p.unrealised_pnl
    traders = [
        TraderRow(
            t.uid,
            t.balance,
            t.followers,
            t.open_positions,
            by_trader.get(t.uid, Decimal(0)),
            t.first_followers,
        )
        for t in rows.traders
    ]
    valued = OverviewRows(
        traders,
        positions,
        rows.fills,
        rows.copies,
        rows.skips,
        rows.lead_positions,
        rows.users,
        rows.open_positions,
        rows.copy_prices,
    )
    totals = {"users": rows.users, "open_positions": rows.open_positions}
    return Overview(ctx.clock.now_ms(), markets, valued, totals, lead_slippage(rows))


def lead_slippage(rows: OverviewRows) -> list[LeadSlippage]:
    """Return, per open lead position with copies, its copies' slippage (newest lead first)."""
    out = []
    for lead in sorted(rows.lead_positions, key=lambda p: -p.sub_position_id):
        prices = rows.copy_prices.get(lead.sub_position_id)
        if prices:
            stats = slippage_stats(lead.open_avg_price, lead.side is PositionSide.LONG, prices)
            out.append(LeadSlippage(lead, stats))
    return out
