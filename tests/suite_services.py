"""Test services from the environment: PostgreSQL and Redis URLs, fresh PostgreSQL databases.

Kept out of ``conftest.py`` so tests and harness modules import them by a name no other file
shares (``from conftest import`` resolved to whichever ``conftest`` was imported last: in a full
run that could be ``tests/integration/sdk/conftest.py``, breaking collection).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


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
