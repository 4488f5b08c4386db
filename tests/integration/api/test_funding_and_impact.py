"""Funding and market impact on a live server, on each store: admin API, HTX replies, views."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any

import pytest

from copytrade.testing.server import LiveServer

PLACE = "/copytrading/trader/place_order"
T0 = 1_800_000_000_000  # a multiple of 8 h: a settlement time
HOUR = 3_600_000


@pytest.fixture(
    scope="module",
    params=["sqlite", "memory", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    server_on: Callable[..., AbstractContextManager[LiveServer]],
) -> Iterator[LiveServer]:
    if request.param == "memory":
        with LiveServer("memory://", demo_seed=False) as live:
            yield live
        return
    with server_on(request.param, tmp_path_factory) as live:
        yield live


@pytest.fixture(autouse=True)
def fresh(server: LiveServer) -> None:
    server.admin("/_sim/reset")  # also back to the configured funding and impact: both off
    server.admin("/_sim/clock", {"now_ms": T0})
    assert server.admin_get("/_sim/funding")["mode"] == "off"
    assert server.admin_get("/_sim/impact")["enabled"] is False


def _order(amount: str, direction: int = 1) -> dict[str, Any]:
    return {
        "contract_code": "ETH-USDT",
        "amount": amount,
        "margin_mode": "cross",
        "order_direction": direction,
        "lever": 10,
        "order_price_type": 17,
    }


def test_a_clock_jump_settles_each_settlement_it_passes_at_the_mark_of_its_time(
    server: LiveServer,
) -> None:
    shown = server.admin("/_sim/funding", {"mode": "rate", "rates": {"ETH-USDT": "0.001"}})
    assert (shown["mode"], shown["interval_hours"], shown["rates"]["ETH-USDT"]) == (
        "rate",
        8,
        "0.001",
    )
    trader = server.create_user("trader", balance="100000")
    follower = server.create_user("follower", balance="100000")
    server.follow(follower["uid"], trader["uid"], "2")
    assert server.signed(trader, "POST", PLACE, body=_order("10")).json()["code"] == 200
    # the mark is 3100 from 7 h on and 3200 from 9 h on: 08:00 settles at 3100, 16:00 at 3200
    csv = f"timestamp,price\n0,3000\n{7 * HOUR},3100\n{9 * HOUR},3200\n"
    server.admin("/_sim/markets/ETH-USDT/path", {"kind": "replay", "csv": csv})

    server.admin("/_sim/clock", {"advance_ms": 17 * HOUR})

    for creds, volume in ((trader, 10), (follower, 20)):
        rows = [f for f in server.user(creds["uid"])["fills"] if f["offset"] == "funding"]
        assert [(r["ts"], Decimal(r["price"]), Decimal(r["fee"])) for r in rows] == [
            (T0 + 8 * HOUR, 3100, Decimal("0.01") * volume * 3100 * Decimal("0.001")),
            (T0 + 16 * HOUR, 3200, Decimal("0.01") * volume * 3200 * Decimal("0.001")),
        ]
        assert {r["liquidity"] for r in rows} == {"none"}
    # HTX counts funding in a trader's total PnL (spec §7.11)
    detail = server.signed(trader, "GET", "/copytrading/trader/order_total_detail").json()
    assert Decimal(detail["data"]["total_pl"]) == -(Decimal("0.31") + Decimal("0.32"))
    # and v6's totalPnl, the same figure of the current API generation
    stats = server.signed(
        trader, "GET", "/api/v6/copyTrading/trader/statistics", params={"instType": "PERP"}
    ).json()
    (row,) = stats["data"]
    assert Decimal(row["totalPnl"]) == -(Decimal("0.31") + Decimal("0.32"))
    state = server.admin_get("/_sim/funding")
    assert state["last_settled_ms"] == T0 + 16 * HOUR
    assert state["next_settlement_ms"] == T0 + 24 * HOUR
    assert [s["at_ms"] for s in state["settlements"]] == [T0 + 8 * HOUR, T0 + 16 * HOUR]
    assert all(Decimal(s["venue"]) == Decimal(s["paid"]) for s in state["settlements"])

    # ccxt's fetch_funding_rate: the configured rate and the next two settlement times
    (rate,) = server.http.get("/v5/market/funding_rate?contract_code=ETH-USDT").json()["data"]
    assert rate["funding_rate"] == "0.001"
    assert (int(rate["funding_time"]), int(rate["next_funding_time"])) == (
        T0 + 24 * HOUR,
        T0 + 32 * HOUR,
    )
    # the match results list trades only
    params = {"contract_code": "ETH-USDT"}
    trades = server.signed(trader, "GET", "/v5/trade/order/details", params=params).json()
    assert [t["trade_volume"] for t in trades["data"]] == ["10"]  # the open; funding is no trade


def test_funding_settings_are_checked_and_a_four_hour_interval_settles_twice_as_often(
    server: LiveServer,
) -> None:
    bad = server.http.post("/_sim/funding", json={"rates": {"XRP-USDT": "0.001"}})
    assert (bad.status_code, bad.json()["field"]) == (400, "rates")
    too_high = server.http.post("/_sim/funding", json={"default_rate": "0.5"})
    assert too_high.status_code == 400
    server.admin("/_sim/funding", {"mode": "rate", "interval_hours": 4, "default_rate": "-0.0002"})
    short = server.create_user("trader", balance="100000")
    assert server.signed(short, "POST", PLACE, body=_order("5", direction=2)).json()["code"] == 200
    server.admin("/_sim/clock", {"advance_ms": 8 * HOUR + 1})
    rows = [f for f in server.user(short["uid"])["fills"] if f["offset"] == "funding"]
    # a negative rate: the short pays, v x cs x mark x |rate| each time
    assert [Decimal(r["fee"]) for r in rows] == [Decimal("0.03")] * 2


def test_with_impact_on_copies_walk_the_book_and_the_guard_skips_past_its_limit(
    server: LiveServer,
) -> None:
    shown = server.admin("/_sim/impact", {"half_life_ms": 60_000, "max_slippage": "0.0002"})
    assert shown["enabled"] is True
    trader = server.create_user("trader", balance="1000000")
    followers = [server.create_user("follower", balance="1000000") for _ in range(4)]
    for f in followers:
        server.follow(f["uid"], trader["uid"], "1")
    # a level holds 1000 contracts, one basis point apart: the lead takes the best ask, the
    # copies the next levels; 1 and 2 bp worse than the lead pass the 2 bp guard, 3 bp do not
    placed = server.signed(trader, "POST", PLACE, body=_order("1000")).json()
    assert placed["code"] == 200
    report = server.admin_get(f"/_sim/traders/{trader['uid']}/slippage")
    (lead,) = report["positions"]
    assert lead["copies"] == 2
    assert Decimal(lead["best_bps"]) > 0
    assert Decimal(lead["worst_bps"]) <= 2
    skipped = [k for f in followers for k in server.user(f["uid"])["skipped_copies"]]
    assert [k["reason"] for k in skipped] == ["slippage", "slippage"]
    # the dashboard's slippage panel shows the same copies
    (panel,) = server.admin_get("/_sim/ui/state.json")["slippage"]
    assert (panel["lead_uid"], panel["copies"]) == (trader["uid"], 2)
    assert panel["worst_bps"] == lead["worst_bps"]
    assert panel["distribution"] == lead["distribution"]
    # two copies, 1 and 2 bp worse than the lead (nearest rank: the 1st, the 2nd, the 2nd)
    assert {k: Decimal(v) for k, v in lead["percentiles"].items()} == {
        "p50": Decimal(lead["best_bps"]),
        "p90": Decimal(lead["worst_bps"]),
        "p99": Decimal(lead["worst_bps"]),
    }
    assert panel["percentiles"] == lead["percentiles"]
    assert "data-section='slippage'" in server.http.get("/_sim/ui").text

    server.admin("/_sim/impact", {"half_life_ms": 0})  # off: the book is whole again at once
    assert server.signed(trader, "POST", PLACE, body=_order("10")).json()["code"] == 200
    report = server.admin_get(f"/_sim/traders/{trader['uid']}/slippage")
    assert report["positions"][-1]["worst_bps"] in ("0", "0.00")


def test_a_followers_max_slippage_is_kept_changed_and_applied_on_every_store(
    server: LiveServer,
) -> None:
    server.admin("/_sim/impact", {"half_life_ms": 60_000})
    trader = server.create_user("trader", balance="1000000")
    first = server.create_user("follower", balance="1000000")
    second = server.create_user("follower", balance="1000000")
    made = server.follow(first["uid"], trader["uid"], "1", max_slippage="0.5")
    assert made["max_slippage"] == "0.5"
    server.follow(second["uid"], trader["uid"], "1", max_slippage="0.00015")
    changed = server.http.patch(
        f"/_sim/users/{first['uid']}/follow", json={"max_slippage": "0.00005"}
    ).json()
    assert changed["max_slippage"] == "0.00005"
    bad = server.http.post(
        "/_sim/follow",
        json={"follower_uid": first["uid"], "trader_uid": trader["uid"], "max_slippage": "2"},
    )
    assert (bad.status_code, bad.json()["field"]) == (400, "max_slippage")
    # a level a copy: the first copy is 1 bp worse than the lead (past 0.5 bp), the second
    # copy then meets that same level (1 bp, within 1.5 bp)
    assert server.signed(trader, "POST", PLACE, body=_order("1000")).json()["code"] == 200
    first_view, second_view = server.user(first["uid"]), server.user(second["uid"])
    assert [k["reason"] for k in first_view["skipped_copies"]] == ["slippage"]
    assert first_view["positions"] == []
    assert len(second_view["positions"]) == 1
    assert server.admin_get(f"/_sim/users/{second['uid']}/follow")["max_slippage"] == "0.00015"


def test_the_sdks_admin_client_reads_and_changes_funding_and_impact(server: LiveServer) -> None:
    from copytrade.client.admin import AdminClient

    with AdminClient(server.base_url) as admin:
        assert admin.funding()["mode"] == "off"
        changed = admin.funding(mode="rate", rates={"ETH-USDT": Decimal("0.0002")})
        assert (changed["mode"], changed["rates"]["ETH-USDT"]) == ("rate", "0.0002")
        assert admin.impact(half_life_ms=5000, max_slippage=Decimal("0.01"))["enabled"] is True
        assert admin.impact()["max_slippage"] == "0.01"
        assert admin.impact(max_slippage=None)["max_slippage"] is None
