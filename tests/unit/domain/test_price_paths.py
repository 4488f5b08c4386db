"""Price paths: seeded paths match their parameters, replays keep their rows, all deterministic."""

from __future__ import annotations

import itertools
import math
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from copytrade.domain.paths import (
    YEAR_MS,
    FixedPath,
    PathCursor,
    PathError,
    ReplayPath,
    StochasticPath,
    Tick,
    parse_price_csv,
)

N = 2000


def _exact_prices(path: StochasticPath, origin: Decimal, n: int = N) -> list[Decimal]:
    cursor = PathCursor(path, 0, origin, Decimal("0.01"))
    prices = [origin]
    for tick in range(1, n + 1):
        (due,) = cursor.due(tick * path.tick_ms)
        prices.append(cursor.exact)
        assert due.at_ms == tick * path.tick_ms
    return prices


def _mean_std(xs: list[float]) -> tuple[float, float]:
    mean = sum(xs) / len(xs)
    var = sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)
    return mean, math.sqrt(var)


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**63 - 1),
    vol=st.sampled_from([Decimal("0.2"), Decimal("0.8"), Decimal("1.5")]),
    drift=st.sampled_from([Decimal(0), Decimal("0.5"), Decimal("-0.3")]),
    tick_ms=st.sampled_from([1000, 60_000, 3_600_000]),
)
def test_a_gbm_path_has_the_volatility_and_drift_it_was_given(
    seed: int, vol: Decimal, drift: Decimal, tick_ms: int
) -> None:
    path = StochasticPath("gbm", seed, vol, drift, tick_ms)
    prices = _exact_prices(path, Decimal(3000))
    returns = [math.log(b / a) for a, b in itertools.pairwise(prices)]
    mean, std = _mean_std(returns)
    dt = tick_ms / YEAR_MS
    sigma = float(vol) * math.sqrt(dt)
    # five standard errors: a wrong volatility or drift fails, chance alone practically never
    assert std == pytest.approx(sigma, rel=5 / math.sqrt(2 * N))
    expected_mean = (float(drift) - float(vol) ** 2 / 2) * dt
    assert abs(mean - expected_mean) <= 5 * sigma / math.sqrt(N)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**63 - 1))
def test_a_random_walk_steps_by_its_volatility_in_units_of_the_origin(seed: int) -> None:
    path = StochasticPath("walk", seed, Decimal("0.5"), Decimal(0), 60_000)
    prices = _exact_prices(path, Decimal(100))
    steps = [float(b - a) for a, b in itertools.pairwise(prices)]
    mean, std = _mean_std(steps)
    sigma = 100 * 0.5 * math.sqrt(60_000 / YEAR_MS)
    assert std == pytest.approx(sigma, rel=5 / math.sqrt(2 * N))
    assert abs(mean) <= 5 * sigma / math.sqrt(N)


@given(seed=st.integers(min_value=0, max_value=2**63 - 1))
def test_the_same_seed_gives_the_same_ticks_however_they_are_collected(seed: int) -> None:
    path = StochasticPath("gbm", seed, Decimal("0.8"), tick_ms=1000)
    at_once = PathCursor(path, 5_000, Decimal(60000), Decimal("0.1")).due(5_000 + 50_000)
    stepwise = PathCursor(path, 5_000, Decimal(60000), Decimal("0.1"))
    collected = [t for now in range(5_000, 55_001, 7_000) for t in stepwise.due(now)]
    collected += stepwise.due(55_000)
    assert at_once == collected
    assert [t.at_ms for t in at_once] == list(range(6_000, 55_001, 1000))
    other = PathCursor(
        StochasticPath("gbm", seed + 1, Decimal("0.8")), 5_000, Decimal(60000), Decimal("0.1")
    )
    assert other.due(55_000) != at_once


def test_ticks_are_rounded_to_the_contract_tick_and_never_below_one_tick() -> None:
    path = StochasticPath("walk", 7, Decimal(50), tick_ms=3_600_000)
    cursor = PathCursor(path, 0, Decimal("0.5"), Decimal("0.01"))
    ticks = cursor.due(1000 * 3_600_000)
    assert len(ticks) == 1000
    assert all(t.price >= Decimal("0.01") and t.price % Decimal("0.01") == 0 for t in ticks)
    assert min(t.price for t in ticks) == Decimal("0.01")  # such a walk sits on the floor


def test_a_fixed_path_never_ticks() -> None:
    assert PathCursor(FixedPath(), 0, Decimal(1), Decimal("0.1")).due(10**12) == []


def test_a_csv_replay_starts_at_the_path_start_and_ends() -> None:
    replay = parse_price_csv("timestamp,price\n1700000000000,3000\n1700000001000,3010.5\n")
    cursor = PathCursor(replay, 50_000, Decimal(1), Decimal("0.1"))
    assert cursor.due(50_999) == [Tick(50_000, Decimal(3000))]
    assert [(t.at_ms, t.price) for t in cursor.due(10**9)] == [(51_000, Decimal("3010.5"))]
    assert cursor.next_at() is None


def test_ohlc_bars_become_open_low_high_close_or_open_high_low_close() -> None:
    replay = parse_price_csv("0,100,110,90,105\n60000,105,106,95,96\n")
    assert replay.points == (
        (0, 100),
        (15_000, 90),
        (30_000, 110),
        (45_000, 105),  # a rising bar: open, low, high, close
        (60_000, 105),
        (75_000, 106),
        (90_000, 95),
        (105_000, 96),  # a falling bar: open, high, low, close
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "no rows"),
        ("0,1,2\n", "expected timestamp"),
        ("0,abc\n", "not a number"),
        ("0,1\nx,2\n", "not an integer"),
        ("1000,1\n0,2\n", "go back"),
        ("0,-1\n", "positive"),
        ("0,NaN\n", "not a number"),
    ],
)
def test_a_bad_csv_is_refused_with_the_reason(text: str, problem: str) -> None:
    with pytest.raises(PathError, match=problem):
        parse_price_csv(text)


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(PathError):
        StochasticPath("gbm", 1, Decimal("0.5"), tick_ms=0)
    with pytest.raises(PathError):
        StochasticPath("gbm", 1, Decimal("-0.5"))
    with pytest.raises(PathError):
        ReplayPath(())
