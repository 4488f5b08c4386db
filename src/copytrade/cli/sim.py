"""``copytrade sim``: drive a copytrade server's sandbox through its admin API (``/_sim/``).

The server is ``--url``, ``COPYTRADE_SIM_URL`` or ``COPYTRADE_BASE_URL`` (default
``http://127.0.0.1:8080``, never HTX); the admin token comes from ``COPYTRADE_ADMIN_TOKEN``
(needed when the server has one).
Output is a table for people; ``--json`` prints the server's JSON for scripts.

Exit codes: 0 ok, 1 refused by the server or server unreachable, 2 usage, 3 admin token
missing or wrong.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from copytrade.client.admin import (
    DEFAULT_ADMIN_URL,
    AdminApiError,
    AdminClient,
    AdminUnreachable,
)

F = TypeVar("F", bound=Callable[..., Any])
TOKEN_ENV = "COPYTRADE_ADMIN_TOKEN"  # noqa: S105 - the variable's name, not a token
URL_ENV = "COPYTRADE_SIM_URL"


class SimCommandError(click.ClickException):
    """The server refused the call or could not be reached (exit code 1)."""

    exit_code = 1


class SimAuthError(click.ClickException):
    """The admin token is missing or wrong (exit code 3)."""

    exit_code = 3


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """Return ``rows`` as aligned text columns (``-`` for a missing or null cell)."""
    if not rows:
        return "(none)"
    cells = [["-" if r.get(c) is None else str(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def _record(values: dict[str, Any]) -> str:
    width = max(len(k) for k in values)
    return "\n".join(f"{k.ljust(width)}  {'-' if v is None else v}" for k, v in values.items())


def _time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def _json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)


def _call(call: Callable[[AdminClient], Any]) -> Any:
    ctx = click.get_current_context()
    admin = ctx.find_object(AdminClient)
    assert admin is not None  # set by the group
    try:
        return call(admin)
    except AdminApiError as exc:
        if exc.status == 401:
            raise SimAuthError(f"{exc.error}: set {TOKEN_ENV} to the server's admin token") from exc
        raise SimCommandError(f"refused ({exc.status}): {exc.error}") from exc
    except AdminUnreachable as exc:
        raise SimCommandError(str(exc)) from exc


def _emit(data: Any, as_json: bool, human: Callable[[Any], str]) -> None:
    click.echo(json.dumps(data, indent=2) if as_json else human(data))


@click.group("sim")
@click.option(
    "--url",
    envvar=[URL_ENV, "COPYTRADE_BASE_URL"],
    default=DEFAULT_ADMIN_URL,
    show_default=True,
    help=f"The copytrade server (env {URL_ENV}, else COPYTRADE_BASE_URL).",
)
@click.pass_context
def sim(ctx: click.Context, url: str) -> None:
    """Drive a copytrade server's sandbox: users, follows, prices, the clock, reset.

    The admin token is read from COPYTRADE_ADMIN_TOKEN (a server on loopback without a token
    needs none). Exit codes: 0 ok, 1 refused or unreachable, 2 usage, 3 token.
    """
    import os

    if isinstance(ctx.obj, AdminClient):  # injected by a test or an embedding program
        return
    admin = AdminClient(url, os.environ.get(TOKEN_ENV) or None)
    ctx.obj = admin
    ctx.call_on_close(admin.close)


@sim.group("users")
def users() -> None:
    """Create and show users."""


@users.command("create")
@click.option("--role", type=click.Choice(["trader", "follower"]), default="trader")
@click.option("--balance", default="10000", show_default=True, help="Copy-trading USDT balance.")
@click.option("--spot", help="Spot USDT balance (reached by transfers; default 0).")
@click.option("--futures", help="USDT-M futures balance (reached by transfers; default 0).")
@click.option("--permissions", type=click.Choice(["trade", "read"]), default="trade")
@click.option("--ed25519-public-key", help="Raw Ed25519 public key (64 hex) instead of HMAC.")
@click.option("--profit-share-ratio", help="A trader's profit share (0 … 1).")
@click.option("--count", type=click.IntRange(1, 1000), default=1, help="How many to create.")
@_json_option
def users_create(as_json: bool, count: int, role: str, **kw: Any) -> None:
    """Create users with an API key each (the secret is shown only now)."""
    made = [_call(lambda a: a.create_user(role, **kw)) for _ in range(count)]
    data: Any = made if count > 1 else made[0]
    _emit(data, as_json, lambda _: table(made, ["uid", "access_key", "secret_key"]))


def _following_text(following: dict[str, Any]) -> str:
    if following.get("mode") == "fixed_amount":
        text = f"{following['trader_uid']} ({following['fixed_amount']} USDT a copy"
    else:
        text = f"{following['trader_uid']} (ratio {following['ratio']}"
    for key, label in (
        ("tp_ratio", "tp"),
        ("sl_ratio", "sl"),
        ("total_stop_loss", "stop"),
        ("max_slippage", "max slippage"),
    ):
        if following.get(key) is not None:
            text += f", {label} {following[key]}"
    if following.get("contracts"):
        text += f", only {','.join(following['contracts'])}"
    return text + ")"


def _user_text(view: dict[str, Any]) -> str:
    following = view.get("following")
    summary = {
        "uid": view["uid"],
        "role": view["role"],
        "balance": view["balance"],
        "following": _following_text(following) if following else None,
        "fills": len(view.get("fills", [])),
        "closed positions": len(view.get("closed_positions", [])),
        "skipped copies": len(view.get("skipped_copies", [])),
    }
    parts = [_record(summary), "", "open positions:"]
    parts.append(
        table(
            view.get("positions", []),
            [
                "sub_position_id",
                "contract_code",
                "position_side",
                "volume",
                "open_avg_price",
                "lever",
                "lead_uid",
            ],
        )
    )
    if view.get("open_orders"):
        parts += ["", "open orders:"]
        parts.append(
            table(
                view["open_orders"],
                ["order_id", "contract_code", "position_side", "price", "volume", "filled"],
            )
        )
    if view.get("skipped_copies"):
        parts += ["", "skipped copies:"]
        parts.append(table(view["skipped_copies"], ["trader_uid", "contract_code", "reason"]))
    return "\n".join(parts)


@users.command("show")
@click.argument("uid", type=click.IntRange(1, 2**63 - 1))
@_json_option
def users_show(uid: int, as_json: bool) -> None:
    """Show a user: balance, follow, open positions and orders, history counts."""
    _emit(_call(lambda a: a.user(uid)), as_json, _user_text)


@users.command("funds")
@click.argument("uid", type=click.IntRange(1, 2**63 - 1))
@click.option("--balance", help="Copy-trading USDT balance.")
@click.option("--spot", help="Spot USDT balance.")
@click.option("--futures", help="USDT-M futures balance.")
@_json_option
def users_funds(uid: int, as_json: bool, **balances: str | None) -> None:
    """Set any of a user's three USDT balances (those left out keep their value)."""
    if all(v is None for v in balances.values()):
        raise click.UsageError("give at least one of --balance, --spot, --futures")
    _emit(_call(lambda a: a.set_funds(uid, **balances)), as_json, _record)


_SETTING_COLUMNS = (
    "trader_uid",
    "ratio",
    "mode",
    "fixed_amount",
    "tp_ratio",
    "sl_ratio",
    "total_stop_loss",
    "contracts",
    "max_slippage",
)
_CLEARABLE = {
    "tp-ratio": "tp_ratio",
    "sl-ratio": "sl_ratio",
    "total-stop-loss": "total_stop_loss",
    "contracts": "contracts",
    "max-slippage": "max_slippage",
}


def _contracts(value: str | None) -> list[str] | None:
    if value is None:
        return None
    codes = [c.strip().upper() for c in value.split(",") if c.strip()]
    if not codes:
        raise click.BadParameter("name at least one contract, e.g. BTC-USDT,ETH-USDT")
    return codes


def _settings_text(d: dict[str, Any]) -> str:
    shown = {k: d.get(k) for k in ("follower_uid", *_SETTING_COLUMNS)}
    if shown["contracts"] is not None:
        shown["contracts"] = ",".join(shown["contracts"])
    else:
        shown["contracts"] = "(all)"
    if "stopped" in d:
        shown["copy_exits"] = d["copy_exits"]
        shown["stopped"] = "yes (total stop-loss reached)" if d["stopped"] else "no"
        shown["copies_stopped"] = d["copies_stopped"]
    return _record(shown)


def _setting_options(func: F) -> F:
    for option in reversed(
        [
            click.option("--fixed-amount", help="USDT of margin per copied lead open."),
            click.option("--tp-ratio", help="A copy closes on its own at PnL/margin >= this."),
            click.option("--sl-ratio", help="A copy closes on its own at PnL/margin <= -this."),
            click.option("--total-stop-loss", help="USDT of copy loss that ends the follow."),
            click.option("--contracts", help="Copy only these, comma-separated (BTC-USDT,…)."),
            click.option(
                "--max-slippage",
                help="Skip copies worse than the lead by more than this fraction (0.01 = 1 %).",
            ),
        ]
    ):
        func = option(func)
    return func


@sim.command("follow")
@click.argument("follower_uid", type=click.IntRange(1, 2**63 - 1))
@click.argument("trader_uid", type=click.IntRange(1, 2**63 - 1))
@click.option("--ratio", default="1", show_default=True, help="Copy ratio.")
@_setting_options
@_json_option
def follow(
    follower_uid: int,
    trader_uid: int,
    ratio: str,
    as_json: bool,
    contracts: str | None,
    **settings: Any,
) -> None:
    """Make FOLLOWER_UID copy TRADER_UID, with its settings (a fixed amount selects that mode)."""
    kw = {k: v for k, v in settings.items() if v is not None}
    codes = _contracts(contracts)
    done = _call(lambda a: a.follow(follower_uid, trader_uid, ratio, contracts=codes, **kw))

    def human(d: dict[str, Any]) -> str:
        if not (kw or codes):
            return f"{d['follower_uid']} now follows {d['trader_uid']} at ratio {d['ratio']}"
        return f"{d['follower_uid']} now follows {_following_text(d)}"

    _emit(done, as_json, human)


@sim.command("follower-settings")
@click.argument("follower_uid", type=click.IntRange(1, 2**63 - 1))
@click.option(
    "--trader",
    "trader_uid",
    type=click.IntRange(1, 2**63 - 1),
    help="Refuse unless following this trader.",
)
@click.option("--ratio", help="Copy ratio (ratio mode).")
@click.option("--mode", type=click.Choice(["ratio", "fixed_amount"]), help="How copies are sized.")
@_setting_options
@click.option(
    "--clear",
    "clear",
    multiple=True,
    type=click.Choice(sorted(_CLEARABLE)),
    help="Turn a setting off (repeatable).",
)
@_json_option
def follower_settings(
    follower_uid: int,
    trader_uid: int | None,
    ratio: str | None,
    mode: str | None,
    contracts: str | None,
    clear: tuple[str, ...],
    as_json: bool,
    **settings: Any,
) -> None:
    """Show FOLLOWER_UID's follower settings, or change the ones given.

    Only the options given change; --clear turns TP/SL ratios, the total stop-loss or the
    contract list off. New TP/SL ratios and stop-loss apply at once at the current marks.
    """
    changes: dict[str, Any] = {k: v for k, v in settings.items() if v is not None}
    codes = _contracts(contracts)
    if codes is not None:
        changes["contracts"] = codes
    for name in clear:
        field = _CLEARABLE[name]
        if field in changes:
            raise click.UsageError(f"--{name} is both set and cleared")
        changes[field] = None
    if ratio is None and mode is None and trader_uid is None and not changes:
        shown = _call(lambda a: a.follow_of(follower_uid))
    else:
        shown = _call(
            lambda a: a.follower_settings(
                follower_uid, trader_uid=trader_uid, ratio=ratio, mode=mode, **changes
            )
        )
    _emit(shown, as_json, _settings_text)


@sim.group("followers")
def followers() -> None:
    """Many followers at once."""


@followers.command("bulk")
@click.argument("trader_uid", type=click.IntRange(1, 2**63 - 1))
@click.option("--count", type=click.IntRange(1, 100_000), required=True)
@click.option("--balance", default="10000", show_default=True)
@click.option("--ratio", default="1", show_default=True)
@_setting_options
@_json_option
def followers_bulk(
    trader_uid: int,
    count: int,
    balance: str,
    ratio: str,
    as_json: bool,
    contracts: str | None,
    **settings: Any,
) -> None:
    """Create COUNT funded followers of TRADER_UID in one transaction, with the same settings."""
    kw = {k: v for k, v in settings.items() if v is not None}
    codes = _contracts(contracts)
    uids = _call(
        lambda a: a.bulk_followers(
            trader_uid, count, balance=balance, ratio=ratio, contracts=codes, **kw
        )
    )

    def human(made: list[int]) -> str:
        span = f"{made[0]} … {made[-1]}" if made else "-"
        return f"created {len(made)} followers of {trader_uid} (uids {span})"

    _emit({"uids": uids} if as_json else uids, as_json, human)


@sim.command("markets")
@_json_option
def markets(as_json: bool) -> None:
    """List every contract's mark price and best quotes."""
    data = _call(lambda a: a.markets())
    rows = [{"contract_code": code, **quote} for code, quote in data.items()]
    _emit(
        data,
        as_json,
        lambda _: table(rows, ["contract_code", "mark_price", "best_bid", "best_ask"]),
    )


@sim.command("price")
@click.argument("contract_code")
@click.argument("price")
@_json_option
def price(contract_code: str, price: str, as_json: bool) -> None:
    """Move CONTRACT_CODE's mark to PRICE (resting orders, TP/SL, liquidations fire)."""
    moved = _call(lambda a: a.set_price(contract_code.upper(), price))
    _emit(moved, as_json, _record)


@sim.command("path")
@click.argument("contract_code")
@click.option(
    "--kind",
    type=click.Choice(["fixed", "gbm", "walk", "replay"]),
    help="Set a path (without it: show the current one).",
)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=0, show_default=True)
@click.option("--volatility", default="0", show_default=True, help="Annualised, 0.8 = 80 %.")
@click.option("--drift", default="0", show_default=True, help="Annualised.")
@click.option("--tick-ms", type=click.IntRange(1), default=1000, show_default=True)
@click.option(
    "--csv",
    "csv_file",
    type=click.File("r"),
    help="replay: timestamp_ms,price or timestamp_ms,open,high,low,close rows.",
)
@_json_option
def path(
    contract_code: str,
    kind: str | None,
    seed: int,
    volatility: str,
    drift: str,
    tick_ms: int,
    csv_file: Any,
    as_json: bool,
) -> None:
    """Show CONTRACT_CODE's price path, or give it one that moves on the simulation clock."""
    code = contract_code.upper()
    if kind is None:
        shown = _call(lambda a: a.path(code))
    else:
        text = csv_file.read() if csv_file is not None else None
        shown = _call(
            lambda a: a.set_path(
                code,
                kind,
                seed=seed,
                volatility=volatility,
                drift=drift,
                tick_ms=tick_ms,
                csv=text,
            )
        )
    _emit(shown, as_json, _record)


@sim.command("slippage")
@click.argument("trader_uid", type=click.IntRange(1, 2**63 - 1))
@_json_option
def slippage(trader_uid: int, as_json: bool) -> None:
    """Show each open lead position of TRADER_UID with its copies' slippage (bps)."""
    report = _call(lambda a: a.slippage(trader_uid))
    rows = [
        {
            **p,
            "distribution": " ".join(f"[{k}]:{v}" for k, v in p["distribution"].items() if v),
            "percentiles": " ".join(f"{k}:{v}" for k, v in p["percentiles"].items()),
        }
        for p in report["positions"]
    ]
    columns = [
        "lead_sub_position_id",
        "contract_code",
        "position_side",
        "lead_price",
        "copies",
        "mean_bps",
        "worst_bps",
        "best_bps",
        "percentiles",
        "distribution",
    ]
    _emit(report, as_json, lambda _: table(rows, columns) if rows else "no open lead positions")


@sim.command("clock")
@click.option("--advance", "advance_ms", type=int, help="Move the clock by this many ms.")
@click.option("--set", "set_ms", type=int, help="Freeze the clock at this epoch ms.")
@click.option("--resume", is_flag=True, help="Let a frozen clock run again.")
@_json_option
def clock(advance_ms: int | None, set_ms: int | None, resume: bool, as_json: bool) -> None:
    """Show the simulation clock, or advance, freeze (--set) or resume it."""
    if sum(x is not None and x is not False for x in (advance_ms, set_ms, resume or None)) > 1:
        raise click.UsageError("give at most one of --advance, --set, --resume")
    if advance_ms is not None:
        now = _call(lambda a: a.advance_clock(advance_ms))
    elif set_ms is not None:
        now = _call(lambda a: a.freeze_clock(set_ms))
    elif resume:
        now = _call(lambda a: a.resume_clock())
    else:
        now = _call(lambda a: a.clock())
    _emit({"now_ms": now}, as_json, lambda d: f"{d['now_ms']} ({_time(d['now_ms'])})")


@sim.command("reset")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_json_option
def reset(yes: bool, as_json: bool) -> None:
    """Delete every user, position and record on the server (markets are seeded again)."""
    if not yes:
        click.confirm("Delete everything on the server?", abort=True)
    _call(lambda a: a.reset())
    _emit({"reset": True}, as_json, lambda _: "reset: every user, position and record deleted")


@sim.command("health")
@_json_option
def health(as_json: bool) -> None:
    """Show liveness: version, store, schema revision, Redis."""
    _emit(_call(lambda a: a.health()), as_json, _record)


@sim.command("ready")
@_json_option
def ready(as_json: bool) -> None:
    """Show readiness (exit 1 when not ready: ``problems`` says why)."""
    state = _call(lambda a: a.ready())
    _emit(state, as_json, lambda d: _record({k: _plain(v) for k, v in d.items()}))
    if not state.get("ready"):
        raise click.exceptions.Exit(1)


def _plain(value: Any) -> Any:
    """A list or mapping as one short cell."""
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
    return value


def _rates(values: tuple[str, ...]) -> dict[str, str] | None:
    if not values:
        return None
    rates = {}
    for value in values:
        code, sep, rate = value.partition("=")
        if not sep or not code or not rate:
            raise click.BadParameter(
                f"{value!r}: write CONTRACT=RATE, e.g. ETH-USDT=0.0003", param_hint="'--rate'"
            )
        rates[code] = rate
    return rates


@sim.command("funding")
@click.option("--mode", type=click.Choice(["off", "rate", "premium"]))
@click.option("--interval-hours", type=click.IntRange(1, 24 * 7))
@click.option("--default-rate", help="The rate of a market without its own.")
@click.option("--rate", "rates", multiple=True, help="A market's rate: CONTRACT=RATE (repeat).")
@click.option("--impact-volume", help="Contracts whose fill sets the impact price (premium).")
@_json_option
def funding(as_json: bool, rates: tuple[str, ...], **changes: Any) -> None:
    """Show funding settings, each market's rate and the last settlements, or change them."""
    body = {k: v for k, v in changes.items() if v is not None}
    if (parsed := _rates(rates)) is not None:
        body["rates"] = parsed
    state = _call(lambda a: a.funding(**body))
    settled = state.get("settlements") or []
    human = {k: _plain(v) for k, v in state.items() if k != "settlements"}
    human["settlements"] = len(settled)
    _emit(state, as_json, lambda _: _record(human))


@sim.command("impact")
@click.option("--half-life-ms", type=click.IntRange(0), help="Depth recovery; 0 turns it off.")
@click.option("--copy-order", type=click.Choice(["follow_time", "shuffle"]))
@click.option("--seed", type=click.IntRange(0), help="The shuffle's seed.")
@click.option("--copy-latency-ms", type=click.IntRange(0), help="Copies this long after the lead.")
@click.option("--max-slippage", help="Skip a copy worse than the lead by more (0.005 = 0.5 %).")
@click.option("--no-max-slippage", is_flag=True, help="No venue slippage guard.")
@_json_option
def impact(as_json: bool, no_max_slippage: bool, **changes: Any) -> None:
    """Show or change market impact on copies (depth taken, copy order, latency, guard)."""
    body = {k: v for k, v in changes.items() if v is not None}
    if no_max_slippage:
        if "max_slippage" in body:
            raise click.UsageError("give --max-slippage or --no-max-slippage, not both")
        body["max_slippage"] = None
    _emit(_call(lambda a: a.impact(**body)), as_json, _record)
