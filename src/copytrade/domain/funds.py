"""The three USDT balances of a UID and transfers between them (spec §6.6). Pure.

A UID holds ``spot``, ``futures`` (USDT-M futures) and ``copy_trading`` (the wallet ``W`` the
copy engine trades from, :attr:`Account.balance`). ``account_transfer`` moves USDT between the
copy-trading account and one of the other two; nothing else touches ``spot`` or ``futures``, so a
transfer never creates or destroys money: the UID's total is the same before and after.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from copytrade.domain.enums import MarginMode, TransferType, Wallet
from copytrade.domain.errors import (
    InsufficientTransferable,
    InvalidTransferAmount,
    InvalidTransferType,
    TransferPrecision,
    UnknownCurrency,
)
from copytrade.domain.instruments import FeeSchedule
from copytrade.domain.margin import pnl
from copytrade.domain.model import Account
from copytrade.domain.trading import Env, Market, cross_figures

TRANSFER_CURRENCY = "USDT"
TRANSFER_PLACES = 8

_ROUTES: dict[TransferType, tuple[Wallet, Wallet]] = {
    TransferType.FUTURES_TO_COPY: (Wallet.FUTURES, Wallet.COPY_TRADING),
    TransferType.COPY_TO_FUTURES: (Wallet.COPY_TRADING, Wallet.FUTURES),
    TransferType.SPOT_TO_COPY: (Wallet.SPOT, Wallet.COPY_TRADING),
    TransferType.COPY_TO_SPOT: (Wallet.COPY_TRADING, Wallet.SPOT),
}


@dataclass(frozen=True, slots=True)
class Transfer:
    """A checked transfer: ``amount`` USDT from ``source`` to ``target``.

    ``kind`` is v1's ``type`` (``None`` for a move v1 cannot name: spot ↔ futures).
    """

    kind: TransferType | None
    source: Wallet
    target: Wallet
    amount: Decimal


def transfer_type(value: int) -> TransferType:
    """Return the transfer type for the wire's ``type``; anything but 1–4 raises (1315)."""
    try:
        return TransferType(value)
    except ValueError:
        raise InvalidTransferType(value) from None


def check_transfer(amount: Decimal, kind: int, currency: str) -> Transfer:
    """Check a transfer's own fields, in HTX's order: type, currency, amount, precision.

    Args:
        amount: USDT to move; positive (1322) with at most 8 decimal places (1331).
        kind: The wire's ``type`` (1315 when not 1–4).
        currency: Must be ``USDT`` (case-insensitive; 10000 otherwise).

    Returns:
        The transfer with its source and target wallets.
    """
    checked = transfer_type(kind)
    check_amount(currency, amount)
    source, target = _ROUTES[checked]
    return Transfer(checked, source, target, amount)


def check_amount(currency: str, amount: Decimal) -> None:
    """Refuse a currency but USDT (10000), an amount ≤ 0 (1322) or finer than 8 places (1331)."""
    if currency.upper() != TRANSFER_CURRENCY:
        raise UnknownCurrency(currency)
    if not amount.is_finite() or amount <= 0:
        raise InvalidTransferAmount(amount)
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > TRANSFER_PLACES:
        raise TransferPrecision(amount, TRANSFER_PLACES)


def check_move(amount: Decimal, source: Wallet, target: Wallet, currency: str) -> Transfer:
    """Check a transfer between any two of the UID's balances (v6 ``transfer``, ``/v2``).

    Args:
        amount: USDT to move; positive (1322) with at most 8 decimal places (1331).
        source: The balance it leaves.
        target: The balance it enters; the same as ``source`` is refused (1315).
        currency: Must be ``USDT`` (case-insensitive; 10000 otherwise).

    Returns:
        The transfer, with v1's ``type`` when v1 has one for the move.
    """
    if source is target:
        raise InvalidTransferType(0)
    check_amount(currency, amount)
    kind = next((k for k, route in _ROUTES.items() if route == (source, target)), None)
    return Transfer(kind, source, target, amount)


def balance_of(account: Account, wallet: Wallet) -> Decimal:
    """Return one of the UID's three balances (copy trading: the wallet ``W``)."""
    if wallet is Wallet.SPOT:
        return account.spot
    if wallet is Wallet.FUTURES:
        return account.futures
    return account.balance


def _credit(account: Account, wallet: Wallet, amount: Decimal) -> None:
    if wallet is Wallet.SPOT:
        account.spot += amount
    elif wallet is Wallet.FUTURES:
        account.futures += amount
    else:
        account.balance += amount


def transferable(
    account: Account, wallet: Wallet, markets: Mapping[str, Market], fees: FeeSchedule
) -> Decimal:
    """Return what may leave ``wallet``: copy trading keeps its margin and unrealised losses.

    The copy-trading account's transferable amount is its available balance (spec §6.6): cross
    equity − cross initial margin − margin frozen by resting orders, never more than ``W``
    itself (an unrealised profit is not cash). Spot and futures may send their whole balance.
    """
    if wallet is not Wallet.COPY_TRADING:
        return balance_of(account, wallet)
    available = cross_figures(account, markets, fees).available
    return max(Decimal(0), min(available, account.balance))


def apply_transfer(
    account: Account,
    transfer: Transfer,
    markets: Mapping[str, Market],
    env: Env,
) -> None:
    """Move ``transfer.amount`` between two of the UID's balances (1301 when short).

    Args:
        account: The UID's accounts; ``markets`` must hold every contract it has exposure in.
        transfer: A transfer from :func:`check_transfer`.
        markets: Marks and books, for the copy-trading account's available balance.
        env: Fees and the change set that records the account.
    """
    available = transferable(account, transfer.source, markets, env.fees)
    if transfer.amount > available:
        raise InsufficientTransferable(transfer.amount, available)
    _credit(account, transfer.source, -transfer.amount)
    _credit(account, transfer.target, transfer.amount)
    env.changes.touch(account)


def copy_equity(account: Account, markets: Mapping[str, Market]) -> Decimal:
    """Return the copy-trading account's equity: ``W`` + isolated margins + unrealised PnL.

    This is what a follower has committed to copying (``query_followers``'s
    ``follower_trade_amount``); spot and futures balances are not part of it.
    """
    total = account.balance
    for position in account.positions.values():
        market = markets[position.contract_code]
        cs = market.spec.contract_size
        if position.margin_mode is MarginMode.ISOLATED:
            total += position.position_margin
        total += pnl(position.side, position.open_avg_price, market.mark, position.volume, cs)
    return total
