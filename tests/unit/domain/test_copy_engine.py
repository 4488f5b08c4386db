"""The copy engine: sizing, skips, closing copies and profit sharing (spec §8.1–§8.4)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from domain_builders import BTC, D, make_env, make_markets, open_request

from copytrade.domain.copytrading import Follow, close_copies, copy_open, copy_volume
from copytrade.domain.enums import CloseType, MarginMode, OrderDirection, SkipReason
from copytrade.domain.model import Account, SubPosition
from copytrade.domain.trading import Env, Market, close_at_market, open_order

TRADER = 1
MARKETS = make_markets(BTC="60500")
MARKET = MARKETS["BTC-USDT"]


def lead_open(
    trader: Account,
    env: Env,
    volume: str = "5",
    *,
    margin_mode: MarginMode = MarginMode.ISOLATED,
    lever: int = 5,
    direction: OrderDirection = OrderDirection.BUY,
) -> SubPosition:
    """Open a lead position at market and return its sub position."""
    req = open_request(volume=volume, margin_mode=margin_mode, lever=lever, direction=direction)
    order = open_order(trader, req, MARKET, MARKETS, env)
    assert order.sub_position_id is not None
    return trader.positions[order.sub_position_id]


def copy(
    lead: SubPosition,
    change: str,
    ratios: dict[int, str],
    followers: dict[int, Account],
    env: Env,
) -> tuple[int, int]:
    follows = [Follow(uid, TRADER, D(r)) for uid, r in ratios.items()]
    return copy_open(lead, D(change), follows, followers, MARKET, MARKETS, env)


@pytest.mark.parametrize(
    ("ratio", "change", "expected"),
    [("0.5", "5", 2), ("2", "3", 6), ("0.1", "5", 0), ("1.5", "7", 10), ("0.333", "3", 0)],
)
def test_copy_volume_is_the_floor_of_ratio_times_the_lead_change(
    ratio: str, change: str, expected: int
) -> None:
    assert copy_volume(D(ratio), D(change)) == expected


def test_a_lead_fill_becomes_one_linked_copy_or_one_skip_per_follower() -> None:
    env = make_env()
    trader = Account(TRADER, D(100_000))
    followers = {2: Account(2, D(100_000)), 3: Account(3, D(100_000)), 4: Account(4, D(1))}
    lead = lead_open(trader, env, margin_mode=MarginMode.CROSS, lever=7)

    result = copy(lead, "5", {2: "0.5", 3: "0.1", 4: "2", 5: "1"}, followers, env)

    assert result == (1, 3)
    (copied,) = followers[2].positions.values()
    assert (copied.volume, copied.lever, copied.margin_mode, copied.side) == (
        2,
        7,
        MarginMode.CROSS,
        lead.side,
    )
    assert (copied.lead_uid, copied.lead_sub_position_id) == (TRADER, lead.sub_position_id)
    assert followers[3].positions == followers[4].positions == {}
    skips = {s.follower_uid: s for s in env.changes.skips}
    assert {uid: (s.reason, s.wanted_volume) for uid, s in skips.items()} == {
        3: (SkipReason.BELOW_MINIMUM, 0),
        4: (SkipReason.INSUFFICIENT_MARGIN, 10),
        5: (SkipReason.INSUFFICIENT_MARGIN, 5),
    }
    assert all(s.lead_sub_position_id == lead.sub_position_id for s in skips.values())
    assert "available 1" in skips[4].detail


def test_a_copy_of_a_growing_lead_position_grows_the_same_copy() -> None:
    env = make_env()
    trader = Account(TRADER, D(100_000))
    followers = {2: Account(2, D(100_000))}
    lead = lead_open(trader, env)

    copy(lead, "5", {2: "1"}, followers, env)
    copy(lead, "3", {2: "1"}, followers, env)

    (copied,) = followers[2].positions.values()
    assert copied.volume == 8


def test_a_copy_keeps_the_lead_leverage_even_if_the_follower_trades_at_another() -> None:
    env = make_env()
    trader = Account(TRADER, D(100_000))
    follower = Account(2, D(100_000))
    open_order(follower, open_request(volume="1", lever=20), MARKET, MARKETS, env)
    lead = lead_open(trader, env, lever=5)

    assert copy(lead, "5", {2: "1"}, {2: follower}, env) == (1, 0)

    assert sorted(p.lever for p in follower.positions.values()) == [5, 20]
    assert follower.levers == {("BTC-USDT", MarginMode.ISOLATED): 20}


def open_lead_with_copy(ratio: str = "1") -> tuple[Account, Account, SubPosition, Env]:
    env = make_env()
    trader = Account(TRADER, D(100_000))
    follower = Account(2, D(100_000))
    lead = lead_open(trader, env, volume="10")
    copy(lead, "10", {2: ratio}, {2: follower}, env)
    return trader, follower, lead, env


def close_lead_and_copies(
    trader: Account, follower: Account, lead: SubPosition, market: Market, env: Env, share: str
) -> int:
    markets = {"BTC-USDT": market}
    closed = close_at_market(trader, [lead], market, CloseType.CLOSE_ALL, env)
    return close_copies(closed, trader, D(share), {2: follower}, markets, CloseType.CLOSE_ALL, env)


def test_a_profitable_copy_pays_profit_times_ratio_to_the_trader() -> None:
    trader, follower, lead, env = open_lead_with_copy()
    (copied,) = follower.positions.values()
    up = Market.at(BTC, D(62000))

    assert close_lead_and_copies(trader, follower, lead, up, env, "0.1") == 1

    assert follower.positions == {}
    assert copied.profit is not None
    assert copied.profit > 0
    share = copied.profit * D("0.1")
    # isolated: W − IM on open, then W + (IM − open_fee) + gross − close_fee = W + profit
    assert follower.balance == D(100_000) + copied.profit - share
    assert lead.follow_takes == share
    (item,) = env.changes.profit_shares
    assert (item.trader_uid, item.follower_uid, item.lead_sub_position_id, item.amount) == (
        TRADER,
        2,
        lead.sub_position_id,
        share,
    )
    assert lead.profit is not None
    assert trader.balance == D(100_000) + lead.profit + share


def test_a_losing_copy_shares_nothing() -> None:
    trader, follower, lead, env = open_lead_with_copy()
    down = Market.at(BTC, D(59000))

    close_lead_and_copies(trader, follower, lead, down, env, "0.1")

    assert follower.positions == {}
    assert (lead.follow_takes, env.changes.profit_shares) == (Decimal(0), [])


def test_closing_copies_leaves_copies_of_other_lead_positions_open() -> None:
    env = make_env()
    trader = Account(TRADER, D(100_000))
    follower = Account(2, D(100_000))
    long_lead = lead_open(trader, env, volume="4")
    short_lead = lead_open(trader, env, volume="6", direction=OrderDirection.SELL)
    copy(long_lead, "4", {2: "1"}, {2: follower}, env)
    copy(short_lead, "6", {2: "1"}, {2: follower}, env)

    close_lead_and_copies(trader, follower, long_lead, MARKET, env, "0.1")

    (left,) = follower.positions.values()
    assert (left.lead_sub_position_id, left.volume) == (short_lead.sub_position_id, 6)


def test_a_copy_above_the_per_order_maximum_is_skipped_with_its_reason() -> None:
    market = Market.at(replace(BTC, max_order_volume=D(50)), D(60500))
    markets = {"BTC-USDT": market}
    env = make_env()
    trader = Account(1, D(10**6))
    follower = Account(2, D(10**7))
    req = open_request("BTC-USDT", OrderDirection.BUY, "30", MarginMode.CROSS, lever=10)
    order = open_order(trader, req, market, markets, env)
    assert order.sub_position_id is not None
    lead = trader.positions[order.sub_position_id]
    copied, skipped = copy_open(
        lead, D(30), [Follow(2, 1, D(2))], {2: follower}, market, markets, env
    )
    assert (copied, skipped) == (0, 1)
    (skip,) = env.changes.skips
    assert skip.reason is SkipReason.ABOVE_ORDER_LIMIT
    assert skip.wanted_volume == D(60)
    assert follower.positions == {}
