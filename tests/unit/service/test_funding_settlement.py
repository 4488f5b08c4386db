"""Funding settlement as a use case (service.funding) over the in-memory store."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from service_kit import NOW, D, buy, make_ctx

from copytrade.domain.enums import MarginMode, OrderDirection, PositionSide
from copytrade.domain.funding import EIGHT_HOURS_MS, FundingConfig
from copytrade.domain.impact import ImpactSettings
from copytrade.domain.model import Account
from copytrade.service import handlers, sim
from copytrade.service.context import ServiceContext
from copytrade.service.funding import FundingSchedule, current_rate, settle_funding

FIRST = (NOW // EIGHT_HOURS_MS + 1) * EIGHT_HOURS_MS  # the first settlement after NOW


def _money(account: Account) -> Decimal:
    """Wallet plus isolated margins: what funding changes (unrealised PnL it does not)."""
    return account.balance + sum(
        (
            p.position_margin
            for p in account.positions.values()
            if p.margin_mode is MarginMode.ISOLATED
        ),
        D(0),
    )


def _accounts(ctx: ServiceContext, uids: list[int]) -> dict[int, Account]:
    with ctx.uow() as uow:
        return uow.accounts.get_many(uids)


def _funding_rows(ctx: ServiceContext, uid: int) -> list[Decimal]:
    with ctx.reads() as reads:
        return [f.fee for f in reads.user_report(uid).fills if f.offset == "funding"]


orders = st.lists(
    st.tuples(
        st.sampled_from([OrderDirection.BUY, OrderDirection.SELL]),
        st.integers(1, 40),
        st.sampled_from([MarginMode.CROSS, MarginMode.ISOLATED]),
        st.sampled_from(["BTC-USDT", "ETH-USDT"]),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lead_orders=orders,
    other_orders=orders,
    ratios=st.lists(st.sampled_from(["0.5", "1", "2", "3"]), min_size=0, max_size=4),
    rate=st.decimals(min_value=D("-0.0075"), max_value=D("0.0075"), places=6),
)
def test_funding_conserves_money_between_longs_shorts_and_the_venue(
    lead_orders: list[tuple[OrderDirection, int, MarginMode, str]],
    other_orders: list[tuple[OrderDirection, int, MarginMode, str]],
    ratios: list[str],
    rate: Decimal,
) -> None:
    ctx = make_ctx()
    ctx.funding = FundingConfig(mode="rate", default_rate=rate)
    lead = sim.create_user(ctx, "trader", D(10_000_000)).uid
    other = sim.create_user(ctx, "trader", D(10_000_000)).uid
    followers = []
    for ratio in ratios:
        uid = sim.create_user(ctx, "follower", D(10_000_000)).uid
        sim.follow(ctx, uid, lead, D(ratio))
        followers.append(uid)
    for uid, placed in ((lead, lead_orders), (other, other_orders)):
        for direction, volume, mode, code in placed:
            handlers.place_order(
                ctx, uid, buy(str(volume), code=code, mode=mode, direction=direction)
            )
    every = [lead, other, *followers]
    before = {u: _money(a) for u, a in _accounts(ctx, every).items()}

    summary = settle_funding(ctx, FIRST)

    assert summary is not None
    after = {u: _money(a) for u, a in _accounts(ctx, every).items()}
    moved = {u: after[u] - before[u] for u in every}
    # every account's money moved by exactly what its funding rows say it paid or received
    assert all(moved[u] == -sum(_funding_rows(ctx, u), D(0)) for u in every)
    # longs, shorts and the venue: the money of a settlement sums to zero
    assert sum(moved.values(), D(0)) + summary.venue == 0
    assert summary.received - summary.paid == sum(moved.values(), D(0))


def test_a_positive_rate_makes_longs_pay_shorts_at_the_mark_of_the_settlement() -> None:
    ctx = make_ctx()
    ctx.funding = FundingConfig(
        mode="rate", default_rate=D("0.001"), rates={"BTC-USDT": D("0.002")}
    )
    long_ = sim.create_user(ctx, "trader", D(1_000_000)).uid
    short = sim.create_user(ctx, "trader", D(1_000_000)).uid
    copier = sim.create_user(ctx, "follower", D(1_000_000)).uid
    sim.follow(ctx, copier, long_, D(2))
    handlers.place_order(ctx, long_, buy("10"))
    handlers.place_order(ctx, short, buy("10", direction=OrderDirection.SELL))
    sim.set_price(ctx, "BTC-USDT", D(61_000))
    settle_funding(ctx, FIRST)
    with ctx.reads() as reads:
        cs = ctx.spec("BTC-USDT").contract_size
        rows = {
            u: [f for f in reads.user_report(u).fills if f.offset == "funding"]
            for u in (long_, short, copier)
        }
    assert [(f.price, f.volume, f.fee, f.ts) for f in rows[long_]] == [
        (D(61_000), D(10), 10 * cs * 61_000 * D("0.002"), FIRST)
    ]
    assert [f.fee for f in rows[copier]] == [20 * cs * 61_000 * D("0.002")]
    assert [f.fee for f in rows[short]] == [-(10 * cs * 61_000 * D("0.002"))]
    assert rows[short][0].side is PositionSide.SHORT


def test_a_settlement_is_applied_once_and_a_jump_settles_each_one_in_order() -> None:
    ctx = make_ctx()
    ctx.funding = FundingConfig(mode="rate", default_rate=D("0.0001"))
    trader = sim.create_user(ctx, "trader", D(1_000_000)).uid
    handlers.place_order(ctx, trader, buy("10"))
    schedule = FundingSchedule(ctx)
    assert schedule.due(NOW) is None  # the schedule starts at the clock: nothing for the past
    now = FIRST + 2 * EIGHT_HOURS_MS + 5  # a jump over three settlements
    settled = []
    while (at := schedule.due(now)) is not None:
        schedule.settle(at)
        settled.append(at)
    assert settled == [FIRST, FIRST + EIGHT_HOURS_MS, FIRST + 2 * EIGHT_HOURS_MS]
    assert settle_funding(ctx, FIRST + EIGHT_HOURS_MS) is None  # already settled: nothing
    assert len(_funding_rows(ctx, trader)) == 3
    assert schedule.due(NOW) is None  # the clock moved back: it restarts from there


def test_funding_that_eats_an_isolated_margin_liquidates_the_position() -> None:
    ctx = make_ctx()
    ctx.funding = FundingConfig(mode="rate", default_rate=D("0.0075"))
    trader = sim.create_user(ctx, "trader", D(1_000_000)).uid
    handlers.place_order(ctx, trader, buy("10", mode=MarginMode.ISOLATED, lever=100))
    summary = None
    at = FIRST
    while summary is None or summary.liquidated == 0:
        summary = settle_funding(ctx, at)
        assert summary is not None
        at += EIGHT_HOURS_MS
        assert at < FIRST + 30 * EIGHT_HOURS_MS, "never liquidated"
    with ctx.reads() as reads:
        closed = reads.user_report(trader).closed_positions
    assert [p.close_type.name for p in closed if p.close_type is not None] == ["LIQUIDATION"]


def test_premium_mode_charges_longs_more_once_buyers_have_taken_the_asks() -> None:
    ctx = make_ctx()
    ctx.funding = FundingConfig(mode="premium")
    with ctx.reads() as reads:
        market = ctx.markets(reads.marks())["BTC-USDT"]
    calm = current_rate(ctx, market, NOW)
    assert calm == D("0.0001")  # a symmetric book: the interest part alone
    ctx.set_impact(ImpactSettings(half_life_ms=3_600_000))
    trader = sim.create_user(ctx, "trader", D(100_000_000)).uid
    # HTX's formula: the rate leaves the interest part once |premium − interest| > 0.05 %
    handlers.place_order(ctx, trader, buy("20000", lever=100))
    assert current_rate(ctx, market, NOW) > calm
    assert current_rate(ctx, market, NOW + 40 * 3_600_000) == calm  # the asks are back
