"""Follower settings: copy mode, contracts, own TP/SL, total stop-loss, removal (§8.1, §8.5)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from domain_builders import D, make_env, make_markets, open_request

from copytrade.domain.copytrading import (
    Follow,
    check_follow,
    close_copies,
    copy_open,
    fixed_amount_volume,
    follow_settings,
    follow_with_settings,
)
from copytrade.domain.enums import CloseType, CopyMode, MarginMode, OrderDirection, SkipReason
from copytrade.domain.errors import InvalidFollowSettings
from copytrade.domain.following import (
    FollowCheck,
    apply_own_exits,
    check_follow_rules,
    copies_of,
    copy_pnl,
    copy_return,
    end_follow,
    own_exit,
    total_stop_hit,
)
from copytrade.domain.margin import div
from copytrade.domain.model import Account, SubPosition
from copytrade.domain.trading import Env, Market, open_order

TRADER = 1
MARKETS = make_markets(BTC="60500", DOT="10")


def lead_open(
    trader: Account,
    env: Env,
    contract_code: str = "BTC-USDT",
    volume: str = "10",
    markets: dict[str, Market] = MARKETS,
) -> SubPosition:
    order = open_order(
        trader,
        open_request(contract_code, volume=volume),
        markets[contract_code],
        markets,
        env,
    )
    assert order.sub_position_id is not None
    return trader.positions[order.sub_position_id]


def copy(
    lead: SubPosition, change: str, follows: list[Follow], followers: dict[int, Account], env: Env
) -> tuple[int, int]:
    return copy_open(lead, D(change), follows, followers, MARKETS[lead.contract_code], MARKETS, env)


def test_fixed_amount_commits_that_much_initial_margin_at_the_opposite_price() -> None:
    env = make_env()
    trader, follower = Account(TRADER, D(100_000)), Account(2, D(10_000))
    lead = lead_open(trader, env)
    follow = Follow(2, TRADER, D(1), CopyMode.FIXED_AMOUNT, fixed_amount=D(1000))

    assert copy(lead, "10", [follow], {2: follower}, env) == (1, 0)

    (copied,) = follower.positions.values()
    best_ask = MARKETS["BTC-USDT"].book.asks[0].price
    assert copied.volume == fixed_amount_volume(D(1000), 5, D("0.001"), best_ask) == 82
    assert copied.initial_margin(D("0.001")) <= 1000


def test_fixed_amount_ignores_the_lead_size() -> None:
    env = make_env()
    trader, follower = Account(TRADER, D(100_000)), Account(2, D(10_000))
    follow = Follow(2, TRADER, D(1), CopyMode.FIXED_AMOUNT, fixed_amount=D(100))
    small = lead_open(trader, env, "DOT-USDT", volume="1")

    copy(small, "1", [follow], {2: follower}, env)

    (copied,) = follower.positions.values()
    assert copied.volume == 49  # floor(100 × 5 / (1 × 10.001))


def test_fixed_amount_growth_of_the_same_lead_position_keeps_the_copy_proportion() -> None:
    env = make_env()
    trader, follower = Account(TRADER, D(100_000)), Account(2, D(10_000))
    follow = Follow(2, TRADER, D(1), CopyMode.FIXED_AMOUNT, fixed_amount=D(100))
    lead = lead_open(trader, env, "DOT-USDT", volume="2")
    copy(lead, "2", [follow], {2: follower}, env)  # 49 contracts for a lead of 2
    lead.volume += 2  # the lead's resting remainder filled 2 more

    copy(lead, "2", [follow], {2: follower}, env)

    (copied,) = follower.positions.values()
    assert copied.volume == 49 + 49


def test_a_fixed_amount_too_small_for_one_contract_is_skipped_below_minimum() -> None:
    env = make_env()
    trader, follower = Account(TRADER, D(100_000)), Account(2, D(10_000))
    lead = lead_open(trader, env)
    follow = Follow(2, TRADER, D(1), CopyMode.FIXED_AMOUNT, fixed_amount=D(5))

    assert copy(lead, "10", [follow], {2: follower}, env) == (0, 1)

    (skip,) = env.changes.skips
    assert (skip.reason, skip.wanted_volume) == (SkipReason.BELOW_MINIMUM, 0)
    assert "fixed amount 5 USDT" in skip.detail


def test_a_follower_copying_a_subset_skips_other_contracts_with_the_reason() -> None:
    env = make_env()
    trader = Account(TRADER, D(100_000))
    follower = Account(2, D(100_000))
    follow = Follow(2, TRADER, D(1), contracts=frozenset({"DOT-USDT"}))

    btc = lead_open(trader, env)
    dot = lead_open(trader, env, "DOT-USDT", volume="3")

    assert copy(btc, "10", [follow], {2: follower}, env) == (0, 1)
    assert copy(dot, "3", [follow], {2: follower}, env) == (1, 0)
    (skip,) = env.changes.skips
    assert (skip.reason, skip.contract_code, skip.wanted_volume) == (
        SkipReason.CONTRACT_NOT_FOLLOWED,
        "BTC-USDT",
        0,
    )
    assert [p.contract_code for p in follower.positions.values()] == ["DOT-USDT"]


@pytest.mark.parametrize(
    ("follow", "field"),
    [
        (Follow(2, 1, D(0)), "ratio"),
        (Follow(2, 1, D(1), CopyMode.FIXED_AMOUNT), "fixed_amount"),
        (Follow(2, 1, D(1), CopyMode.FIXED_AMOUNT, fixed_amount=D(-1)), "fixed_amount"),
        (Follow(2, 1, D(1), fixed_amount=D(100)), "fixed_amount"),
        (Follow(2, 1, D(1), tp_ratio=D(0)), "tp_ratio"),
        (Follow(2, 1, D(1), sl_ratio=D(-1)), "sl_ratio"),
        (Follow(2, 1, D(1), total_stop_loss=D(0)), "total_stop_loss"),
        (Follow(2, 1, D(1), contracts=frozenset()), "contracts"),
    ],
)
def test_inconsistent_follower_settings_name_the_field(follow: Follow, field: str) -> None:
    with pytest.raises(InvalidFollowSettings) as refused:
        check_follow(follow)
    assert refused.value.field == field


def test_valid_settings_pass_unchanged() -> None:
    follow = Follow(
        2,
        1,
        D(1),
        CopyMode.FIXED_AMOUNT,
        D(50),
        D("0.2"),
        D("0.1"),
        D(300),
        frozenset({"BTC-USDT"}),
    )
    assert check_follow(follow) is follow


# ----- own exits -----------------------------------------------------------------------------


def copied_pair(follow: Follow, volume: str = "10") -> tuple[Account, Account, SubPosition, Env]:
    env = make_env()
    trader, follower = Account(TRADER, D(100_000)), Account(follow.follower_uid, D(100_000))
    lead = lead_open(trader, env, volume=volume)
    copy(lead, volume, [follow], {follow.follower_uid: follower}, env)
    return trader, follower, lead, env


@pytest.mark.parametrize(
    ("mark", "expected"),
    [
        ("60000", None),
        ("63600", CloseType.COPY_TAKE_PROFIT),  # +3100 × 0.01 / 121.01… ≥ 0.25
        ("58000", CloseType.COPY_STOP_LOSS),  # −2500 × 0.01 / 121.01… ≤ −0.2
    ],
)
def test_a_copy_closes_on_its_own_tp_or_sl_ratio(mark: str, expected: CloseType | None) -> None:
    follow = Follow(2, TRADER, D(1), tp_ratio=D("0.25"), sl_ratio=D("0.2"))
    trader, follower, lead, env = copied_pair(follow)
    (the_copy,) = copies_of(follower, TRADER)
    moved = make_markets(BTC=mark, DOT="10")

    assert own_exit(follow, the_copy, moved["BTC-USDT"]) == expected
    closed = apply_own_exits(follow, follower, trader, D("0.1"), moved, env)

    if expected is None:
        assert closed == []
        return
    assert [(c.sub_position_id, c.close_type) for c in closed] == [
        (the_copy.sub_position_id, expected)
    ]
    assert copies_of(follower, TRADER) == []
    assert lead.is_open  # the lead is not affected


def test_a_copy_taking_its_own_profit_pays_the_share_into_the_leads_follow_takes() -> None:
    follow = Follow(2, TRADER, D(1), tp_ratio=D("0.1"))
    trader, follower, lead, env = copied_pair(follow)
    before = trader.balance

    (closed,) = apply_own_exits(follow, follower, trader, D("0.1"), make_markets(BTC="66000"), env)

    assert closed.profit is not None
    assert closed.profit > 0
    share = closed.profit * D("0.1")
    assert lead.follow_takes == share
    assert trader.balance == before + share
    (item,) = env.changes.profit_shares
    assert (item.follower_uid, item.lead_sub_position_id, item.amount) == (
        2,
        lead.sub_position_id,
        share,
    )


def test_no_ratios_means_no_own_exit() -> None:
    follow = Follow(2, TRADER, D(1))
    _trader, follower, _lead, _env = copied_pair(follow)
    (the_copy,) = copies_of(follower, TRADER)
    assert own_exit(follow, the_copy, make_markets(BTC="1000")["BTC-USDT"]) is None


def test_copy_return_is_unrealised_pnl_over_initial_margin() -> None:
    follow = Follow(2, TRADER, D(1))
    _trader, follower, _lead, _env = copied_pair(follow)
    (the_copy,) = copies_of(follower, TRADER)
    market = make_markets(BTC="60500")["BTC-USDT"]
    gross = (D(60500) - the_copy.open_avg_price) * the_copy.volume * D("0.001")
    assert copy_return(the_copy, market) == div(gross, the_copy.initial_margin(D("0.001")))


def test_the_total_stop_loss_counts_realised_and_unrealised_copy_pnl_net_of_open_fees() -> None:
    follow = Follow(2, TRADER, D(1), total_stop_loss=D(30))
    _trader, follower, _lead, _env = copied_pair(follow)
    copies = copies_of(follower, TRADER)
    (the_copy,) = copies
    at_59000 = make_markets(BTC="59000")
    unreal = (D(59000) - the_copy.open_avg_price) * D("0.01") - the_copy.open_fee  # ≈ −15.4

    assert copy_pnl(copies, D(-10), at_59000) == D(-10) + unreal
    assert not total_stop_hit(follow, copies, D(-10), at_59000)
    assert total_stop_hit(follow, copies, D(-15), at_59000)
    assert not total_stop_hit(Follow(2, TRADER, D(1)), copies, D(-1_000_000), at_59000)


def test_ending_a_follow_closes_every_copy_of_that_trader_and_nothing_else() -> None:
    env = make_env()
    trader, other_trader = Account(TRADER, D(100_000)), Account(9, D(100_000))
    follower = Account(2, D(100_000))
    follow = Follow(2, TRADER, D(1))
    btc = lead_open(trader, env)
    dot = lead_open(trader, env, "DOT-USDT", volume="4")
    copy(btc, "10", [follow], {2: follower}, env)
    copy(dot, "4", [follow], {2: follower}, env)
    foreign = lead_open(other_trader, env, "DOT-USDT", volume="1")
    copy_open(foreign, D(1), [Follow(2, 9, D(1))], {2: follower}, MARKETS["DOT-USDT"], MARKETS, env)
    moved = make_markets(BTC="61000", DOT="11")

    removal = end_follow(follower, trader, D("0.1"), moved, CloseType.UNFOLLOW, env)

    assert sorted(p.contract_code for p in removal.closed) == ["BTC-USDT", "DOT-USDT"]
    assert all(p.close_type is CloseType.UNFOLLOW and not p.is_open for p in removal.closed)
    assert [p.lead_uid for p in follower.positions.values()] == [9]
    assert (btc.is_open, dot.is_open) == (True, True)  # leads stay open
    assert min(btc.follow_takes, dot.follow_takes) > 0
    assert sum((s.amount for s in env.changes.profit_shares), Decimal(0)) == (
        btc.follow_takes + dot.follow_takes
    )


def test_after_removal_later_lead_closes_find_no_copy_to_close() -> None:
    follow = Follow(2, TRADER, D(1))
    trader, follower, lead, env = copied_pair(follow)
    end_follow(follower, trader, D("0.1"), MARKETS, CloseType.UNFOLLOW, env)

    assert (
        close_copies([lead], trader, D("0.1"), {2: follower}, MARKETS, CloseType.CLOSE_ORDER, env)
        == 0
    )


def test_a_short_lead_is_copied_short_in_fixed_amount_mode() -> None:
    env = make_env()
    trader, follower = Account(TRADER, D(100_000)), Account(2, D(10_000))
    order = open_order(
        trader,
        open_request("DOT-USDT", OrderDirection.SELL, "1", MarginMode.CROSS),
        MARKETS["DOT-USDT"],
        MARKETS,
        env,
    )
    assert order.sub_position_id is not None
    follow = Follow(2, TRADER, D(1), CopyMode.FIXED_AMOUNT, fixed_amount=D(10))

    copy(trader.positions[order.sub_position_id], "1", [follow], {2: follower}, env)

    (copied,) = follower.positions.values()
    best_bid = MARKETS["DOT-USDT"].book.bids[0].price
    assert copied.side.value == "short"
    assert copied.volume == fixed_amount_volume(D(10), 5, D(1), best_bid) == 5


@pytest.mark.parametrize(
    "follow",
    [
        Follow(2, 1, D("0.5")),
        Follow(2, 1, D(1), CopyMode.FIXED_AMOUNT, fixed_amount=D("250.5")),
        Follow(2, 1, D(1), tp_ratio=D("0.2"), sl_ratio=D("0.1"), total_stop_loss=D(300)),
        Follow(2, 1, D(1), contracts=frozenset({"DOT-USDT", "BTC-USDT"})),
    ],
)
def test_settings_round_trip_through_their_text_form(follow: Follow) -> None:
    text = follow_settings(follow)
    assert all(isinstance(v, str) for v in text.values())
    assert follow_with_settings(2, 1, follow.ratio, text) == follow


def test_a_plain_ratio_follow_has_no_settings_text() -> None:
    assert follow_settings(Follow(2, 1, D(1))) == {}
    assert follow_with_settings(2, 1, D(1), None) == Follow(2, 1, D(1))


def test_a_mark_move_past_the_total_stop_closes_every_copy_and_stops_the_follow() -> None:
    follow = Follow(2, TRADER, D(1), total_stop_loss=D(20))
    trader, follower, lead, env = copied_pair(follow)

    calm = check_follow_rules(follow, follower, trader, D("0.1"), D(0), MARKETS, env)
    crash = check_follow_rules(
        follow, follower, trader, D("0.1"), D(0), make_markets(BTC="58000", DOT="10"), env
    )

    assert calm == FollowCheck([], stopped=False)
    assert crash.stopped
    assert [c.close_type for c in crash.closed] == [CloseType.COPY_TOTAL_STOP]
    assert copies_of(follower, TRADER) == []
    assert lead.is_open


def test_own_exits_count_towards_the_total_stop_in_the_same_check() -> None:
    # the own SL realises about −31 (fees included); with −10 before, the −30 stop is reached
    follow = Follow(2, TRADER, D(1), sl_ratio=D("0.1"), total_stop_loss=D(30))
    trader, follower, _lead, env = copied_pair(follow)
    at_57500 = make_markets(BTC="57500", DOT="10")

    outcome = check_follow_rules(follow, follower, trader, D("0.1"), D(-10), at_57500, env)

    assert [c.close_type for c in outcome.closed] == [CloseType.COPY_STOP_LOSS]
    assert outcome.stopped
