"""Matching an incoming order against the book; pure."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from copytrade.domain.book import Book, Level
from copytrade.domain.enums import OrderPriceType
from copytrade.domain.errors import NoOpponentPrice, OrderNotFillable
from copytrade.domain.margin import div, to_money

_ZERO = Decimal(0)
OPTIMAL_DEPTH = 20


@dataclass(frozen=True, slots=True)
class Fill:
    """Contracts traded at one price."""

    price: Decimal
    volume: Decimal


@dataclass(frozen=True, slots=True)
class MatchResult:
    """Fills on arrival; ``rest_price`` is set when a remainder rests as a limit order."""

    fills: tuple[Fill, ...]
    remaining: Decimal
    rest_price: Decimal | None

    @property
    def filled(self) -> Decimal:
        """Return the contracts filled."""
        return sum((f.volume for f in self.fills), _ZERO)


def average_price(value: Decimal, volume: Decimal) -> Decimal:
    """Return ``value / volume`` truncated at 18 decimals (spec §7.6: computed prices).

    An average over several price levels rarely terminates; a 28-digit one made the PnL and
    close fees computed from it carry ~28 digits, and adding those to a wallet rounded money
    away. Truncated as HTX shows it, the average prints the same on the wire.
    """
    return to_money(div(value, volume))


def vwap(fills: tuple[Fill, ...] | list[Fill]) -> Decimal:
    """Return the volume-weighted price of ``fills`` (not empty), truncated at 18 decimals."""
    volume = sum((f.volume for f in fills), _ZERO)
    return average_price(sum((f.price * f.volume for f in fills), _ZERO), volume)


def _crosses(level: Level, limit: Decimal | None, buy: bool) -> bool:
    if limit is None:
        return True
    return level.price <= limit if buy else level.price >= limit


def sweep(
    levels: tuple[Level, ...], volume: Decimal, limit: Decimal | None, buy: bool
) -> list[Fill]:
    """Take liquidity level by level, up to ``limit`` when given."""
    fills: list[Fill] = []
    left = volume
    for level in levels:
        if left <= 0 or not _crosses(level, limit, buy):
            break
        take = min(left, level.volume)
        fills.append(Fill(level.price, take))
        left -= take
    return fills


def reference_price(
    book: Book, buy: bool, price_type: OrderPriceType, price: Decimal | None, contract: str
) -> Decimal:
    """Return the price an order of this type is limited to (its margin reference)."""
    if price_type.needs_price:
        assert price is not None
        return price
    levels = book.side_for(buy)
    if not levels:
        raise NoOpponentPrice(contract)
    if price_type in (OrderPriceType.OPPONENT, OrderPriceType.OPPONENT_FOK):
        return levels[0].price
    # optimal_20 and market: the 20th level or the deepest there is
    return levels[min(OPTIMAL_DEPTH, len(levels)) - 1].price


def match_open(
    book: Book,
    buy: bool,
    volume: Decimal,
    price_type: OrderPriceType,
    price: Decimal | None,
    contract: str,
) -> MatchResult:
    """Match an opening order of any accepted type (spec §7.1)."""
    levels = book.side_for(buy)
    limit = (
        None
        if price_type is OrderPriceType.MARKET
        else reference_price(book, buy, price_type, price, contract)
    )
    if price_type is OrderPriceType.MARKET and not levels:
        raise NoOpponentPrice(contract)
    fills = sweep(levels, volume, limit, buy)
    filled = sum((f.volume for f in fills), _ZERO)
    remaining = volume - filled
    if price_type.fill_or_kill and remaining > 0:
        raise OrderNotFillable(f"only {filled} of {volume} contracts available within {limit}")
    rest = limit if (price_type.rests and remaining > 0) else None
    return MatchResult(tuple(fills), remaining, rest)


def match_close(book: Book, buy: bool, volume: Decimal, mark: Decimal) -> tuple[Fill, ...]:
    """Close at market completely: walk the book, then fill the rest at the last touched level.

    With an empty book the whole volume fills at the mark price (spec §8.2 step 6, Q6).
    """
    levels = book.side_for(buy)
    fills = sweep(levels, volume, None, buy)
    left = volume - sum((f.volume for f in fills), _ZERO)
    if left > 0:
        price = fills[-1].price if fills else mark
        fills.append(Fill(price, left))
    return tuple(fills)
