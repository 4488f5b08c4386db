"""Funding (spec §7.11): when it settles, what each open position pays or receives. Pure.

USDT-margined perpetuals settle every 8 h at 00:00, 08:00 and 16:00 UTC: each position pays
(long, positive rate) or receives ``v × cs × P_mark × rate``; a negative rate reverses the
direction. Settlement times are multiples of the interval since the epoch (so 8 h gives HTX's
three UTC times). The simulated market maker is the counterparty of every position, so what
longs pay and shorts receive differs by the net open interest: the venue takes the rest, and
the money of a settlement sums to zero (:class:`Settlement`). Each payment is rounded to
:data:`FUNDING_QUANTUM` toward the venue, so rounding never creates money for an account.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from typing import Literal

from copytrade.domain.book import Book
from copytrade.domain.enums import Liquidity, MarginMode, PositionSide
from copytrade.domain.matching import sweep, vwap
from copytrade.domain.model import Account, ChangeSet, FillRecord, SubPosition

EIGHT_HOURS_MS = 8 * 3600 * 1000
FUNDING_QUANTUM = Decimal("0.00000001")
INTEREST_RATE = Decimal("0.0001")
"""The interest part of the premium formula per 8 h (HTX, Binance: 0.01 %)."""
PREMIUM_CLAMP = Decimal("0.0005")
RATE_CAP = Decimal("0.0075")
"""HTX's bounds of a USDT-M funding rate (also ``min/max_funding_rate`` on the wire)."""
_ZERO = Decimal(0)
FundingMode = Literal["off", "rate", "premium"]
_RATE_QUANTUM = Decimal("0.00000001")


@dataclass(slots=True)
class FundingConfig:
    """How funding is settled (changeable at run time through the admin API).

    ``mode``: ``off`` (no settlement; ``/v5/market/funding_rate`` still shows the rate),
    ``rate`` (each market's configured rate, else ``default_rate``) or ``premium`` (the
    premium-index formula, :func:`premium_rate`, over ``impact_volume`` contracts, by default
    one level of the market maker's book). ``interval_ms``: settlements fall on its multiples
    since the epoch.
    """

    mode: FundingMode = "off"
    interval_ms: int = EIGHT_HOURS_MS
    default_rate: Decimal = Decimal("0.0001")
    rates: dict[str, Decimal] = field(default_factory=dict)
    impact_volume: Decimal | None = None

    def __post_init__(self) -> None:
        """Refuse an interval that is not positive."""
        if self.interval_ms <= 0:
            raise ValueError("interval_ms must be positive")

    def configured_rate(self, contract_code: str) -> Decimal:
        """Return a market's configured rate (its own, else the default)."""
        return self.rates.get(contract_code, self.default_rate)

    def next_settlement(self, now_ms: int) -> int:
        """Return the first settlement time after ``now_ms``."""
        return (now_ms // self.interval_ms + 1) * self.interval_ms


def settlement_times(after_ms: int, up_to_ms: int, interval_ms: int = EIGHT_HOURS_MS) -> list[int]:
    """Return the settlement times in ``(after_ms, up_to_ms]``, oldest first."""
    if interval_ms <= 0:
        raise ValueError("interval_ms must be positive")
    first = (after_ms // interval_ms + 1) * interval_ms
    return list(range(first, up_to_ms + 1, interval_ms))


def funding_amount(
    side: PositionSide, volume: Decimal, contract_size: Decimal, mark: Decimal, rate: Decimal
) -> Decimal:
    """Return what a position's owner is credited (negative: pays), rounded toward the venue."""
    exact = volume * contract_size * mark * rate
    signed = -exact if side is PositionSide.LONG else exact
    return signed.quantize(FUNDING_QUANTUM, rounding=ROUND_FLOOR)


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """One position's funding at one settlement (``amount`` > 0: received)."""

    uid: int
    sub_position_id: int
    contract_code: str
    side: PositionSide
    volume: Decimal
    mark: Decimal
    rate: Decimal
    amount: Decimal
    at_ms: int


@dataclass(frozen=True, slots=True)
class Settlement:
    """Every payment of one settlement and the venue's side of it (they sum to zero)."""

    at_ms: int
    payments: tuple[FundingPayment, ...] = ()
    venue: Decimal = field(default=_ZERO)

    @property
    def total(self) -> Decimal:
        """Return the sum of every account's and the venue's money (always zero)."""
        return sum((p.amount for p in self.payments), _ZERO) + self.venue


def settle(
    positions: Iterable[SubPosition],
    marks: Mapping[str, Decimal],
    rates: Mapping[str, Decimal],
    contract_sizes: Mapping[str, Decimal],
    at_ms: int,
) -> Settlement:
    """Return the funding of every open position in a contract with a mark and a rate.

    Positions are taken oldest first (by sub position id), traders' and followers' alike.
    """
    payments: list[FundingPayment] = []
    for pos in sorted(positions, key=lambda p: p.sub_position_id):
        code = pos.contract_code
        if not pos.is_open or pos.volume <= 0 or code not in marks or code not in rates:
            continue
        amount = funding_amount(
            pos.side, pos.volume, contract_sizes[code], marks[code], rates[code]
        )
        if amount == 0:
            continue
        payments.append(
            FundingPayment(
                pos.uid,
                pos.sub_position_id,
                code,
                pos.side,
                pos.volume,
                marks[code],
                rates[code],
                amount,
                at_ms,
            )
        )
    venue = -sum((p.amount for p in payments), _ZERO)
    return Settlement(at_ms, tuple(payments), venue)


def net_open_interest_value(
    positions: Iterable[SubPosition],
    marks: Mapping[str, Decimal],
    rates: Mapping[str, Decimal],
    contract_sizes: Mapping[str, Decimal],
) -> Decimal:
    """Return what the venue earns exactly: ``Σ (long − short) × cs × mark × rate``.

    The venue's rounded share (:attr:`Settlement.venue`) is this, plus at most one
    :data:`FUNDING_QUANTUM` per position (rounding goes its way).
    """
    total = _ZERO
    for pos in positions:
        code = pos.contract_code
        if not pos.is_open or code not in marks or code not in rates:
            continue
        sign = 1 if pos.side is PositionSide.LONG else -1
        total += sign * pos.volume * contract_sizes[code] * marks[code] * rates[code]
    return total


def apply_settlement(
    settlement: Settlement, accounts: Mapping[int, Account], changes: ChangeSet
) -> None:
    """Credit (or charge) each payment: an isolated position's margin, else the wallet ``W``.

    Accounts not in ``accounts`` are left alone (the caller loads every one it settled).
    """
    for payment in settlement.payments:
        account = accounts.get(payment.uid)
        if account is None:
            continue
        pos = account.positions.get(payment.sub_position_id)
        if pos is not None and pos.margin_mode is MarginMode.ISOLATED:
            pos.position_margin += payment.amount
            changes.save_position(pos)
        else:
            account.balance += payment.amount
        changes.touch(account)


def record_settlement(
    settlement: Settlement, changes: ChangeSet, next_id: Callable[[], int]
) -> None:
    """Book each payment in the fills ledger (offset ``funding``, see :class:`FillRecord`)."""
    for p in settlement.payments:
        changes.fills.append(
            FillRecord(
                next_id(),
                p.uid,
                None,
                p.sub_position_id,
                p.contract_code,
                p.side,
                "funding",
                p.mark,
                p.volume,
                -p.amount,
                Liquidity.NONE,
                p.at_ms,
            )
        )


def funding_received(fills: Iterable[FillRecord]) -> Decimal:
    """Return the funding ``fills`` received, net (negative: paid), from their ``funding`` rows.

    HTX counts funding in a trader's total PnL (spec §7.11): v1's ``total_pl`` and v6's
    ``totalPnl`` add this to the realised profit of the closed lead positions.
    """
    return -sum((f.fee for f in fills if f.offset == "funding"), _ZERO)


def _impact_price(book: Book, volume: Decimal, buy: bool, fallback: Decimal) -> Decimal:
    """Return the average price of ``volume`` on one side; the last level's when it runs out."""
    levels = book.side_for(buy)
    fills = sweep(levels, volume, None, buy)
    if not fills:
        return fallback
    return vwap(fills)


def premium_rate(
    book: Book,
    index: Decimal,
    impact_volume: Decimal,
    interest: Decimal = INTEREST_RATE,
) -> Decimal:
    """Return the funding rate of the premium-index formula, clamped to ±:data:`RATE_CAP`.

    ``premium = (impact mid − index) / index``, the impact mid being the middle of the average
    bid and ask of ``impact_volume`` contracts on ``book``; ``rate = premium + clamp(interest −
    premium, ±0.05 %)`` (HTX's and Binance's form). The simulator's index is the mark, and the
    book is the market maker's less the depth fills took (market impact), so a crowd that has
    bought the asks away pushes the mid above the index and longs pay more. With impact off
    the book is symmetric about the mark and the rate is about ``interest``.
    """
    ask = _impact_price(book, impact_volume, True, index)
    bid = _impact_price(book, impact_volume, False, index)
    premium = ((ask + bid) / 2 - index) / index
    rate = premium + min(max(interest - premium, -PREMIUM_CLAMP), PREMIUM_CLAMP)
    rate = min(max(rate, -RATE_CAP), RATE_CAP)
    return rate.quantize(_RATE_QUANTUM)
