"""The two stores a fault run uses: a SQLite file, or a fresh PostgreSQL database (2 workers)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Store:
    """Where a run's server keeps its data, and how it is started."""

    name: str
    db_url: str
    workers: int = 1
    redis_url: str | None = None
    env: dict[str, str] = field(default_factory=dict)


@contextmanager
def sqlite_store(workdir: Path, name: str = "sqlite") -> Iterator[Store]:
    """A fresh SQLite file under ``workdir``."""
    yield Store(name, f"sqlite:///{workdir / (name + '.db')}")


@contextmanager
def postgres_store(base_url: str, name: str = "postgres") -> Iterator[Store]:
    """A fresh, migrated PostgreSQL database (dropped afterwards), served by 2 workers.

    With ``COPYTRADE_TEST_REDIS_URL`` set the workers share their rate limit through Redis (a
    prefix of this run's own).
    """
    from suite_services import fresh_postgres_database

    redis_url = os.environ.get("COPYTRADE_TEST_REDIS_URL") or None
    env = {"COPYTRADE_SERVER_KEY": secrets.token_hex(32)}
    if redis_url:
        env["COPYTRADE_REDIS_PREFIX"] = f"faults-{secrets.token_hex(4)}"
    with fresh_postgres_database(base_url) as url:
        yield Store(name, url, workers=2, redis_url=redis_url, env=env)
