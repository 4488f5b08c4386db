"""``copytrade api v6``: the v6 copy-trading family from the command line (over ``client.v6``).

Same credentials, output and exit codes as ``copytrade api`` (:mod:`copytrade.cli.api`). HTX
allows 5 v6 requests per second per UID; each command makes one.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import click

from copytrade.cli.api import DECIMAL, _json_option, _run
from copytrade.client import TransferAccount
from copytrade.client.builders_v6 import MAX_REMOVALS
from copytrade.protocol import v6 as p6

F = TypeVar("F", bound=Callable[..., Any])
_ACCOUNTS = {a.name.lower().replace("_", "-"): a for a in TransferAccount}


def _window(func: F) -> F:
    for decorator in reversed(
        [
            click.option("--begin", type=int, help="Epoch ms (or µs) lower bound."),
            click.option("--end", type=int, help="Epoch ms (or µs) upper bound."),
            click.option("--after", help="Records older than this record id (next page)."),
            click.option("--before", help="Records newer than this record id."),
            click.option("--limit", type=click.IntRange(1, 100), help="At most this many."),
        ]
    ):
        func = decorator(func)
    return func


def _removal(item: p6.Removal) -> str:
    """One follower of a removal, in words: sCode "0" is removed, else HTX's why."""
    if item.s_code == "0":
        return f"removed: follower {item.follower_uid} (its copies closed at market)"
    why = f"{item.s_code} {item.s_msg or 'no message'}"
    return f"not removed: follower {item.follower_uid} ({why})"


@click.group("v6")
def v6() -> None:
    """HTX's v6 copy-trading API (/api/v6/copyTrading/trader/*), instType PERP."""


@v6.command("instruments")
@_json_option
def instruments(as_json: bool) -> None:
    """List contracts open to lead trading. GET .../instruments."""
    _run(lambda c: c.v6.instruments(), as_json)


@v6.command("stats")
@_json_option
def stats(as_json: bool) -> None:
    """Show follower counts, PnL and win rate. GET .../statistics."""
    _run(lambda c: c.v6.statistics(), as_json)


@v6.command("profit-history")
@click.option("--inst-id", help="Only this contract, e.g. BTC-USDT-PERP.")
@_window
@_json_option
def profit_history(as_json: bool, **kw: Any) -> None:
    """List profit shares received, newest first. GET .../profit-sharing-history."""
    _run(lambda c: c.v6.profit_sharing_history(**kw), as_json)


@v6.command("profit-total")
@_json_option
def profit_total(as_json: bool) -> None:
    """Show the profit share received. GET .../profit-sharing-history-summary."""
    _run(lambda c: c.v6.profit_sharing_summary(), as_json)


@v6.command("profit-pending")
@click.option("--ccy", help="Only this currency (USDT).")
@_json_option
def profit_pending(ccy: str | None, as_json: bool) -> None:
    """Show the profit share pending on open copies. GET .../unrealized-profit-sharing-summary."""
    _run(lambda c: c.v6.unrealized_profit_sharing_summary(ccy=ccy), as_json)


@v6.command("followers")
@_window
@_json_option
def followers(as_json: bool, **kw: Any) -> None:
    """List current followers, newest first. GET .../followers."""
    _run(lambda c: c.v6.followers(**kw), as_json)


@v6.command("remove-followers")
@click.argument("follower_uids", nargs=-1, required=True)
@_json_option
def remove_followers(follower_uids: tuple[str, ...], as_json: bool) -> None:
    """Remove followers (their copies close at market). POST .../follower.

    FOLLOWER_UIDS: up to 10 follower uids as `followers` shows them.
    """
    if len(follower_uids) > MAX_REMOVALS:
        raise click.UsageError(f"at most {MAX_REMOVALS} followers per call")
    _run(
        lambda c: c.v6.remove_followers(follower_uids=follower_uids),
        as_json,
        done=lambda items: (
            "\n".join(_removal(r) for r in items) or "removed: nobody (the reply lists no one)"
        ),
    )


@v6.command("transfer")
@click.option("--amount", type=DECIMAL, required=True, help="USDT to move.")
@click.option("--from", "source", type=click.Choice(list(_ACCOUNTS)), required=True)
@click.option("--to", "target", type=click.Choice(list(_ACCOUNTS)), required=True)
@_json_option
def transfer(amount: Decimal, source: str, target: str, as_json: bool) -> None:
    """Move USDT between accounts (copy-trading is account 4). POST .../transfer."""
    _run(
        lambda c: c.v6.transfer(
            amount=amount, from_account=_ACCOUNTS[source], to_account=_ACCOUNTS[target]
        ),
        as_json,
        done=f"transferred {amount:f} USDT from {source} to {target}",
    )


@v6.command("settings")
@click.option("--enable/--disable", required=True, help="Lead trading on or off.")
@click.option("--ratio", type=DECIMAL, help="Profit-sharing ratio: 0.1, 0.15, 0.2 or 0.25.")
@click.option("--max-followers", type=int, help="Follower cap: 100, 200, 500 or 1000.")
@_json_option
def settings(enable: bool, ratio: Decimal | None, max_followers: int | None, as_json: bool) -> None:
    """Turn lead trading on or off, with its ratio and cap. POST .../follower-settings."""
    _run(
        lambda c: c.v6.follower_settings(
            enable=enable, profit_sharing_ratio=ratio, max_followers=max_followers
        ),
        as_json,
    )


@v6.command("config")
@_json_option
def config(as_json: bool) -> None:
    """Show the lead-trading configuration. GET .../config."""
    _run(lambda c: c.v6.config(), as_json)


@v6.command("apikey")
@_json_option
def apikey(as_json: bool) -> None:
    """Create a lead-trading API key; its secret is shown only now. POST .../apikey."""
    _run(lambda c: c.v6.create_apikey(), as_json)
