"""Aggregate positions, margin rates and liquidation prices against the spec (§6.10, §7.6)."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from domain_builders import BTC, DOT, D, add_position, make_env, make_markets
from hypothesis import example, given, settings
from hypothesis import strategies as st

from copytrade.domain.enums import Liquidity, MarginMode, OrderPriceType, PositionSide
from copytrade.domain.instruments import FeeSchedule
from copytrade.domain.matching import Fill
from copytrade.domain.model import Account, Order
from copytrade.domain.risk import (
    AggregatePosition,
    aggregate_positions,
    isolated_liquidation_prices,
    liquidation_scopes,
)
from copytrade.domain.trading import apply_open_fills
from copytrade.protocol.decimals import fmt, fmt_trunc18

CROSS, ISOLATED = MarginMode.CROSS, MarginMode.ISOLATED
LONG, SHORT = PositionSide.LONG, PositionSide.SHORT
FEES = FeeSchedule()


def wire(agg: AggregatePosition) -> dict[str, str]:
    """Format an aggregate's decimals as the wire layer does."""
    return {
        "open_avg_price": fmt_trunc18(agg.open_avg_price),
        "volume": fmt(agg.volume),
        "position_margin": fmt_trunc18(agg.position_margin),
        "margin_rate": fmt_trunc18(agg.margin_rate),
        "liquidation_price": fmt_trunc18(agg.liquidation_price),
        "unreal_profit": fmt_trunc18(agg.unreal_profit),
        "profit": fmt_trunc18(agg.profit),
        "profit_rate": fmt_trunc18(agg.profit_rate),
    }


def running_example(isolated_margin: str = "119.64") -> Account:
    """The spec's running example (§7.6): W = 1000 − 0.72 − 120 after both opens."""
    account = Account(1, D("879.28"))
    add_position(
        account, 300001, "BTC-USDT", CROSS, LONG,
        lever=10, volume="20", open_price="60000", open_fee="0.72",
    )  # fmt: skip
    add_position(
        account, 300002, "BTC-USDT", ISOLATED, LONG,
        lever=5, volume="10", open_price="60000", open_fee="0.36",
        position_margin=isolated_margin,
    )  # fmt: skip
    return account


def test_running_example_reproduces_the_spec_position_list_rows() -> None:
    rows = aggregate_positions(running_example(), make_markets(BTC="60500"), FEES)

    assert [(r.margin_mode, r.side, r.lever) for r in rows] == [
        (CROSS, LONG, 10),
        (ISOLATED, LONG, 5),
    ]
    assert wire(rows[0]) == {
        "open_avg_price": "60000",
        "volume": "20",
        "position_margin": "120",
        "margin_rate": "0.013606513134220942",
        "liquidation_price": "16641",
        "unreal_profit": "10",
        "profit": "10",
        "profit_rate": "0.083333333333333333",
    }
    assert wire(rows[1]) == {
        "open_avg_price": "60000",
        "volume": "10",
        "position_margin": "119.64",
        "margin_rate": "0.097079589216944801",
        "liquidation_price": "49246",
        "unreal_profit": "5",
        "profit": "5",
        "profit_rate": "0.041666666666666666",
    }


def test_running_example_wallet_comes_from_opening_both_positions_at_taker_fee() -> None:
    account = Account(1, D(1000))
    env = make_env()
    for order_id, mode, volume, lever in ((1, CROSS, "20", 10), (2, ISOLATED, "10", 5)):
        order = Order(
            order_id, 1, "BTC-USDT", mode, LONG, OrderPriceType.LIMIT, D(60000), D(volume), lever, 0
        )
        apply_open_fills(account, order, [Fill(D(60000), D(volume))], Liquidity.TAKER, BTC, env)

    cross, isolated = sorted(account.positions.values(), key=lambda p: p.margin_mode.value)
    assert account.balance == D("879.28")
    assert (cross.open_fee, cross.position_margin) == (D("0.72"), D(120))
    assert (isolated.open_fee, isolated.position_margin) == (D("0.36"), D("119.64"))
    rows = aggregate_positions(account, make_markets(BTC="60500"), FEES)
    assert [fmt_trunc18(r.margin_rate) for r in rows] == [
        "0.013606513134220942",
        "0.097079589216944801",
    ]


def test_adding_margin_to_the_isolated_position_lowers_its_rate_and_liquidation_price() -> None:
    rows = aggregate_positions(running_example("169.64"), make_markets(BTC="60500"), FEES)

    isolated = rows[1]
    assert fmt_trunc18(isolated.margin_rate) == "0.069285387081997251"
    assert fmt_trunc18(isolated.liquidation_price) == "44246"


def test_isolated_liquidation_prices_cover_isolated_aggregates_only() -> None:
    prices = isolated_liquidation_prices(running_example(), make_markets(BTC="60500"), FEES)

    assert prices == {("BTC-USDT", LONG): D(49246)}


@pytest.mark.parametrize(
    ("side", "open_price", "position_margin", "rate", "liquidation", "profit_rate"),
    [
        (LONG, "10", "2.994", "0.066800267201068804", "7.206", "0"),
        (SHORT, "9.999", "1.9938006", "0.100361270465293918", "11.7928006", "-0.0005000500050005"),
    ],
)
def test_dot_examples_match_htx_margin_rate_liquidation_and_profit_rate(
    side: PositionSide,
    open_price: str,
    position_margin: str,
    rate: str,
    liquidation: str,
    profit_rate: str,
) -> None:
    account = Account(7, D(100))
    add_position(
        account, 1, "DOT-USDT", ISOLATED, side,
        lever=5, volume="1", open_price=open_price, position_margin=position_margin,
    )  # fmt: skip

    (agg,) = aggregate_positions(account, make_markets(DOT="10"), FEES)

    assert fmt_trunc18(agg.margin_rate) == rate
    assert fmt_trunc18(agg.liquidation_price) == liquidation
    assert fmt_trunc18(agg.profit_rate) == profit_rate


def test_opening_the_dot_short_leaves_im_less_the_open_fee_at_the_open_price() -> None:
    account = Account(7, D(100))
    order = Order(1, 7, "DOT-USDT", ISOLATED, SHORT, OrderPriceType.LIMIT, D("9.999"), D(1), 5, 0)

    position = apply_open_fills(
        account, order, [Fill(D("9.999"), D(1))], Liquidity.TAKER, DOT, make_env()
    )

    assert fmt(position.position_margin) == "1.9938006"
    assert account.balance == D(100) - D("1.9998")


def test_aggregates_sort_by_contract_then_cross_first_then_long_first() -> None:
    account = Account(1, D(100_000))
    specs = [
        ("ETH-USDT", ISOLATED, SHORT),
        ("BTC-USDT", ISOLATED, SHORT),
        ("ETH-USDT", CROSS, LONG),
        ("BTC-USDT", CROSS, SHORT),
        ("BTC-USDT", ISOLATED, LONG),
        ("BTC-USDT", CROSS, LONG),
    ]
    for n, (code, mode, side) in enumerate(specs, start=1):
        price = "3000" if code == "ETH-USDT" else "60000"
        add_position(account, n, code, mode, side, lever=5, volume="1", open_price=price)

    rows = aggregate_positions(account, make_markets(BTC="60500", ETH="3000"), FEES)

    assert [r.key for r in rows] == [
        ("BTC-USDT", CROSS, LONG),
        ("BTC-USDT", CROSS, SHORT),
        ("BTC-USDT", ISOLATED, LONG),
        ("BTC-USDT", ISOLATED, SHORT),
        ("ETH-USDT", CROSS, LONG),
        ("ETH-USDT", ISOLATED, SHORT),
    ]


def test_sub_positions_of_one_key_aggregate_into_a_volume_weighted_row() -> None:
    account = Account(1, D(1000))
    add_position(account, 1, "BTC-USDT", ISOLATED, SHORT, lever=5, volume="10", open_price="60000")
    add_position(account, 2, "BTC-USDT", ISOLATED, SHORT, lever=5, volume="30", open_price="61000")

    (agg,) = aggregate_positions(account, make_markets(BTC="60500"), FEES)

    assert agg.volume == D(40)
    assert agg.open_avg_price == D(60750)
    assert agg.position_margin == D(120) + D(366)
    assert agg.unreal_profit == D(-5) + D(15)
    assert agg.profit == agg.unreal_profit
    assert fmt_trunc18(agg.profit_rate) == fmt_trunc18(D(10) / D(486))
    # short: P_open + (position_margin − MM) / (v × cs), MM = 0.1 × 40 × 0.001 × 60500 / 5
    assert agg.liquidation_price == D(60750) + (D(486) - D("48.4")) / D("0.04")


def test_cross_aggregates_share_the_account_margin_rate() -> None:
    account = Account(1, D(500))
    add_position(account, 1, "BTC-USDT", CROSS, LONG, lever=10, volume="10", open_price="60000")
    add_position(account, 2, "ETH-USDT", CROSS, SHORT, lever=20, volume="10", open_price="3000")

    rows = aggregate_positions(account, make_markets(BTC="60500", ETH="2900"), FEES)

    # equity = 500 + 5 + 10; Σ MM = 0.1 × 605 / 10 + 0.1 × 290 / 20
    expected = (D("6.05") + D("1.45")) / D(515)
    assert [fmt_trunc18(r.margin_rate) for r in rows] == [fmt_trunc18(expected)] * 2
    assert rows[1].liquidation_price == D(2900) + (D(515) - D("7.5")) / D("0.1")


def test_a_long_liquidation_price_is_floored_at_zero() -> None:
    account = Account(1, D(1_000_000))
    add_position(account, 1, "BTC-USDT", CROSS, LONG, lever=1, volume="1", open_price="60000")

    (agg,) = aggregate_positions(account, make_markets(BTC="60500"), FEES)

    assert agg.liquidation_price == 0


def test_no_open_positions_means_no_aggregates_and_nothing_to_liquidate() -> None:
    account = Account(1, D(10))
    markets = make_markets(BTC="60500")

    assert aggregate_positions(account, markets, FEES) == []
    assert liquidation_scopes(account, markets, FEES) == []


def test_an_isolated_position_is_liquidated_alone_once_its_margin_rate_reaches_one() -> None:
    account = running_example()
    # equity 119.64 + (mark − 60000) × 0.01 meets MM = 0.0002 × mark at 49016.33 (the displayed
    # 49246 holds MM at the current mark, so the trigger sits a little lower)
    at_price = make_markets(BTC="49016.3")
    above = make_markets(BTC="49016.4")

    assert liquidation_scopes(account, above, FEES) == []
    assert liquidation_scopes(account, at_price, FEES) == [("BTC-USDT", ISOLATED, LONG)]


def test_every_cross_key_is_liquidated_when_the_cross_margin_rate_reaches_one() -> None:
    account = Account(1, D(20))
    add_position(account, 1, "BTC-USDT", CROSS, LONG, lever=10, volume="10", open_price="60000")
    add_position(account, 2, "ETH-USDT", CROSS, SHORT, lever=10, volume="1", open_price="3000")
    add_position(account, 3, "ETH-USDT", ISOLATED, LONG, lever=10, volume="1", open_price="3000")
    healthy = make_markets(BTC="59000", ETH="3000")  # equity 10, Σ MM 5.9 + 0.3
    crashed = make_markets(BTC="58500", ETH="3000")  # equity 5, Σ MM 5.85 + 0.3

    assert liquidation_scopes(account, healthy, FEES) == []
    assert liquidation_scopes(account, crashed, FEES) == [
        ("BTC-USDT", CROSS, LONG),
        ("ETH-USDT", CROSS, SHORT),
    ]


def test_margin_rate_is_at_least_one_when_isolated_equity_is_gone() -> None:
    account = Account(1, D(0))
    add_position(
        account, 1, "DOT-USDT", ISOLATED, LONG, lever=5, volume="1", open_price="10",
        position_margin="2",
    )  # fmt: skip

    (agg,) = aggregate_positions(account, make_markets(DOT="7"), FEES)

    assert agg.unreal_profit == D(-3)
    assert agg.margin_rate >= 1
    assert liquidation_scopes(account, make_markets(DOT="7"), FEES) == [agg.key]


def truncated_18(value: Fraction) -> str:
    """Format an exact rational as the wire does: truncated toward zero at 18 decimals."""
    return fmt(Decimal(math.trunc(value * 10**18)).scaleb(-18))


@settings(max_examples=100, deadline=None)
@given(
    side=st.sampled_from(PositionSide),
    volume=st.integers(1, 5000),
    open_price=st.decimals(min_value=D(1), max_value=D(200_000), places=1),
    mark=st.decimals(min_value=D(1), max_value=D(200_000), places=1),
    lever=st.integers(1, 200),
    margin_extra=st.decimals(min_value=D(0), max_value=D(1000), places=2),
)
# Each exact price lies within 1e-22 of an 18-decimal boundary; a formula evaluated with 28 digits
# (the test's old one, or the core's sums before they were widened) truncated to the other side.
@example(LONG, 4, D("138937.6"), D("87119.8"), 6, D("193.51"))  # exact 68855.82999…9|99
@example(SHORT, 18, D("82205.4"), D("1299.7"), 131, D("175.14"))  # exact 92561.92999…9|99
@example(LONG, 1, D("1.0"), D("1.0"), 18, D("0.00"))  # exact 0.94999…9|99
def test_the_isolated_liquidation_price_equals_the_spec_formula_at_the_open_price(
    side: PositionSide,
    volume: int,
    open_price: Decimal,
    mark: Decimal,
    lever: int,
    margin_extra: Decimal,
) -> None:
    account = Account(1, D(0))
    position = add_position(
        account, 1, "BTC-USDT", ISOLATED, side,
        lever=lever, volume=str(volume), open_price=str(open_price),
    )  # fmt: skip
    position.position_margin += margin_extra

    (agg,) = aggregate_positions(account, make_markets(BTC=str(mark)), FEES)

    # spec §7.6, evaluated exactly: P_open ∓ (position_margin − MM) / (v × cs), MM at the mark
    cs = Fraction(BTC.contract_size)
    mm = Fraction(BTC.adjustment_factor) * volume * cs * Fraction(mark) / lever
    move = (Fraction(position.position_margin) - mm) / (volume * cs)
    # only a long's price is floored at 0
    long = side is PositionSide.LONG
    spec_price = (
        max(Fraction(open_price) - move, Fraction(0)) if long else Fraction(open_price) + move
    )
    assert fmt_trunc18(agg.liquidation_price) == truncated_18(spec_price)
