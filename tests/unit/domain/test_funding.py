"""Funding (spec §7.11): settlement times, who pays whom, and that no money appears or vanishes."""

from __future__ import annotations

from decimal import Decimal

from domain_builders import SPECS, add_position, total_money
from hypothesis import given
from hypothesis import strategies as st

from copytrade.domain.enums import MarginMode, PositionSide
from copytrade.domain.funding import (
    EIGHT_HOURS_MS,
    FUNDING_QUANTUM,
    apply_settlement,
    net_open_interest_value,
    settle,
    settlement_times,
)
from copytrade.domain.model import Account, ChangeSet

SIZES = {code: spec.contract_size for code, spec in SPECS.items()}
DAY0 = 1_764_547_200_000  # 2025-12-01T00:00:00Z


def test_settlements_fall_at_00_08_and_16_utc() -> None:
    assert settlement_times(DAY0 - 1, DAY0 + 86_400_000) == [
        DAY0,
        DAY0 + EIGHT_HOURS_MS,
        DAY0 + 2 * EIGHT_HOURS_MS,
        DAY0 + 3 * EIGHT_HOURS_MS,
    ]
    assert settlement_times(DAY0, DAY0 + EIGHT_HOURS_MS - 1) == []  # (after, up_to]
    assert settlement_times(DAY0, DAY0 + 3_600_000, interval_ms=3_600_000) == [DAY0 + 3_600_000]


def test_with_a_positive_rate_longs_pay_and_shorts_receive_v_cs_mark_rate() -> None:
    trader, follower = Account(1, Decimal(10_000)), Account(2, Decimal(10_000))
    add_position(
        trader,
        10,
        "ETH-USDT",
        MarginMode.CROSS,
        PositionSide.LONG,
        lever=10,
        volume="100",
        open_price="2900",
    )
    iso = add_position(
        follower,
        11,
        "ETH-USDT",
        MarginMode.ISOLATED,
        PositionSide.SHORT,
        lever=10,
        volume="40",
        open_price="2900",
    )
    margin = iso.position_margin
    s = settle(
        [*trader.positions.values(), *follower.positions.values()],
        {"ETH-USDT": Decimal(3000)},
        {"ETH-USDT": Decimal("0.0001")},
        SIZES,
        DAY0,
    )
    assert [(p.uid, p.amount) for p in s.payments] == [(1, Decimal("-0.3")), (2, Decimal("0.12"))]
    assert s.venue == Decimal("0.18")  # the market maker holds the other 60 contracts short
    changes = ChangeSet()
    apply_settlement(s, {1: trader, 2: follower}, changes)
    assert trader.balance == Decimal("9999.7")  # cross: the wallet
    assert (follower.balance, iso.position_margin) == (Decimal(10_000), margin + Decimal("0.12"))
    assert set(changes.accounts) == {1, 2}


def test_a_negative_rate_makes_shorts_pay_longs() -> None:
    a = Account(1, Decimal(0))
    add_position(
        a,
        1,
        "BTC-USDT",
        MarginMode.CROSS,
        PositionSide.SHORT,
        lever=5,
        volume="10",
        open_price="60000",
    )
    s = settle(
        a.positions.values(),
        {"BTC-USDT": Decimal(60000)},
        {"BTC-USDT": Decimal("-0.0002")},
        SIZES,
        DAY0,
    )
    assert s.payments[0].amount == Decimal("-0.12")


positions = st.lists(
    st.tuples(
        st.integers(1, 6),  # uid
        st.sampled_from(["BTC-USDT", "ETH-USDT", "DOT-USDT"]),
        st.sampled_from([MarginMode.CROSS, MarginMode.ISOLATED]),
        st.sampled_from([PositionSide.LONG, PositionSide.SHORT]),
        st.integers(1, 10_000),  # volume
    ),
    max_size=30,
)
prices = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(100_000), places=3)
rates = st.decimals(min_value=Decimal("-0.0075"), max_value=Decimal("0.0075"), places=6)


@given(rows=positions, btc=prices, eth=prices, dot=prices, rate=rates)
def test_funding_conserves_money_between_longs_shorts_and_the_venue(
    rows: list[tuple[int, str, MarginMode, PositionSide, int]],
    btc: Decimal,
    eth: Decimal,
    dot: Decimal,
    rate: Decimal,
) -> None:
    accounts = {uid: Account(uid, Decimal(1_000_000)) for uid in range(1, 7)}
    for n, (uid, code, mode, side, volume) in enumerate(rows, start=1):
        add_position(
            accounts[uid], n, code, mode, side, lever=10, volume=str(volume), open_price="1"
        )
    marks = {"BTC-USDT": btc, "ETH-USDT": eth, "DOT-USDT": dot}
    rate_map = dict.fromkeys(marks, rate)
    every = [p for a in accounts.values() for p in a.positions.values()]
    before = total_money(accounts)
    s = settle(every, marks, rate_map, SIZES, DAY0)
    assert s.total == 0
    # the venue earns the net open interest's funding, plus what rounding leaves it
    exact = net_open_interest_value(every, marks, rate_map, SIZES)
    assert 0 <= s.venue - exact <= len(every) * FUNDING_QUANTUM
    apply_settlement(s, accounts, ChangeSet())
    assert total_money(accounts) - before == -s.venue
