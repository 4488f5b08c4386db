"""Emulator use cases (service.sim) and admin operations over the in-memory store."""

from __future__ import annotations

import pytest
from service_kit import D, buy, make_ctx, page

from copytrade.adapters.memory import MemoryStore
from copytrade.domain.enums import CloseType, OrderStatus
from copytrade.domain.errors import UnknownContract
from copytrade.service import handlers, sim
from copytrade.service.errors import InvalidFollow, InvalidMark, UnknownUser


def test_create_user_makes_a_funded_account_and_one_key() -> None:
    ctx = make_ctx()
    hmac = sim.create_user(ctx, "trader", D(500), profit_share_ratio=D("0.2"))
    ed = sim.create_user(ctx, "follower", D(7), ed25519_public_key="ab" * 32)
    assert ed.uid == hmac.uid + 1
    assert ed.secret_key is None
    with ctx.reads() as reads:
        user, key = reads.user(hmac.uid), reads.key(ed.access_key)
        funded = reads.account(ed.uid)
    assert user is not None
    assert user.profit_share_ratio == D("0.2")
    assert key is not None
    assert (key.method, key.public_key_hex) == ("Ed25519", "ab" * 32)
    assert funded is not None
    assert funded.balance == D(7)


def test_follow_refuses_what_the_emulator_does_not_allow() -> None:
    ctx = make_ctx()
    trader = sim.create_user(ctx, "trader", D(1)).uid
    other = sim.create_user(ctx, "trader", D(1)).uid
    follower = sim.create_user(ctx, "follower", D(1)).uid
    with pytest.raises(InvalidFollow):
        sim.follow(ctx, follower, trader, D(0))
    with pytest.raises(UnknownUser):
        sim.follow(ctx, follower, 42, D(1))
    with pytest.raises(UnknownUser):
        sim.follow(ctx, 42, trader, D(1))
    with pytest.raises(InvalidFollow):
        sim.follow(ctx, other, trader, D(1))  # a trader follows no one
    with pytest.raises(InvalidFollow):
        sim.follow(ctx, trader, follower, D(1))  # a follower is not followed
    sim.follow(ctx, follower, trader, D(1))
    with pytest.raises(InvalidFollow):
        sim.follow(ctx, follower, other, D(1))  # one trader at a time
    with ctx.reads() as reads:
        follow = reads.active_follow_of(follower)
    assert follow is not None
    assert follow.trader_uid == trader


def test_bulk_followers_creates_funded_followers_in_one_unit() -> None:
    ctx = make_ctx()
    trader = sim.create_user(ctx, "trader", D(1)).uid
    uids = sim.bulk_followers(ctx, trader, 4, D(250), D("0.5"))
    assert uids == list(range(trader + 1, trader + 5))
    assert sim.bulk_followers(ctx, trader, 0, D(1), D(1)) == []
    with pytest.raises(InvalidFollow):
        sim.bulk_followers(ctx, trader, -1, D(1), D(1))
    with pytest.raises(InvalidFollow):
        sim.bulk_followers(ctx, uids[0], 1, D(1), D(1))  # not a trader
    with ctx.uow() as uow:
        follows, accounts = uow.accounts.followers_of(trader)
    assert [f.follower_uid for f in follows] == uids
    assert {a.balance for a in accounts.values()} == {D(250)}


def test_set_price_fills_resting_orders_and_copies_them() -> None:
    ctx = make_ctx()
    trader = sim.create_user(ctx, "trader", D(100000)).uid
    [copier] = sim.bulk_followers(ctx, trader, 1, D(100000), D(1))
    handlers.place_order(ctx, trader, buy("1", price="60000"))
    summary = sim.set_price(ctx, "BTC-USDT", D("59000.04"))
    assert summary["mark_price"] == "59000.0"  # to the tick
    assert summary["orders_filled"] == 1
    with ctx.reads() as reads:
        lead, copy = reads.account(trader), reads.account(copier)
    assert lead is not None
    assert copy is not None
    assert lead.orders == {}
    assert len(lead.positions) == len(copy.positions) == 1


def test_set_price_triggers_take_profit_and_stop_loss() -> None:
    ctx = make_ctx()
    uid = sim.create_user(ctx, "trader", D(100000)).uid
    handlers.place_order(ctx, uid, buy("1", tp="62000"))
    handlers.place_order(ctx, uid, buy("1", sl="59000"))
    assert sim.set_price(ctx, "BTC-USDT", D(63000))["tpsl_triggered"] == 1
    assert sim.set_price(ctx, "BTC-USDT", D(58000))["tpsl_triggered"] == 1
    with ctx.reads() as reads:
        closed = reads.user_report(uid).closed_positions
    assert [p.close_type for p in closed] == [CloseType.TAKE_PROFIT, CloseType.STOP_LOSS]


def test_set_price_liquidates_an_account_out_of_margin() -> None:
    ctx = make_ctx()
    uid = sim.create_user(ctx, "trader", D(1000)).uid
    handlers.place_order(ctx, uid, buy("1000", lever=100))
    summary = sim.set_price(ctx, "BTC-USDT", D(59000))
    assert summary["liquidated"] == 1
    with ctx.reads() as reads:
        held = reads.account(uid)
        closed = reads.user_report(uid).closed_positions
    assert held is not None
    assert held.positions == {}
    assert [p.close_type for p in closed] == [CloseType.LIQUIDATION]


def test_set_price_refuses_a_bad_price_or_contract() -> None:
    ctx = make_ctx()
    with pytest.raises(InvalidMark):
        sim.set_price(ctx, "BTC-USDT", D(0))
    with pytest.raises(InvalidMark):
        sim.set_price(ctx, "BTC-USDT", D("0.01"))  # under one tick
    with pytest.raises(UnknownContract):
        sim.set_price(ctx, "NOPE-USDT", D(1))


def test_seed_markets_keeps_existing_marks() -> None:
    ctx = make_ctx()
    sim.set_price(ctx, "BTC-USDT", D(1000))
    sim.seed_markets(ctx, {"BTC-USDT": D(5), "NEW-USDT": D(7)})
    with ctx.reads() as reads:
        marks = reads.marks()
    assert (marks["BTC-USDT"], marks["NEW-USDT"]) == (D(1000), D(7))


def test_the_demo_is_seeded_once() -> None:
    ctx = make_ctx()
    assert sim.seed_demo(ctx) is True
    assert sim.seed_demo(ctx) is False
    with ctx.reads() as reads:
        demo = reads.key(sim.DEMO_ACCESS_KEY)
        assert demo is not None
        assert len(reads.followers_page(demo.uid, page())) == 3


def test_reset_deletes_everything_and_starts_uids_again() -> None:
    ctx = make_ctx()
    first = sim.create_user(ctx, "trader", D(100000)).uid
    handlers.place_order(ctx, first, buy("1"))
    sim.reset(ctx)
    with ctx.reads() as reads:
        assert reads.user(first) is None
        assert reads.account(first) is None
        assert reads.user_report(first).fills == []
        assert reads.marks() == {}
    sim.seed_markets(ctx, {"BTC-USDT": D(60500)})
    assert sim.create_user(ctx, "trader", D(1)).uid == first


def test_user_view_and_set_balance() -> None:
    ctx = make_ctx()
    trader = sim.create_user(ctx, "trader", D(100000)).uid
    [copier] = sim.bulk_followers(ctx, trader, 1, D(10000), D(1))
    handlers.place_order(ctx, trader, buy("1", price="50000"))
    sim.set_balance(ctx, copier, D("12.5"))
    view = sim.user_view(ctx, copier)
    assert view.account.balance == D("12.5")
    assert view.follow is not None
    assert view.follow.trader_uid == trader
    lead = sim.user_view(ctx, trader)
    assert [o.status for o in lead.account.orders.values()] == [OrderStatus.OPEN]
    with pytest.raises(UnknownUser):
        sim.user_view(ctx, 42)
    with pytest.raises(UnknownUser):
        sim.set_balance(ctx, 42, D(1))


def test_a_failed_unit_leaves_the_memory_store_unchanged() -> None:
    store = MemoryStore()
    ctx = make_ctx(store)
    before = store.state

    def refused_half_way() -> None:
        with ctx.admin() as uow:
            uow.admin.allocate_uids(5)
            uow.markets.set_mark("BTC-USDT", D(1), 0)
            raise RuntimeError("refused half way")

    with pytest.raises(RuntimeError):
        refused_half_way()
    assert store.state is before
    with ctx.admin() as uow:
        assert uow.admin.allocate_uids(1) == 10_000_001  # the reserved uids went back
        assert uow.markets.marks()["BTC-USDT"] == D(60500)


def test_an_account_handed_out_is_a_copy() -> None:
    ctx = make_ctx()
    uid = sim.create_user(ctx, "trader", D(100)).uid
    with ctx.uow() as uow:
        account = uow.accounts.get(uid)
        assert account is not None
        assert uow.accounts.get(uid) is account  # one object per unit of work
        account.balance = D(0)  # mutated, never saved
        uow.commit()
    with ctx.reads() as reads:
        kept = reads.account(uid)
    assert kept is not None
    assert kept.balance == D(100)
