"""The ``copytrade`` command: ``serve``, ``migrate``, ``demo`` and the ``api`` client commands."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
from click.exceptions import NoArgsIsHelpError

from copytrade.api.logs import LOG_FORMATS, LOG_LEVELS
from copytrade.cli._output import ENV_HELP
from copytrade.cli.api import api
from copytrade.cli.demo import demo
from copytrade.cli.replay import replay
from copytrade.cli.scenario import scenario
from copytrade.cli.sim import sim
from copytrade.config import DEFAULT_DB_URL, db_url_hint


class ServerError(click.ClickException):
    """The server cannot start (exit code 2: configuration)."""

    exit_code = 2


def _check_record(settings: Any) -> None:
    """Refuse a record file that holds a record, unless it is continued (on a kept store)."""
    from copytrade.api.recorder import RecordFileError, continued_seq

    if settings.record_append and not settings.record_file:
        raise ServerError("--record-append needs --record FILE")
    if not settings.record_file:
        return
    held = Path(settings.record_file)
    if (
        settings.record_append
        and held.exists()
        and held.stat().st_size > 0
        and _store_kind(settings.db_url) == "memory"
    ):
        raise ServerError(
            "--record-append on memory://: the state the record left is gone with its server"
        )
    try:
        continued_seq(settings.record_file, settings, settings.record_append)
    except RecordFileError as exc:
        raise ServerError(str(exc)) from None


def _one_line(exc: click.UsageError) -> click.UsageError:
    """Return ``exc`` as one line naming the help to read (click prints a usage block).

    A group called without a subcommand still shows its help (click's ``NoArgsIsHelpError``).
    """
    if isinstance(exc, NoArgsIsHelpError):
        return exc
    where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
    owner = _owner_of(exc)
    if owner is not None and isinstance(exc, click.NoSuchOption) and exc.ctx is not None:
        where = (
            f" ({exc.option_name} is an option of '{owner.command_path}': put it before "
            f"the subcommand, e.g. {owner.command_path} {exc.option_name} … "
            f"{exc.ctx.command_path.removeprefix(owner.command_path).strip()} …)"
        )
    return click.UsageError(exc.format_message() + where)


def _owner_of(exc: click.UsageError) -> click.Context | None:
    """Return the group that takes an option given after its subcommand (``sim … --url``)."""
    if not isinstance(exc, click.NoSuchOption) or exc.ctx is None:
        return None
    parent = exc.ctx.parent
    while parent is not None:
        if any(exc.option_name in p.opts for p in parent.command.params):
            return parent
        parent = parent.parent
    return None


class _Copytrade(click.Group):
    """The ``copytrade`` group: every usage mistake, of any subcommand, is one line (exit 2)."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            raise _one_line(exc) from exc.__cause__

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise _one_line(exc) from exc.__cause__


@click.group(cls=_Copytrade, epilog=ENV_HELP)
@click.version_option(package_name="copytrade")
def main() -> None:
    """Copytrade: an HTX-compatible copy-trading futures engine, its SDK and CLI."""


@main.command(epilog=ENV_HELP)
@click.option("--host", default=None, help="Bind address (default 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="Port (default 8080).")
@click.option(
    "--db",
    "db_url",
    default=None,
    help=f"Store URL (default {DEFAULT_DB_URL}, relative to the current folder; "
    "postgresql://…; memory:// for a throw-away sandbox).",
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
    envvar="COPYTRADE_CONFIG",
    default=None,
    type=click.Path(dir_okay=False),
    help="TOML settings file.",
)
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    default=None,
    help="[default: info]",
)
@click.option("--log-format", type=click.Choice(LOG_FORMATS), default=None, help="[default: plain]")
@click.option(
    "--access-log/--no-access-log",
    default=None,
    help="One line per HTX request at info [default: off; `make run` turns it on].",
)
@click.option(
    "--record",
    "record_file",
    default=None,
    type=click.Path(dir_okay=False),
    help="Record every accepted request with its simulation time (see `copytrade replay`); "
    "a FILE holding a record already is refused unless --record-append.",
)
@click.option(
    "--record-append",
    is_flag=True,
    default=False,
    help="Continue the record in FILE (numbered on from its last request), on the store it left.",
)
def serve(
    host: str | None,
    port: int | None,
    db_url: str | None,
    redis_url: str | None,
    workers: int,
    config_file: str | None,
    log_level: str | None,
    log_format: str | None,
    access_log: bool | None,
    record_file: str | None,
    record_append: bool,
) -> None:
    """Run the server (SQLite file, demo markets and, on loopback, the demo trader)."""
    from copytrade.api.logs import configure_logging
    from copytrade.config import SettingsError, load_settings

    try:
        settings = load_settings(
            config_file,
            host=host,
            port=port,
            db_url=db_url,
            redis_url=redis_url,
            log_level=log_level.lower() if log_level else None,
            log_format=log_format,
            access_log=access_log,
            record_file=record_file,
            record_append=record_append or None,
        )
    except SettingsError as exc:
        raise ServerError(str(exc)) from None
    _check_record(settings)
    _check_db_url(settings.db_url)
    _require_extras(settings)
    configure_logging(settings.log_level, settings.log_format, access_log=settings.access_log)
    if workers > 1 and settings.record_file:
        raise ServerError("--record needs a single process (--workers 1): one file, one order")
    kind = _store_kind(settings.db_url)
    if workers > 1 and kind != "postgresql":
        raise ServerError(
            f"--workers > 1 needs PostgreSQL (--db postgresql://…): {kind} has a single writer"
        )
    # bound before anything is announced: a port in use ends here, in one line
    sock = listen(settings.host, settings.port)
    try:
        where = _database_text(settings.db_url)
        services = _bootstrap(settings)
    except BaseException:
        sock.close()
        raise
    log = logging.getLogger("copytrade.server")
    if workers > 1 and not settings.redis_url:
        log.warning("without --redis each worker counts the rate limit on its own")
    log.info(
        "copytrade serving HTX copy trading on http://%s:%d (%s, %d worker%s)",
        settings.host,
        settings.port,
        where,
        workers,
        "s" if workers > 1 else "",
    )
    base = f"http://{settings.host}:{settings.port}"
    log.info("dashboard %s/_sim/ui, admin API docs %s/_sim/docs, metrics %s/metrics", *[base] * 3)
    if settings.is_loopback and settings.demo_seed:
        log.info("demo trader: AccessKeyId=demo-access-key secret=demo-secret-key")
    if workers > 1:
        sock.close()  # each worker binds its own socket (SO_REUSEPORT)
        # The parent checked the schema and seeded; each worker bootstraps from the env.
        try:
            services.seed()
        finally:
            services.close()
        _run_workers(workers, settings)
        return
    _run_one(services, sock)


def _run_one(services: Any, sock: socket.socket) -> None:
    import uvicorn

    from copytrade.api.app import create_app
    from copytrade.cli.serving import freeze_startup_heap, uvicorn_options

    settings = services.settings
    config = uvicorn.Config(
        create_app(services),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,  # configure_logging already routes uvicorn's loggers
        access_log=False,  # ours (copytrade.access) carries uid, HTX code and tid
        **uvicorn_options(settings),
    )
    freeze_startup_heap()
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
        services.close()


def _run_workers(workers: int, settings: Any) -> None:
    from copytrade.api.metrics import MULTIPROC_ENV
    from copytrade.cli.workers import run_workers

    # the settings (secrets included) reach the workers through the spawn pipe, not the env;
    # every worker writes its metrics there; any worker's /metrics adds them all up
    own_dir = MULTIPROC_ENV not in os.environ
    if own_dir:
        os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="copytrade-metrics-")
    try:
        status = run_workers(workers, settings)
    finally:
        if own_dir:
            shutil.rmtree(os.environ.pop(MULTIPROC_ENV), ignore_errors=True)
    if status:
        raise ServerError("a worker process exited unexpectedly; all workers were stopped")


def listen(host: str, port: int) -> socket.socket:
    """Bind and listen on ``host:port``; a failure is a one-line :class:`ServerError`."""
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM
        )[0]
    except OSError as exc:
        raise ServerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        hint = ""
        if exc.errno == errno.EADDRINUSE:
            hint = " (another server runs there: stop it or choose another --port)"
        raise ServerError(f"cannot listen on {host}:{port}: {exc.strerror}{hint}") from None
    return sock


def _check_db_url(db_url: str) -> None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if "://" not in db_url:
        raise ServerError(f"--db {db_url!r} is a path, not a database URL: {db_url_hint(db_url)}")
    try:
        make_url(db_url)
    except (ArgumentError, ValueError):
        raise ServerError(
            f"{db_url!r} is not a database URL (sqlite:///path/file.db or postgresql://…)"
        ) from None


def _store_kind(db_url: str) -> str:
    """Return ``memory``, ``sqlite`` or ``postgresql``; an unknown scheme is a one-line error."""
    from copytrade.bootstrap import ConfigError, store_kind

    try:
        return store_kind(db_url)
    except ConfigError as exc:
        raise ServerError(str(exc)) from None


def _is_sqlite(db_url: str) -> bool:
    return _store_kind(db_url) == "sqlite"


def _require_postgres() -> None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise ServerError(
            "PostgreSQL needs the [postgres] extra: pip install 'copytrade[postgres]'"
        ) from None


def _require_extras(settings: Any) -> None:
    """Name the missing extra, in one line, when PostgreSQL or Redis is asked for."""
    need = []
    if _store_kind(settings.db_url) == "postgresql":
        try:
            import psycopg  # noqa: F401
        except ImportError:
            need.append("PostgreSQL")
    if settings.redis_url:
        try:
            import redis  # noqa: F401
        except ImportError:
            need.append("--redis")
    if need:
        raise ServerError(
            f"{' and '.join(need)} need{'s' if len(need) == 1 else ''} the [postgres] extra: "
            "pip install 'copytrade[postgres]'"
        )


def _database_text(db_url: str) -> str:
    """Return the database for the banner: a SQLite file by absolute path, new or not."""
    from sqlalchemy.engine import make_url

    if _store_kind(db_url) == "memory":
        return "memory store (nothing is kept)"
    url = make_url(db_url)
    if url.get_backend_name() != "sqlite":
        return f"database {url.render_as_string(hide_password=True)}"
    name = url.database or ":memory:"
    if name == ":memory:":
        return "SQLite in memory (nothing is kept)"
    path = Path(name).resolve()
    state = "" if path.exists() else ", new: created now"
    return f"SQLite file {path}{state}"


def _bootstrap(settings: Any) -> Any:
    """Bootstrap, turning configuration and database errors into a clean exit 2."""
    from sqlalchemy.exc import SQLAlchemyError

    from copytrade.bootstrap import ConfigError, bootstrap

    try:
        return bootstrap(settings)
    except (ConfigError, RuntimeError) as exc:
        raise ServerError(str(exc)) from exc
    except OSError as exc:
        raise ServerError(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")) from None
    except SQLAlchemyError as exc:
        where = _redacted(settings.db_url)
        raise ServerError(f"cannot use database {where}: {_db_reason(exc)}") from None


def _redacted(db_url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(db_url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "(unparsable URL)"


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

    _check_db_url(db_url)
    if _store_kind(db_url) == "memory":
        raise ServerError("memory:// has no schema to migrate")
    if not _is_sqlite(db_url):
        _require_postgres()
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
main.add_command(scenario)
main.add_command(replay)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
