"""Read use cases (service.queries) over the in-memory store."""

from __future__ import annotations

import pytest
from service_kit import NOW, D, buy, make_ctx, page

from copytrade.domain.enums import MarginMode, PositionSide
from copytrade.domain.errors import UnknownContract
from copytrade.service import handlers, queries, sim
from copytrade.service.errors import UnknownUser


def test_position_list_sums_sub_positions_per_key() -> None:
    ctx = make_ctx()
    uid = sim.create_user(ctx, "trader", D(100000)).uid
    handlers.place_order(ctx, uid, buy("1"))
    handlers.place_order(ctx, uid, buy("2"))
    handlers.place_order(ctx, uid, buy("1", mode=MarginMode.ISOLATED))
    rows = queries.position_list(ctx, uid)
    volumes = {(r.margin_mode, r.side): r.volume for r in rows}
    assert volumes == {
        (MarginMode.CROSS, PositionSide.LONG): D(3),
        (MarginMode.ISOLATED, PositionSide.LONG): D(1),
    }
    with pytest.raises(UnknownUser):
        queries.position_list(ctx, 42)


def test_current_positions_pages_open_sub_positions_with_isolated_liquidation_prices() -> None:
    ctx = make_ctx()
    uid = sim.create_user(ctx, "trader", D(100000)).uid
    ids = [
        handlers.place_order(ctx, uid, buy("1", mode=MarginMode.ISOLATED)).sub_position_id
        for _ in range(3)
    ]
    view = queries.current_positions(ctx, uid, "BTC-USDT", page(limit=2))
    assert [p.sub_position_id for p in view.positions] == sorted(ids, reverse=True)[:2]
    assert ("BTC-USDT", PositionSide.LONG) in view.liquidation
    rest = queries.current_positions(
        ctx, uid, "BTC-USDT", page(from_id=view.positions[-1].sub_position_id)
    )
    assert [p.sub_position_id for p in rest.positions] == [min(ids)]
    assert queries.current_positions(ctx, uid, "ETH-USDT", page()).positions == []
    with pytest.raises(UnknownContract):
        queries.current_positions(ctx, uid, "NOPE-USDT", page())


def test_cross_positions_need_no_liquidation_prices() -> None:
    ctx = make_ctx()
    uid = sim.create_user(ctx, "trader", D(100000)).uid
    handlers.place_order(ctx, uid, buy("1"))
    view = queries.current_positions(ctx, uid, "BTC-USDT", page())
    assert len(view.positions) == 1
    assert view.liquidation == {}


def test_position_history_pages_closed_sub_positions_in_either_direction() -> None:
    ctx = make_ctx()
    uid = sim.create_user(ctx, "trader", D(100000)).uid
    ids = []
    for _ in range(3):
        opened = handlers.place_order(ctx, uid, buy("1"))
        assert opened.sub_position_id is not None
        handlers.close_order(ctx, uid, opened.sub_position_id)
        ids.append(opened.sub_position_id)
    newest_first = queries.position_history(ctx, uid, "BTC-USDT", page())
    assert [p.sub_position_id for p in newest_first] == ids[::-1]
    oldest_first = queries.position_history(ctx, uid, "BTC-USDT", page(ascending=True, limit=2))
    assert [p.sub_position_id for p in oldest_first] == ids[:2]
    assert all(not p.is_open and p.close_time == NOW for p in newest_first)
    with pytest.raises(UnknownContract):
        queries.position_history(ctx, uid, "NOPE-USDT", page())


def test_followers_shows_current_followers_with_funds_and_copy_profit() -> None:
    ctx = make_ctx()
    trader = sim.create_user(ctx, "trader", D(100000)).uid
    followers = sim.bulk_followers(ctx, trader, 3, D(10000), D(1))
    opened = handlers.place_order(ctx, trader, buy("2"))
    assert opened.sub_position_id is not None
    handlers.close_order(ctx, trader, opened.sub_position_id)
    rows = queries.followers(ctx, trader, page(ascending=True))
    assert [r.follower_uid for r in rows] == followers
    assert all(r.trade_amount < D(10000) for r in rows)  # fees paid
    assert all(r.profit_amount == rows[0].profit_amount for r in rows)
    assert queries.followers(ctx, followers[0], page()) == []


def test_api_key_and_markets_read_committed_state() -> None:
    ctx = make_ctx()
    creds = sim.create_user(ctx, "trader", D(1), can_trade=False)
    key = queries.api_key(ctx, creds.access_key)
    assert key is not None
    assert (key.uid, key.secret, key.can_trade) == (creds.uid, creds.secret_key, False)
    assert queries.api_key(ctx, "nope") is None
    markets = queries.markets(ctx)
    assert markets["BTC-USDT"].mark == D(60500)
