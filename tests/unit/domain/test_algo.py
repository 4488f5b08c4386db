"""Trigger and trailing orders watching the mark (domain ``algo``), and the TP/SL tie rule."""

from __future__ import annotations

import pytest
from domain_builders import D, add_position

from copytrade.domain import algo as a
from copytrade.domain.enums import CloseType, MarginMode, OrderDirection, PositionSide
from copytrade.domain.model import Account
from copytrade.domain.tpsl import fired


def _algo(
    kind: str,
    direction: OrderDirection,
    *,
    trigger: str | None = None,
    rises: bool = False,
    rate: str | None = None,
    active: str | None = None,
    extreme: str | None = None,
) -> a.AlgoOrder:
    return a.AlgoOrder(
        algo_id=1,
        uid=7,
        kind=kind,
        contract_code="BTC-USDT",
        margin_mode=MarginMode.CROSS,
        direction=direction,
        position_side=None,
        both=False,
        reduce_only=False,
        volume=D(1),
        order_type="market",
        order_price=None,
        trigger_price=D(trigger) if trigger is not None else None,
        rises=rises,
        callback_rate=D(rate) if rate is not None else None,
        active_price=D(active) if active is not None else None,
        activated=extreme is not None,
        extreme=D(extreme) if extreme is not None else None,
        state=a.ACTIVE,
        created=0,
        updated=0,
    )


@pytest.mark.parametrize(
    ("trigger", "mark", "trigger_type", "rises"),
    [
        ("61000", "60500", None, True),
        ("60000", "60500", None, False),
        ("60500", "60500", None, None),  # at the mark: refused by the caller
        ("60000", "60500", "ge", True),  # a sent type wins
        ("61000", "60500", "le", False),
    ],
)
def test_a_trigger_fires_on_the_side_of_the_mark_it_was_placed_from(
    trigger: str, mark: str, trigger_type: str | None, rises: bool | None
) -> None:
    assert a.trigger_rises(D(trigger), D(mark), trigger_type) is rises


def test_a_trigger_order_fires_at_its_price_and_beyond_only() -> None:
    ge = _algo(a.TRIGGER, OrderDirection.BUY, trigger="61000", rises=True)
    assert [a.observe(ge, D(m))[0] for m in ("60999.9", "61000", "65000")] == [False, True, True]
    le = _algo(a.TRIGGER, OrderDirection.SELL, trigger="60000")
    assert [a.observe(le, D(m))[0] for m in ("60000.1", "60000", "50000")] == [False, True, True]


def test_a_trailing_sell_activates_then_fires_on_a_retrace_from_the_highest_mark() -> None:
    trail = _algo(a.TRAILING, OrderDirection.SELL, rate="0.05", active="100")
    assert a.observe(trail, D(99)) == (False, False)  # below its activation price
    assert a.observe(trail, D(101)) == (False, True)
    assert (trail.activated, trail.extreme) == (True, D(101))
    assert a.observe(trail, D(110)) == (False, True)
    assert a.observe(trail, D("104.51")) == (False, False)  # 110 × 0.95 = 104.5
    assert trail.extreme == D(110)
    assert a.observe(trail, D("104.5")) == (True, False)


def test_a_trailing_buy_fires_on_a_rebound_from_the_lowest_mark() -> None:
    trail = _algo(a.TRAILING, OrderDirection.BUY, rate="0.01", extreme="100")
    assert a.observe(trail, D(90)) == (False, True)
    assert a.observe(trail, D("90.89")) == (False, False)
    assert a.observe(trail, D("90.9")) == (True, False)


def test_a_finished_order_fires_no_more() -> None:
    done = _algo(a.TRIGGER, OrderDirection.BUY, trigger="1", rises=True)
    a.finish(done, a.CANCELED, 5)
    assert a.observe(done, D(2)) == (False, False)
    assert (done.state, done.updated) == ("canceled", 5)


@pytest.mark.parametrize("side", [PositionSide.LONG, PositionSide.SHORT])
def test_stop_loss_wins_a_tie_with_take_profit(side: PositionSide) -> None:
    account = Account(1, D(100000))
    pos = add_position(
        account, 1, "BTC-USDT", MarginMode.CROSS, side, lever=10, volume="1", open_price="60000"
    )
    long = side is PositionSide.LONG
    pos.tp_trigger_price = D(59000) if long else D(61000)  # past the mark on the TP side
    pos.sl_trigger_price = D(61000) if long else D(59000)  # and on the SL side
    assert fired(pos, D(60000)) is CloseType.STOP_LOSS
