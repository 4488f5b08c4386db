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


def service_url(variable: str, what: str) -> str:
    """Return a service URL from the environment, or skip (fail under CI) without it."""
    url = os.environ.get(variable)
    if url:
        return url
    reason = f"{what} not configured: set {variable} to run these cases"
    if os.environ.get("COPYTRADE_REQUIRE_SERVICES") == "1":
        pytest.fail(reason + " (COPYTRADE_REQUIRE_SERVICES=1 makes this a failure)")
    pytest.skip(reason)


_TEMPLATES: dict[str, str] = {}
"""A migrated template database per PostgreSQL server (admin DSN -> its name), made once."""


def _migrated_template(admin_dsn: str) -> str:
    """Return the name of a database migrated to head on ``admin_dsn``'s server, made on first use.

    Fresh test databases are copies of it (``CREATE DATABASE … TEMPLATE``): a copy takes a
    fraction of running every migration again. It is dropped when the process exits.
    """
    name = _TEMPLATES.get(admin_dsn)
    if name is not None:
        return name
    import atexit

    import psycopg
    from sqlalchemy.engine import make_url

    from copytrade.adapters.db.engine import make_engine, migrate

    name = f"copytrade_template_{secrets.token_hex(6)}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        engine = make_engine(
            make_url(admin_dsn).set(database=name).render_as_string(hide_password=False)
        )
        try:
            migrate(engine)
        finally:
            engine.dispose()  # a template must have no connections when it is copied
    except BaseException:
        _drop_database(admin_dsn, name)
        raise
    _TEMPLATES[admin_dsn] = name
    atexit.register(_drop_database, admin_dsn, name)
    return name


def _drop_database(admin_dsn: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_postgres_database(base_url: str) -> Iterator[str]:
    """Create an empty, migrated database ``copytrade_test_<hex>`` beside ``base_url``; drop it.

    Yields the new database's URL. Each test run gets its own database, so parallel runs and
    earlier leftovers never meet. The database is a copy of a template migrated once per
    process (the same schema as migrating it anew; the migrations themselves are tested in
    ``tests/integration/test_migrations.py``).
    """
    from sqlalchemy.engine import make_url

    from copytrade.adapters.db.engine import normalize_url

    base = make_url(normalize_url(base_url))
    name = f"copytrade_test_{secrets.token_hex(6)}"
    admin_dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    template = _migrated_template(admin_dsn)
    import psycopg

    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        _drop_database(admin_dsn, name)


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
