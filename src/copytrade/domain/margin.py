"""Margin, PnL, margin rate and liquidation price (spec §7.5, §7.6, §7.9). Pure formulas."""

from __future__ import annotations

from contextlib import AbstractContextManager
from decimal import ROUND_DOWN, Context, Decimal, localcontext

from copytrade.domain.enums import PositionSide

_ZERO = Decimal(0)
MONEY_QUANTUM = Decimal("1e-18")


# Only its precision is used (never its flags), so one shared context serves every thread.
_DIVISION = Context(prec=50)


def div(numerator: Decimal, denominator: Decimal) -> Decimal:
    """Divide with 50 significant digits, enough for 18-decimal truncation of any ratio."""
    return _DIVISION.divide(numerator, denominator)


def wide_context() -> AbstractContextManager[Context]:
    """Return a context manager running the block's arithmetic with 50 significant digits.

    Risk figures add and subtract terms that each carry up to 50 digits (``MM``, margins, PnL);
    in the default 28-digit context those sums round, and a liquidation price then truncates
    on the wrong side of an 18-decimal boundary.
    """
    return localcontext(_DIVISION)


def to_money(value: Decimal) -> Decimal:
    """Truncate a computed price or amount toward zero at 18 decimals (spec §2.4, §7.6).

    Every price and amount the core computes (average prices, initial margins, close fees,
    realised PnL) is kept this way before it moves money: HTX shows such values truncated at 18
    decimals, and with at most 18 decimals the wallets, margins and fees they are added to stay
    exact in the default 28-digit context (below 10¹⁰ USDT), so no money rounds away.
    """
    return value.quantize(MONEY_QUANTUM, rounding=ROUND_DOWN, context=_DIVISION)


def notional(volume: Decimal, contract_size: Decimal, price: Decimal) -> Decimal:
    """Return ``v × cs × price`` in USDT."""
    return volume * contract_size * price


def initial_margin(
    volume: Decimal, contract_size: Decimal, open_price: Decimal, lever: int
) -> Decimal:
    """Return ``IM = v × cs × P_open / L``."""
    return div(notional(volume, contract_size, open_price), Decimal(lever))


def maintenance_margin(
    af: Decimal, volume: Decimal, contract_size: Decimal, mark: Decimal, lever: int
) -> Decimal:
    """Return ``MM = AF × v × cs × P_mark / L``."""
    return div(af * notional(volume, contract_size, mark), Decimal(lever))


def fee(volume: Decimal, contract_size: Decimal, price: Decimal, rate: Decimal) -> Decimal:
    """Return ``v × cs × price × rate``."""
    return notional(volume, contract_size, price) * rate


def pnl(
    side: PositionSide, open_price: Decimal, price: Decimal, volume: Decimal, contract_size: Decimal
) -> Decimal:
    """Return the gross PnL of ``volume`` opened at ``open_price`` valued at ``price``."""
    move = price - open_price if side is PositionSide.LONG else open_price - price
    return move * volume * contract_size


def margin_rate(mm: Decimal, equity: Decimal) -> Decimal:
    """Return ``MM / equity``; a non-positive equity is at or beyond liquidation (rate 1+)."""
    if equity <= 0:
        return Decimal(1) if mm == 0 else Decimal(10) ** 9
    return div(mm, equity)


def isolated_liquidation_price(
    side: PositionSide,
    open_price: Decimal,
    position_margin: Decimal,
    mm: Decimal,
    volume: Decimal,
    contract_size: Decimal,
) -> Decimal:
    """Return the isolated liquidation price; a long's is floored at 0."""
    return _price_losing(side, open_price, position_margin - mm, volume * contract_size)


def cross_liquidation_price(
    side: PositionSide,
    mark: Decimal,
    cross_equity: Decimal,
    total_mm: Decimal,
    volume: Decimal,
    contract_size: Decimal,
) -> Decimal:
    """Return a cross position's liquidation price with the others' PnL held fixed."""
    return _price_losing(side, mark, cross_equity - total_mm, volume * contract_size)


def _price_losing(side: PositionSide, price: Decimal, cushion: Decimal, size: Decimal) -> Decimal:
    """Return the price at which ``size`` base units held from ``price`` have lost ``cushion``.

    Below ``price`` for a long (floored at 0), above it for a short.
    """
    move = div(cushion, size)
    if side is PositionSide.LONG:
        return max(_ZERO, price - move)
    return price + move
