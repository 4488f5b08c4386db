"""A fan-out books each new copy from figures computed once per volume: exactly open_order's.

``copy_open`` no longer matches the book per follower; these tests hold it to what the general
opening path (``open_order`` of the copy's market order) books, field for field and id for id,
including partial fills that sweep the whole book side, skips, and accounts already holding
positions.
"""

from __future__ import annotations

import copy as copying
import itertools
from dataclasses import replace

import pytest
from domain_builders import BTC, D, add_position, make_env, make_markets, open_request

from copytrade.domain.copytrading import Follow, copy_open
from copytrade.domain.enums import MarginMode, OrderDirection, OrderPriceType, PositionSide
from copytrade.domain.errors import InsufficientMargin
from copytrade.domain.model import Account
from copytrade.domain.trading import Env, OpenRequest, open_order

TRADER = 1
MARKETS = make_markets(BTC="60500.5")
MARKET = MARKETS["BTC-USDT"]


def _followers() -> dict[int, Account]:
    out = {}
    for uid in range(10, 22):
        account = Account(uid, D(10) ** (uid % 7) + D("0.37"))
        if uid % 3 == 0:
            add_position(
                account,
                uid * 100,
                "BTC-USDT",
                MarginMode.CROSS,
                PositionSide.SHORT,
                lever=5,
                volume="2",
                open_price="59000",
            )
        out[uid] = account
    return out


def _by_open_order(
    lead_req: OpenRequest, volume: str, ratio: str, followers: dict[int, Account], env: Env
) -> list[object]:
    """What the general path books for each follower (``None`` where it refuses)."""
    booked: list[object] = []
    for account in followers.values():
        wanted = (D(ratio) * D(volume)).to_integral_value(rounding="ROUND_FLOOR")
        if wanted < 1 or wanted > BTC.max_order_volume:
            continue
        req = replace(
            lead_req,
            volume=wanted,
            price_type=OrderPriceType.MARKET,
            price=None,
            lead_uid=TRADER,
            lead_sub_position_id=7,
        )
        try:
            booked.append(open_order(account, req, MARKET, MARKETS, env))
        except InsufficientMargin:
            env.next_id()  # copy_open takes a skip id here
            booked.append(None)
    return booked


@pytest.mark.parametrize("mode", [MarginMode.CROSS, MarginMode.ISOLATED])
@pytest.mark.parametrize("direction", [OrderDirection.BUY, OrderDirection.SELL])
@pytest.mark.parametrize(("volume", "ratio"), [("1", "1"), ("3", "2.5"), ("40000", "1")])
def test_each_copy_is_what_open_order_books(
    mode: MarginMode, direction: OrderDirection, volume: str, ratio: str
) -> None:
    lead_req = open_request(volume=volume, margin_mode=mode, direction=direction, lever=10)
    trader = Account(TRADER, D(10) ** 12)
    env = make_env(first_id=1)
    order = open_order(trader, replace(lead_req, volume=D(1)), MARKET, MARKETS, env)
    lead = replace(
        trader.positions[order.sub_position_id or 0], sub_position_id=7, volume=D(volume)
    )
    fast, general = _followers(), _followers()
    follows = [Follow(uid, TRADER, D(ratio)) for uid in fast]

    fast_env = make_env(first_id=1000)
    copy_open(lead, D(volume), follows, fast, MARKET, MARKETS, fast_env)
    general_env = make_env(first_id=1000)
    general_env.next_id = itertools.count(1000).__next__
    _by_open_order(lead_req, volume, ratio, general, general_env)

    got, want = fast_env.changes, general_env.changes
    assert got.orders == want.orders
    assert got.positions == want.positions
    assert got.new_orders == want.new_orders
    assert got.new_positions == want.new_positions
    assert got.fills == want.fills
    assert {u: a.balance for u, a in fast.items()} == {u: a.balance for u, a in general.items()}
    assert {u: a.positions for u, a in fast.items()} == {u: a.positions for u, a in general.items()}
    # formatting matters too: the stores write decimals as their exact text
    assert [str(o.filled_notional) for o in got.orders.values()] == [
        str(o.filled_notional) for o in want.orders.values()
    ]
    assert [str(p.open_avg_price) for p in got.positions.values()] == [
        str(p.open_avg_price) for p in want.positions.values()
    ]


def test_a_sweep_of_the_whole_book_side_is_a_partial_fill_for_every_copy() -> None:
    lead_req = open_request(volume="1", margin_mode=MarginMode.CROSS, lever=10)
    trader = Account(TRADER, D(10) ** 12)
    env = make_env()
    order = open_order(trader, lead_req, MARKET, MARKETS, env)
    lead = trader.positions[order.sub_position_id or 0]
    depth = sum((level.volume for level in MARKET.book.asks), D(0))
    rich = {uid: Account(uid, D(10) ** 12) for uid in (50, 51)}
    copy_open(lead, depth + 5, [Follow(u, TRADER, D(1)) for u in rich], rich, MARKET, MARKETS, env)
    copies = [o for o in env.changes.orders.values() if o.lead_uid == TRADER]
    assert len(copies) == 2
    assert all(o.filled == depth and o.status.value == "cancelled" for o in copies)


def test_equal_copies_share_no_mutable_state() -> None:
    """Figures are shared between followers; the objects each follower holds are its own."""
    lead_req = open_request(volume="2", margin_mode=MarginMode.ISOLATED, lever=10)
    trader = Account(TRADER, D(10) ** 12)
    env = make_env()
    order = open_order(trader, lead_req, MARKET, MARKETS, env)
    lead = trader.positions[order.sub_position_id or 0]
    followers = {uid: Account(uid, D(10) ** 9) for uid in (60, 61)}
    before = copying.deepcopy(followers)
    copy_open(
        lead, D(2), [Follow(u, TRADER, D(1)) for u in followers], followers, MARKET, MARKETS, env
    )
    (a,) = followers[60].positions.values()
    (b,) = followers[61].positions.values()
    assert a is not b
    a.volume += 1
    assert b.volume == D(2)
    assert followers[60].balance < before[60].balance
    assert followers[60].balance == followers[61].balance
