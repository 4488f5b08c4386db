"""Shared fixtures: a live server over SQLite and PostgreSQL, and PostgreSQL/Redis from the env.

PostgreSQL and Redis cases need ``COPYTRADE_TEST_POSTGRES_URL`` / ``COPYTRADE_TEST_REDIS_URL``.
When absent they are skipped with the reason shown; with ``COPYTRADE_REQUIRE_SERVICES=1`` (set by
``.ci/run``) an absent or unreachable service fails the run instead.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest

from copytrade.testing.server import LiveServer
from suite_services import fresh_postgres_database, service_url

# The suite's own switches; every other COPYTRADE_* variable is the developer's (the README has
# them export COPYTRADE_BASE_URL, COPYTRADE_ACCESS_KEY, ... for the CLI in the same terminal).
SUITE_SWITCHES = (
    "COPYTRADE_TEST_",
    "COPYTRADE_REQUIRE_SERVICES",
    "COPYTRADE_FAULTS_",
    "COPYTRADE_RECORD_GOLDEN",
    "COPYTRADE_CHROMIUM",
)


def pytest_configure(config: pytest.Config) -> None:
    """Run the suite as from a clean shell: drop the developer's ``COPYTRADE_*`` settings.

    Exported credentials, a base URL or server settings reached the tests and the servers they
    start (after the README's CLI block, a credentials test saw the demo key and failed).
    """
    for name in list(os.environ):
        if name.startswith("COPYTRADE_") and not name.startswith(SUITE_SWITCHES):
            del os.environ[name]


@contextmanager
def backend_server(
    backend: str, tmp_path_factory: pytest.TempPathFactory, **options: Any
) -> Iterator[LiveServer]:
    """A live server over a fresh SQLite file or a fresh PostgreSQL database.

    ``options`` go to :class:`LiveServer`. The PostgreSQL case takes its server from
    ``COPYTRADE_TEST_POSTGRES_URL`` and is skipped (or failed under CI) without it.
    """
    if backend == "sqlite":
        db = tmp_path_factory.mktemp("live") / "copytrade.db"
        with LiveServer(db_path=db, demo_seed=False, **options) as server:
            yield server
        return
    base_url = service_url("COPYTRADE_TEST_POSTGRES_URL", "PostgreSQL")
    with (
        fresh_postgres_database(base_url) as url,
        LiveServer(url, demo_seed=False, server_key=secrets.token_hex(32), **options) as server,
    ):
        yield server


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def live_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """One server per backend for the session (SQLite file, fresh PostgreSQL database).

    Tests make their own users.
    """
    with backend_server(request.param, tmp_path_factory) as server:
        yield server


@pytest.fixture(scope="session")
def server_on() -> Callable[..., AbstractContextManager[LiveServer]]:
    """:func:`backend_server`, for modules that need a server of their own (own options)."""
    return backend_server


@pytest.fixture
def trader(live_server: LiveServer) -> dict[str, object]:
    """A fresh trader with 10,000 USDT and a Trade key."""
    return live_server.create_user("trader", balance="10000")


@pytest.fixture(scope="module")
def postgres_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test module; yields its URL."""
    with fresh_postgres_database(service_url("COPYTRADE_TEST_POSTGRES_URL", "PostgreSQL")) as url:
        yield url


@pytest.fixture(scope="session")
def postgres_databases() -> Callable[[], AbstractContextManager[str]]:
    """A factory of fresh, migrated PostgreSQL databases (:func:`fresh_postgres_database`), for
    tests that need one per example (a hypothesis property); skipped without PostgreSQL."""
    base_url = service_url("COPYTRADE_TEST_POSTGRES_URL", "PostgreSQL")
    return lambda: fresh_postgres_database(base_url)


@pytest.fixture
def postgres_server_url() -> str:
    """The PostgreSQL server's URL (``COPYTRADE_TEST_POSTGRES_URL``), for tests that make their
    own database."""
    return service_url("COPYTRADE_TEST_POSTGRES_URL", "PostgreSQL")


@pytest.fixture
def redis_url() -> str:
    """The Redis server's URL (``COPYTRADE_TEST_REDIS_URL``)."""
    return service_url("COPYTRADE_TEST_REDIS_URL", "Redis")
