"""Migrations on a real SQLite file and a real PostgreSQL database: an older schema upgrades with
its rows kept, and a server refuses a schema that is behind."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from copytrade.adapters.db.engine import (
    SchemaAhead,
    SchemaBehind,
    head_revision,
    make_engine,
    migrate,
    normalize_url,
    require_current_schema,
)


def _seed_rows(engine: Engine) -> None:
    """A user with an account and a position, as a 0002 database holds them."""
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO users VALUES (10000001, 'trader', 't', '0.1', 0)"))
        conn.execute(text("INSERT INTO accounts (uid, balance) VALUES (10000001, '1234.5')"))
        conn.execute(
            text(
                "INSERT INTO positions (sub_position_id, uid, contract_code, margin_mode, side,"
                " lever, volume, open_avg_price, open_fee, position_margin, open_order_id,"
                " open_time, is_open, close_fee, follow_takes) VALUES (1310000000000000001,"
                " 10000001, 'BTC-USDT', 'cross', 'long', 10, '2', '50000', '0.6', '100', 7, 0,"
                " true, '0', '0')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO follows (follow_id, follower_uid, trader_uid, ratio, started_at,"
                " active) VALUES (1, 10000002, 10000001, '2', 0, true)"
            )
        )


def _check_rows(engine: Engine) -> None:
    with engine.connect() as conn:
        assert conn.execute(text("SELECT uid, balance, version FROM accounts")).all() == [
            (10000001, "1234.5", 0)
        ]
        assert conn.execute(text("SELECT sub_position_id, volume FROM positions")).all() == [
            (1310000000000000001, "2")
        ]
        # 0007: the marks version exists from the upgrade on
        marks = text("SELECT value FROM counters WHERE name = 'marks'")
        assert conn.execute(marks).scalar_one() == 0
        # 0008: existing accounts hold nothing in spot and futures; existing follows are plain
        assert conn.execute(text("SELECT spot, futures FROM accounts")).all() == [("0", "0")]
        assert conn.execute(text("SELECT settings FROM follows")).all() == [(None,)]
        # 0009: an existing trader leads as its role says, with HTX's default cap of 100
        lead = text("SELECT lead_enabled, max_followers FROM users WHERE uid = 10000001")
        assert conn.execute(lead).all() == [(None, 100)]
        for table in ("v5_orders", "position_modes", "mark_moves"):
            assert conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one() == 0


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def empty_postgres(postgres_server_url: str) -> Iterator[Engine]:
    """An empty database (no schema) beside the test server's; dropped afterwards."""
    import psycopg

    base = make_url(normalize_url(postgres_server_url))
    name = f"copytrade_test_{secrets.token_hex(6)}"
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(base.set(database=name).render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_sqlite_upgrade_keeps_rows_and_makes_ids_rowids(sqlite_engine: Engine) -> None:
    migrate(sqlite_engine, "0002")
    _seed_rows(sqlite_engine)
    with pytest.raises(SchemaBehind, match="copytrade migrate"):
        require_current_schema(sqlite_engine)
    migrate(sqlite_engine)
    require_current_schema(sqlite_engine)
    _check_rows(sqlite_engine)
    path = sqlite_engine.url.database
    assert path is not None
    with sqlite3.connect(path) as db:
        for table in ("users", "accounts", "positions", "orders", "fills"):
            indexes = [row[1] for row in db.execute(f"PRAGMA index_list({table})")]
            # a BIGINT key would need SQLite's own unique index beside the rowid
            assert not [i for i in indexes if i.startswith("sqlite_autoindex")], table


@pytest.mark.postgres
def test_postgres_upgrade_keeps_rows(empty_postgres: Engine) -> None:
    migrate(empty_postgres, "0002")
    _seed_rows(empty_postgres)
    with pytest.raises(SchemaBehind, match=f"this server needs {head_revision()}"):
        require_current_schema(empty_postgres)
    migrate(empty_postgres)
    require_current_schema(empty_postgres)
    _check_rows(empty_postgres)


def test_a_schema_from_a_newer_copytrade_is_refused_as_ahead(sqlite_engine: Engine) -> None:
    migrate(sqlite_engine)
    with sqlite_engine.begin() as conn:  # as a later release's migration would leave it
        conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    with pytest.raises(SchemaAhead, match=f"0999, newer than this server's {head_revision()}"):
        require_current_schema(sqlite_engine)


def test_migrate_and_serve_refuse_a_newer_schema_in_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from copytrade.cli.main import main

    url = f"sqlite:///{tmp_path / 'newer.db'}"
    runner = CliRunner()
    assert runner.invoke(main, ["migrate", "--db", url]).exit_code == 0
    with sqlite3.connect(tmp_path / "newer.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '0999'")
    for args in (["migrate", "--db", url], ["serve", "--db", url, "--port", "1"]):
        result = runner.invoke(main, args)
        assert result.exit_code == 2, result.output
        assert "newer than this server's" in result.output
        assert "Traceback" not in result.output
