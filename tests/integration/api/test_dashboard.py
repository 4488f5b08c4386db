"""The dashboard's data and its token rule, over HTTP (the browser test is in tests/e2e)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import httpx

from copytrade.testing.server import LiveServer


def test_the_state_shows_each_copy_beside_its_lead_and_each_skip(
    live_server: LiveServer,
) -> None:
    trader = live_server.create_user("trader", balance="50000")
    follower = live_server.create_user("follower", balance="20000")
    poor = live_server.create_user("follower", balance="1")
    live_server.follow(follower["uid"], trader["uid"], "0.5")
    live_server.follow(poor["uid"], trader["uid"])
    opened = live_server.signed(
        trader,
        "POST",
        "/copytrading/trader/place_order",
        body={
            "contract_code": "ETH-USDT",
            "amount": "4",
            "margin_mode": "cross",
            "order_price_type": 17,
            "order_direction": 2,
            "lever": 5,
        },
    ).json()
    assert opened["code"] == 200
    state = live_server.admin_get("/_sim/ui/state.json")
    (copy,) = [c for c in state["copies"] if c["follower_uid"] == follower["uid"]]
    assert copy["lead_uid"] == trader["uid"]
    assert copy["side"] == "short"
    assert Decimal(copy["volume"]) == 2
    assert Decimal(copy["lead_volume"]) == 4
    assert Decimal(copy["follower_price"]) > 0
    assert Decimal(copy["lead_price"]) > 0
    (skip,) = [s for s in state["skips"] if s["follower_uid"] == poor["uid"]]
    assert skip["reason"] == "insufficient_margin"
    (row,) = [t for t in state["traders"] if t["uid"] == trader["uid"]]
    assert row["followers"] == 2
    assert row["first_followers"] == [follower["uid"], poor["uid"]]
    assert row["open_positions"] == 1
    assert "ETH-USDT" in state["markets"]
    page = live_server.http.get("/_sim/ui")
    assert page.status_code == 200
    assert f"<td>{follower['uid']}</td>" in page.text


def test_with_a_token_the_dashboard_needs_it_and_its_cookie_opens_only_the_dashboard(
    tmp_path: Path,
) -> None:
    token = "ui-" + "ef" * 16
    with LiveServer(db_path=tmp_path / "d.db", demo_seed=False, admin_token=token) as server:
        http = server.http
        refused = http.get("/_sim/ui")
        assert refused.status_code == 401
        assert "Admin token required" in refused.text
        assert http.get("/_sim/ui/state.json").status_code == 401
        bearer = http.get("/_sim/ui/live", headers={"Authorization": f"Bearer {token}"})
        assert bearer.status_code == 200
        wrong = http.post("/_sim/ui/login", content="token=nope")
        assert wrong.status_code == 401
        login = http.post(
            "/_sim/ui/login",
            content=f"token={token}",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert login.status_code == 303
        cookie = login.cookies["copytrade_ui"]
        assert token not in cookie
        assert "httponly" in login.headers["set-cookie"].lower()
        with httpx.Client(base_url=server.base_url, cookies={"copytrade_ui": cookie}) as browser:
            assert browser.get("/_sim/ui/state.json").status_code == 200
            # the dashboard cookie is no admin credential
            assert browser.post("/_sim/users", json={}).status_code == 401


def test_a_chart_shows_where_a_move_started_when_nobody_had_looked_yet(tmp_path: Path) -> None:
    with LiveServer(db_path=tmp_path / "c.db", demo_seed=False) as server:
        start = server.admin_get("/_sim/markets")["BTC-USDT"]["mark_price"]
        server.set_price("BTC-USDT", "60900")  # before any dashboard read
        history = server.admin_get("/_sim/ui/state.json")["markets"]["BTC-USDT"]["history"]
        assert [price for _, price in history] == [start, "60900"]
        server.admin("/_sim/reset", {})
        server.set_price("BTC-USDT", "61000")
        history = server.admin_get("/_sim/ui/state.json")["markets"]["BTC-USDT"]["history"]
        assert [price for _, price in history] == [start, "61000"]


def test_the_pages_tell_the_browser_not_to_ask_for_a_favicon(live_server: LiveServer) -> None:
    page = live_server.http.get("/_sim/ui").text
    assert "<link rel='icon' href='data:,'>" in page
