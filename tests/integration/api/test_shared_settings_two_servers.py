"""Two server processes over one PostgreSQL database share admin-set funding and impact."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

import pytest

from copytrade.testing.server import LiveServer

pytestmark = pytest.mark.postgres


def _eventually(read: Callable[[], Any], wanted: Any, timeout_s: float = 5.0) -> Any:
    """Return ``read()`` once it equals ``wanted`` (the other process refreshes every 0.25 s)."""
    deadline = time.monotonic() + timeout_s
    while True:
        got = read()
        if got == wanted or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def test_funding_and_impact_set_on_one_server_reach_the_other_and_a_reset_undoes_both(
    postgres_database: str,
) -> None:
    key = secrets.token_hex(32)  # shared by every process over the database
    with (
        LiveServer(postgres_database, demo_seed=False, server_key=key) as a,
        LiveServer(postgres_database, demo_seed=False, server_key=key) as b,
    ):
        a.admin("/_sim/reset")
        impact = a.admin(
            "/_sim/impact", {"half_life_ms": 30_000, "copy_latency_ms": 150, "seed": 3}
        )
        funding = a.admin("/_sim/funding", {"mode": "rate", "default_rate": "0.0007"})
        assert _eventually(lambda: b.admin_get("/_sim/impact"), impact) == impact
        seen = _eventually(lambda: b.admin_get("/_sim/funding")["default_rate"], "0.0007")
        assert seen == funding["default_rate"]
        assert b.admin_get("/_sim/funding")["mode"] == "rate"

        a.admin("/_sim/reset")  # the shared keys go: both servers back to their configuration
        assert _eventually(lambda: b.admin_get("/_sim/impact")["enabled"], False) is False
        assert _eventually(lambda: b.admin_get("/_sim/funding")["mode"], "off") == "off"
        assert a.admin_get("/_sim/impact")["enabled"] is False
