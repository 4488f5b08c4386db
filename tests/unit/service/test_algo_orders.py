"""v5 trigger and trailing orders over the in-memory store: rest, fire on mark moves, copy."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from service_kit import D, make_ctx

from copytrade.domain.enums import CloseType, MarginMode, OrderDirection, PositionSide
from copytrade.domain.errors import CloseAboveHolding, IllegalParameter, UnknownContract
from copytrade.service import algo, sim, v5
from copytrade.service.context import ServiceContext
from copytrade.service.ports import AlgoQuery


def _order(
    side: str = "buy",
    volume: str = "2",
    *,
    kind: str = "market",
    price: str | None = None,
    reduce_only: bool = False,
    code: str = "BTC-USDT",
) -> v5.V5Order:
    return v5.V5Order(
        contract_code=code,
        margin_mode=MarginMode.CROSS,
        direction=OrderDirection.BUY if side == "buy" else OrderDirection.SELL,
        position_side=None,
        reduce_only=reduce_only,
        kind=kind,
        tif="gtc",
        volume=D(volume),
        price=D(price) if price is not None else None,
        tp_trigger_price=None,
        sl_trigger_price=None,
        client_order_id=None,
    )


def _trigger(trigger: str, **order: Any) -> algo.AlgoRequest:
    return algo.AlgoRequest(_order(**order), "trigger", trigger_price=D(trigger))


def _trailing(rate: str, active: str | None = None, **order: Any) -> algo.AlgoRequest:
    return algo.AlgoRequest(
        _order(**order),
        "trailing_stop",
        callback_rate=D(rate),
        active_price=D(active) if active is not None else None,
    )


def _team(ctx: ServiceContext) -> tuple[int, int]:
    trader = sim.create_user(ctx, "trader", D(1_000_000)).uid
    [follower] = sim.bulk_followers(ctx, trader, 1, D(1_000_000), D(1))
    return trader, follower


def _volumes(ctx: ServiceContext, uid: int) -> list[tuple[str, Decimal]]:
    with ctx.reads() as reads:
        account = reads.account(uid)
    assert account is not None
    return sorted((p.side.value, p.volume) for p in account.positions.values())


def test_a_trigger_order_rests_then_opens_when_the_mark_rises_through_it_and_is_copied() -> None:
    ctx = make_ctx()
    trader, follower = _team(ctx)
    (placed,) = algo.place(ctx, trader, _trigger("61000"))
    assert placed.rises  # above the mark of 60500: fires on a rise
    assert sim.set_price(ctx, "BTC-USDT", D(60900))["algo_triggered"] == 0
    assert _volumes(ctx, trader) == []

    assert sim.set_price(ctx, "BTC-USDT", D(61000))["algo_triggered"] == 1

    assert _volumes(ctx, trader) == [("long", D(2))]
    assert _volumes(ctx, follower) == [("long", D(2))]
    with ctx.reads() as reads:
        (fired,) = reads.algo_orders(trader, AlgoQuery(algo_id=placed.algo_id))
        account = reads.account(trader)
    assert account is not None
    assert account.algos == {}
    assert (fired.state, fired.updated) == ("effective", ctx.clock.now_ms())
    assert fired.order_id is not None
    query = v5.HistoryQuery("BTC-USDT", MarginMode.CROSS, None, 0, 2**62, 10)
    assert [e.order.order_id for e in v5.order_history(ctx, trader, query)] == [fired.order_id]


def test_a_trigger_below_the_mark_fires_on_a_fall_and_not_on_a_rise() -> None:
    ctx = make_ctx()
    trader, _ = _team(ctx)
    (placed,) = algo.place(ctx, trader, _trigger("60000", side="sell"))
    assert not placed.rises
    assert sim.set_price(ctx, "BTC-USDT", D(70000))["algo_triggered"] == 0
    assert sim.set_price(ctx, "BTC-USDT", D(59000))["algo_triggered"] == 1
    assert _volumes(ctx, trader) == [("short", D(2))]


def test_a_trailing_sell_tracks_the_highest_mark_and_closes_the_long_on_the_retrace() -> None:
    ctx = make_ctx()
    trader, follower = _team(ctx)
    v5.place_order(ctx, trader, _order("buy", "4"))
    (placed,) = algo.place(
        ctx, trader, _trailing("0.02", "61000", side="sell", volume="4", reduce_only=True)
    )
    assert (placed.activated, placed.extreme) == (False, None)  # 60500 < 61000
    sim.set_price(ctx, "BTC-USDT", D(59000))  # not active: no retrace counts
    sim.set_price(ctx, "BTC-USDT", D(62000))  # activates; the extreme starts here
    sim.set_price(ctx, "BTC-USDT", D(64000))
    sim.set_price(ctx, "BTC-USDT", D(62800))  # 64000 × 0.98 = 62720: not yet
    with ctx.reads() as reads:
        account = reads.account(trader)
    assert account is not None
    (resting,) = account.algos.values()
    assert (resting.activated, resting.extreme) == (True, D(64000))

    assert sim.set_price(ctx, "BTC-USDT", D(62720))["algo_triggered"] == 1

    assert _volumes(ctx, trader) == []
    assert _volumes(ctx, follower) == []  # the copy closes with the lead


def test_a_trailing_buy_without_activation_price_tracks_the_lowest_mark() -> None:
    ctx = make_ctx()
    trader, _ = _team(ctx)
    (placed,) = algo.place(ctx, trader, _trailing("0.01"))
    assert (placed.activated, placed.extreme) == (True, D(60500))
    sim.set_price(ctx, "BTC-USDT", D(60000))
    assert sim.set_price(ctx, "BTC-USDT", D(60590))["algo_triggered"] == 0  # < 60600
    assert sim.set_price(ctx, "BTC-USDT", D(60600))["algo_triggered"] == 1
    assert _volumes(ctx, trader) == [("long", D(2))]


def test_a_limit_trigger_order_places_a_resting_limit_order() -> None:
    ctx = make_ctx()
    trader, _ = _team(ctx)
    algo.place(ctx, trader, _trigger("60000", kind="limit", price="59000"))
    assert sim.set_price(ctx, "BTC-USDT", D(60000))["algo_triggered"] == 1
    with ctx.reads() as reads:
        account = reads.account(trader)
    assert account is not None
    (order,) = account.orders.values()
    assert (order.price, order.volume) == (D(59000), D(2))


def test_an_order_refused_when_it_fires_is_cancelled_with_the_reason() -> None:
    ctx = make_ctx()
    trader, _ = _team(ctx)
    v5.place_order(ctx, trader, _order("buy", "2"))
    (placed,) = algo.place(ctx, trader, _trigger("59000", side="sell", reduce_only=True))
    v5.close_position(ctx, trader, "BTC-USDT", MarginMode.CROSS, None)  # nothing left to reduce
    assert sim.set_price(ctx, "BTC-USDT", D(58000))["algo_triggered"] == 0
    with ctx.reads() as reads:
        (gone,) = reads.algo_orders(trader, AlgoQuery(algo_id=placed.algo_id))
    assert gone.state == "canceled"
    assert gone.reason is not None
    assert "PositionNotFound" in gone.reason
    assert _volumes(ctx, trader) == []


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        (_trigger("60500"), IllegalParameter),  # at the mark: it would fire at once
        (_trigger("0"), IllegalParameter),
        (_trailing("0.0009"), IllegalParameter),
        (_trailing("0.051"), IllegalParameter),
        (_trailing("0.01", "-1"), IllegalParameter),
        (_trigger("59000", side="sell", reduce_only=True), CloseAboveHolding),
        (_trigger("59000", side="buy", reduce_only=True), CloseAboveHolding),
        (_trigger("59000", code="XRP-USDT"), UnknownContract),
    ],
)
def test_a_refused_algo_order_stores_nothing(request_: algo.AlgoRequest, error: type) -> None:
    ctx = make_ctx()
    trader, _ = _team(ctx)
    with pytest.raises(error):
        algo.place(ctx, trader, request_)
    with ctx.reads() as reads:
        assert reads.algo_orders(trader, AlgoQuery()) == []


def test_cancelled_orders_never_fire_and_show_in_the_history() -> None:
    ctx = make_ctx()
    trader, _ = _team(ctx)
    (placed,) = algo.place(ctx, trader, _trigger("61000"))
    done = algo.cancel_conditionals(ctx, trader, "BTC-USDT", (str(placed.algo_id), "42"))
    assert done == [(str(placed.algo_id), True), ("42", False)]
    assert sim.set_price(ctx, "BTC-USDT", D(62000))["algo_triggered"] == 0
    query = v5.AlgoHistoryQuery(None, None, "trigger", frozenset({"canceled"}), 0, 2**62, 10)
    (shown,) = algo.conditional_history(ctx, trader, query)
    assert isinstance(shown, type(placed))
    assert shown.state == "canceled"


def test_stop_loss_wins_when_both_triggers_fire_at_one_mark() -> None:
    """A mark past both triggers of a position closes it as a stop loss (spec silent: the
    conservative reading), on the mark-move path as in :func:`copytrade.domain.tpsl.fired`."""
    ctx = make_ctx()
    trader, _ = _team(ctx)
    v5.place_order(ctx, trader, _order("buy", "1"))
    with ctx.uow() as uow:  # a TP below the SL: both fire at 60000
        account = uow.accounts.get(trader)
        assert account is not None
        (pos,) = account.positions.values()
        pos.tp_trigger_price, pos.sl_trigger_price = D(59000), D(61000)
        env = ctx.env()
        env.changes.save_position(pos)
        uow.accounts.save(env.changes)
        uow.commit()
    sim.set_price(ctx, "BTC-USDT", D(60000))
    with ctx.reads() as reads:
        (closed,) = reads.user_report(trader).closed_positions
    assert (closed.side, closed.close_type) == (PositionSide.LONG, CloseType.STOP_LOSS)
