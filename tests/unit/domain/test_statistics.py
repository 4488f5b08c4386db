"""order_total_detail and total_profit_history figures against the spec (§6.15, §6.17)."""

from __future__ import annotations

import itertools
from dataclasses import replace

from domain_builders import D, add_position

from copytrade.domain.enums import MarginMode, PositionSide
from copytrade.domain.instruments import DEFAULT_CONTRACTS, copy_contracts
from copytrade.domain.model import Account, ProfitShare
from copytrade.domain.statistics import (
    DAY_MS,
    HOUR_MS,
    ClosedLead,
    closed_lead,
    daily_series,
    hourly_series,
    profit_totals,
    trader_stats,
    win_rate,
)
from copytrade.protocol.decimals import fmt_trunc18

# The running example's two closes (spec §6.12, §7.9): IM 120 each.
CLOSE_300002 = ClosedLead(1719306000000, D("4.17706"), D(120))
CLOSE_300001 = ClosedLead(1719307800000, D("8.164234"), D(120))
NOW = 1719309000000  # after both closes, inside the hour ending 1719309600000


def test_the_spec_example_gives_total_pl_win_rate_and_follower_counts() -> None:
    stats = trader_stats([CLOSE_300001, CLOSE_300002], 3, 2, NOW)

    assert (stats.total_follower_num, stats.current_follower_num) == (3, 2)
    assert stats.total_pl == D("12.341294")
    assert stats.win_rate == 1


def test_hourly_points_end_at_the_current_hour_and_count_closes_up_to_their_ts() -> None:
    points = hourly_series([CLOSE_300002, CLOSE_300001], NOW)

    assert len(points) == 24
    assert [p.ts for p in points[-2:]] == [1719306000000, 1719309600000]
    assert all(b.ts - a.ts == HOUR_MS for a, b in itertools.pairwise(points))
    by_ts = {p.ts: (str(p.amount), fmt_trunc18(p.rate)) for p in points}
    assert by_ts[1719241200000] == ("0", "0")
    assert by_ts[1719306000000] == ("4.17706", "0.034808833333333333")
    assert by_ts[1719309600000] == ("12.341294", "0.051422058333333333")


def test_daily_points_are_midnights_utc8_and_the_last_counts_today_so_far() -> None:
    points = daily_series([CLOSE_300002, CLOSE_300001], NOW)

    assert len(points) == 90
    assert (points[0].ts, points[-1].ts) == (1711555200000, 1719244800000)
    assert all((p.ts + 8 * HOUR_MS) % DAY_MS == 0 for p in points)
    assert (points[0].amount, points[0].rate) == (0, 0)
    assert fmt_trunc18(points[-1].rate) == "0.051422058333333333"
    assert points[-1].amount == D("12.341294")


def test_each_series_counts_only_closes_inside_its_own_window_cumulatively() -> None:
    yesterday = ClosedLead(NOW - 30 * HOUR_MS, D(-5), D(50))
    ancient = ClosedLead(NOW - 100 * DAY_MS, D(7), D(10))

    stats = trader_stats([ancient, yesterday, CLOSE_300002], 1, 1, NOW)

    assert stats.last_24_hours_profit[-1].amount == D("4.17706")
    assert stats.last_90_days_profit[-2].amount == -5
    assert stats.last_90_days_profit[-1].amount == D("-0.82294")
    assert fmt_trunc18(stats.last_90_days_profit[-1].rate) == "-0.004840823529411764"
    assert stats.total_pl == D("6.17706")
    assert stats.win_rate == D("0.6666")


def test_total_pl_is_the_sum_of_every_closed_lead() -> None:
    stats = trader_stats([ClosedLead(NOW - HOUR_MS, D(-5), D(50)), CLOSE_300002], 1, 1, NOW)
    assert stats.total_pl == D("-0.82294")
    assert stats.win_rate == D("0.5")


def test_win_rate_is_truncated_to_4_decimals() -> None:
    closes = [ClosedLead(1, D(1), D(1)), ClosedLead(2, D(-1), D(1)), ClosedLead(3, D(0), D(1))]
    assert win_rate(closes) == D("0.3333")  # a zero profit is not a win
    assert win_rate([]) == 0


def test_a_closed_sub_position_gives_its_profit_and_initial_margin() -> None:
    account = Account(1, D(0))
    position = add_position(
        account, 300002, "BTC-USDT", MarginMode.ISOLATED, PositionSide.LONG,
        lever=5, volume="10", open_price="60000",
    )  # fmt: skip
    position.is_open, position.close_time, position.profit = False, 1719306000000, D("4.17706")

    assert closed_lead(position, D("0.001")) == CLOSE_300002


def test_profit_totals_sum_the_shares_per_currency() -> None:
    shares = [
        ProfitShare(5001, 1, 20000002, 300002, D("0.835412"), "USDT", 1719306000000),
        ProfitShare(5002, 1, 20000002, 300001, D("1.6328468"), "USDT", 1719307800000),
    ]
    assert profit_totals(shares) == {"USDT": D("2.4682588")}
    assert profit_totals([]) == {}


def test_query_contract_lists_only_copy_enabled_contracts_in_configured_order() -> None:
    specs = [*DEFAULT_CONTRACTS[:2], replace(DEFAULT_CONTRACTS[2], copy_enabled=False)]
    assert copy_contracts(DEFAULT_CONTRACTS) == ("BTC-USDT", "ETH-USDT", "DOT-USDT")
    assert copy_contracts(specs) == ("BTC-USDT", "ETH-USDT")
