"""``copytrade api``: one subcommand per copy-trading endpoint, a shell over the SDK.

Credentials and server come from, in order: command-line options, environment variables
(``COPYTRADE_BASE_URL``, ``COPYTRADE_ACCESS_KEY``, ``COPYTRADE_SECRET_KEY``,
``COPYTRADE_ED25519_KEY_FILE``, ``COPYTRADE_PROFILE``), then a profile of the TOML file
``~/.config/copytrade/profiles.toml`` (or ``$COPYTRADE_PROFILE_FILE``)::

    [default]
    base_url = "http://127.0.0.1:8080"
    access_key = "..."
    secret_key = "..."          # or: ed25519_key_file = "/path/key.pem"

Secrets are never printed. Output is a table for people; ``--json`` prints JSON for scripts,
with decimals as strings.

Exit codes: 0 success; 1 API error (or transport failure); 2 usage error; 3 authentication,
permission or rate-limit error.

The group stores the :class:`~copytrade.client.Client` in ``ctx.obj``. Tests (or an embedding
program) may pass ``obj=`` a ready ``Client``, which is used as is, or an
``httpx.BaseTransport``, which the built client sends through.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
import httpx

from copytrade.cli._output import ENV_HELP, render
from copytrade.client import (
    DEFAULT_BASE_URL,
    AuthenticationError,
    Client,
    CopytradeClientError,
    Direct,
    Ed25519Auth,
    ExchangeError,
    HmacAuth,
    MarginAdjustType,
    MarginMode,
    OrderDirection,
    OrderPriceType,
    PermissionDenied,
    PositionSide,
    RateLimitExceeded,
    TransferType,
)
from copytrade.client.models import WireFormatError, to_decimal

__all__ = [
    "EXIT_API_ERROR",
    "EXIT_AUTH_OR_RATE_LIMIT",
    "EXIT_USAGE",
    "ApiCommandError",
    "AuthOrRateLimitError",
    "api",
]

EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_AUTH_OR_RATE_LIMIT = 3
PROFILE_FILE_ENV = "COPYTRADE_PROFILE_FILE"
DEFAULT_PROFILE_FILE = Path("~/.config/copytrade/profiles.toml")

F = TypeVar("F", bound=Callable[..., Any])


class ApiCommandError(click.ClickException):
    """The server refused the request, or it could not be sent (exit code 1)."""

    exit_code = EXIT_API_ERROR


class AuthOrRateLimitError(click.ClickException):
    """Authentication, permission or rate-limit failure (exit code 3)."""

    exit_code = EXIT_AUTH_OR_RATE_LIMIT


@dataclass(frozen=True)
class _Settings:
    base_url: str
    access_key: str | None
    secret_key: str | None = field(repr=False)
    ed25519_key_file: str | None


# --- option types --------------------------------------------------------------------------


if TYPE_CHECKING:
    _DecimalBase = click.ParamType[Decimal]
else:  # click < 8.2 has no generic ParamType
    _DecimalBase = click.ParamType


class _DecimalType(_DecimalBase):
    name = "decimal"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> Decimal:
        if isinstance(value, Decimal):
            return value
        try:
            parsed = to_decimal(str(value), "value")
        except WireFormatError:
            parsed = None
        if parsed is None:
            self.fail(f"{value!r} is not a plain decimal number", param, ctx)
        return parsed


DECIMAL = _DecimalType()
_MARGIN = click.Choice([m.value for m in MarginMode])
_SIDE = click.Choice([s.value for s in PositionSide])
_PRICE_TYPES = {t.name.lower(): t for t in OrderPriceType}
_TRANSFERS = {t.name.lower().replace("_", "-"): t for t in TransferType}


# --- group ---------------------------------------------------------------------------------


def _load_profile(name: str | None, explicit: bool) -> dict[str, Any]:
    path = Path(os.environ.get(PROFILE_FILE_ENV) or DEFAULT_PROFILE_FILE).expanduser()
    if not path.is_file():
        if explicit:
            raise click.UsageError(f"profile file {path} not found")
        return {}
    try:
        profiles = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise click.UsageError(f"cannot read profile file {path}: {exc}") from exc
    profile = profiles.get(name or "default")
    if profile is None:
        if explicit:
            raise click.UsageError(f"profile {name!r} not found in {path}")
        return {}
    if not isinstance(profile, dict):
        raise click.UsageError(f"profile {name!r} in {path} is not a table")
    return profile


def _resolve(ctx: click.Context, profile_name: str | None, **given: str | None) -> _Settings:
    explicit = ctx.get_parameter_source("profile") in (
        click.core.ParameterSource.COMMANDLINE,
        click.core.ParameterSource.ENVIRONMENT,
    )
    profile = _load_profile(profile_name, explicit)
    values: dict[str, str | None] = {}
    for key, value in given.items():
        source = ctx.get_parameter_source(key)
        from_user = source in (
            click.core.ParameterSource.COMMANDLINE,
            click.core.ParameterSource.ENVIRONMENT,
        )
        values[key] = value if from_user or key not in profile else str(profile[key])
    return _Settings(
        base_url=values["base_url"] or DEFAULT_BASE_URL,
        access_key=values["access_key"],
        secret_key=values["secret_key"],
        ed25519_key_file=values["ed25519_key_file"],
    )


def _build_client(settings: _Settings, transport: httpx.BaseTransport | None) -> Client | None:
    if not settings.access_key:
        return None
    if settings.secret_key and settings.ed25519_key_file:
        raise click.UsageError("give either a secret key or an Ed25519 key file, not both")
    auth: HmacAuth | Ed25519Auth
    if settings.ed25519_key_file:
        try:
            pem = Path(settings.ed25519_key_file).expanduser().read_bytes()
            auth = Ed25519Auth(settings.access_key, pem)
        except (OSError, ValueError) as exc:
            raise click.UsageError(f"cannot load the Ed25519 key file: {exc}") from exc
    elif settings.secret_key:
        auth = HmacAuth(settings.access_key, settings.secret_key)
    else:
        return None
    try:
        return Client(settings.base_url, auth, transport=transport)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc


@click.group("api", epilog=ENV_HELP)
@click.option("--base-url", envvar="COPYTRADE_BASE_URL", help="Server URL [default: HTX].")
@click.option("--access-key", envvar="COPYTRADE_ACCESS_KEY", help="API access key.")
@click.option(
    "--secret-key", envvar="COPYTRADE_SECRET_KEY", help="HmacSHA256 secret (prefer the env var)."
)
@click.option(
    "--ed25519-key-file",
    envvar="COPYTRADE_ED25519_KEY_FILE",
    type=click.Path(dir_okay=False),
    help="PEM file of an Ed25519 private key (instead of a secret).",
)
@click.option("--profile", envvar="COPYTRADE_PROFILE", help="Profile of the profiles file.")
@click.pass_context
def api(
    ctx: click.Context,
    base_url: str | None,
    access_key: str | None,
    secret_key: str | None,
    ed25519_key_file: str | None,
    profile: str | None,
) -> None:
    """Call HTX's copy-trading API (real HTX or a copytrade server).

    Exit codes: 0 ok, 1 API error, 2 usage, 3 authentication or rate limit.
    """
    injected = ctx.obj
    if isinstance(injected, Client):
        return
    settings = _resolve(
        ctx,
        profile,
        base_url=base_url,
        access_key=access_key,
        secret_key=secret_key,
        ed25519_key_file=ed25519_key_file,
    )
    transport = injected if isinstance(injected, httpx.BaseTransport) else None
    client = _build_client(settings, transport)
    ctx.obj = client
    if client is not None:
        ctx.call_on_close(client.close)


# --- command plumbing ----------------------------------------------------------------------


def _json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)


LIVE_HTX_NOTICE = (
    "target: live HTX at {url} (real orders, real money); for a copytrade server give "
    "--base-url or COPYTRADE_BASE_URL, e.g. http://127.0.0.1:8080"
)


def _run(
    call: Callable[[Client], Any],
    as_json: bool,
    show: Callable[[Any, Client], Any] | None = None,
    done: str | Callable[[Any], str] | None = None,
) -> None:
    """Run ``call`` and print its result, or (without ``--json``) what it did, in words.

    ``done`` is the sentence for a ``true`` reply, or a function that writes it from the reply
    (an order id, per-item results); HTX's ``tid`` is added when the reply has one.
    """
    ctx = click.get_current_context()
    client = ctx.find_object(Client)
    if client is None:
        raise click.UsageError(
            "no credentials: give --access-key and --secret-key (or --ed25519-key-file), "
            "the COPYTRADE_* environment variables, or a profile"
        )
    if client.base_url.rstrip("/") == DEFAULT_BASE_URL:
        click.echo(LIVE_HTX_NOTICE.format(url=DEFAULT_BASE_URL), err=True)
    try:
        result = call(client)
    except (AuthenticationError, PermissionDenied, RateLimitExceeded) as exc:
        raise AuthOrRateLimitError(_describe(exc)) from exc
    except ExchangeError as exc:
        raise ApiCommandError(_describe(exc)) from exc
    except CopytradeClientError as exc:
        raise ApiCommandError(f"request failed: {exc}") from exc
    except (TypeError, ValueError) as exc:
        raise click.UsageError(str(exc)) from exc
    if show is not None:
        result = show(result, client)
    elif done is not None and not as_json:
        if callable(done):
            said: str | None = done(result)
        elif isinstance(result, bool):
            said = done if result else f"not done: {done}"
        else:
            said = None
        if said is not None:
            tid = client.last_response.tid if client.last_response else None
            # one line: the tid after it; one line per item: the tid on a line of its own
            result = said + (
                "" if not tid else f"\n(tid {tid})" if "\n" in said else f" (tid {tid})"
            )
    click.echo(render(result, as_json=as_json))


def _describe(exc: ExchangeError) -> str:
    code = "?" if exc.code is None else str(exc.code)
    text = f"{type(exc).__name__} {code}: {exc.msg or 'no message'}"
    return text + (f" (tid {exc.tid})" if exc.tid else "")


def _contract(required: bool = True) -> Callable[[F], F]:
    return click.option("--contract-code", "-c", required=required, help="Contract, e.g. BTC-USDT.")


def _margin(func: F) -> F:
    return click.option("--margin-mode", "-m", type=_MARGIN, required=True)(func)


def _side(func: F) -> F:
    return click.option("--position-side", "-s", type=_SIDE, required=True)(func)


def _paging(func: F) -> F:
    for decorator in reversed(
        [
            click.option("--start-time", type=int, help="Epoch ms lower bound."),
            click.option("--end-time", type=int, help="Epoch ms upper bound."),
            click.option("--direct", type=click.Choice(["next", "prev"]), help="Paging order."),
            click.option("--from-id", help="query_id of the previous page."),
            click.option("--limit", type=click.IntRange(1, 100), help="Page size."),
        ]
    ):
        func = decorator(func)
    return func


def _page_args(kw: dict[str, Any]) -> dict[str, Any]:
    direct = kw.pop("direct")
    return kw | {"direct": Direct(direct) if direct else None}


# --- commands: trading ---------------------------------------------------------------------


@api.command("place-order")
@_contract()
@click.option("--amount", type=DECIMAL, required=True, help="Contracts.")
@_margin
@click.option(
    "--order-price-type", "-t", type=click.Choice(list(_PRICE_TYPES)), default="market",
    show_default=True,
)  # fmt: skip
@click.option("--order-direction", "-d", type=click.Choice(["buy", "sell"]), required=True)
@click.option("--lever", type=int, required=True)
@click.option("--price", type=DECIMAL, help="Limit price (limit and fok).")
@click.option("--tp-trigger-price", type=DECIMAL)
@click.option("--sl-trigger-price", type=DECIMAL)
@_json_option
def place_order(as_json: bool, **kw: Any) -> None:
    """Place an opening order.

    POST /copytrading/trader/place_order.
    """
    words, order = _order_summary(kw)
    kw["margin_mode"] = MarginMode(kw["margin_mode"])
    kw["order_price_type"] = _PRICE_TYPES[kw["order_price_type"]]
    kw["order_direction"] = OrderDirection[kw["order_direction"].upper()]

    def show(accepted: Any, client: Client) -> Any:
        tid = client.last_response.tid if client.last_response else None
        if as_json:
            return {"accepted": accepted, "order": order, "tid": tid}
        return f"{'placed' if accepted else 'not placed'}: {words}" + (
            f" (tid {tid})" if tid else ""
        )

    _run(lambda c: c.place_order(**kw), as_json, show)


def _order_summary(kw: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Say what an order asks for, in words (and as fields for ``--json``)."""
    kind = kw["order_price_type"]
    text = [kw["order_direction"], f"{kw['amount']:f}", kw["contract_code"], kw["margin_mode"]]
    text.append(f"limit {kw['price']:f}" if kw["price"] is not None else kind.replace("_", " "))
    if kw["price"] is not None and kind != "limit":
        text[-1] = f"{kind} {kw['price']:f}"
    text.append(f"lever {kw['lever']}")
    for name in ("tp_trigger_price", "sl_trigger_price"):
        if kw[name] is not None:
            text.append(f"{name.split('_')[0]} {kw[name]:f}")
    fields = {k: (f"{v:f}" if isinstance(v, Decimal) else v) for k, v in kw.items()}
    return " ".join(text), fields


@api.command("close-order")
@click.argument("sub_position_id")
@_json_option
def close_order(sub_position_id: str, as_json: bool) -> None:
    """Close one sub position at market.

    POST /copytrading/trader/close_order.
    """
    _run(
        lambda c: c.close_order(sub_position_id=sub_position_id),
        as_json,
        done=f"closed: sub position {sub_position_id} at market",
    )


@api.command("close-all")
@_contract()
@_margin
@_side
@_json_option
def close_all(contract_code: str, margin_mode: str, position_side: str, as_json: bool) -> None:
    """Close every position of a contract, margin mode and side.

    POST /copytrading/trader/close_all_position. Live HTX may finish asynchronously: check
    with current-positions. Nothing to close exits 1 (error 1046).
    """
    _run(
        lambda c: c.close_all_position(
            contract_code=contract_code,
            margin_mode=MarginMode(margin_mode),
            position_side=PositionSide(position_side),
        ),
        as_json,
        done=f"closed: every {position_side} {contract_code} {margin_mode} sub position at market",
    )


@api.command("tpsl")
@click.argument("sub_position_id")
@click.option("--tp-trigger-price", type=DECIMAL)
@click.option("--sl-trigger-price", type=DECIMAL)
@_json_option
def tpsl(sub_position_id: str, as_json: bool, **kw: Any) -> None:
    """Set TP/SL on a sub position.

    POST /copytrading/trader/tpsl_order.
    """
    said = [f"{k.split('_')[0]} {v:f}" for k, v in kw.items() if v is not None]
    _run(
        lambda c: c.tpsl_order(sub_position_id=sub_position_id, **kw),
        as_json,
        done=f"set on sub position {sub_position_id}: {', '.join(said) or 'nothing'}",
    )


@api.command("add-margin")
@_contract()
@click.option("--amount", type=DECIMAL, required=True, help="USDT.")
@click.option("--type", "kind", type=click.Choice(["add", "reduce"]), default="add",
              show_default=True)  # fmt: skip
@_side
@_json_option
def add_margin(contract_code: str, amount: Decimal, kind: str, position_side: str,
               as_json: bool) -> None:  # fmt: skip
    """Add or reduce isolated margin.

    POST /copytrading/trader/add_margin.
    """
    _run(
        lambda c: c.add_margin(
            contract_code=contract_code,
            amount=amount,
            type=MarginAdjustType[kind.upper()],
            position_side=PositionSide(position_side),
        ),
        as_json,
    )


@api.command("transfer")
@click.option("--amount", type=DECIMAL, required=True)
@click.option("--type", "kind", type=click.Choice(list(_TRANSFERS)), required=True)
@click.option("--currency", default="USDT", show_default=True)
@_json_option
def transfer(amount: Decimal, kind: str, currency: str, as_json: bool) -> None:
    """Move funds to or from the copy account.

    POST /copytrading/trader/account_transfer.
    """
    _run(
        lambda c: c.account_transfer(amount=amount, type=_TRANSFERS[kind], currency=currency),
        as_json,
        done=f"transferred {amount:f} {currency}, {kind.replace('-', ' ')}",
    )


@api.command("set-leverage")
@_contract()
@_margin
@click.option("--lever", type=int, required=True)
@_json_option
def set_leverage(contract_code: str, margin_mode: str, lever: int, as_json: bool) -> None:
    """Change leverage.

    POST /copytrading/trader/updated_contract_lever.
    """
    _run(
        lambda c: c.updated_contract_lever(
            contract_code=contract_code, lever=lever, margin_mode=MarginMode(margin_mode)
        ),
        as_json,
    )


@api.command("remove-follower")
@click.argument("follower_uid")
@_json_option
def remove_follower(follower_uid: str, as_json: bool) -> None:
    """Remove a follower.

    POST /copytrading/trader/remove_follower.
    """
    _run(
        lambda c: c.remove_follower(follower_uid=follower_uid),
        as_json,
        done=f"removed: follower {follower_uid} (its copies closed at market)",
    )


# --- commands: queries ---------------------------------------------------------------------


@api.command("leverage")
@_contract()
@_margin
@_json_option
def leverage(contract_code: str, margin_mode: str, as_json: bool) -> None:
    """Show leverage range and setting.

    GET /copytrading/trader/query_contract_lever.
    """
    _run(
        lambda c: c.query_contract_lever(
            contract_code=contract_code, margin_mode=MarginMode(margin_mode)
        ),
        as_json,
    )


@api.command("contracts")
@_json_option
def contracts(as_json: bool) -> None:
    """List copy-trading contracts.

    GET /copytrading/trader/query_contract.
    """
    _run(lambda c: c.query_contract(), as_json)


@api.command("positions")
@_json_option
def positions(as_json: bool) -> None:
    """List aggregate positions.

    GET /copytrading/trader/position_list (needs Trade).
    """
    _run(lambda c: c.position_list(), as_json)


@api.command("current-positions")
@_contract()
@_paging
@_json_option
def current_positions(as_json: bool, **kw: Any) -> None:
    """List open sub positions.

    GET /copytrading/trader/current_positions.
    """
    _run(lambda c: c.current_positions(**_page_args(kw)), as_json)


@api.command("history")
@_contract()
@_paging
@_json_option
def history(as_json: bool, **kw: Any) -> None:
    """List closed sub positions.

    GET /copytrading/trader/position_positions.
    """
    _run(lambda c: c.position_positions(**_page_args(kw)), as_json)


@api.command("open-orders")
@_contract(required=False)
@_json_option
def open_orders(contract_code: str | None, as_json: bool) -> None:
    """List unfilled orders.

    GET /copytrading/trader/open_orders.
    """
    _run(lambda c: c.open_orders(contract_code=contract_code), as_json)


@api.command("tpsl-orders")
@_contract(required=False)
@_json_option
def tpsl_orders(contract_code: str | None, as_json: bool) -> None:
    """List untriggered TP/SL.

    GET /copytrading/trader/tpsl_open_orders.

    HTX reports position_side inverted (the closing order's side).
    """
    _run(lambda c: c.tpsl_open_orders(contract_code=contract_code), as_json)


@api.command("stats")
@_json_option
def stats(as_json: bool) -> None:
    """Show trader statistics.

    GET /copytrading/trader/order_total_detail.
    """
    _run(lambda c: c.order_total_detail(), as_json)


@api.command("profit-history")
@_paging
@_json_option
def profit_history(as_json: bool, **kw: Any) -> None:
    """List profit shares received.

    GET /copytrading/trader/profit_history_details.
    """
    _run(lambda c: c.profit_history_details(**_page_args(kw)), as_json)


@api.command("profit-total")
@_json_option
def profit_total(as_json: bool) -> None:
    """Show profit-share totals.

    GET /copytrading/trader/total_profit_history.
    """
    _run(lambda c: c.total_profit_history(), as_json)


@api.command("followers")
@_paging
@_json_option
def followers(as_json: bool, **kw: Any) -> None:
    """List current followers.

    GET /copytrading/trader/query_followers.
    """
    _run(lambda c: c.query_followers(**_page_args(kw)), as_json)


def _add_families() -> None:
    from copytrade.cli.api_v5 import v5
    from copytrade.cli.api_v6 import v6

    api.add_command(v5)
    api.add_command(v6)


_add_families()
