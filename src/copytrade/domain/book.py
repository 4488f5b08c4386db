"""The order book a market maker quotes around the mark price.

The simulated market maker re-quotes after every order (its liquidity replenishes at once), so
the book is a pure function of the mark price and the contract's settings: every process that
shares a database sees the same book.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from copytrade.domain.instruments import ContractSpec


@dataclass(frozen=True, slots=True)
class Level:
    """One price level: price and contracts available."""

    price: Decimal
    volume: Decimal


@dataclass(frozen=True, slots=True)
class Book:
    """Bids best (highest) first, asks best (lowest) first."""

    bids: tuple[Level, ...]
    asks: tuple[Level, ...]

    def side_for(self, buy: bool) -> tuple[Level, ...]:
        """Return the levels an order of that direction trades against."""
        return self.asks if buy else self.bids


def _to_tick(value: Decimal, tick: Decimal, rounding: str) -> Decimal:
    return (value / tick).to_integral_value(rounding=rounding) * tick


def quote_book(spec: ContractSpec, mark: Decimal) -> Book:
    """Return the market maker's book around ``mark`` (at least one tick of spread per side)."""
    mm = spec.market_maker
    tick = spec.price_tick
    asks: list[Level] = []
    bids: list[Level] = []
    # the best quotes sit strictly outside the mark and on the tick grid, even when the mark
    # itself is off the grid
    last_ask = _to_tick(mark, tick, ROUND_FLOOR)
    last_bid = _to_tick(mark, tick, ROUND_CEILING)
    for k in range(mm.levels):
        distance = mm.spread + mm.step * k
        ask = _to_tick(mark * (1 + distance), tick, ROUND_CEILING)
        ask = max(ask, last_ask + tick)
        bid = _to_tick(mark * (1 - distance), tick, ROUND_FLOOR)
        bid = min(bid, last_bid - tick)
        asks.append(Level(ask, mm.depth))
        if bid > 0:
            bids.append(Level(bid, mm.depth))
        last_ask, last_bid = ask, bid
    return Book(bids=tuple(bids), asks=tuple(asks))
