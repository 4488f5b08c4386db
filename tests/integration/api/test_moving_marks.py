"""Price paths on a live server: marks that move with the simulation clock, tick by tick."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any

import pytest

from copytrade.domain.paths import PathCursor, StochasticPath
from copytrade.testing.server import LiveServer

PLACE = "/copytrading/trader/place_order"
T0 = 1_800_000_000_000


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    server_on: Callable[..., AbstractContextManager[LiveServer]],
) -> Iterator[LiveServer]:
    # a server of its own: a moving market must not reach other modules' tests
    with server_on(request.param, tmp_path_factory) as server:
        yield server


@pytest.fixture(autouse=True)
def fresh(server: LiveServer) -> None:
    server.admin("/_sim/reset")
    server.admin("/_sim/clock", {"now_ms": T0})


def _mark(server: LiveServer, code: str) -> Decimal:
    return Decimal(server.admin_get("/_sim/markets")[code]["mark_price"])


def _advance(server: LiveServer, ms: int) -> None:
    server.admin("/_sim/clock", {"advance_ms": ms})


def test_a_seeded_path_moves_the_mark_by_every_tick_the_clock_passes(server: LiveServer) -> None:
    body = {"kind": "gbm", "seed": 42, "volatility": "0.9", "drift": "0.1", "tick_ms": 1000}
    started = server.admin("/_sim/markets/ETH-USDT/path", body)
    assert started["start_ms"] == T0
    assert (started["origin"], started["next_tick_ms"]) == ("3000", T0 + 1000)
    assert _mark(server, "ETH-USDT") == 3000  # the clock is frozen: nothing is due yet

    _advance(server, 10_500)
    expected = PathCursor(
        StochasticPath("gbm", 42, Decimal("0.9"), Decimal("0.1"), 1000),
        T0,
        Decimal(3000),
        Decimal("0.01"),
    ).due(T0 + 10_500)
    assert len(expected) == 10
    assert _mark(server, "ETH-USDT") == expected[-1].price
    shown = server.admin_get("/_sim/markets/ETH-USDT/path")
    assert (shown["kind"], shown["seed"], shown["volatility"]) == ("gbm", 42, "0.9")
    assert (shown["ticks_applied"], shown["next_tick_ms"]) == (10, T0 + 11_000)
    assert _mark(server, "BTC-USDT") == 60500  # other markets keep still


def test_a_take_profit_fires_on_a_tick_inside_a_clock_jump_not_only_at_its_end(
    server: LiveServer,
) -> None:
    trader = server.create_user("trader", balance="100000")
    order = {
        "contract_code": "ETH-USDT",
        "amount": "5",
        "margin_mode": "isolated",
        "order_direction": 1,
        "lever": 10,
        "order_price_type": 17,
        "tp_trigger_price": "3100",
    }
    assert server.signed(trader, "POST", PLACE, body=order).json()["code"] == 200
    csv = "t,price\n0,3000\n60000,3050\n120000,3200\n180000,3040\n240000,3000\n"
    reply = server.admin("/_sim/markets/ETH-USDT/path", {"kind": "replay", "csv": csv})
    assert (reply["rows"], reply["ticks_applied"]) == (5, 1)  # the first row is due at once
    assert server.user(trader["uid"])["positions"] != []

    _advance(server, 240_000)  # 3050, 3200 (take profit), 3040, 3000
    view = server.user(trader["uid"])
    assert view["positions"] == []
    (closed,) = view["closed_positions"]
    assert closed["close_type"] == 3  # take profit
    assert Decimal(closed["close_avg_price"]) > 3150  # closed near the 3200 tick
    assert _mark(server, "ETH-USDT") == 3000
    assert server.admin_get("/_sim/markets/ETH-USDT/path")["next_tick_ms"] is None


def test_a_liquidation_and_a_resting_fill_happen_on_a_dip_inside_a_jump_that_ends_higher(
    server: LiveServer,
) -> None:
    """The path dips for one tick and recovers: only a tick-by-tick jump meets the dip.

    At the jump's end the mark is back at 3000, where neither the 50x long is past its
    maintenance margin nor the 2900 bid is crossed: both must have happened on the way.
    """
    degen = server.create_user("trader", balance="100000")
    bidder = server.create_user("trader", balance="100000")
    copier = server.create_user("follower", balance="100000")
    server.follow(copier["uid"], degen["uid"], "1")
    long_50x = {
        "contract_code": "ETH-USDT",
        "amount": "100",
        "margin_mode": "isolated",
        "order_direction": 1,
        "lever": 50,
        "order_price_type": 17,
    }
    assert server.signed(degen, "POST", PLACE, body=long_50x).json()["code"] == 200
    bid = {**long_50x, "lever": 10, "order_price_type": 1, "price": "2900"}
    assert server.signed(bidder, "POST", PLACE, body=bid).json()["code"] == 200
    assert server.user(bidder["uid"])["positions"] == []  # it rests below the book
    csv = "t,price\n0,3000\n60000,3010\n120000,2850\n180000,3000\n240000,3000\n"
    server.admin("/_sim/markets/ETH-USDT/path", {"kind": "replay", "csv": csv})

    _advance(server, 240_000)

    assert _mark(server, "ETH-USDT") == 3000
    for creds in (degen, copier):
        view = server.user(creds["uid"])
        assert view["positions"] == []
        (closed,) = view["closed_positions"]
        assert closed["close_type"] == 5  # liquidation
        assert closed["close_time"] == T0 + 120_000  # at the dip, not at the jump's end
    (filled,) = server.user(bidder["uid"])["positions"]
    assert Decimal(filled["volume"]) == 100
    assert Decimal(filled["open_avg_price"]) == 2900  # as maker at its limit, on the dip
    (fill,) = [f for f in server.user(bidder["uid"])["fills"] if f["offset"] == "open"]
    assert fill["ts"] == T0 + 120_000


def test_with_the_clock_running_the_mark_moves_by_itself(server: LiveServer) -> None:
    server.admin("/_sim/clock", {"now_ms": None})  # resume running
    body = {"kind": "walk", "seed": 3, "volatility": "50", "tick_ms": 20}
    server.admin("/_sim/markets/DOT-USDT/path", body)
    deadline = time.monotonic() + 10
    while _mark(server, "DOT-USDT") == 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _mark(server, "DOT-USDT") != 10
    applied = server.admin_get("/_sim/markets/DOT-USDT/path")["ticks_applied"]
    time.sleep(0.3)
    assert server.admin_get("/_sim/markets/DOT-USDT/path")["ticks_applied"] > applied


def test_fixed_stops_a_path_and_reset_forgets_one(server: LiveServer) -> None:
    body = {"kind": "gbm", "seed": 1, "volatility": "1", "tick_ms": 1000}
    server.admin("/_sim/markets/BTC-USDT/path", body)
    assert server.admin("/_sim/markets/BTC-USDT/path", {"kind": "fixed"})["kind"] == "fixed"
    _advance(server, 5000)
    assert _mark(server, "BTC-USDT") == 60500
    server.admin("/_sim/markets/BTC-USDT/path", body)
    server.admin("/_sim/reset")
    assert server.admin_get("/_sim/markets/BTC-USDT/path")["kind"] == "fixed"


def test_a_mark_set_by_hand_is_where_a_random_path_walks_on_from(server: LiveServer) -> None:
    body = {"kind": "gbm", "seed": 9, "volatility": "0.5", "tick_ms": 1000}
    server.admin("/_sim/markets/ETH-USDT/path", body)
    server.set_price("ETH-USDT", "1500")  # a price shock
    _advance(server, 1000)
    assert abs(_mark(server, "ETH-USDT") - 1500) < 30


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        ({"kind": "replay"}, None, "csv is given with kind replay"),
        ({"kind": "gbm", "csv": "0,1"}, None, "csv is given with kind replay"),
        ({"kind": "replay", "csv": "0,1\n-5,2\n"}, "csv", "go back"),
        ({"kind": "replay", "csv": "0,abc\n"}, "csv", "not a number"),
        ({"kind": "gbm", "tick_ms": 0}, "tick_ms", ""),
        ({"kind": "gbm", "volatility": "-1"}, "volatility", ""),
        ({"kind": "brownian"}, "kind", ""),
        ({"kind": "gbm", "speed": 2}, "speed", ""),
    ],
)
def test_a_bad_path_is_refused_with_the_field_at_fault(
    server: LiveServer, body: dict[str, Any], field: str | None, problem: str
) -> None:
    reply = server.http.post("/_sim/markets/ETH-USDT/path", json=body)
    assert reply.status_code == 400, reply.text
    assert reply.json()["field"] == field
    assert problem in reply.json()["error"]


def test_an_unknown_market_has_no_path(server: LiveServer) -> None:
    reply = server.http.post("/_sim/markets/XRP-USDT/path", json={"kind": "fixed"})
    assert (reply.status_code, reply.json()["field"]) == (404, "contract_code")
    assert server.http.get("/_sim/markets/XRP-USDT/path").status_code == 404


def _commits(server: LiveServer) -> float:
    """Return how many store commits the server made (``/metrics``)."""
    for line in server.http.get("/metrics").text.splitlines():
        if line.startswith("copytrade_commit_seconds_count"):
            return float(line.split()[-1])
    raise AssertionError("no copytrade_commit_seconds_count in /metrics")


def test_a_long_jump_over_a_market_nobody_holds_lands_on_the_paths_mark_at_once(
    server: LiveServer, request: pytest.FixtureRequest
) -> None:
    body = {"kind": "gbm", "seed": 8, "volatility": "0.7", "tick_ms": 1000}
    server.admin("/_sim/markets/BTC-USDT/path", body)
    commits = _commits(server)
    _advance(server, 86_400_000)  # a day of one-second ticks
    if request.node.callspec.params["server"] == "sqlite":
        # at once: the ticks nobody holds a position on are not applied one by one (a
        # commit each). Counted, not timed: a busy host makes a wall-clock bound flaky.
        # PostgreSQL commits on each command's thread and reports no commit count.
        assert _commits(server) - commits < 20
    expected = PathCursor(
        StochasticPath("gbm", 8, Decimal("0.7"), tick_ms=1000), T0, Decimal(60500), Decimal("0.1")
    ).due(T0 + 86_400_000)
    assert _mark(server, "BTC-USDT") == expected[-1].price
    assert server.admin_get("/_sim/markets/BTC-USDT/path")["ticks_applied"] == 86_400
