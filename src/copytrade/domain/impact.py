"""Market impact: depth the market maker gives back over a half-life, copy order, slippage.

Without impact the market maker re-quotes at once, so every copy of a lead order meets the
same fresh book and gets the lead's price. With a half-life, what fills take from the book
stays taken and comes back exponentially: ``outstanding(t) = taken × 2^(−(t − t₀)/half_life)``,
kept per contract, side and price, so a book that re-centres on a new mark still misses the
levels taken at those prices. Copies placed after the lead (in the order :func:`copy_order`
documents) walk what the lead and the earlier copies left, and a follower's slippage guard
skips a copy whose expected price is worse than the lead's by more than its limit.

Pure: the caller keeps the :class:`DepthLedger` (in memory, per server process) and passes
the simulation time.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, localcontext
from typing import Literal

from copytrade.domain.book import Book, Level
from copytrade.domain.matching import Fill, sweep, vwap

_ZERO = Decimal(0)
FORGOTTEN = Decimal("0.000001")
"""Outstanding depth below this many contracts counts as given back."""
GIVEN_BACK_HALF_LIVES = 200
"""After this many half-lives the taken depth is wholly back, without computing 2^-n."""

CopyOrder = Literal["follow_time", "shuffle"]


@dataclass(frozen=True, slots=True)
class ImpactSettings:
    """Market impact settings (off by default: ``half_life_ms == 0`` re-quotes at once).

    ``copy_order``: ``follow_time`` (who followed first copies first, then by UID) or
    ``shuffle`` (a seeded shuffle per lead position). ``copy_latency_ms``: simulation time
    between the lead's fill and its copies: the depth comes partly back, and a market's price
    path moves its mark (the service peeks at the path, ``ServiceContext.markets_at``).
    """

    half_life_ms: int = 0
    copy_order: CopyOrder = "follow_time"
    seed: int = 0
    copy_latency_ms: int = 0
    max_slippage: Decimal | None = None
    """Venue-wide guard: skip a copy expected worse than the lead's price by more (0.01: 1 %)."""

    def __post_init__(self) -> None:
        """Refuse negative times."""
        if self.half_life_ms < 0 or self.copy_latency_ms < 0:
            raise ValueError("half_life_ms and copy_latency_ms must not be negative")
        if self.max_slippage is not None and self.max_slippage < 0:
            raise ValueError("max_slippage must not be negative")

    @property
    def enabled(self) -> bool:
        """Return whether fills leave a mark on the book."""
        return self.half_life_ms > 0


TakenDepth = tuple[str, bool, tuple[Fill, ...], int]
"""One record of depth taken: contract, buy side, the fills, when."""


class DepthLedger:
    """Depth taken from the market maker's book and not yet given back.

    A command works on a :meth:`fork` and the depth it took joins the shared ledger only once
    it commits (:meth:`apply`): a command that fails, or is rerun after a write conflict,
    leaves no mark on the book.
    """

    def __init__(self, half_life_ms: int, journal: list[TakenDepth] | None = None) -> None:
        """Give depth back with this half-life (0: at once, the ledger stays empty).

        ``journal``: where a fork records each take, for :meth:`apply` after the commit.
        """
        self.half_life_ms = half_life_ms
        self._taken: dict[tuple[str, bool, Decimal], tuple[Decimal, int]] = {}
        self.journal = journal
        self._lock = threading.Lock()

    def fork(self, journal: list[TakenDepth]) -> DepthLedger:
        """Return a private copy that records its takes in ``journal``."""
        copy = DepthLedger(self.half_life_ms, journal)
        with self._lock:
            copy._taken = dict(self._taken)
        return copy

    def apply(self, taken: Iterable[TakenDepth]) -> None:
        """Take what a committed command's fork took (in order)."""
        for code, buy, fills, at in taken:
            self.take(code, buy, fills, at)

    def outstanding(self, code: str, buy: bool, price: Decimal, now_ms: int) -> Decimal:
        """Return the contracts still missing at ``price`` on the side a buy (or sell) takes."""
        entry = self._taken.get((code, buy, price))
        if entry is None:
            return _ZERO
        return self._decayed(entry, now_ms)

    def _decayed(self, entry: tuple[Decimal, int], now_ms: int) -> Decimal:
        volume, at = entry
        elapsed = max(now_ms - at, 0)
        if elapsed == 0:
            return volume
        if elapsed >= GIVEN_BACK_HALF_LIVES * self.half_life_ms:
            return _ZERO  # 2^-200 of any book is far below FORGOTTEN (and would underflow)
        with localcontext() as ctx:
            ctx.prec = 28
            left = volume * Decimal(2) ** (-Decimal(elapsed) / self.half_life_ms)
        return left if left >= FORGOTTEN else _ZERO

    def book(self, code: str, quoted: Book, now_ms: int) -> Book:
        """Return ``quoted`` less what is outstanding (whole contracts; empty levels go)."""
        if not self._taken:
            return quoted
        return Book(
            bids=self._side(code, False, quoted.bids, now_ms),
            asks=self._side(code, True, quoted.asks, now_ms),
        )

    def _side(
        self, code: str, buy: bool, levels: tuple[Level, ...], now_ms: int
    ) -> tuple[Level, ...]:
        out: list[Level] = []
        for level in levels:
            left = level.volume - self.outstanding(code, buy, level.price, now_ms)
            left = left.to_integral_value(rounding=ROUND_FLOOR)
            if left > 0:
                out.append(level if left == level.volume else Level(level.price, left))
        return tuple(out)

    def take(self, code: str, buy: bool, fills: Iterable[Fill], now_ms: int) -> None:
        """Record that ``fills`` (a buy takes asks, a sell bids) emptied part of the book."""
        if self.half_life_ms <= 0:
            return
        fills = tuple(fills)
        if self.journal is not None:
            self.journal.append((code, buy, fills, now_ms))
        with self._lock:
            for fill in fills:
                key = (code, buy, fill.price)
                entry = self._taken.get(key)
                before = self._decayed(entry, now_ms) if entry is not None else _ZERO
                self._taken[key] = (before + fill.volume, max(now_ms, entry[1] if entry else 0))

    def prune(self, now_ms: int) -> None:
        """Forget levels whose depth is back."""
        with self._lock:
            for key in [k for k, e in self._taken.items() if self._decayed(e, now_ms) == 0]:
                del self._taken[key]

    def clear(self) -> None:
        """Give every level back (a reset)."""
        with self._lock:
            self._taken.clear()


def copy_order(
    followers: Sequence[tuple[int, int]], order: CopyOrder, seed: int, lead_key: int | str
) -> list[int]:
    """Return follower UIDs in the order their copies are placed.

    ``followers`` are ``(uid, followed_at_ms)``. ``follow_time``: earliest follow first, ties
    by UID. ``shuffle``: by SHA-256 of ``(seed, lead_key, uid)``, so the same seed and lead
    position give the same order everywhere, and each lead position a different one.
    """
    if order == "follow_time":
        return [uid for uid, _ in sorted(followers, key=lambda f: (f[1], f[0]))]

    def rank(uid: int) -> bytes:
        return hashlib.sha256(f"copy-order:{seed}:{lead_key}:{uid}".encode()).digest()

    return sorted((uid for uid, _ in followers), key=rank)


def slippage(lead_price: Decimal, price: Decimal, buy: bool) -> Decimal:
    """Return how much worse than ``lead_price`` a fill at ``price`` is (0.01 = 1 % worse)."""
    worse = price - lead_price if buy else lead_price - price
    return worse / lead_price


def deplete(book: Book, buy: bool, fills: Iterable[Fill]) -> Book:
    """Return ``book`` less what ``fills`` took from the side a buy (or sell) takes."""
    taken: dict[Decimal, Decimal] = {}
    for fill in fills:
        taken[fill.price] = taken.get(fill.price, _ZERO) + fill.volume
    if not taken:
        return book
    side = tuple(
        level if level.price not in taken else Level(level.price, level.volume - taken[level.price])
        for level in book.side_for(buy)
    )
    side = tuple(level for level in side if level.volume > 0)
    return Book(bids=book.bids, asks=side) if buy else Book(bids=side, asks=book.asks)


def slippage_refusal(
    book: Book, volume: Decimal, buy: bool, lead_price: Decimal, limit: Decimal | None
) -> str | None:
    """Return why a market copy of ``volume`` breaks a slippage ``limit`` (``None``: it may go).

    A copy the book cannot fill in full is left to the order path (it fills what there is).
    """
    if limit is None:
        return None
    price = expected_price(book, volume, buy)
    if price is None:
        return None
    moved = slippage(lead_price, price, buy)
    if moved <= limit:
        return None
    return f"expected {price} vs lead {lead_price}: {moved:.6f} > {limit}"


def expected_price(book: Book, volume: Decimal, buy: bool) -> Decimal | None:
    """Return the average price of a market order of ``volume`` on ``book``.

    ``None`` when the book cannot fill it all.
    """
    fills = sweep(book.side_for(buy), volume, None, buy)
    if sum((f.volume for f in fills), _ZERO) < volume:
        return None
    return vwap(fills)


@dataclass(frozen=True, slots=True)
class CopyRequest:
    """One follower's copy of a lead fill: its size and slippage limit (``None``: none)."""

    uid: int
    volume: Decimal
    max_slippage: Decimal | None = None


@dataclass(frozen=True, slots=True)
class CopyResult:
    """How a copy went: its fills, or why it was skipped (``slippage``, ``no_liquidity``)."""

    uid: int
    fills: tuple[Fill, ...]
    skipped: str | None = None
    detail: str = ""

    @property
    def price(self) -> Decimal | None:
        """Return the copy's average price (``None`` when skipped)."""
        return vwap(self.fills) if self.fills else None


def place_copies(
    ledger: DepthLedger,
    code: str,
    quoted: Book,
    buy: bool,
    lead_price: Decimal,
    copies: Sequence[CopyRequest],
    now_ms: int,
) -> list[CopyResult]:
    """Place market copies one after another on what the earlier fills left; return each.

    A copy whose expected price is worse than ``lead_price`` by more than its limit is skipped
    with reason ``slippage``; one the book cannot fill with ``no_liquidity``.
    """
    results: list[CopyResult] = []
    for copy in copies:
        book = ledger.book(code, quoted, now_ms)
        if expected_price(book, copy.volume, buy) is None:
            results.append(CopyResult(copy.uid, (), "no_liquidity", "the book cannot fill it"))
            continue
        refusal = slippage_refusal(book, copy.volume, buy, lead_price, copy.max_slippage)
        if refusal is not None:
            results.append(CopyResult(copy.uid, (), "slippage", refusal))
            continue
        fills = tuple(sweep(book.side_for(buy), copy.volume, None, buy))
        ledger.take(code, buy, fills, now_ms)
        results.append(CopyResult(copy.uid, fills))
    return results


SLIPPAGE_BUCKETS_BPS = (Decimal(0), Decimal(1), Decimal(5), Decimal(10), Decimal(50))
"""Upper edges (bps) of the slippage distribution's buckets; the last bucket is open."""


SLIPPAGE_PERCENTILES = (50, 90, 99)
"""The percentiles of the copies' slippage a report shows beside its buckets."""


@dataclass(frozen=True, slots=True)
class SlippageStats:
    """Copies' prices against their lead's, in basis points (positive: worse than the lead).

    ``percentiles``: ``p50``, ``p90``, ``p99`` (:func:`bps_percentiles`; empty without copies):
    where a wave's copies fall inside a wide bucket.
    """

    copies: int
    mean_bps: Decimal | None
    worst_bps: Decimal | None
    best_bps: Decimal | None
    distribution: dict[str, int]
    percentiles: dict[str, Decimal]


def slippage_bps(lead_price: Decimal, price: Decimal, buy: bool) -> Decimal:
    """Return :func:`slippage` in basis points, to 0.01 bp."""
    return (slippage(lead_price, price, buy) * 10_000).quantize(Decimal("0.01"))


def bps_distribution(bps: Sequence[Decimal]) -> dict[str, int]:
    """Return how many values fall in each :data:`SLIPPAGE_BUCKETS_BPS` bucket."""
    distribution: dict[str, int] = {}
    low: Decimal | None = None
    for edge in SLIPPAGE_BUCKETS_BPS:
        label = f"<= {edge}" if low is None else f"{low}-{edge}"
        distribution[label] = sum(1 for v in bps if (low is None or v > low) and v <= edge)
        low = edge
    top = SLIPPAGE_BUCKETS_BPS[-1]
    distribution[f"> {top}"] = sum(1 for v in bps if v > top)
    return distribution


def bps_percentiles(bps: Sequence[Decimal]) -> dict[str, Decimal]:
    """Return the :data:`SLIPPAGE_PERCENTILES` of ``bps`` by nearest rank (``{}``: none).

    ``pN`` is the smallest value with at least N % of the values at or below it, so it is
    always one of the copies' own figures.
    """
    ordered = sorted(bps)
    n = len(ordered)
    if not n:
        return {}
    return {f"p{q}": ordered[max(-(-q * n // 100), 1) - 1] for q in SLIPPAGE_PERCENTILES}


def slippage_stats(lead_price: Decimal, buy: bool, prices: Sequence[Decimal]) -> SlippageStats:
    """Return mean, worst, best and the distribution of copies filled at ``prices``."""
    bps = [slippage_bps(lead_price, p, buy) for p in prices]
    distribution = bps_distribution(bps)
    if not bps:
        return SlippageStats(0, None, None, None, distribution, {})
    mean = (sum(bps, _ZERO) / len(bps)).quantize(Decimal("0.01"))
    return SlippageStats(len(bps), mean, max(bps), min(bps), distribution, bps_percentiles(bps))
