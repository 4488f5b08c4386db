"""Fixtures of the SDK's live tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from copytrade.testing.server import LiveServer


@pytest.fixture
def restore_marks(live_server: LiveServer) -> Iterator[None]:
    """Put every mark price back after the test: the session's server is shared, and later
    tests (ccxt's, for one) expect the marks they started from."""
    before = live_server.admin_get("/_sim/markets")
    yield
    for code, market in before.items():
        live_server.set_price(code, market["mark_price"])
