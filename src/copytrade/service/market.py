"""Public market data from the simulated market: tickers, book, trades, candles, funding.

The book is the market maker's (a pure function of the mark). Trades are the real fills the
store holds (each contract's newest :data:`~copytrade.service.ports.TAPE_DEPTH`); candles
aggregate them with the stored mark moves on the simulation clock (spec ``htx-v5-v6.md``
§6.3-§6.7). Reading the store, every process of a PostgreSQL deployment shows the same tape,
and a restart loses none of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from copytrade.domain.book import Book
from copytrade.domain.instruments import ContractSpec
from copytrade.service.context import ServiceContext
from copytrade.service.funding import current_rate
from copytrade.service.ports import TAPE_DEPTH, Trade

DAY_MS = 86_400_000
_ZERO = Decimal(0)


Print = Trade
"""One public trade (the store's :class:`~copytrade.service.ports.Trade`)."""


@dataclass(slots=True)
class MarketTape:
    """The public market data's settings: none of its own now.

    The funding rate ``/v5/market/funding_rate`` reports comes from ``ctx.funding`` (the
    settlements' settings, :mod:`copytrade.service.funding`).
    """


def _tape(ctx: ServiceContext, contract_code: str, depth: int = TAPE_DEPTH) -> list[Print]:
    """Return the contract's stored trades (the newest ``depth``), oldest first."""
    with ctx.reads() as reads:
        return reads.recent_trades(contract_code, depth)[::-1]


def _mark_moves(ctx: ServiceContext, contract_code: str) -> list[tuple[int, Decimal]]:
    """Return the contract's stored mark moves (the newest ``TAPE_DEPTH``), oldest first."""
    with ctx.reads() as reads:
        return reads.recent_marks(contract_code, TAPE_DEPTH)[::-1]


@dataclass(frozen=True, slots=True)
class Summary:
    """A contract's ticker: 24 h figures, last price and best quotes."""

    spec: ContractSpec
    mark: Decimal
    book: Book
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    turnover: Decimal
    count: int


@dataclass(frozen=True, slots=True)
class CandleRow:
    """One candle: start (epoch s), OHLC, contracts, coin amount, USDT turnover, trades."""

    start_s: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    amount: Decimal
    turnover: Decimal
    count: int


def _marks(ctx: ServiceContext) -> dict[str, Decimal]:
    with ctx.reads() as reads:
        return reads.marks()


def contracts(ctx: ServiceContext, uid: int) -> list[ContractSpec]:
    """Return every configured contract."""
    return list(ctx.contracts.values())


def _summary(ctx: ServiceContext, spec: ContractSpec, mark: Decimal, now: int) -> Summary:
    book = ctx.markets({spec.contract_code: mark})[spec.contract_code].book
    day = [t for t in _tape(ctx, spec.contract_code) if t.ts > now - DAY_MS]
    prices = [t.price for t in day] or [mark]
    volume = sum((t.volume for t in day), _ZERO)
    turnover = sum((t.volume * spec.contract_size * t.price for t in day), _ZERO)
    return Summary(
        spec,
        mark,
        book,
        prices[0],
        max(prices),
        min(prices),
        prices[-1],
        volume,
        turnover,
        len(day),
    )


def ticker(ctx: ServiceContext, uid: int, contract_code: str) -> Summary:
    """Return one contract's ticker."""
    spec = ctx.spec(contract_code)
    return _summary(ctx, spec, _marks(ctx)[contract_code], ctx.clock.now_ms())


def tickers(ctx: ServiceContext, uid: int) -> list[Summary]:
    """Return every contract's ticker."""
    marks, now = _marks(ctx), ctx.clock.now_ms()
    return [
        _summary(ctx, spec, marks[code], now)
        for code, spec in ctx.contracts.items()
        if code in marks
    ]


def book(ctx: ServiceContext, uid: int, contract_code: str) -> Book:
    """Return the market maker's book of one contract."""
    ctx.spec(contract_code)
    return ctx.markets(_marks(ctx))[contract_code].book


def trades(ctx: ServiceContext, uid: int, contract_code: str, size: int) -> list[Print]:
    """Return the newest ``size`` trades of one contract, newest first."""
    ctx.spec(contract_code)
    return _tape(ctx, contract_code, size)[::-1]


def candles(
    ctx: ServiceContext,
    uid: int,
    contract_code: str,
    period_s: int,
    size: int | None,
    start_s: int | None,
    end_s: int | None,
) -> list[CandleRow]:
    """Return ``period_s`` candles, ascending: the newest ``size``, else ``[start, end]``.

    A bucket without trades follows the mark (or repeats the previous close); buckets before
    the first trade or mark move the store holds are not reported.
    """
    spec = ctx.spec(contract_code)
    now_s = ctx.clock.now_ms() // 1000
    mark = _marks(ctx)[contract_code]
    last = now_s - now_s % period_s
    if size is not None:
        first = last - period_s * (size - 1)
    else:
        assert start_s is not None
        assert end_s is not None
        first = start_s - start_s % period_s
        last = min(last, end_s - end_s % period_s)
    events: list[tuple[int, Decimal, Decimal]] = [
        (ts // 1000, price, _ZERO) for ts, price in _mark_moves(ctx, contract_code)
    ]
    events += [(t.ts // 1000, t.price, t.volume) for t in _tape(ctx, contract_code)]
    events.sort(key=lambda e: e[0])
    known = events[0][0] - events[0][0] % period_s if events else last
    first = max(first, known)
    price = next((p for ts, p, _ in reversed(events) if ts < first), None)
    if price is None:
        price = events[0][1] if events else mark
    rows: list[CandleRow] = []
    i = 0
    while i < len(events) and events[i][0] < first:
        i += 1
    start = first
    while start <= last:
        o = h = lo = c = price
        volume = turnover = _ZERO
        count = 0
        while i < len(events) and events[i][0] < start + period_s:
            _, p, v = events[i]
            h, lo, c = max(h, p), min(lo, p), p
            if v > 0:
                volume += v
                turnover += v * spec.contract_size * p
                count += 1
            i += 1
        rows.append(
            CandleRow(start, o, h, lo, c, volume, volume * spec.contract_size, turnover, count)
        )
        price = c
        start += period_s
    return rows


@dataclass(frozen=True, slots=True)
class Funding:
    """The funding rate and the current and next funding times (epoch ms)."""

    contract_code: str
    rate: Decimal
    funding_time: int
    next_funding_time: int


def funding(ctx: ServiceContext, uid: int, contract_code: str) -> Funding:
    """Return the market's funding rate now and its next two settlement times.

    The rate is the one the next settlement uses as things stand (configured, or the
    premium-index formula over the current book: it moves with the market until then);
    settlements fall every ``ctx.funding.interval_ms`` from the epoch (8 h: 00, 08, 16 UTC).
    """
    spec = ctx.spec(contract_code)
    now = ctx.clock.now_ms()
    with ctx.reads() as reads:
        mark = reads.marks().get(contract_code)
    market = ctx.markets({contract_code: mark}).get(contract_code) if mark is not None else None
    rate = (
        current_rate(ctx, market, now)
        if market is not None
        else ctx.funding.configured_rate(spec.contract_code)
    )
    upcoming = ctx.funding.next_settlement(now)
    return Funding(contract_code, rate, upcoming, upcoming + ctx.funding.interval_ms)
