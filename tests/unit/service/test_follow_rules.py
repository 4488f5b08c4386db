"""Follower settings in the service layer, over the in-memory store (spec §8.1).

A follower's own rules on mark moves (``sim.set_price``), settings changed later
(``follow_rules.change_settings``), and how a change merges into the current settings.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from service_kit import D, buy, make_ctx, page

from copytrade.domain.copytrading import Follow
from copytrade.domain.enums import CloseType, CopyMode, MarginMode, OrderDirection, PositionSide
from copytrade.domain.errors import InvalidFollowSettings
from copytrade.service import handlers, sim, v5, v5_others
from copytrade.service.context import ServiceContext
from copytrade.service.errors import InvalidFollow, NotFollowing, UnknownUser
from copytrade.service.follow_rules import change_settings, merged


def _pair(ctx: ServiceContext, follow: Follow | None = None, **settings: object) -> tuple[int, int]:
    trader = sim.create_user(ctx, "trader", D(1_000_000)).uid
    follower = sim.create_user(ctx, "follower", D(10_000)).uid
    sim.follow_with(ctx, Follow(follower, trader, D(1), **settings))  # type: ignore[arg-type]
    return trader, follower


def _closed_types(ctx: ServiceContext, uid: int) -> list[CloseType | None]:
    with ctx.reads() as reads:
        return [p.close_type for p in reads.user_report(uid).closed_positions]


def _following(ctx: ServiceContext, uid: int) -> Follow | None:
    with ctx.reads() as reads:
        return reads.active_follow_of(uid)


def test_a_mark_move_closes_copies_on_their_own_ratio_and_reports_it() -> None:
    ctx = make_ctx()
    trader, follower = _pair(ctx, tp_ratio=D("0.5"))
    handlers.place_order(ctx, trader, buy("10", mode=MarginMode.ISOLATED, lever=5))

    assert sim.set_price(ctx, "BTC-USDT", D(66000))["copy_exits"] == 0
    moved = sim.set_price(ctx, "BTC-USDT", D(67000))

    assert (moved["copy_exits"], moved["follows_stopped"]) == (1, 0)
    assert _closed_types(ctx, follower) == [CloseType.COPY_TAKE_PROFIT]
    assert _closed_types(ctx, trader) == []


def test_a_copy_closed_with_its_lead_in_the_same_move_counts_towards_the_total_stop() -> None:
    # the lead's own stop-loss closes the copy at a loss in this very move: that loss is not
    # stored yet when the follower's total stop-loss is checked, and must count all the same
    ctx = make_ctx()
    trader, follower = _pair(ctx, total_stop_loss=D(20))
    handlers.place_order(ctx, trader, buy("10", mode=MarginMode.ISOLATED, lever=5, sl="58000"))

    moved = sim.set_price(ctx, "BTC-USDT", D(57500))  # about −30 realised with the lead

    assert (moved["tpsl_triggered"], moved["follows_stopped"]) == (1, 1)
    assert _closed_types(ctx, follower) == [CloseType.STOP_LOSS]
    assert _following(ctx, follower) is None


def test_the_total_stop_counts_only_the_current_follow() -> None:
    ctx = make_ctx()
    trader, follower = _pair(ctx)
    handlers.place_order(ctx, trader, buy("10", mode=MarginMode.ISOLATED, lever=5))
    sim.set_price(ctx, "BTC-USDT", D(57500))
    handlers.close_all_position(ctx, trader, "BTC-USDT", MarginMode.ISOLATED, PositionSide.LONG)
    with ctx.admin() as uow:  # a loss of about 30 under an earlier follow of the same trader
        assert uow.follows.realised([follower])[follower] < -25
        uow.follows.end(follower, ctx.clock.now_ms())
        uow.commit()
    ctx.clock.now += 1  # type: ignore[attr-defined]
    sim.follow_with(ctx, Follow(follower, trader, D(1), total_stop_loss=D(20)))
    handlers.place_order(ctx, trader, buy("10", mode=MarginMode.ISOLATED, lever=5))

    assert sim.set_price(ctx, "BTC-USDT", D(57000))["follows_stopped"] == 0  # about −6
    with ctx.admin() as uow:
        assert uow.follows.realised([follower]) == {follower: 0}


def test_a_change_keeps_the_follow_and_applies_the_new_rules_at_once() -> None:
    ctx = make_ctx()
    trader, follower = _pair(ctx)
    handlers.place_order(ctx, trader, buy("10", mode=MarginMode.ISOLATED, lever=5))
    sim.set_price(ctx, "BTC-USDT", D(63500))  # +5 %: PnL/margin about 0.25
    with ctx.reads() as reads:
        (before,) = reads.followers_page(trader, page())

    done = change_settings(ctx, follower, {"tp_ratio": D("0.2"), "contracts": ["ETH-USDT"]})

    assert done.outcome.copy_exits == 1
    assert done.follow.contracts == frozenset({"ETH-USDT"})
    assert _closed_types(ctx, follower) == [CloseType.COPY_TAKE_PROFIT]
    with ctx.reads() as reads:
        (after,) = reads.followers_page(trader, page())
    assert (after.follow_id, after.started_at) == (before.follow_id, before.started_at)
    assert _following(ctx, follower) == done.follow


def test_a_change_is_refused_for_someone_not_following_or_following_another() -> None:
    ctx = make_ctx()
    trader, follower = _pair(ctx)
    loner = sim.create_user(ctx, "follower", D(1)).uid
    with pytest.raises(NotFollowing):
        change_settings(ctx, loner, {"tp_ratio": D(1)})
    with pytest.raises(UnknownUser):
        change_settings(ctx, 42, {"tp_ratio": D(1)})
    with pytest.raises(InvalidFollow):
        change_settings(ctx, follower, {"tp_ratio": D(1)}, trader_uid=loner)
    with pytest.raises(InvalidFollowSettings) as refused:
        change_settings(ctx, follower, {"contracts": ["NOPE-USDT"]})
    assert refused.value.field == "contracts"
    assert _following(ctx, follower) == Follow(follower, trader, D(1))


BASE = Follow(2, 1, D(1), CopyMode.FIXED_AMOUNT, D(100), D("0.5"), None, D(30), None)


def test_merging_changes_only_what_is_given_and_none_clears() -> None:
    assert merged(BASE, {}) == BASE
    assert merged(BASE, {"tp_ratio": None, "sl_ratio": D(1)}).sl_ratio == D(1)
    assert merged(BASE, {"tp_ratio": None}).tp_ratio is None
    assert merged(BASE, {"contracts": ["DOT-USDT"]}).contracts == frozenset({"DOT-USDT"})


def test_switching_to_ratio_mode_drops_the_fixed_amount() -> None:
    switched = merged(BASE, {"mode": "ratio", "ratio": D(2)})
    assert (switched.mode, switched.fixed_amount, switched.ratio) == (CopyMode.RATIO, None, D(2))


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"ratio": None}, "ratio"), ({"mode": None}, "mode"), ({"follower_uid": 3}, "follower_uid")],
)
def test_merging_refuses_what_cannot_change(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidFollowSettings) as refused:
        merged(BASE, changes)
    assert refused.value.field == field


def test_funding_paid_on_copies_counts_towards_the_total_stop_and_can_reach_it() -> None:
    """Each settlement charges the long copy ~12 USDT; the second takes it past −20."""
    from copytrade.domain.funding import FundingConfig
    from copytrade.service.funding import settle_funding

    ctx = make_ctx()
    trader, follower = _pair(ctx, total_stop_loss=D(20))
    handlers.place_order(ctx, trader, buy("10", mode=MarginMode.CROSS, lever=5))
    ctx.funding = FundingConfig(mode="rate", default_rate=D("0.02"))
    now = ctx.clock.now_ms()

    first = settle_funding(ctx, now + 1)
    assert first is not None
    with ctx.admin() as uow:
        realised = uow.follows.realised([follower])[follower]
    with ctx.reads() as reads:
        funded = [f for f in reads.user_report(follower).fills if f.offset == "funding"]
    (payment,) = funded
    assert payment.fee > 10  # the long copy paid
    assert realised == -payment.fee  # no copy closed yet: funding is all that is realised
    assert _following(ctx, follower) is not None  # about −12.5 with the open fee: not yet

    settle_funding(ctx, now + 2)  # about −25: past the total stop
    assert _following(ctx, follower) is None
    assert _closed_types(ctx, follower) == [CloseType.COPY_TOTAL_STOP]


def _v5_sell_reduce(ctx: ServiceContext, trader: int) -> None:
    order = v5.V5Order(
        contract_code="BTC-USDT",
        margin_mode=MarginMode.ISOLATED,
        direction=OrderDirection.SELL,
        position_side=PositionSide.LONG,
        reduce_only=True,
        kind="market",
        tif="gtc",
        volume=D(10),
        price=None,
        tp_trigger_price=None,
        sl_trigger_price=None,
        client_order_id=None,
    )
    v5.place_order(ctx, trader, order)


@pytest.mark.parametrize(
    "close",
    [
        lambda ctx, t: handlers.close_all_position(
            ctx, t, "BTC-USDT", MarginMode.ISOLATED, PositionSide.LONG
        ),
        lambda ctx, t: v5_others.position_all(ctx, t),
        lambda ctx, t: v5.close_position(
            ctx, t, "BTC-USDT", MarginMode.ISOLATED, PositionSide.LONG
        ),
        _v5_sell_reduce,
    ],
    ids=["v1_close_all_position", "v5_position_all", "v5_position", "v5_reduce_only_order"],
)
def test_a_lead_close_whose_fee_takes_a_copy_past_the_total_stop_ends_the_follow(
    close: Callable[[ServiceContext, int], object],
) -> None:
    # at 58560 the mark move leaves the copy just inside −20; the close fee takes the realised
    # loss past it (−20.23): every way a lead closes applies the total stop after the close
    ctx = make_ctx()
    trader, follower = _pair(ctx, total_stop_loss=D(20))
    handlers.place_order(ctx, trader, buy("10", mode=MarginMode.ISOLATED, lever=5))
    sim.set_price(ctx, "BTC-USDT", D(58560))
    assert _following(ctx, follower) is not None

    close(ctx, trader)

    with ctx.reads() as reads:
        (closed,) = reads.user_report(follower).closed_positions
    assert closed.profit is not None
    assert -21 < closed.profit < -20
    assert _following(ctx, follower) is None
