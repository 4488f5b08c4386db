"""``copytrade api v5``: the v5 USDT-M trading family from the command line (over ``client.v5``).

Same credentials, output and exit codes as ``copytrade api`` (:mod:`copytrade.cli.api`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from copytrade.cli.api import DECIMAL, _contract, _json_option, _run
from copytrade.client import MarginMode, PositionSide
from copytrade.client.builders_v5 import AlgoType, OrderType
from copytrade.protocol import v5 as p5

_MODES = {
    "single_side": "one-way: one position per contract",
    "dual_side": "hedge: a long and a short per contract",
}
_ALGO_KIND = click.Choice(["tp", "sl", "tpsl", "trigger", "trailing_stop"])

F = TypeVar("F", bound=Callable[..., Any])
_MARGIN = click.Choice([m.value for m in MarginMode])
_SIDE = click.Choice([s.value for s in PositionSide])


def _margin(func: F) -> F:
    return click.option("--margin-mode", "-m", type=_MARGIN, default="cross", show_default=True)(
        func
    )


# --- what a write command did, in words (``--json`` prints HTX's data instead) ---------------


def _order_id(ack: p5.OrderAck) -> str:
    given = ack.client_order_id not in (None, ack.order_id)
    return f"order {ack.order_id}" + (f" (client id {ack.client_order_id})" if given else "")


def _algo_ids(acks: tuple[p5.AlgoAck, ...]) -> str:
    return ", ".join(f"algo {a.algo_id}" for a in acks) or "no algo id in the reply"


def _per_item(verb: str, items: list[tuple[str, bool, str]], none: str) -> str:
    """One line per item: ``verb: what``, or ``not verb: what (why)``."""
    lines = [f"{verb}: {what}" if ok else f"not {verb}: {what} ({why})" for what, ok, why in items]
    return "\n".join(lines) or f"{verb}: nothing, {none}"


def _closing_side(side: str, position_side: str | None) -> str:
    """The position a closing order (sell protects a long, buy a short) acts on."""
    return position_side or ("long" if side == "sell" else "short")


@click.group("v5")
def v5() -> None:
    """HTX's v5 USDT-M trading API (/v5/*): what ccxt's unified methods call."""


@v5.command("balance")
@_json_option
def balance(as_json: bool) -> None:
    """Show equity and available margin. GET /v5/account/balance."""
    _run(lambda c: c.v5.balance(), as_json)


@v5.command("order")
@_contract()
@click.option("--side", type=click.Choice(["buy", "sell"]), required=True)
@click.option("--volume", type=DECIMAL, required=True, help="Contracts.")
@_margin
@click.option(
    "--type", "kind", type=click.Choice(["market", "limit", "post_only"]), default="market"
)
@click.option("--price", type=DECIMAL, help="Limit price (limit, post_only).")
@click.option("--time-in-force", type=click.Choice(["gtc", "ioc", "fok"]), default="gtc")
@click.option("--position-side", type=_SIDE, help="long or short (inferred from --side).")
@click.option("--reduce-only", is_flag=True, help="Only reduce the position.")
@click.option("--tp-trigger-price", type=DECIMAL)
@click.option("--sl-trigger-price", type=DECIMAL)
@_json_option
def order(
    as_json: bool, kind: OrderType, margin_mode: str, position_side: str | None, **kw: Any
) -> None:
    """Place an order (a lead's fills are copied). POST /v5/trade/order."""
    words = [kw["side"], f"{kw['volume']:f}", kw["contract_code"], margin_mode]
    words.append(kind.replace("_", " ") + (f" {kw['price']:f}" if kw["price"] is not None else ""))
    if kw["time_in_force"] != "gtc":
        words.append(kw["time_in_force"])
    if position_side:
        words.append(f"position {position_side}")
    if kw["reduce_only"]:
        words.append("reduce only")
    for name in ("tp", "sl"):
        if kw[f"{name}_trigger_price"] is not None:
            words.append(f"{name} {kw[f'{name}_trigger_price']:f}")
    side = PositionSide(position_side) if position_side else None
    _run(
        lambda c: c.v5.place_order(
            type=kind, margin_mode=MarginMode(margin_mode), position_side=side, **kw
        ),
        as_json,
        done=lambda ack: f"placed: {' '.join(words)}, {_order_id(ack)}",
    )


@v5.command("cancel")
@_contract()
@click.argument("order_id")
@_json_option
def cancel(contract_code: str, order_id: str, as_json: bool) -> None:
    """Cancel one open order. POST /v5/trade/cancel_order."""
    _run(
        lambda c: c.v5.cancel_order(contract_code=contract_code, order_id=order_id),
        as_json,
        done=lambda ack: f"cancelled: {_order_id(ack)} on {contract_code}",
    )


@v5.command("cancel-all")
@_contract()
@_json_option
def cancel_all(contract_code: str, as_json: bool) -> None:
    """Cancel every open order of a contract. POST /v5/trade/cancel_all_orders."""
    _run(
        lambda c: c.v5.cancel_all_orders(contract_code=contract_code),
        as_json,
        done=lambda items: _per_item(
            "cancelled",
            [
                (f"order {i.order_id} on {contract_code}", i.code == 200, f"{i.code} {i.message}")
                for i in items
            ],
            f"no open order on {contract_code}",
        ),
    )


@v5.command("orders")
@_contract(required=False)
@_json_option
def orders(contract_code: str | None, as_json: bool) -> None:
    """List open orders. GET /v5/trade/order/opens."""
    _run(lambda c: c.v5.open_orders(contract_code=contract_code), as_json)


@v5.command("positions")
@_contract(required=False)
@_json_option
def positions(contract_code: str | None, as_json: bool) -> None:
    """List open positions. GET /v5/trade/position/opens."""
    _run(lambda c: c.v5.positions(contract_code=contract_code), as_json)


@v5.command("close")
@_contract()
@_margin
@click.option("--position-side", type=_SIDE, help="Only this side (default: every side).")
@_json_option
def close(contract_code: str, margin_mode: str, position_side: str | None, as_json: bool) -> None:
    """Close positions at market, followers' copies included. POST /v5/trade/position."""
    side = PositionSide(position_side) if position_side else None
    which = f"the {position_side}" if position_side else "every"
    _run(
        lambda c: c.v5.close_position(
            contract_code=contract_code, margin_mode=MarginMode(margin_mode), position_side=side
        ),
        as_json,
        done=lambda ack: (
            f"closed: {which} {contract_code} {margin_mode} position at market, {_order_id(ack)}"
        ),
    )


@v5.command("fills")
@_contract(required=False)
@_json_option
def fills(contract_code: str | None, as_json: bool) -> None:
    """List fills of the last 3 days. GET /v5/trade/order/details."""
    _run(lambda c: c.v5.fills(contract_code=contract_code), as_json)


@v5.command("set-leverage")
@_contract()
@_margin
@click.option("--lever", type=int, required=True)
@_json_option
def set_leverage(contract_code: str, margin_mode: str, lever: int, as_json: bool) -> None:
    """Set the leverage of later orders. POST /v5/position/lever."""
    _run(
        lambda c: c.v5.set_lever(
            contract_code=contract_code, lever_rate=lever, margin_mode=MarginMode(margin_mode)
        ),
        as_json,
        done=lambda set_: (
            f"leverage set: {set_.contract_code} {set_.margin_mode} lever {set_.lever_rate}"
        ),
    )


@v5.command("leverage")
@_contract(required=False)
@_json_option
def leverage(contract_code: str | None, as_json: bool) -> None:
    """Show leverage per contract and margin mode. GET /v5/position/lever."""
    _run(lambda c: c.v5.get_lever(contract_code=contract_code), as_json)


@v5.command("order-history")
@_contract()
@_margin
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(["filled", "partially_canceled", "canceled"]),
    help="Only this final state (repeatable; default: every one).",
)
@click.option("--start-time", type=int, help="Epoch ms lower bound (default: 48 h ago).")
@click.option("--end-time", type=int, help="Epoch ms upper bound (default: now).")
@click.option("--limit", type=click.IntRange(1, 100), help="At most this many (default 10).")
@_json_option
def order_history(as_json: bool, margin_mode: str, **kw: Any) -> None:
    """List finished orders, newest first. GET /v5/trade/order/history."""
    _run(lambda c: c.v5.order_history(margin_mode=MarginMode(margin_mode), **kw), as_json)


@v5.command("position-mode")
@click.option(
    "--set",
    "mode",
    type=click.Choice(["single_side", "dual_side"]),
    help="Switch to this mode (POST); without it, show the mode (GET).",
)
@_json_option
def position_mode(mode: Any, as_json: bool) -> None:
    """Show or set the position mode. GET/POST /v5/position/mode."""
    if mode is None:
        _run(lambda c: c.v5.get_position_mode(), as_json)
    else:
        _run(
            lambda c: c.v5.set_position_mode(position_mode=mode),
            as_json,
            done=lambda now: (
                f"position mode set: {now.position_mode} ({_MODES[now.position_mode]})"
            ),
        )


@v5.command("tpsl")
@_contract()
@click.option(
    "--side",
    type=click.Choice(["buy", "sell"]),
    required=True,
    help="The closing side: sell protects a long, buy a short.",
)
@_margin
@click.option("--position-side", type=_SIDE, help="The position (inferred from --side).")
@click.option("--tp-trigger-price", type=DECIMAL, help="Take-profit trigger.")
@click.option("--sl-trigger-price", type=DECIMAL, help="Stop-loss trigger.")
@click.option("--volume", type=DECIMAL, help="Contracts (a copytrade server protects it all).")
@_json_option
def tpsl(as_json: bool, margin_mode: str, position_side: str | None, **kw: Any) -> None:
    """Arm a take profit and/or stop loss on a position. POST /v5/algo/order."""
    take, stop = kw["tp_trigger_price"], kw["sl_trigger_price"]
    if take is None and stop is None:
        raise click.UsageError("give --tp-trigger-price, --sl-trigger-price or both")
    kind: AlgoType = "sl" if take is None else "tp" if stop is None else "tpsl"
    legs = ", ".join(
        f"{name} {price:f}" for name, price in (("tp", take), ("sl", stop)) if price is not None
    )
    target = f"{_closing_side(kw['side'], position_side)} {kw['contract_code']} {margin_mode}"
    size = f" ({kw['volume']:f} contracts)" if kw["volume"] is not None else ""
    side = PositionSide(position_side) if position_side else None
    _run(
        lambda c: c.v5.place_algo_order(
            type=kind, margin_mode=MarginMode(margin_mode), position_side=side, **kw
        ),
        as_json,
        done=lambda acks: f"armed: {legs} on the {target} position{size}, {_algo_ids(acks)}",
    )


@v5.command("trigger")
@_contract()
@click.option("--side", type=click.Choice(["buy", "sell"]), required=True)
@click.option("--volume", type=DECIMAL, required=True, help="Contracts.")
@click.option("--trigger-price", type=DECIMAL, required=True, help="The mark that fires it.")
@click.option("--price", type=DECIMAL, help="Place a limit order at this price (default: market).")
@click.option(
    "--trigger-type",
    type=click.Choice(["ge", "le"]),
    help="Fire at mark >= (ge) or <= (le) the trigger (default: from the mark's side).",
)
@_margin
@click.option("--position-side", type=_SIDE, help="long or short (inferred from --side).")
@click.option("--reduce-only", is_flag=True, help="Only reduce the position.")
@click.option("--client-id", "algo_client_order_id", type=int, help="Your id for it.")
@_json_option
def trigger(
    as_json: bool, margin_mode: str, position_side: str | None, price: Any, **kw: Any
) -> None:
    """Rest a trigger order; a lead's fired order is copied. POST /v5/algo/order."""
    at = "market" if price is None else f"limit {price:f}"
    when = {"ge": ">= ", "le": "<= ", None: "reaches "}[kw["trigger_type"]]
    words = f"{kw['side']} {kw['volume']:f} {kw['contract_code']} {margin_mode} at {at}"
    words += f" when the mark {when}{kw['trigger_price']:f}"
    words += " (reduce only)" if kw["reduce_only"] else ""
    side = PositionSide(position_side) if position_side else None
    _run(
        lambda c: c.v5.place_trigger_order(
            type="limit" if price is not None else "market",
            price=price,
            margin_mode=MarginMode(margin_mode),
            position_side=side,
            **kw,
        ),
        as_json,
        done=lambda acks: f"resting: trigger {words}, {_algo_ids(acks)}",
    )


@v5.command("trailing")
@_contract()
@click.option("--side", type=click.Choice(["buy", "sell"]), required=True)
@click.option("--volume", type=DECIMAL, required=True, help="Contracts.")
@click.option(
    "--callback-rate", type=DECIMAL, required=True, help="Retrace that fires it (0.001-0.05)."
)
@click.option("--active-price", type=DECIMAL, help="The mark that activates it (default: now).")
@_margin
@click.option("--position-side", type=_SIDE, help="long or short (inferred from --side).")
@click.option("--reduce-only", is_flag=True, help="Only reduce the position.")
@click.option("--client-id", "algo_client_order_id", type=int, help="Your id for it.")
@_json_option
def trailing(as_json: bool, margin_mode: str, position_side: str | None, **kw: Any) -> None:
    """Rest a trailing order (market once the mark retraces). POST /v5/algo/order."""
    words = f"{kw['side']} {kw['volume']:f} {kw['contract_code']} {margin_mode} at market"
    words += f" once the mark retraces {kw['callback_rate']:f}"
    if kw["active_price"] is not None:
        words += f" (active from {kw['active_price']:f})"
    words += " (reduce only)" if kw["reduce_only"] else ""
    side = PositionSide(position_side) if position_side else None
    _run(
        lambda c: c.v5.place_trailing_order(
            margin_mode=MarginMode(margin_mode), position_side=side, **kw
        ),
        as_json,
        done=lambda acks: f"resting: trailing {words}, {_algo_ids(acks)}",
    )


@v5.command("tpsl-orders")
@_contract(required=False)
@click.option("--type", "kind", type=_ALGO_KIND, help="Only this kind (default: every kind).")
@_json_option
def tpsl_orders(contract_code: str | None, kind: Any, as_json: bool) -> None:
    """List untriggered conditional orders (TP/SL, trigger, trailing). GET /v5/algo/order/opens."""
    _run(lambda c: c.v5.algo_open_orders(contract_code=contract_code, type=kind), as_json)


@v5.command("tpsl-order")
@click.argument("algo_id")
@click.option("--type", "kind", type=_ALGO_KIND, help="Its kind (default: any).")
@_json_option
def tpsl_order(algo_id: str, kind: Any, as_json: bool) -> None:
    """Show one conditional order, resting, fired or cancelled. GET /v5/algo/order."""
    _run(lambda c: c.v5.algo_order(algo_id=algo_id, type=kind), as_json)


@v5.command("tpsl-history")
@_contract(required=False)
@click.option("--type", "kind", type=_ALGO_KIND, help="Only this kind (default: every kind).")
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(["active", "effective", "triggered", "canceled"]),
    help="Only this state (repeatable).",
)
@click.option("--start-time", type=int, help="Epoch ms lower bound (default: 48 h ago).")
@click.option("--end-time", type=int, help="Epoch ms upper bound (default: now).")
@click.option("--limit", type=click.IntRange(1, 100), help="At most this many (default 10).")
@_json_option
def tpsl_history(as_json: bool, kind: Any, **kw: Any) -> None:
    """List fired and cancelled conditional orders. GET /v5/algo/order/history."""
    _run(lambda c: c.v5.algo_order_history(type=kind, **kw), as_json)


@v5.command("tpsl-cancel")
@_contract()
@click.argument("algo_ids", nargs=-1, required=True)
@_json_option
def tpsl_cancel(contract_code: str, algo_ids: tuple[str, ...], as_json: bool) -> None:
    """Cancel conditional orders by algo id. POST /v5/algo/cancel_orders."""
    _run(
        lambda c: c.v5.cancel_algo_orders(contract_code=contract_code, algo_ids=algo_ids),
        as_json,
        done=lambda items: _per_item(
            "cancelled",
            [
                (f"algo {i.algo_id} on {contract_code}", i.code == 200, f"{i.code} {i.message}")
                for i in items
            ],
            "the reply lists no conditional order",
        ),
    )


@v5.command("cancel-batch")
@_contract()
@click.argument("order_ids", nargs=-1, required=True)
@_json_option
def cancel_batch(contract_code: str, order_ids: tuple[str, ...], as_json: bool) -> None:
    """Cancel up to 10 orders by id. POST /v5/trade/cancel_batch_orders."""
    _run(
        lambda c: c.v5.cancel_batch_orders(contract_code=contract_code, order_ids=order_ids),
        as_json,
        done=lambda items: _per_item(
            "cancelled",
            [(f"order {i.order_id}", i.code == 200, f"{i.code} {i.message}") for i in items],
            "the reply lists no order",
        ),
    )


@v5.command("close-all")
@_json_option
def close_all(as_json: bool) -> None:
    """Close every position at market (and the copies). POST /v5/trade/position_all."""
    _run(
        lambda c: c.v5.close_all_positions(),
        as_json,
        done=lambda acks: (
            "\n".join(f"closed: {_order_id(a)}" for a in acks)
            or "closed: nothing, no position held"
        ),
    )


@v5.command("position-history")
@_contract(required=False)
@click.option("--from", "from_id", help="Page from this position id.")
@click.option("--limit", type=int)
@_json_option
def position_history(
    contract_code: str | None, from_id: str | None, limit: int | None, as_json: bool
) -> None:
    """List closed positions, newest first. GET /v5/trade/position/history."""
    _run(
        lambda c: c.v5.position_history(contract_code=contract_code, from_id=from_id, limit=limit),
        as_json,
    )


@v5.command("margin")
@_contract()
@click.option("--amount", type=DECIMAL, required=True)
@click.option("--reduce", is_flag=True, help="Reduce the margin (default: add).")
@click.option("--position-side", type=_SIDE)
@_json_option
def margin(
    contract_code: str, amount: Any, reduce: bool, position_side: str | None, as_json: bool
) -> None:
    """Add or reduce an isolated position's margin. POST /v5/position/margin."""
    _run(
        lambda c: c.v5.position_margin(
            contract_code=contract_code,
            amount=amount,
            type="reduce" if reduce else "add",
            position_side=PositionSide(position_side) if position_side else None,
        ),
        as_json,
        done=lambda _: f"{'reduced' if reduce else 'added'} {amount} USDT on {contract_code}",
    )


@v5.command("bills")
@_contract(required=False)
@click.option("--type", "kind", help="trade_fee, funding_fee, realized_pnl, profit_share_*.")
@click.option("--limit", type=int)
@_json_option
def bills(contract_code: str | None, kind: str | None, limit: int | None, as_json: bool) -> None:
    """List the account's bills, newest first. GET /v5/account/bills."""
    _run(lambda c: c.v5.bills(contract_code=contract_code, type=kind, limit=limit), as_json)


@v5.command("cancel-after")
@click.option("--time-out", type=int, default=60_000, show_default=True, help="ms, >= 5000.")
@click.option("--off", is_flag=True, help="Disarm the switch.")
@_json_option
def cancel_after(time_out: int, off: bool, as_json: bool) -> None:
    """Dead-man switch: cancel open orders unless renewed. POST /v5/trade/cancel-after."""
    _run(
        lambda c: c.v5.cancel_after(on=not off, time_out=time_out),
        as_json,
        done=lambda r: (
            "cancel-after: off"
            if r.trigger_time == 0
            else f"cancel-after: open orders cancelled at {r.trigger_time} unless renewed"
        ),
    )


# the same four under names that fit every kind of conditional order
v5.add_command(tpsl_orders, "algo-orders")
v5.add_command(tpsl_order, "algo-order")
v5.add_command(tpsl_history, "algo-history")
v5.add_command(tpsl_cancel, "algo-cancel")
