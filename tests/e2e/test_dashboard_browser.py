"""The dashboard in a real headless Chromium: it shows copies as they happen (issue 15).

Needs Debian's ``chromium`` (``make browser`` installs it as root) and Playwright for Python,
which drives that browser (``playwright install`` is never run: it downloads a browser build).
Without Chromium the test is skipped, and fails under ``COPYTRADE_REQUIRE_SERVICES=1`` (CI).
The screenshot lands in ``test-artifacts/`` (gitignored).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from copytrade.testing.server import LiveServer

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("COPYTRADE_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _unavailable(reason: str) -> None:
    if os.environ.get("COPYTRADE_REQUIRE_SERVICES") == "1":
        pytest.fail(reason + " (COPYTRADE_REQUIRE_SERVICES=1 makes this a failure)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Debian Chromium driven by Playwright."""
    if not Path(CHROMIUM).exists():
        _unavailable(f"headless Chromium not found at {CHROMIUM}: run `make browser` as root")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed: run `make install-dev`")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def _order(server: LiveServer, trader: dict[str, Any], amount: str) -> None:
    reply = server.signed(
        trader,
        "POST",
        "/copytrading/trader/place_order",
        body={
            "contract_code": "BTC-USDT",
            "amount": amount,
            "margin_mode": "cross",
            "order_price_type": 17,
            "order_direction": 1,
            "lever": 10,
        },
    ).json()
    assert reply["code"] == 200, reply


def test_the_dashboard_shows_copies_and_skips_as_they_happen(browser: Any, tmp_path: Path) -> None:
    with LiveServer(db_path=tmp_path / "ui.db", demo_seed=False) as server:
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        troubles: list[str] = []  # what a newcomer's browser console would show
        page.on("console", lambda m: troubles.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: troubles.append(str(e)))
        page.on("requestfailed", lambda r: troubles.append(f"failed: {r.url}"))
        page.on(
            "response",
            lambda r: troubles.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )
        page.goto(f"{server.base_url}/_sim/ui")
        assert page.title() == "copytrade sandbox"
        assert "none yet" in page.inner_text("[data-section=copies]")

        trader = server.create_user("trader", balance="50000")
        followers = [server.create_user("follower", balance="20000") for _ in range(2)]
        poor = server.create_user("follower", balance="1")  # cannot afford the copy
        for f, ratio in zip([*followers, poor], ("1", "0.5", "1"), strict=True):
            server.follow(f["uid"], trader["uid"], ratio)
        _order(server, trader, "10")
        server.set_price("BTC-USDT", "60700")

        # no reload: the page's own polling brings the copies in
        page.wait_for_selector("[data-section=copies] tr.copy >> nth=1", timeout=15_000)
        copies = page.inner_text("[data-section=copies]")
        for f in followers:
            assert str(f["uid"]) in copies
        assert str(trader["uid"]) in copies
        page.wait_for_selector("[data-section=skips] tr.skip", timeout=15_000)
        skips = page.inner_text("[data-section=skips]")
        assert str(poor["uid"]) in skips
        page.wait_for_selector("[data-section=slippage] tr.slip", timeout=15_000)
        slippage = page.inner_text("[data-section=slippage]")
        assert str(trader["uid"]) in slippage
        assert "<= 0" in slippage  # impact off: both copies at the lead's price
        traders = page.inner_text("[data-section=traders]")
        assert str(trader["uid"]) in traders
        page.wait_for_function(
            "document.querySelector('[data-contract=\"BTC-USDT\"] .mark').textContent === '60700'",
            timeout=15_000,
        )
        assert page.locator("[data-contract='BTC-USDT'] svg.chart").count() == 1
        btc = page.inner_text("[data-contract='BTC-USDT']")
        assert "mark 60700" in btc  # the book around the mark
        assert page.locator("[data-contract='BTC-USDT'] table.book tr.ask").count() >= 1
        assert page.locator("[data-contract='BTC-USDT'] table.book tr.bid").count() >= 1
        labels = page.locator("[data-contract='BTC-USDT'] svg.chart text.lbl").all_text_contents()
        assert labels[0] == "60700"  # high and low: the move, from where the page first saw it
        assert labels[1] != "60700"
        positions = page.inner_text("[data-section=positions]")
        assert "lead" in positions
        assert "+" in positions  # the longs' unrealised PnL after the mark moved up
        fills = page.inner_text("[data-section=fills]")
        assert str(trader["uid"]) in fills
        assert "open" in fills
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "dashboard.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        assert troubles == []
        page.close()


def test_with_a_token_the_dashboard_asks_for_it_first(browser: Any, tmp_path: Path) -> None:
    token = "ui-" + "cd" * 16
    with LiveServer(db_path=tmp_path / "t.db", demo_seed=False, admin_token=token) as server:
        page = browser.new_page()
        page.goto(f"{server.base_url}/_sim/ui")
        assert "Admin token required" in page.inner_text("body")
        page.fill("input[name=token]", "wrong")
        page.click("button[type=submit]")
        assert "not the admin token" in page.inner_text("body")
        page.fill("input[name=token]", token)
        page.click("button[type=submit]")
        page.wait_for_selector("[data-section=traders]", timeout=10_000)
        assert token not in page.content()
        assert server.http.get("/_sim/ui/live").status_code == 401  # no cookie, no token
        page.close()
