"""pytest plugin: copytrade servers and helpers for your bot's tests.

Installed with copytrade (entry point ``pytest11``), so any project's tests can write::

    def test_followers_copy_my_bot(trader_with_followers, client_for):
        team = trader_with_followers(3)
        bot = client_for(team.trader)
        ...

Fixtures:

- ``copytrade``: a :class:`~copytrade.testing.sandbox.Sandbox` over the session's server,
  reset before each test (every user, position and record deleted).
- ``trader_with_followers(n, ratio=…, settings={…})``: a trader and ``n`` followers, all with
  API keys; ``settings`` are each follower's settings (``fixed_amount``, ``tp_ratio``,
  ``sl_ratio``, ``total_stop_loss``, ``contracts``). ``copytrade.follower_settings(f, …)``
  changes them later.
- ``client_for(creds)``: an SDK client signed with a user's key (closed after the test).
- ``copytrade_session_server``: the session's server (started once): its ``base_url``.
- ``copytrade_server``: a server of its own for one test (a fresh SQLite file).

``--copytrade-url URL`` runs the same tests against an external server instead (it is reset
before each test: never aim it at a server whose data you want to keep); its admin token
comes from ``--copytrade-admin-token`` or ``COPYTRADE_ADMIN_TOKEN``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from copytrade.client import Client
from copytrade.testing.sandbox import Credentials, Sandbox, Team
from copytrade.testing.server import LiveServer


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--copytrade-url`` and ``--copytrade-admin-token``."""
    group = parser.getgroup("copytrade")
    group.addoption(
        "--copytrade-url",
        default=None,
        help="run copytrade fixtures against this server instead of starting one "
        "(reset before each test)",
    )
    group.addoption(
        "--copytrade-admin-token",
        default=None,
        help="admin token of the --copytrade-url server (default: $COPYTRADE_ADMIN_TOKEN)",
    )


@dataclass(frozen=True, slots=True)
class SessionServer:
    """The server a test session uses: its URL, admin token, and whether it is external."""

    base_url: str
    token: str | None
    external: bool


@pytest.fixture(scope="session")
def copytrade_session_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SessionServer]:
    """The session's server: ``--copytrade-url``, or one started over a temporary SQLite file."""
    url = request.config.getoption("copytrade_url")
    if url:
        token = request.config.getoption("copytrade_admin_token") or os.environ.get(
            "COPYTRADE_ADMIN_TOKEN"
        )
        yield SessionServer(str(url).rstrip("/"), token or None, external=True)
        return
    db = tmp_path_factory.mktemp("copytrade") / "copytrade.db"
    with LiveServer(db_path=db, demo_seed=False) as server:
        yield SessionServer(server.base_url, None, external=False)


@pytest.fixture
def copytrade(copytrade_session_server: SessionServer) -> Iterator[Sandbox]:
    """The session's server, reset for this test, with helpers (see :class:`Sandbox`)."""
    sandbox = Sandbox.connect(copytrade_session_server.base_url, copytrade_session_server.token)
    try:
        sandbox.reset()
        yield sandbox
    finally:
        sandbox.close()


@pytest.fixture
def trader_with_followers(copytrade: Sandbox) -> Callable[..., Team]:
    """Factory: ``trader_with_followers(n, ratio="1", settings=None, …)`` → a :class:`Team`."""
    return copytrade.trader_with_followers


@pytest.fixture
def client_for(copytrade: Sandbox) -> Callable[..., Client]:
    """Factory: ``client_for(creds)`` → an SDK client signed with that user's key."""

    def make(creds: Credentials, **options: Any) -> Client:
        return copytrade.client_for(creds, **options)

    return make


@pytest.fixture
def copytrade_server(tmp_path: Path) -> Iterator[LiveServer]:
    """Yield a started copytrade server over a fresh SQLite file; stopped afterwards."""
    with LiveServer(db_path=tmp_path / "copytrade.db", demo_seed=False) as server:
        yield server
