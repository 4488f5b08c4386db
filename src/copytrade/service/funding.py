"""Funding settlement on the simulation clock (spec §7.11): when it is due, and settling it.

Settlements fall every ``ctx.funding.interval_ms`` (8 h by default: 00:00, 08:00, 16:00 UTC).
The time of the last one settled is kept in the store's meta table (``funding_settled_ms``) and
moves in the same transaction as the payments, so a settlement is applied once even when a
clock jump passes several (each is settled in order, by :class:`FundingSchedule`) or a second
process tries it too. Before the first settlement the schedule starts from the clock's time;
a clock moved back restarts it there (nothing is settled for the past).

Each open position of traders and followers pays or receives ``v × cs × mark × rate``
(:mod:`copytrade.domain.funding`); the payments are booked in the fills ledger (offset
``funding``) and may push an account past its maintenance margin, which is then liquidated
with its copies, as a mark move would (with market impact on, walking the book). Funding
counts towards a follower's total stop-loss (``FollowRepository.realised``), so the followers'
rules are applied after each settlement too.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from copytrade.domain.funding import Settlement, apply_settlement, premium_rate, record_settlement
from copytrade.domain.funding import settle as settle_positions
from copytrade.domain.model import SubPosition
from copytrade.domain.trading import Market
from copytrade.service.context import ServiceContext
from copytrade.service.follow_rules import rules_after_move
from copytrade.service.retry import retry_conflicts
from copytrade.service.sim import liquidate

SETTLED_KEY = "funding_settled_ms"
_ZERO = Decimal(0)


def current_rate(ctx: ServiceContext, market: Market, now_ms: int) -> Decimal:
    """Return a market's funding rate now: configured, or by the premium-index formula."""
    config = ctx.funding
    code = market.spec.contract_code
    if config.mode != "premium":
        return config.configured_rate(code)
    book = ctx.depth.book(code, market.book, now_ms)
    volume = config.impact_volume or market.spec.market_maker.depth
    return premium_rate(book, market.mark, volume)


@dataclass(frozen=True, slots=True)
class SettlementSummary:
    """What one settlement did (``venue``: what the market maker's side took, Σ = 0)."""

    at_ms: int
    payments: int
    paid: Decimal
    received: Decimal
    venue: Decimal
    liquidated: int


@retry_conflicts
def settle_funding(ctx: ServiceContext, at_ms: int) -> SettlementSummary | None:
    """Settle funding at ``at_ms`` on every open position; ``None`` if it already was."""
    with ctx.admin() as uow:
        # locked: two server processes (--workers, PostgreSQL) settle each settlement once
        done = uow.admin.meta(SETTLED_KEY, lock=True)
        if done is not None and int(done) >= at_ms:
            return None
        markets = ctx.markets(uow.markets.marks())
        uids: set[int] = set()
        for code in markets:
            uids.update(uow.accounts.exposed_to(code))
        accounts = uow.accounts.get_many(sorted(uids))
        positions: list[SubPosition] = [p for a in accounts.values() for p in a.positions.values()]
        settlement: Settlement = settle_positions(
            positions,
            {code: m.mark for code, m in markets.items()},
            {code: current_rate(ctx, m, at_ms) for code, m in markets.items()},
            {code: m.spec.contract_size for code, m in markets.items()},
            at_ms,
        )
        # the settlement's own time; with market impact on, a liquidation it causes walks the
        # book (and its copies after it) like one a mark move causes
        env = ctx.env(at_ms)
        apply_settlement(settlement, accounts, env.changes)
        record_settlement(settlement, env.changes, ctx.ids.next_id)
        liquidated = 0
        for uid in sorted({p.uid for p in settlement.payments}):
            liquidated += liquidate(ctx, uow, accounts[uid], markets, env)
        # funding counts towards a follower's total stop-loss: it may be reached now
        rules_after_move(ctx, uow, accounts, markets, env)
        uow.admin.set_meta(SETTLED_KEY, str(at_ms))
        uow.accounts.save(env.changes)
        uow.commit()
    ctx.committed(env.changes)  # the tape prints the liquidations' trades, not the funding
    amounts = [p.amount for p in settlement.payments]
    return SettlementSummary(
        at_ms,
        len(amounts),
        -sum((a for a in amounts if a < 0), _ZERO),
        sum((a for a in amounts if a > 0), _ZERO),
        settlement.venue,
        liquidated,
    )


def _start(ctx: ServiceContext, now_ms: int) -> int:
    """Return the last settled time, starting (or restarting) the schedule at ``now_ms``."""
    with ctx.admin() as uow:
        done = uow.admin.meta(SETTLED_KEY)
        if done is not None and int(done) <= now_ms:
            return int(done)
        uow.admin.set_meta(SETTLED_KEY, str(now_ms))
        uow.commit()
    return now_ms


class FundingSchedule:
    """Which settlement is due next, for the clock's follower (the market ticker)."""

    def __init__(self, ctx: ServiceContext) -> None:
        """Settle on ``ctx``'s store with its funding settings."""
        self.ctx = ctx
        self._settled: int | None = None
        self.history: list[SettlementSummary] = []

    def due(self, now_ms: int) -> int | None:
        """Return the oldest settlement time not settled and not after ``now_ms`` (blocking)."""
        config = self.ctx.funding
        if config.mode == "off":
            self._settled = None  # turned on later: it starts from then
            return None
        if self._settled is None or self._settled > now_ms:
            self._settled = _start(self.ctx, now_ms)
        upcoming = config.next_settlement(self._settled)
        return upcoming if upcoming <= now_ms else None

    def settle(self, at_ms: int) -> SettlementSummary | None:
        """Settle the settlement at ``at_ms`` (blocking); remember it."""
        summary = settle_funding(self.ctx, at_ms)
        self._settled = at_ms
        if summary is not None:
            self.history.append(summary)
            del self.history[:-100]
        return summary

    def last_settled(self) -> int | None:
        """Return the time of the last settlement this process knows of."""
        return self._settled

    def forget(self) -> None:
        """After a reset: the schedule starts again from the clock."""
        self._settled = None
        self.history.clear()
