"""Realised PnL, fees and wallet effects of closing sub positions (spec §7.4, §7.9, §7.10)."""

from __future__ import annotations

from decimal import ROUND_DOWN

import pytest
from domain_builders import BTC, DOT, D, add_position, make_env, make_markets

from copytrade.domain.enums import CloseType, MarginMode, PositionSide
from copytrade.domain.instruments import FeeSchedule
from copytrade.domain.model import Account
from copytrade.domain.risk import closed_profit_rate
from copytrade.domain.trading import close_at_market, close_position
from copytrade.protocol.decimals import fmt, fmt_trunc18

CROSS, ISOLATED = MarginMode.CROSS, MarginMode.ISOLATED
LONG, SHORT = PositionSide.LONG, PositionSide.SHORT


def running_example() -> Account:
    """The spec's running example (§7.6): W = 879.28 with 300001 cross and 300002 isolated."""
    account = Account(1, D("879.28"))
    add_position(
        account, 300001, "BTC-USDT", CROSS, LONG,
        lever=10, volume="20", open_price="60000", open_fee="0.72",
    )  # fmt: skip
    add_position(
        account, 300002, "BTC-USDT", ISOLATED, LONG,
        lever=5, volume="10", open_price="60000", open_fee="0.36",
    )  # fmt: skip
    return account


def test_closing_300002_at_60490_matches_the_spec_and_returns_its_margin() -> None:
    account = running_example()
    env = make_env()

    done = close_position(
        account, account.positions[300002], D(60490), BTC, CloseType.CLOSE_ORDER, env
    )

    assert fmt(done.close_fee) == "0.36294"
    assert done.profit is not None
    assert fmt(done.profit) == "4.17706"
    assert fmt_trunc18(closed_profit_rate(done, BTC.contract_size)) == "0.034808833333333333"
    assert account.balance == D("879.28") + D("119.64") + D("4.9") - D("0.36294")
    assert 300002 not in account.positions
    assert (done.is_open, done.close_type, done.close_time) == (
        False,
        CloseType.CLOSE_ORDER,
        env.now,
    )


def test_closing_cross_300001_at_60480_5_matches_the_spec_and_credits_pnl_less_fee() -> None:
    account = running_example()
    env = make_env()

    done = close_position(
        account, account.positions[300001], D("60480.5"), BTC, CloseType.CLOSE_ALL, env
    )

    assert fmt(done.close_fee) == "0.725766"
    assert done.profit is not None
    assert fmt(done.profit) == "8.164234"
    assert fmt_trunc18(closed_profit_rate(done, BTC.contract_size)) == "0.068035283333333333"
    assert account.balance == D("879.28") + D("9.61") - D("0.725766")


@pytest.mark.parametrize(
    ("side", "volume", "open_price", "close_price", "fees", "profit", "rate"),
    [
        (SHORT, "1", "200", "10", ("0.072", "0.0036"), "189.9244", "4.74811"),
        (LONG, "100", "10", "200", ("0.36", "7.2"), "18992.44", "94.9622"),
    ],
)
def test_htx_history_examples_reproduce_profit_and_rate_at_a_0_036_percent_fee(
    side: PositionSide,
    volume: str,
    open_price: str,
    close_price: str,
    fees: tuple[str, str],
    profit: str,
    rate: str,
) -> None:
    account = Account(9, D(100_000))
    position = add_position(
        account, 1, "DOT-USDT", ISOLATED, side,
        lever=5, volume=volume, open_price=open_price, open_fee=fees[0],
    )  # fmt: skip
    env = make_env(FeeSchedule(maker=D("0.00036"), taker=D("0.00036")))

    done = close_position(account, position, D(close_price), DOT, CloseType.CLOSE_ORDER, env)

    assert fmt(done.close_fee) == fees[1]
    assert done.profit is not None
    assert fmt(done.profit) == profit
    assert fmt_trunc18(closed_profit_rate(done, DOT.contract_size)) == rate


def test_an_isolated_loss_beyond_the_margin_is_capped_at_the_margin() -> None:
    account = Account(1, D(50))
    position = add_position(
        account, 1, "DOT-USDT", ISOLATED, LONG, lever=5, volume="1", open_price="10"
    )

    done = close_position(account, position, D(5), DOT, CloseType.LIQUIDATION, make_env())

    assert account.balance == D(50)
    # the history row agrees with the wallet: the loss realised is the initial margin, no more
    assert done.profit == -(position.position_margin + position.open_fee)


def test_a_cross_loss_is_charged_to_the_wallet_in_full() -> None:
    account = Account(1, D(50))
    position = add_position(
        account, 1, "DOT-USDT", CROSS, LONG, lever=5, volume="1", open_price="10"
    )

    close_position(account, position, D(5), DOT, CloseType.LIQUIDATION, make_env())

    assert account.balance == D(50) - D(5) - D("0.003")


def test_close_at_market_closes_every_sub_position_at_one_average_price() -> None:
    account = Account(1, D(10_000))
    first = add_position(
        account, 1, "BTC-USDT", CROSS, SHORT, lever=5, volume="700", open_price="60000"
    )
    second = add_position(
        account, 2, "BTC-USDT", CROSS, SHORT, lever=5, volume="600", open_price="60100"
    )
    first.tp_trigger_price = D(50000)
    market = make_markets(BTC="60500")["BTC-USDT"]
    env = make_env()

    done = close_at_market(account, [first, second], market, CloseType.CLOSE_ALL, env)

    asks = market.book.asks
    # a computed price: truncated toward zero at 18 decimals (spec §7.6)
    expected = ((asks[0].price * 1000 + asks[1].price * 300) / 1300).quantize(
        D("1e-18"), rounding=ROUND_DOWN
    )
    assert expected != (asks[0].price * 1000 + asks[1].price * 300) / 1300  # does not terminate
    assert [p.close_avg_price for p in done] == [expected, expected]
    assert account.positions == {}
    assert first.tp_trigger_price is None
    assert [(f.sub_position_id, f.offset, f.volume) for f in env.changes.fills] == [
        (1, "close", D(700)),
        (2, "close", D(600)),
    ]


def test_close_at_market_of_nothing_changes_nothing() -> None:
    account = Account(1, D(10))
    env = make_env()

    assert (
        close_at_market(
            account, [], make_markets(BTC="60500")["BTC-USDT"], CloseType.CLOSE_ALL, env
        )
        == []
    )
    assert env.changes.fills == []
    assert account.balance == D(10)


def test_an_average_over_several_levels_is_truncated_so_no_money_rounds_away() -> None:
    account = Account(1, D(199_999))
    first = add_position(
        account, 1, "BTC-USDT", ISOLATED, LONG, lever=1, volume="1281", open_price="60507.4"
    )
    second = add_position(
        account, 2, "BTC-USDT", ISOLATED, LONG, lever=1, volume="1", open_price="60506.1"
    )
    before = account.balance + first.position_margin + second.position_margin
    market = make_markets(BTC="60500")["BTC-USDT"]
    env = make_env()

    done = close_at_market(account, [first, second], market, CloseType.CLOSE_ALL, env)

    price = done[0].close_avg_price
    assert price is not None
    assert price == price.quantize(D("1e-18"), rounding=ROUND_DOWN)
    bids = market.book.bids
    exact = (bids[0].price * 1000 + bids[1].price * 282) / 1282  # does not terminate
    assert price == exact.quantize(D("1e-18"), rounding=ROUND_DOWN)
    assert price != exact
    gross = sum((p.profit + p.open_fee + p.close_fee for p in done if p.profit is not None), D(0))
    fees = sum((f.fee for f in env.changes.fills), D(0))
    assert account.balance == before + gross - fees
