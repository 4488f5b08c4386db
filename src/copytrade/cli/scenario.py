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
def run(file: Path, as_json: bool, keep: Path | None) -> None:
    """Run FILE (TOML) on a fresh SQLite store; exit 1 when an expectation fails."""
    # the server's packages load only here: `copytrade api` works with the client alone
    from pydantic import ValidationError

    from copytrade.scenario.model import load_scenario
    from copytrade.scenario.runner import run_scenario

    try:
        loaded = load_scenario(file)
    except (ValidationError, ValueError, OSError) as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    report = run_scenario(loaded, keep)
    click.echo(json.dumps(report.as_json(), indent=2) if as_json else report.render())
    if not report.passed:
        raise SystemExit(1)
