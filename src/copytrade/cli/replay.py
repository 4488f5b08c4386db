"""``copytrade replay FILE``: rebuild a recorded session's state and print its digest."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("replay")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--store",
    type=click.Choice(["sqlite", "memory"]),
    default="sqlite",
    show_default=True,
    help="A fresh SQLite file in a temporary directory, or the in-memory store.",
)
def replay(file: Path, as_json: bool, store: str) -> None:
    """Replay FILE (from `serve --record FILE`) on a fresh store; print the state digest.

    Exits 1 when a recorded request is refused on replay (the state then differs).
    """
    from copytrade.scenario.replay import ReplayError
    from copytrade.scenario.replay import replay as run

    try:
        result = run(file, store=store)
    except ReplayError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(
            json.dumps(
                {
                    "digest": result.digest,
                    "requests": result.requests,
                    "users": len(result.uids),
                    "differing": result.differing,
                },
                indent=2,
            )
        )
    else:
        click.echo(f"{result.digest}  ({result.requests} requests, {len(result.uids)} users)")
        for line in result.differing:
            click.echo(f"refused on replay: {line}", err=True)
    if result.differing:
        raise SystemExit(1)
