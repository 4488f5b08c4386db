"""account_transfer: three USDT balances per UID and HTX's transfer codes (spec §6.6)."""

from __future__ import annotations

import pytest
from domain_builders import D, add_position, make_env, make_markets, open_request

from copytrade.domain.enums import MarginMode, OrderPriceType, PositionSide, Wallet
from copytrade.domain.errors import (
    InsufficientTransferable,
    InvalidTransferAmount,
    InvalidTransferType,
    TransferPrecision,
    UnknownCurrency,
)
from copytrade.domain.funds import (
    apply_transfer,
    balance_of,
    check_transfer,
    copy_equity,
    transferable,
)
from copytrade.domain.model import Account
from copytrade.domain.trading import open_order

MARKETS = make_markets(BTC="60500")


def funded() -> Account:
    return Account(1, D(1000), spot=D(300), futures=D(200))


def total(account: Account) -> D:
    return account.spot + account.futures + account.balance


@pytest.mark.parametrize(
    ("kind", "spot", "futures", "copy_trading"),
    [
        (1, "300", "150", "1050"),  # USDT-M futures → copy trading
        (2, "300", "250", "950"),  # copy trading → USDT-M futures
        (3, "250", "200", "1050"),  # spot → copy trading
        (4, "350", "200", "950"),  # copy trading → spot
    ],
)
def test_each_transfer_type_moves_usdt_between_its_two_accounts(
    kind: int, spot: str, futures: str, copy_trading: str
) -> None:
    account = funded()
    env = make_env()

    apply_transfer(account, check_transfer(D(50), kind, "USDT"), MARKETS, env)

    assert (account.spot, account.futures, account.balance) == (
        D(spot),
        D(futures),
        D(copy_trading),
    )
    assert total(account) == D(1500)
    assert env.changes.accounts == {1: account}


def test_the_transfer_example_moves_1000_from_futures_into_copy_trading() -> None:
    account = Account(10000001, D(0), futures=D(1000))

    apply_transfer(account, check_transfer(D(1000), 1, "USDT"), MARKETS, make_env())

    assert balance_of(account, Wallet.COPY_TRADING) == D(1000)
    assert balance_of(account, Wallet.FUTURES) == 0


@pytest.mark.parametrize(("kind", "code"), [(0, 0), (5, 5), (-1, -1)])
def test_a_transfer_type_outside_1_to_4_is_wrong(kind: int, code: int) -> None:
    with pytest.raises(InvalidTransferType) as refused:
        check_transfer(D(1), kind, "USDT")
    assert refused.value.value == code


@pytest.mark.parametrize("currency", ["BTC", "USDC", ""])
def test_only_usdt_moves(currency: str) -> None:
    with pytest.raises(UnknownCurrency):
        check_transfer(D(1), 1, currency)


def test_the_currency_is_case_insensitive() -> None:
    assert check_transfer(D(1), 1, "usdt").amount == 1


@pytest.mark.parametrize("amount", ["0", "-5", "-0.00000001"])
def test_an_amount_must_be_more_than_zero(amount: str) -> None:
    with pytest.raises(InvalidTransferAmount):
        check_transfer(D(amount), 1, "USDT")


def test_more_than_8_decimal_places_exceeds_the_transfer_accuracy() -> None:
    with pytest.raises(TransferPrecision) as refused:
        check_transfer(D("1.000000001"), 1, "USDT")
    assert refused.value.places == 8
    assert check_transfer(D("1.00000001"), 1, "USDT").amount == D("1.00000001")
    assert check_transfer(D("1.000000000"), 1, "USDT").amount == 1  # zeros are not digits


def test_the_type_is_checked_before_the_currency_and_the_currency_before_the_amount() -> None:
    with pytest.raises(InvalidTransferType):
        check_transfer(D(-1), 9, "BTC")
    with pytest.raises(UnknownCurrency):
        check_transfer(D(-1), 1, "BTC")


@pytest.mark.parametrize("kind", [1, 3])
def test_an_incoming_transfer_needs_the_source_balance(kind: int) -> None:
    account = funded()

    with pytest.raises(InsufficientTransferable) as refused:
        apply_transfer(account, check_transfer(D(301), kind, "USDT"), MARKETS, make_env())

    assert refused.value.amount == 301
    assert total(account) == D(1500)


def test_copy_trading_keeps_its_cross_margin_and_frozen_order_margin() -> None:
    account = Account(1, D(1000))
    add_position(
        account,
        1,
        "BTC-USDT",
        MarginMode.CROSS,
        PositionSide.LONG,
        lever=10,
        volume="10",
        open_price="60500",
    )  # IM 60.5
    open_order(
        account,
        open_request(volume="1", price_type=OrderPriceType.LIMIT, price="50000", lever=10),
        MARKETS["BTC-USDT"],
        MARKETS,
        make_env(),
    )  # freezes 5 + 50000 × 0.001 × 0.0006 = 5.03
    available = transferable(account, Wallet.COPY_TRADING, MARKETS, make_env().fees)
    assert available == D(1000) - D("60.5") - D("5.03")

    with pytest.raises(InsufficientTransferable):
        apply_transfer(
            account, check_transfer(available + D("0.01"), 4, "USDT"), MARKETS, make_env()
        )
    apply_transfer(account, check_transfer(available, 4, "USDT"), MARKETS, make_env())
    assert account.spot == available


def test_an_unrealised_profit_cannot_be_transferred_out() -> None:
    account = Account(1, D(100))
    add_position(
        account,
        1,
        "BTC-USDT",
        MarginMode.CROSS,
        PositionSide.LONG,
        lever=100,
        volume="10",
        open_price="50000",
    )  # IM 5, unrealised +105 at 60 500

    assert transferable(account, Wallet.COPY_TRADING, MARKETS, make_env().fees) == D(100)


def test_isolated_margin_is_not_transferable() -> None:
    account = Account(1, D(100))
    add_position(
        account,
        1,
        "BTC-USDT",
        MarginMode.ISOLATED,
        PositionSide.SHORT,
        lever=5,
        volume="10",
        open_price="60000",
    )  # its 120 of margin left W when it opened

    assert transferable(account, Wallet.COPY_TRADING, MARKETS, make_env().fees) == D(100)


def test_copy_equity_is_the_wallet_plus_isolated_margins_plus_unrealised_pnl() -> None:
    account = Account(1, D("879.28"), spot=D(5), futures=D(7))
    add_position(
        account,
        300001,
        "BTC-USDT",
        MarginMode.CROSS,
        PositionSide.LONG,
        lever=10,
        volume="20",
        open_price="60000",
        open_fee="0.72",
    )  # unrealised +10 at 60 500
    add_position(
        account,
        300002,
        "BTC-USDT",
        MarginMode.ISOLATED,
        PositionSide.LONG,
        lever=5,
        volume="10",
        open_price="60000",
        open_fee="0.36",
    )  # margin 119.64, unrealised +5

    assert copy_equity(account, MARKETS) == D("879.28") + D("119.64") + 10 + 5
