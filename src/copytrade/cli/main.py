"""The ``copytrade`` command: ``serve``, ``migrate``, ``demo`` and the ``api`` client commands."""

from __future__ import annotations

import logging
import sys

import click

from copytrade.cli.demo import demo


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
@click.option("--db", "db_url", default=None, help="Database URL (default: SQLite file).")
@click.option(
    "--config",
    "config_file",
    default=None,
    type=click.Path(dir_okay=False),
    help="TOML settings file.",
)
@click.option("--log-level", default="info", show_default=True)
def serve(
    host: str | None, port: int | None, db_url: str | None, config_file: str | None, log_level: str
) -> None:
    """Run the server (SQLite file, demo markets and, on loopback, the demo trader)."""
    import uvicorn

    from copytrade.api.app import create_app
    from copytrade.bootstrap import ConfigError, bootstrap
    from copytrade.config import load_settings

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(message)s")
    settings = load_settings(config_file, host=host, port=port, db_url=db_url)
    try:
        services = bootstrap(settings)
    except (ConfigError, RuntimeError) as exc:
        raise ServerError(str(exc)) from exc
    app = create_app(services)
    click.echo(
        f"copytrade serving HTX copy trading on http://{settings.host}:{settings.port} "
        f"(database {services.engine.url.render_as_string(hide_password=True)})",
        err=True,
    )
    if settings.is_loopback and settings.demo_seed:
        click.echo("demo trader: AccessKeyId=demo-access-key secret=demo-secret-key", err=True)
    try:
        uvicorn.run(
            app, host=settings.host, port=settings.port, log_level=log_level, access_log=False
        )
    finally:
        services.close()


@main.command()
@click.option("--db", "db_url", required=True, help="Database URL to upgrade.")
def migrate(db_url: str) -> None:
    """Upgrade a database's schema to this version."""
    from copytrade.adapters.db.engine import current_revision, make_engine
    from copytrade.adapters.db.engine import migrate as run_migrations

    engine = make_engine(db_url)
    try:
        before = current_revision(engine)
        run_migrations(engine)
        click.echo(f"schema: {before or 'empty'} -> {current_revision(engine)}")
    finally:
        engine.dispose()


main.add_command(demo)
try:  # the SDK's commands
    from copytrade.cli.api import api

    main.add_command(api)
except ImportError:  # pragma: no cover - only while the SDK CLI is being built
    pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
