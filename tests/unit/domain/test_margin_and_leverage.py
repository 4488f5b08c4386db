"""add_margin and leverage changes against the spec's numbers (§6.5, §6.7, §7.6)."""

from __future__ import annotations

import pytest
from domain_builders import (
    BTC,
    DOT,
    D,
    add_position,
    make_env,
    make_markets,
    open_request,
    total_money,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from copytrade.domain.adjustments import (
    adjust_margin,
    change_lever,
    current_lever,
    reducible_margin,
    spread,
)
from copytrade.domain.copytrading import Follow, copy_open
from copytrade.domain.enums import (
    MarginAdjust,
    MarginMode,
    OrderPriceType,
    PositionSide,
)
from copytrade.domain.errors import (
    IllegalParameter,
    InsufficientMargin,
    InvalidLever,
    LeverChangeBlocked,
    LeverMismatch,
    NoIsolatedPosition,
)
from copytrade.domain.instruments import FeeSchedule
from copytrade.domain.model import Account, SubPosition
from copytrade.domain.risk import aggregate_positions
from copytrade.domain.trading import open_order
from copytrade.protocol.decimals import fmt_trunc18

CROSS, ISOLATED = MarginMode.CROSS, MarginMode.ISOLATED
LONG, SHORT = PositionSide.LONG, PositionSide.SHORT
ADD, REDUCE = MarginAdjust.ADD, MarginAdjust.REDUCE
FEES = FeeSchedule()
BTC_MARKETS = make_markets(BTC="60500")


def running_example() -> Account:
    """Spec §6.0: 300001 cross long 20 @ 60 000 L10, 300002 isolated long 10 @ 60 000 L5."""
    account = Account(10000001, D("879.28"))
    add_position(
        account, 300001, "BTC-USDT", CROSS, LONG,
        lever=10, volume="20", open_price="60000", open_fee="0.72",
    )  # fmt: skip
    add_position(
        account, 300002, "BTC-USDT", ISOLATED, LONG,
        lever=5, volume="10", open_price="60000", open_fee="0.36",
    )  # fmt: skip
    return account


def isolated_row(account: Account) -> dict[str, str]:
    rows = aggregate_positions(account, BTC_MARKETS, FEES)
    (row,) = [r for r in rows if r.margin_mode is ISOLATED]
    return {
        "position_margin": fmt_trunc18(row.position_margin),
        "margin_rate": fmt_trunc18(row.margin_rate),
        "liquidation_price": fmt_trunc18(row.liquidation_price),
    }


def test_adding_50_to_the_running_example_gives_the_spec_margin_rate_and_liquidation() -> None:
    account = running_example()
    assert isolated_row(account)["liquidation_price"] == "49246"
    env = make_env()

    changed = adjust_margin(account, "BTC-USDT", LONG, D(50), ADD, BTC_MARKETS, env)

    assert [p.sub_position_id for p in changed] == [300002]
    assert isolated_row(account) == {
        "position_margin": "169.64",
        "margin_rate": "0.069285387081997251",
        "liquidation_price": "44246",
    }
    assert account.balance == D("829.28")
    assert env.changes.positions[300002].position_margin == D("169.64")
    assert env.changes.accounts[account.uid] is account


def test_the_dot_example_adds_1_to_a_1_994_margin_for_2_994_and_liquidation_7_206() -> None:
    account = Account(7, D(100))
    add_position(
        account, 1, "DOT-USDT", ISOLATED, LONG,
        lever=5, volume="1", open_price="10", open_fee="0.006",
    )  # fmt: skip
    markets = make_markets(DOT="10")
    assert account.positions[1].position_margin == D("1.994")

    adjust_margin(account, "DOT-USDT", LONG, D(1), ADD, markets, make_env())

    (row,) = aggregate_positions(account, markets, FEES)
    assert row.position_margin == D("2.994")
    assert fmt_trunc18(row.margin_rate) == "0.066800267201068804"
    assert row.liquidation_price == D("7.206")


def test_reducing_margin_is_bounded_by_margin_plus_unrealised_loss_minus_initial_margin() -> None:
    account = running_example()
    adjust_margin(account, "BTC-USDT", LONG, D(50), ADD, BTC_MARKETS, make_env())
    # 169.64 + min(0, +5) − 120 = 49.64 at mark 60 500
    positions = account.open_positions(("BTC-USDT", ISOLATED, LONG))
    assert reducible_margin(positions, BTC_MARKETS["BTC-USDT"]) == D("49.64")

    with pytest.raises(InsufficientMargin) as refused:
        adjust_margin(account, "BTC-USDT", LONG, D("49.65"), REDUCE, BTC_MARKETS, make_env())
    assert refused.value.available == D("49.64")

    adjust_margin(account, "BTC-USDT", LONG, D("49.64"), REDUCE, BTC_MARKETS, make_env())
    assert account.positions[300002].position_margin == D(120)
    assert account.balance == D("879.28") - D(50) + D("49.64")


def test_an_unrealised_loss_shrinks_what_can_be_reduced() -> None:
    account = running_example()
    adjust_margin(account, "BTC-USDT", LONG, D(50), ADD, BTC_MARKETS, make_env())
    lower = make_markets(BTC="59000")  # long 10 @ 60 000: −10 USDT

    positions = account.open_positions(("BTC-USDT", ISOLATED, LONG))
    assert reducible_margin(positions, lower["BTC-USDT"]) == D("39.64")


def test_a_position_without_excess_margin_can_reduce_nothing() -> None:
    account = running_example()  # 119.64 < IM 120

    with pytest.raises(InsufficientMargin) as refused:
        adjust_margin(account, "BTC-USDT", LONG, D("0.01"), REDUCE, BTC_MARKETS, make_env())
    assert refused.value.available == 0


def test_adding_more_than_the_available_balance_is_refused_and_changes_nothing() -> None:
    account = running_example()  # available = 889.28 − 120 = 769.28
    env = make_env()

    with pytest.raises(InsufficientMargin) as refused:
        adjust_margin(account, "BTC-USDT", LONG, D("769.29"), ADD, BTC_MARKETS, env)

    assert refused.value.available == D("769.28")
    assert account.positions[300002].position_margin == D("119.64")
    assert account.balance == D("879.28")
    assert not env.changes.positions


@pytest.mark.parametrize(
    ("contract_code", "side"),
    [("BTC-USDT", SHORT), ("ETH-USDT", LONG)],
)
def test_margin_needs_an_open_isolated_position_of_that_contract_and_side(
    contract_code: str, side: PositionSide
) -> None:
    with pytest.raises(NoIsolatedPosition):
        adjust_margin(running_example(), contract_code, side, D(1), ADD, BTC_MARKETS, make_env())


def test_a_cross_only_position_has_no_isolated_margin_to_adjust() -> None:
    account = Account(1, D(1000))
    add_position(account, 1, "BTC-USDT", CROSS, SHORT, lever=10, volume="1", open_price="60000")

    with pytest.raises(NoIsolatedPosition):
        adjust_margin(account, "BTC-USDT", SHORT, D(1), ADD, BTC_MARKETS, make_env())


@pytest.mark.parametrize("amount", ["0", "-1"])
def test_a_non_positive_amount_is_an_illegal_parameter(amount: str) -> None:
    with pytest.raises(IllegalParameter) as refused:
        adjust_margin(running_example(), "BTC-USDT", LONG, D(amount), ADD, BTC_MARKETS, make_env())
    assert refused.value.name == "amount"


def test_margin_is_spread_over_sub_positions_by_volume_and_adds_up_exactly() -> None:
    account = Account(1, D(1000))
    for sub_id, volume in ((1, "1"), (2, "1"), (3, "1"), (4, "3")):
        add_position(
            account, sub_id, "BTC-USDT", ISOLATED, SHORT, lever=5, volume=volume, open_price="60000"
        )
    before = {i: p.position_margin for i, p in account.positions.items()}

    adjust_margin(account, "BTC-USDT", SHORT, D(1), ADD, BTC_MARKETS, make_env())

    added = {i: p.position_margin - before[i] for i, p in account.positions.items()}
    assert sum(added.values()) == 1
    assert added[4] == D("0.5")
    assert added[2] == added[3] == D("0.166666666666666666")
    assert added[1] == D("0.166666666666666668")  # the truncation remainder: oldest first
    assert account.balance == D(999)


def _subs(volumes: list[int], margins: list[str]) -> list[SubPosition]:
    account = Account(1, D(0))
    for i, (volume, margin) in enumerate(zip(volumes, margins, strict=True), start=1):
        add_position(
            account, i, "BTC-USDT", ISOLATED, LONG,
            lever=5, volume=str(volume), open_price="60000", position_margin=margin,
        )  # fmt: skip
    return list(account.positions.values())


def test_a_reduction_never_takes_a_sub_position_below_zero_margin() -> None:
    positions = _subs([1, 9], ["1", "500"])

    shares = spread(D(100), positions, [p.position_margin for p in positions])

    assert shares == [D(1), D(99)]


@settings(max_examples=200, deadline=None)
@given(
    volumes=st.lists(st.integers(1, 1000), min_size=1, max_size=6),
    caps=st.lists(st.decimals("0", "1000", places=6), min_size=6, max_size=6),
    fraction=st.decimals("0", "1", places=9),
)
def test_spread_shares_add_up_exactly_and_respect_every_cap(
    volumes: list[int], caps: list[D], fraction: D
) -> None:
    positions = _subs(volumes, ["1"] * len(volumes))
    limits = caps[: len(volumes)]
    amount = (sum(limits, D(0)) * fraction).quantize(D("1e-12"))

    shares = spread(amount, positions, limits)

    assert sum(shares, D(0)) == amount
    assert all(D(0) <= s <= c for s, c in zip(shares, limits, strict=True))


# ----- leverage ------------------------------------------------------------------------------


def test_the_default_leverage_is_5_until_one_is_set() -> None:
    account = Account(1, D(0))
    assert current_lever(account, "BTC-USDT", CROSS) == 5
    change_lever(account, BTC, CROSS, 10, BTC_MARKETS, make_env())
    assert current_lever(account, "BTC-USDT", CROSS) == 10
    assert current_lever(account, "BTC-USDT", ISOLATED) == 5


def test_raising_isolated_leverage_returns_the_initial_margin_difference_to_the_wallet() -> None:
    account = running_example()
    env = make_env()

    changed = change_lever(account, BTC, ISOLATED, 10, BTC_MARKETS, env)

    position = account.positions[300002]
    assert [p.sub_position_id for p in changed] == [300002]
    assert (position.lever, position.position_margin) == (10, D("59.64"))  # 119.64 − (120 − 60)
    assert account.balance == D("939.28")
    assert account.positions[300001].lever == 10  # cross untouched
    assert env.changes.levers == {(account.uid, "BTC-USDT", ISOLATED): 10}
    assert env.changes.positions[300002] is position


def test_lowering_isolated_leverage_takes_the_difference_from_the_available_balance() -> None:
    account = running_example()

    change_lever(account, BTC, ISOLATED, 4, BTC_MARKETS, make_env())

    assert account.positions[300002].position_margin == D("149.64")  # + (150 − 120)
    assert account.balance == D("849.28")


def test_re_levering_cross_moves_no_money_but_changes_the_initial_margin_held() -> None:
    account = running_example()

    change_lever(account, BTC, CROSS, 20, BTC_MARKETS, make_env())

    position = account.positions[300001]
    assert (position.lever, position.position_margin) == (20, D(120))
    assert position.initial_margin(BTC.contract_size) == D(60)
    assert account.balance == D("879.28")


def test_lowering_leverage_beyond_the_available_balance_is_refused() -> None:
    account = running_example()  # available 769.28
    env = make_env()

    with pytest.raises(InsufficientMargin):
        change_lever(account, BTC, CROSS, 1, BTC_MARKETS, env)  # ΔIM = 1200 − 120

    assert account.positions[300001].lever == 10
    assert not env.changes.levers


def test_raising_leverage_that_would_leave_an_isolated_position_at_liquidation_is_refused() -> None:
    account = Account(1, D(1000))
    add_position(
        account, 1, "BTC-USDT", ISOLATED, LONG, lever=2, volume="10", open_price="60000"
    )  # IM 300; at 40 000 the loss is 200
    low = make_markets(BTC="40000")

    with pytest.raises(InsufficientMargin):
        change_lever(account, BTC, ISOLATED, 200, low, make_env())
    assert account.positions[1].lever == 2


def test_leverage_cannot_change_while_an_order_rests_in_that_contract_and_margin_mode() -> None:
    account = Account(1, D(100_000))
    env = make_env()
    open_order(
        account,
        open_request(price_type=OrderPriceType.LIMIT, price="50000", margin_mode=ISOLATED),
        BTC_MARKETS["BTC-USDT"],
        BTC_MARKETS,
        env,
    )

    with pytest.raises(LeverChangeBlocked) as refused:
        change_lever(account, BTC, ISOLATED, 10, BTC_MARKETS, make_env())
    assert (refused.value.contract_code, refused.value.orders) == ("BTC-USDT", 1)
    change_lever(account, BTC, CROSS, 10, BTC_MARKETS, make_env())  # the other mode is free


@pytest.mark.parametrize("lever", [0, 201])
def test_leverage_outside_the_contract_range_is_invalid(lever: int) -> None:
    with pytest.raises(InvalidLever):
        change_lever(running_example(), BTC, CROSS, lever, BTC_MARKETS, make_env())


def test_dot_allows_leverage_up_to_75_only() -> None:
    account = Account(1, D(10))
    change_lever(account, DOT, ISOLATED, 75, make_markets(DOT="10"), make_env())
    with pytest.raises(InvalidLever):
        change_lever(account, DOT, ISOLATED, 76, make_markets(DOT="10"), make_env())


def test_after_a_leverage_change_new_orders_and_copies_use_the_new_leverage() -> None:
    trader, follower = Account(1, D(100_000)), Account(2, D(100_000))
    env = make_env()
    market = BTC_MARKETS["BTC-USDT"]
    order = open_order(trader, open_request(volume="2", lever=5), market, BTC_MARKETS, env)
    assert order.sub_position_id is not None
    lead = trader.positions[order.sub_position_id]

    change_lever(trader, BTC, ISOLATED, 10, BTC_MARKETS, env)

    with pytest.raises(LeverMismatch):
        open_order(trader, open_request(volume="1", lever=5), market, BTC_MARKETS, env)
    copy_open(lead, D(2), [Follow(2, 1, D(1))], {2: follower}, market, BTC_MARKETS, env)
    (copied,) = follower.positions.values()
    assert copied.lever == 10
    second = open_order(trader, open_request(volume="1", lever=10), market, BTC_MARKETS, env)
    assert second.lever == 10


@settings(max_examples=100, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["add", "reduce", "lever"]),
            st.decimals("0.01", "300", places=2),
            st.sampled_from([1, 2, 3, 5, 10, 20]),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_margin_moves_and_leverage_changes_never_create_or_lose_money(
    steps: list[tuple[str, D, int]],
) -> None:
    account = running_example()
    add_position(
        account, 300003, "BTC-USDT", ISOLATED, LONG,
        lever=5, volume="7", open_price="60100", open_fee="0.25",
    )  # fmt: skip
    start = total_money([account])

    for kind, amount, lever in steps:
        try:
            if kind == "lever":
                change_lever(account, BTC, ISOLATED, lever, BTC_MARKETS, make_env())
            else:
                adjust = ADD if kind == "add" else REDUCE
                adjust_margin(account, "BTC-USDT", LONG, amount, adjust, BTC_MARKETS, make_env())
        except (InsufficientMargin, LeverChangeBlocked):
            pass
        assert total_money([account]) == start
        assert all(p.position_margin >= 0 for p in account.positions.values())
