"""The ``copytrade`` command: ``serve``, ``migrate``, ``demo`` and the ``api`` client commands."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import click

from copytrade.cli.api import api
from copytrade.cli.demo import demo
from copytrade.cli.sim import sim


class ServerError(click.ClickException):
    """The server cannot start (exit code 2: configuration)."""

    exit_code = 2


@click.group()
@click.version_option(package_name="copytrade")
def main() -> None:
    """Copytrade: an HTX-compatible copy-trading futures engine, its SDK and CLI."""


@main.command()
@click.option("--host", default=None, help="Bind address (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8080).")
@click.option(
    "--db", "db_url", default=None, help="Database URL (default: SQLite file; postgresql://…)."
)
@click.option(
    "--redis",
    "redis_url",
    default=None,
    help="Redis URL (redis://host:6379/0): one rate limit shared by every process.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Server processes sharing the port (more than 1 needs PostgreSQL).",
)
@click.option(
    "--config",
    "config_file",
    default=None,
    type=click.Path(dir_okay=False),
    help="TOML settings file.",
)
@click.option("--log-level", default="info", show_default=True)
def serve(
    host: str | None,
    port: int | None,
    db_url: str | None,
    redis_url: str | None,
    workers: int,
    config_file: str | None,
    log_level: str,
) -> None:
    """Run the server (SQLite file, demo markets and, on loopback, the demo trader)."""
    import uvicorn

    from copytrade.adapters.db.engine import is_sqlite
    from copytrade.api.app import create_app
    from copytrade.config import load_settings, settings_to_env

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(message)s")
    settings = load_settings(config_file, host=host, port=port, db_url=db_url, redis_url=redis_url)
    if workers > 1 and is_sqlite(settings.db_url):
        raise ServerError(
            "--workers > 1 needs PostgreSQL (--db postgresql://…): SQLite has a single writer"
        )
    if workers > 1 and not settings.redis_url:
        click.echo(
            "warning: without --redis each worker counts the rate limit on its own", err=True
        )
    services = _bootstrap(settings)
    database = services.engine.url.render_as_string(hide_password=True)
    click.echo(
        f"copytrade serving HTX copy trading on http://{settings.host}:{settings.port} "
        f"(database {database}, {workers} worker{'s' if workers > 1 else ''})",
        err=True,
    )
    if settings.is_loopback and settings.demo_seed:
        click.echo("demo trader: AccessKeyId=demo-access-key secret=demo-secret-key", err=True)
    if workers > 1:
        # The parent checked the schema and seeded; each worker bootstraps from the env.
        try:
            services.seed()
        finally:
            services.close()
        os.environ.update(settings_to_env(settings))
        from copytrade.cli.workers import run_workers

        status = run_workers(workers, settings.host, settings.port, log_level)
        if status:
            raise ServerError("a worker process exited unexpectedly; all workers were stopped")
        return
    try:
        uvicorn.run(
            create_app(services),
            host=settings.host,
            port=settings.port,
            log_level=log_level,
            access_log=False,
        )
    finally:
        services.close()


def _bootstrap(settings: Any) -> Any:
    """Bootstrap, turning configuration and database errors into a clean exit 2."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from copytrade.bootstrap import ConfigError, bootstrap

    try:
        return bootstrap(settings)
    except (ConfigError, RuntimeError) as exc:
        raise ServerError(str(exc)) from exc
    except SQLAlchemyError as exc:
        where = make_url(settings.db_url).render_as_string(hide_password=True)
        raise ServerError(f"cannot use database {where}: {_db_reason(exc)}") from exc


def _db_reason(exc: Exception) -> str:
    """Return the driver's own message, without SQLAlchemy's background link."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@main.command()
@click.option("--db", "db_url", required=True, help="Database URL to upgrade.")
def migrate(db_url: str) -> None:
    """Upgrade a database's schema to this version (SQLite or postgresql://…)."""
    from sqlalchemy.exc import SQLAlchemyError

    from copytrade.adapters.db.engine import SchemaAhead, current_revision, make_engine
    from copytrade.adapters.db.engine import migrate as run_migrations

    engine = make_engine(db_url)
    try:
        before = current_revision(engine)
        run_migrations(engine)
        click.echo(f"schema: {before or 'empty'} -> {current_revision(engine)}")
    except SchemaAhead as exc:
        raise ServerError(str(exc)) from exc
    except SQLAlchemyError as exc:
        where = engine.url.render_as_string(hide_password=True)
        raise ServerError(f"cannot migrate {where}: {_db_reason(exc)}") from exc
    finally:
        engine.dispose()


main.add_command(demo)
main.add_command(api)
main.add_command(sim)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
