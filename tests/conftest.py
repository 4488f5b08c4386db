"""Shared fixtures: a live server over a real SQLite file, and PostgreSQL/Redis from the env.

PostgreSQL and Redis cases need ``COPYTRADE_TEST_POSTGRES_URL`` / ``COPYTRADE_TEST_REDIS_URL``.
When absent they are skipped with the reason shown; with ``COPYTRADE_REQUIRE_SERVICES=1`` (set by
``.ci/run``) an absent or unreachable service fails the run instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from copytrade.testing.server import LiveServer

REPO = Path(__file__).resolve().parent.parent
SHARED_SPEC = REPO.parent / "shared" / "spec"


def service_url(variable: str, what: str) -> str:
    """Return a service URL from the environment, or skip (fail under CI) without it."""
    url = os.environ.get(variable)
    if url:
        return url
    reason = f"{what} not configured: set {variable} to run these cases"
    if os.environ.get("COPYTRADE_REQUIRE_SERVICES") == "1":
        pytest.fail(reason + " (COPYTRADE_REQUIRE_SERVICES=1 makes this a failure)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the session over a real SQLite file; tests make their own users."""
    db = tmp_path_factory.mktemp("live") / "copytrade.db"
    with LiveServer(db_path=db, demo_seed=False) as server:
        yield server


@pytest.fixture
def trader(live_server: LiveServer) -> dict[str, object]:
    """A fresh trader with 10,000 USDT and a Trade key."""
    return live_server.create_user("trader", balance="10000")
