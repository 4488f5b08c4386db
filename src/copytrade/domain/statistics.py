"""A trader's statistics and profit-share totals (spec §6.15–§6.17). Pure.

* ``total_pl``: Σ realised profit (net of fees) of the trader's closed lead sub positions, plus
  the funding its lead positions received (less what they paid), spec §7.11.
* ``win_rate``: closed lead positions with ``profit > 0`` over all of them, truncated to 4
  decimals (0 when none closed).
* ``last_24_hours_profit``: 24 points one hour apart, the last at the end of the current hour
  (``ceil(now)``). A point's ``amount`` is the realised profit of lead positions closed after the
  window start (``last − 24 h``) up to and including its ``ts``.
* ``last_90_days_profit``: 90 points at midnight UTC+8, the last at the start of today (UTC+8).
  A point's ``amount`` is the realised profit closed from the first point up to the end of its
  day. (HTX's example labels hours by their end and days by their start; so does this.)
* ``rate`` = ``amount`` / Σ initial margin of the lead positions counted in ``amount`` (0 when
  there are none).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from copytrade.domain.margin import div
from copytrade.domain.model import ProfitShare, SubPosition

_ZERO = Decimal(0)
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
UTC8_OFFSET_MS = 8 * HOUR_MS
HOURLY_POINTS = 24
DAILY_POINTS = 90
_WIN_RATE_QUANTUM = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class ClosedLead:
    """What statistics need of one closed lead sub position."""

    close_time: int
    profit: Decimal
    initial_margin: Decimal


@dataclass(frozen=True, slots=True)
class ProfitPoint:
    """One point of a PnL series: cumulative ``amount``, its ``rate``, and ``ts`` (epoch ms)."""

    ts: int
    amount: Decimal
    rate: Decimal


@dataclass(frozen=True, slots=True)
class TraderStats:
    """The figures of ``order_total_detail``."""

    total_follower_num: int
    current_follower_num: int
    total_pl: Decimal
    win_rate: Decimal
    last_24_hours_profit: list[ProfitPoint]
    last_90_days_profit: list[ProfitPoint]


def closed_lead(position: SubPosition, contract_size: Decimal) -> ClosedLead:
    """Return the statistics view of a closed lead sub position."""
    assert position.close_time is not None
    profit = position.profit if position.profit is not None else _ZERO
    return ClosedLead(position.close_time, profit, position.initial_margin(contract_size))


def win_rate(closed: list[ClosedLead]) -> Decimal:
    """Return winners over all closed positions, truncated to 4 decimals."""
    if not closed:
        return _ZERO
    wins = sum(1 for c in closed if c.profit > 0)
    return div(Decimal(wins), Decimal(len(closed))).quantize(_WIN_RATE_QUANTUM, ROUND_DOWN)


def _series(
    closed: list[ClosedLead], start: int, ends: list[int], labels: list[int]
) -> list[ProfitPoint]:
    points: list[ProfitPoint] = []
    for end, label in zip(ends, labels, strict=True):
        counted = [c for c in closed if start < c.close_time <= end]
        amount = sum((c.profit for c in counted), _ZERO)
        margin = sum((c.initial_margin for c in counted), _ZERO)
        points.append(ProfitPoint(label, amount, div(amount, margin) if margin else _ZERO))
    return points


def hourly_series(closed: list[ClosedLead], now: int) -> list[ProfitPoint]:
    """Return the 24 hourly points of ``last_24_hours_profit``."""
    last = -(-now // HOUR_MS) * HOUR_MS
    labels = [last - (HOURLY_POINTS - 1 - i) * HOUR_MS for i in range(HOURLY_POINTS)]
    return _series(closed, last - HOURLY_POINTS * HOUR_MS, labels, labels)


def daily_series(closed: list[ClosedLead], now: int) -> list[ProfitPoint]:
    """Return the 90 daily points of ``last_90_days_profit`` (midnight UTC+8)."""
    today = (now + UTC8_OFFSET_MS) // DAY_MS * DAY_MS - UTC8_OFFSET_MS
    labels = [today - (DAILY_POINTS - 1 - i) * DAY_MS for i in range(DAILY_POINTS)]
    ends = [label + DAY_MS - 1 for label in labels]
    return _series(closed, labels[0] - 1, ends, labels)


def trader_stats(
    closed: Iterable[ClosedLead],
    total_followers: int,
    current_followers: int,
    now: int,
    funding: Decimal = _ZERO,
) -> TraderStats:
    """Return the trader's statistics at ``now`` (epoch ms).

    Args:
        closed: Every closed lead sub position of the trader.
        total_followers: Distinct followers ever.
        current_followers: Followers now.
        now: The current time, epoch ms.
        funding: Funding the trader's lead positions received, net (negative: paid).
    """
    leads = sorted(closed, key=lambda c: c.close_time)
    return TraderStats(
        total_follower_num=total_followers,
        current_follower_num=current_followers,
        total_pl=sum((c.profit for c in leads), funding),
        win_rate=win_rate(leads),
        last_24_hours_profit=hourly_series(leads, now),
        last_90_days_profit=daily_series(leads, now),
    )


def profit_totals(shares: Iterable[ProfitShare]) -> dict[str, Decimal]:
    """Return Σ profit-share amounts per currency (``total_profit_history``), sorted by name."""
    totals: dict[str, Decimal] = {}
    for share in shares:
        totals[share.currency] = totals.get(share.currency, _ZERO) + share.amount
    return dict(sorted(totals.items()))


def daily_pnl(closed: Iterable[ClosedLead], now: int) -> list[ProfitPoint]:
    """Return 90 daily points (midnight UTC+8, oldest first), each with its own day's PnL.

    Unlike :func:`daily_series` a point is not cumulative: ``amount`` is the realised profit
    closed within its day, ``rate`` that over the initial margin of those positions (v6
    ``profitDetails90d``).
    """
    leads = list(closed)
    today = (now + UTC8_OFFSET_MS) // DAY_MS * DAY_MS - UTC8_OFFSET_MS
    points: list[ProfitPoint] = []
    for i in range(DAILY_POINTS):
        start = today - (DAILY_POINTS - 1 - i) * DAY_MS
        day = [c for c in leads if start <= c.close_time < start + DAY_MS]
        amount = sum((c.profit for c in day), _ZERO)
        margin = sum((c.initial_margin for c in day), _ZERO)
        points.append(ProfitPoint(start, amount, div(amount, margin) if margin else _ZERO))
    return points
