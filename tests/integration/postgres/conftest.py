"""Fixtures of the cross-process tests (PostgreSQL, Redis)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from server_processes import ServerProcess, SharedServer

from suite_services import fresh_postgres_database, service_url


@pytest.fixture(scope="module")
def server_key() -> str:
    """The secret-encryption key every process of the module shares."""
    return secrets.token_hex(32)


@pytest.fixture(scope="session")
def workers_server() -> Iterator[SharedServer]:
    """A plain ``serve --workers 2`` over a database of its own, shared by the modules that only
    need one running (start-up costs seconds: each of them started its own).

    Its users see nothing of each other's, but the database and the metrics are the session's:
    a test reads its own users' rows and counts the requests it made (a difference), and only
    one module trades in it (its trade tape holds that module's trades alone). A test that
    stops it gets a fresh one on the next :meth:`SharedServer.get`.
    """
    key = secrets.token_hex(32)
    with fresh_postgres_database(service_url("COPYTRADE_TEST_POSTGRES_URL", "PostgreSQL")) as url:
        shared = SharedServer(
            lambda: ServerProcess(
                url,
                {"COPYTRADE_SERVER_KEY": key, "COPYTRADE_DEMO_SEED": "false"},
                "--workers",
                "2",
            )
        )
        try:
            yield shared
        finally:
            shared.close()
