"""A copy latency lets a price path move the mark between a lead and its copies (service layer).

The copies meet the book around the mark the path reaches at the lead's time plus the latency;
the path is peeked, not moved, so the ticks still apply when due.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from service_kit import NOW, D, buy, make_ctx

from copytrade.domain.enums import MarginMode, OrderDirection
from copytrade.domain.impact import ImpactSettings
from copytrade.domain.model import SubPosition
from copytrade.domain.paths import YEAR_MS, PathCursor, StochasticPath
from copytrade.service import handlers, sim
from copytrade.service.context import ServiceContext

CODE = "ETH-USDT"


def _drifting(ctx: ServiceContext, step: str, tick_ms: int = 1000) -> PathCursor:
    """Give ETH a path without noise that moves the mark by ``step`` (0.01: 1 %) each tick."""
    drift = D(step) * YEAR_MS / tick_ms
    cursor = PathCursor(StochasticPath("walk", 1, D(0), drift, tick_ms), NOW, D(3000), D("0.01"))
    ctx.path_ahead = lambda code, at: cursor.ahead(at) if code == CODE else None
    return cursor


def _open(
    ctx: ServiceContext, followers: int, direction: OrderDirection
) -> tuple[SubPosition, list[SubPosition]]:
    trader = sim.create_user(ctx, "trader", D(10**9)).uid
    uids = []
    for _ in range(followers):
        uid = sim.create_user(ctx, "follower", D(10**9)).uid
        sim.follow(ctx, uid, trader, D(1))
        uids.append(uid)
    result = handlers.place_order(
        ctx, trader, buy("10", code=CODE, direction=direction, mode=MarginMode.CROSS)
    )
    with ctx.uow() as uow:
        lead = uow.accounts.get(trader).positions[result.sub_position_id]  # type: ignore[union-attr, index]
        accounts = uow.accounts.get_many(uids)
    return lead, [p for uid in uids for p in accounts[uid].positions.values()]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    step=st.sampled_from(["0.001", "0.005", "-0.001", "-0.004"]),
    latency_ms=st.integers(0, 12_000),
    sell=st.booleans(),
    half_life_ms=st.sampled_from([0, 60_000]),
)
def test_with_a_drifting_path_the_copies_prices_follow_the_drift_over_the_latency(
    step: str, latency_ms: int, sell: bool, half_life_ms: int
) -> None:
    """Each copy fills around the mark the path reaches by the lead's time plus the latency."""
    ctx = make_ctx()
    ctx.set_impact(ImpactSettings(half_life_ms=half_life_ms, copy_latency_ms=latency_ms))
    cursor = _drifting(ctx, step)
    direction = OrderDirection.SELL if sell else OrderDirection.BUY
    lead, copies = _open(ctx, 3, direction)
    assert len(copies) == 3
    ticks = latency_ms // 1000  # one tick a second, from the lead's time
    ahead = cursor.ahead(NOW + latency_ms)
    assert (ahead is None) == (ticks == 0)
    moved = (ahead or D(3000)) - D(3000)
    for copy in copies:
        # the book is quoted around the later mark: the copy's price moved as the mark did
        # (give or take the half spread and the depth the lead and earlier copies took)
        shift = copy.open_avg_price - lead.open_avg_price
        slack = D(3) if half_life_ms else D("0.5")
        assert abs(shift - moved) <= slack, (shift, moved)
        if ticks and not half_life_ms:
            assert (shift > 0) == (moved > 0)  # the copies moved the drift's way, not just noise
    assert cursor.ticks == 0  # peeked, not moved: the ticks apply when due
    with ctx.reads() as reads:
        assert reads.marks()[CODE] == D(3000)


def test_without_a_path_or_a_latency_the_copies_get_the_leads_price() -> None:
    for latency, with_path in ((5000, False), (0, True)):
        ctx = make_ctx()
        ctx.set_impact(ImpactSettings(copy_latency_ms=latency))
        if with_path:
            _drifting(ctx, "0.01")
        lead, copies = _open(ctx, 2, OrderDirection.BUY)
        assert {c.open_avg_price for c in copies} == {lead.open_avg_price}


def test_a_close_copies_at_the_mark_the_path_reaches_after_the_latency() -> None:
    ctx = make_ctx()
    lead, copies = _open(ctx, 2, OrderDirection.BUY)
    ctx.set_impact(ImpactSettings(copy_latency_ms=3000))
    cursor = _drifting(ctx, "-0.002")
    handlers.close_order(ctx, lead.uid, lead.sub_position_id)
    (lead_closed,) = sim.user_view(ctx, lead.uid).report.closed_positions
    closes = {
        p.close_avg_price for c in copies for p in sim.user_view(ctx, c.uid).report.closed_positions
    }
    expected = cursor.ahead(NOW + 3000)
    assert expected is not None
    assert expected < D(3000)
    assert lead_closed.close_avg_price is not None
    (close,) = closes  # both copies close on the same re-centred book
    assert close is not None
    shift = close - lead_closed.close_avg_price
    assert abs(shift - (expected - D(3000))) <= D("0.5")
    assert shift < -10


def test_a_guard_skips_copies_the_drift_made_too_dear() -> None:
    ctx = make_ctx()
    ctx.set_impact(ImpactSettings(copy_latency_ms=2000, max_slippage=Decimal("0.001")))
    _drifting(ctx, "0.002")  # +0.4 % by the copies' time: past the 0.1 % guard
    _, copies = _open(ctx, 2, OrderDirection.BUY)
    assert copies == []
    _, copies = _open(ctx, 2, OrderDirection.SELL)  # the drift helps a sell: it goes
    assert len(copies) == 2
