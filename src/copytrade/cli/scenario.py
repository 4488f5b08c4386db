"""``copytrade scenario run FILE``: run a scripted scenario on a fresh store and report."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group("scenario")
def scenario() -> None:
    """Scripted scenarios: markets, traders, followers, timed actions, expected outcomes."""


@scenario.command("run")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the run's SQLite store in this directory.",
)
@click.option(
    "--db",
    "db",
    type=click.Choice(["sqlite", "memory", "memory://"]),
    default="sqlite",
    show_default=True,
    help="A fresh SQLite file, or the in-memory store (memory:// also accepted).",
)
def run(file: Path, as_json: bool, keep: Path | None, db: str) -> None:
    """Run FILE (TOML) on a fresh store; exit 1 when an expectation fails."""
    # the server's packages load only here: `copytrade api` works with the client alone
    from pydantic import ValidationError

    from copytrade.scenario.model import load_scenario
    from copytrade.scenario.runner import run_scenario

    try:
        loaded = load_scenario(file)
    except (ValidationError, ValueError, OSError) as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    store = "memory" if db.startswith("memory") else "sqlite"
    if keep is not None:
        if store == "memory":
            raise click.ClickException("--keep keeps a SQLite store; --db memory keeps nothing")
        keep.mkdir(parents=True, exist_ok=True)
    report = run_scenario(loaded, keep, store=store)
    click.echo(json.dumps(report.as_json(), indent=2) if as_json else report.render())
    if not report.passed:
        raise SystemExit(1)
