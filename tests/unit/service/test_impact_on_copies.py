"""Market impact on the order path: the lead and its copies walk one book (service layer)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from service_kit import D, buy, make_ctx

from copytrade.domain.copytrading import Follow
from copytrade.domain.enums import MarginMode, OrderDirection, SkipReason
from copytrade.domain.impact import ImpactSettings
from copytrade.domain.model import SubPosition
from copytrade.service import handlers, sim
from copytrade.service.context import ServiceContext


def _wave(
    ctx: ServiceContext, ratios: list[str], volume: str, direction: OrderDirection
) -> tuple[SubPosition, list[SubPosition], list[int]]:
    """A trader whose followers (in this order) copy one market order; lead, copies, uids."""
    trader = sim.create_user(ctx, "trader", D(10**9)).uid
    uids = []
    for ratio in ratios:
        uid = sim.create_user(ctx, "follower", D(10**9)).uid
        sim.follow(ctx, uid, trader, D(ratio))
        uids.append(uid)
    result = handlers.place_order(
        ctx, trader, buy(volume, code="ETH-USDT", direction=direction, mode=MarginMode.CROSS)
    )
    with ctx.uow() as uow:
        lead = uow.accounts.get(trader).positions[result.sub_position_id]  # type: ignore[union-attr, index]
        followers = uow.accounts.get_many(uids)
    copies = [p for uid in uids for p in followers[uid].positions.values()]
    return lead, copies, uids


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ratios=st.lists(st.sampled_from(["0.5", "1", "2", "5", "20"]), min_size=1, max_size=8),
    volume=st.integers(1, 3000),
    sell=st.booleans(),
    half_life_ms=st.integers(1, 10**7),
    shuffle=st.booleans(),
)
def test_with_impact_on_the_average_market_copy_price_is_never_better_than_the_leads(
    ratios: list[str],
    volume: int,
    sell: bool,
    half_life_ms: int,
    shuffle: bool,
) -> None:
    """Copies placed right after the lead (no latency) walk what it left."""
    ctx = make_ctx()
    ctx.set_impact(
        ImpactSettings(
            half_life_ms=half_life_ms,
            copy_order="shuffle" if shuffle else "follow_time",
            seed=7,
        )
    )
    direction = OrderDirection.SELL if sell else OrderDirection.BUY
    lead, copies, _ = _wave(ctx, ratios, str(volume), direction)
    if not copies:
        return
    total = sum((c.volume for c in copies), D(0))
    average = sum((c.open_avg_price * c.volume for c in copies), D(0)) / total
    if sell:
        assert average <= lead.open_avg_price
    else:
        assert average >= lead.open_avg_price


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ratios=st.lists(st.sampled_from(["0.5", "1", "2", "5"]), min_size=1, max_size=5),
    volume=st.integers(1, 3000),
    sell=st.booleans(),
    half_life_ms=st.integers(1, 10**6),
    latency_ms=st.integers(0, 10**6),
)
def test_whatever_the_latency_impact_never_gives_a_copy_a_better_price(
    ratios: list[str], volume: int, sell: bool, half_life_ms: int, latency_ms: int
) -> None:
    """With a latency the lead's depth comes back, so a copy smaller than the lead may beat
    the lead's average (it would on a venue too); but never the price it gets without impact.
    """
    direction = OrderDirection.SELL if sell else OrderDirection.BUY
    plain = make_ctx()
    _, without, uids = _wave(plain, ratios, str(volume), direction)
    ctx = make_ctx()
    ctx.set_impact(ImpactSettings(half_life_ms=half_life_ms, copy_latency_ms=latency_ms))
    _, with_impact, _ = _wave(ctx, ratios, str(volume), direction)
    fresh = {c.uid: c.open_avg_price for c in without}
    for copy in with_impact:
        if sell:
            assert copy.open_avg_price <= fresh[copy.uid]
        else:
            assert copy.open_avg_price >= fresh[copy.uid]
    assert len(uids) == len(ratios)


def test_impact_is_off_by_default_and_every_copy_gets_the_leads_price() -> None:
    ctx = make_ctx()
    lead, copies, _ = _wave(ctx, ["1"] * 5, "1500", OrderDirection.BUY)
    assert {c.open_avg_price for c in copies} == {lead.open_avg_price}


def test_copies_walk_the_book_the_lead_left_in_follow_order() -> None:
    ctx = make_ctx()
    ctx.set_impact(ImpactSettings(half_life_ms=60_000))
    lead, copies, uids = _wave(ctx, ["1"] * 4, "1000", OrderDirection.BUY)
    # one level holds 1000 contracts: the lead takes the first, each copy the next one up
    prices = [c.open_avg_price for c in sorted(copies, key=lambda p: uids.index(p.uid))]
    assert prices == sorted(prices)
    assert len(set(prices)) == 4
    assert prices[0] > lead.open_avg_price


def test_a_seeded_shuffle_changes_who_pays_most_but_not_what_the_wave_pays() -> None:
    def by_uid(shuffle: bool) -> dict[int, Decimal]:
        ctx = make_ctx()
        order = "shuffle" if shuffle else "follow_time"
        ctx.set_impact(ImpactSettings(half_life_ms=60_000, copy_order=order, seed=3))
        _, copies, uids = _wave(ctx, ["1"] * 6, "1000", OrderDirection.BUY)
        return {uids.index(c.uid): c.open_avg_price for c in copies}

    follow_time, shuffled = by_uid(False), by_uid(True)
    assert sorted(follow_time.values()) == sorted(shuffled.values())
    assert follow_time != shuffled
    assert by_uid(True) == shuffled  # the same seed, the same order


def test_the_slippage_guard_skips_copies_past_the_venue_limit_with_reason_slippage() -> None:
    ctx = make_ctx()
    # the lead fills at the first ask (mark + 1 bp); each level is 1 bp further
    ctx.set_impact(ImpactSettings(half_life_ms=60_000, max_slippage=D("0.00025")))
    lead, copies, uids = _wave(ctx, ["1"] * 5, "1000", OrderDirection.BUY)
    with ctx.reads() as reads:
        skips = [s for u in uids for s in reads.user_report(u).skipped_copies]
    assert len(copies) == 2  # 1 bp and 2 bp worse than the lead pass, 3 bp does not
    assert [s.reason for s in skips] == [SkipReason.SLIPPAGE] * 3
    assert all("> 0.00025" in s.detail for s in skips)
    assert all(c.open_avg_price > lead.open_avg_price for c in copies)


def test_a_copy_latency_gives_the_lead_depth_partly_back() -> None:
    def first_copy(latency_ms: int) -> Decimal:
        ctx = make_ctx()
        ctx.set_impact(ImpactSettings(half_life_ms=1000, copy_latency_ms=latency_ms))
        _, copies, _ = _wave(ctx, ["1"], "1000", OrderDirection.BUY)
        return copies[0].open_avg_price

    assert first_copy(100_000) < first_copy(0)


def test_a_followers_own_slippage_limit_skips_its_copy_and_the_stricter_limit_wins() -> None:
    ctx = make_ctx()
    ctx.set_impact(ImpactSettings(half_life_ms=60_000, max_slippage=D("0.00025")))
    trader = sim.create_user(ctx, "trader", D(10**9)).uid
    careful, relaxed, lax = (sim.create_user(ctx, "follower", D(10**9)).uid for _ in range(3))
    sim.follow_with(ctx, Follow(careful, trader, D(1), max_slippage=D("0.00015")))
    sim.follow_with(ctx, Follow(relaxed, trader, D(1)))
    sim.follow_with(ctx, Follow(lax, trader, D(1), max_slippage=D("0.01")))  # the venue's wins
    # each copy takes a whole level: careful 1 bp, relaxed 2 bp, lax 3 bp worse than the lead
    handlers.place_order(ctx, trader, buy("1000", code="ETH-USDT"))
    with ctx.reads() as reads:
        made = {u: bool(reads.account(u).positions) for u in (careful, relaxed, lax)}  # type: ignore[union-attr]
        reasons = {u: [s.reason for s in reads.user_report(u).skipped_copies] for u in made}
        kept = reads.active_follow_of(careful)
    assert made == {careful: True, relaxed: True, lax: False}
    assert reasons[lax] == [SkipReason.SLIPPAGE]
    assert kept is not None
    assert kept.max_slippage == D("0.00015")  # the store keeps it


def test_a_followers_slippage_limit_works_with_impact_off_too() -> None:
    ctx = make_ctx()  # impact off: the book is whole for every copy
    trader = sim.create_user(ctx, "trader", D(10**9)).uid
    big = sim.create_user(ctx, "follower", D(10**9)).uid
    sim.follow_with(ctx, Follow(big, trader, D(3), max_slippage=D("0.00002")))
    # the lead fills 500 at the best ask; the 1500-contract copy takes 500 at the next level,
    # a third of a basis point worse on average: past 0.2 bp
    handlers.place_order(ctx, trader, buy("500", code="ETH-USDT"))
    with ctx.reads() as reads:
        skips = reads.user_report(big).skipped_copies
    assert [s.reason for s in skips] == [SkipReason.SLIPPAGE]


def test_with_impact_on_copies_also_close_one_after_another_down_the_book() -> None:
    ctx = make_ctx()
    ctx.set_impact(ImpactSettings(half_life_ms=60_000))
    lead, _, uids = _wave(ctx, ["1"] * 3, "1000", OrderDirection.BUY)
    handlers.close_all_position(ctx, lead.uid, "ETH-USDT", MarginMode.CROSS, lead.side)
    with ctx.reads() as reads:
        (lead_closed,) = reads.user_report(lead.uid).closed_positions
        closes = [reads.user_report(u).closed_positions[0].close_avg_price for u in uids]
    # a level holds 1000: the lead sells into the best bid, each copy one level lower
    assert lead_closed.close_avg_price is not None
    assert closes == sorted(closes, reverse=True)
    assert len(set(closes)) == 3
    assert all(c is not None and c < lead_closed.close_avg_price for c in closes)


def test_depth_a_command_takes_reaches_the_shared_book_only_when_it_commits() -> None:
    from copytrade.domain.matching import Fill

    ctx = make_ctx()
    ctx.set_impact(ImpactSettings(half_life_ms=60_000))
    price = D("3000.3")
    failed = ctx.env()  # a command that takes depth, then fails (or is rerun on a conflict)
    assert failed.depth is not None
    failed.depth.take("ETH-USDT", True, [Fill(price, D(400))], failed.now)
    assert failed.depth.outstanding("ETH-USDT", True, price, failed.now) == 400
    assert ctx.depth.outstanding("ETH-USDT", True, price, failed.now) == 0
    done = ctx.env()
    assert done.depth is not None
    done.depth.take("ETH-USDT", True, [Fill(price, D(300))], done.now)
    ctx.committed(done.changes)
    assert ctx.depth.outstanding("ETH-USDT", True, price, done.now) == 300


def _resting_lead(ctx: ServiceContext, followers: int) -> tuple[int, list[int]]:
    """A trader with a resting buy of 1000 BTC at 59000 and ``followers`` copying 1:1."""
    trader = sim.create_user(ctx, "trader", D(10**9)).uid
    uids = []
    for _ in range(followers):
        uid = sim.create_user(ctx, "follower", D(10**9)).uid
        sim.follow(ctx, uid, trader, D(1))
        uids.append(uid)
    handlers.place_order(ctx, trader, buy("1000", price="59000"))
    return trader, uids


def _copy_prices(ctx: ServiceContext, uids: list[int]) -> list[D]:
    with ctx.uow() as uow:
        accounts = uow.accounts.get_many(uids)
    return [p.open_avg_price for uid in uids for p in accounts[uid].positions.values()]


def test_copies_of_a_resting_fill_walk_the_book_and_the_guard_holds_them_to_the_limit() -> None:
    # at a mark of 58994 the best ask is 58999.9 (1000 contracts a level, 5.9 apart): the
    # lead's resting buy fills as maker at 59000, the copies buy at market one level after
    # another: 58999.9 (better than the lead), 59005.8 (1 bp worse), then 2 and 3 bp worse
    ctx = make_ctx()
    ctx.set_impact(ImpactSettings(half_life_ms=60_000, max_slippage=D("0.00015")))
    _, uids = _resting_lead(ctx, 4)
    assert sim.set_price(ctx, "BTC-USDT", D(58994))["orders_filled"] == 1
    assert _copy_prices(ctx, uids) == [D("58999.9"), D("59005.8")]
    with ctx.reads() as reads:
        skipped = [k.reason for uid in uids for k in reads.user_report(uid).skipped_copies]
    assert skipped == [SkipReason.SLIPPAGE, SkipReason.SLIPPAGE]

    plain = make_ctx()  # impact off: every copy meets the fresh book
    _, uids = _resting_lead(plain, 4)
    sim.set_price(plain, "BTC-USDT", D(58994))
    assert _copy_prices(plain, uids) == [D("58999.9")] * 4


def _closed(ctx: ServiceContext, uids: list[int]) -> list[D | None]:
    with ctx.reads() as reads:
        return [p.close_avg_price for uid in uids for p in reads.user_report(uid).closed_positions]


def test_followers_own_stop_losses_walk_the_book_one_after_another() -> None:
    def run(half_life_ms: int) -> list[D | None]:
        ctx = make_ctx()
        ctx.set_impact(ImpactSettings(half_life_ms=half_life_ms))
        trader = sim.create_user(ctx, "trader", D(10**9)).uid
        uids = []
        for _ in range(3):
            uid = sim.create_user(ctx, "follower", D(10**9)).uid
            sim.follow_with(ctx, Follow(uid, trader, D(1), sl_ratio=D("0.2")))
            uids.append(uid)
        handlers.place_order(ctx, trader, buy("1000", mode=MarginMode.ISOLATED, lever=5))
        ctx.clock.now += 600_000  # type: ignore[attr-defined]  # the opens' depth is back
        assert sim.set_price(ctx, "BTC-USDT", D(57500))["copy_exits"] == 3
        return _closed(ctx, uids)

    walked, fresh = run(60_000), run(0)
    assert len(set(fresh)) == 1  # without impact every exit meets the same bid
    assert walked[0] == fresh[0]
    assert walked == sorted(walked, reverse=True)  # each sale one level further down
    assert len(set(walked)) == 3


def test_a_liquidation_funding_causes_walks_the_book_with_its_copies() -> None:
    from copytrade.domain.funding import FundingConfig
    from copytrade.service.funding import settle_funding

    def run(half_life_ms: int) -> list[D | None]:
        ctx = make_ctx()
        ctx.set_impact(ImpactSettings(half_life_ms=half_life_ms))
        trader = sim.create_user(ctx, "trader", D(10**9)).uid
        uids = []
        for _ in range(3):
            uid = sim.create_user(ctx, "follower", D(10**9)).uid
            sim.follow(ctx, uid, trader, D(1))
            uids.append(uid)
        handlers.place_order(ctx, trader, buy("1000", mode=MarginMode.ISOLATED, lever=50))
        ctx.clock.now += 600_000  # type: ignore[attr-defined]  # the opens' depth is back
        ctx.funding = FundingConfig(mode="rate", default_rate=D("0.05"))  # > 2 % margin
        summary = settle_funding(ctx, ctx.clock.now_ms())
        assert summary is not None
        assert summary.liquidated == 4  # the lead and its three copies
        return _closed(ctx, [trader, *uids])

    walked, fresh = run(60_000), run(0)
    assert len(set(fresh)) == 1
    assert walked[0] == fresh[0]  # the lead's sale meets the whole bid
    assert walked == sorted(walked, reverse=True)
    assert len(set(walked)) == 4
