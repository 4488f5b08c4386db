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

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

from copytrade.domain.enums import MarginMode, PositionSide
from copytrade.domain.model import Account, ChangeSet, SubPosition

EIGHT_HOURS_MS = 8 * 3600 * 1000
FUNDING_QUANTUM = Decimal("0.00000001")
_ZERO = Decimal(0)


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
