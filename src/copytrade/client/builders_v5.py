"""Request builders for HTX's v5 USDT-M trading family (spec ``htx-v5-v6.md`` §6.8-§6.15).

Like :mod:`copytrade.client.builders`, each function validates its typed arguments into a
:class:`~copytrade.client.builders.PreparedRequest` whose parser returns the declared structure
of :mod:`copytrade.protocol.v5`. The clients expose them as ``client.v5.<name>(...)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal

from copytrade.client.builders import (
    JsonBody,
    JsonScalar,
    PreparedRequest,
    _decimal_text,
    _put_decimals,
    single,
)
from copytrade.protocol import v5 as p5
from copytrade.protocol.enums import MarginMode, PositionSide

__all__ = [
    "algo_open_orders",
    "algo_order",
    "algo_order_history",
    "balance",
    "batch_orders",
    "bills",
    "cancel_after",
    "cancel_algo_orders",
    "cancel_all_orders",
    "cancel_batch_orders",
    "cancel_order",
    "close_all_positions",
    "close_position",
    "fills",
    "get_lever",
    "get_position_mode",
    "open_orders",
    "order",
    "order_history",
    "place_algo_order",
    "place_order",
    "place_trailing_order",
    "place_trigger_order",
    "position_history",
    "position_margin",
    "positions",
    "set_lever",
    "set_position_mode",
]

BY_NAME = {e.name: e for e in p5.ENDPOINTS}
Side = Literal["buy", "sell"]
OrderType = Literal["market", "limit", "post_only"]
TimeInForce = Literal["gtc", "ioc", "fok"]
OrderState = Literal["filled", "partially_canceled", "canceled"]
PositionModeName = Literal["single_side", "dual_side"]
AlgoType = Literal["tp", "sl", "tpsl"]
AlgoKind = Literal["tp", "sl", "tpsl", "trigger", "trailing_stop"]
AlgoState = Literal["active", "effective", "triggered", "canceled"]
TriggerOrderType = Literal["market", "limit"]
TriggerType = Literal["ge", "le"]


def _post(name: str, body: JsonBody, parse: Any) -> PreparedRequest[Any]:
    return PreparedRequest(BY_NAME[name], (), body, parse)


def _get(name: str, params: Mapping[str, str | int | None], parse: Any) -> PreparedRequest[Any]:
    pairs = tuple((k, str(v)) for k, v in params.items() if v is not None)
    return PreparedRequest(BY_NAME[name], pairs, None, parse)


def balance() -> PreparedRequest[p5.Balance]:
    """Read the account's equity, margins and available margin: ``GET /v5/account/balance``."""
    return _get("balance", {}, p5.BALANCE.parse)


def place_order(
    *,
    contract_code: str,
    side: Side,
    volume: Decimal,
    margin_mode: MarginMode = MarginMode.CROSS,
    type: OrderType = "market",
    price: Decimal | None = None,
    time_in_force: TimeInForce = "gtc",
    position_side: PositionSide | None = None,
    reduce_only: bool = False,
    tp_trigger_price: Decimal | None = None,
    sl_trigger_price: Decimal | None = None,
    client_order_id: int | None = None,
) -> PreparedRequest[p5.OrderAck]:
    """Place an order: ``POST /v5/trade/order``.

    Without ``position_side`` a buy opens a long and a sell a short; with ``reduce_only`` a
    sell reduces the long and a buy the short. A lead trader's fills are copied to followers.

    Args:
        contract_code: e.g. ``"BTC-USDT"``.
        side: ``"buy"`` or ``"sell"``.
        volume: contracts (a whole number).
        margin_mode: cross or isolated.
        type: ``market``, ``limit`` or ``post_only``.
        price: limit price (``limit``, ``post_only``).
        time_in_force: ``gtc``, ``ioc`` or ``fok``.
        position_side: long or short (hedge mode).
        reduce_only: only reduce the position.
        tp_trigger_price: attached take-profit trigger.
        sl_trigger_price: attached stop-loss trigger.
        client_order_id: your numeric id.

    Returns:
        The order's id (and client id).
    """
    body: dict[str, JsonScalar] = {
        "contract_code": contract_code,
        "margin_mode": MarginMode(margin_mode).value,
        "side": side,
        "type": type,
        "volume": _decimal_text(volume, "volume"),
        "time_in_force": time_in_force,
    }
    _put_decimals(body, price=price)
    if position_side is not None:
        body["position_side"] = PositionSide(position_side).value
    if reduce_only:
        body["reduce_only"] = 1
    _put_decimals(body, tp_trigger_price=tp_trigger_price, sl_trigger_price=sl_trigger_price)
    if client_order_id is not None:
        body["client_order_id"] = int(client_order_id)
    return _post("place_order", body, p5.ORDER_ACK.parse)


def cancel_order(*, contract_code: str, order_id: str) -> PreparedRequest[p5.OrderAck]:
    """Cancel one open order: ``POST /v5/trade/cancel_order``."""
    body: dict[str, JsonScalar] = {"contract_code": contract_code, "order_id": str(order_id)}
    return _post("cancel_order", body, p5.ORDER_ACK.parse)


def cancel_all_orders(*, contract_code: str) -> PreparedRequest[tuple[p5.CancelItem, ...]]:
    """Cancel every open order of a contract: ``POST /v5/trade/cancel_all_orders``."""
    return _post("cancel_all_orders", {"contract_code": contract_code}, p5.CANCEL_ITEMS.parse)


def order(*, contract_code: str, order_id: str) -> PreparedRequest[p5.Order]:
    """Read one open order: ``GET /v5/trade/order``."""
    return _get("order", {"contract_code": contract_code, "order_id": order_id}, p5.ORDER.parse)


def open_orders(*, contract_code: str | None = None) -> PreparedRequest[tuple[p5.Order, ...]]:
    """List open orders: ``GET /v5/trade/order/opens``."""
    return _get("open_orders", {"contract_code": contract_code}, p5.ORDERS.parse)


def order_history(
    *,
    contract_code: str,
    margin_mode: MarginMode = MarginMode.CROSS,
    states: Sequence[OrderState] | None = None,
    start_time: int | None = None,
    end_time: int | None = None,
    limit: int | None = None,
) -> PreparedRequest[tuple[p5.Order, ...]]:
    """List finished orders, newest first: ``GET /v5/trade/order/history``.

    Args:
        contract_code: e.g. ``"BTC-USDT"``.
        margin_mode: cross or isolated.
        states: only these final states (``filled``, ``partially_canceled``, ``canceled``);
            every one when ``None``.
        start_time: epoch ms lower bound (default: 48 hours before ``end_time``).
        end_time: epoch ms upper bound (default: now).
        limit: at most this many orders (1-100, default 10).
    """
    params: dict[str, str | int | None] = {
        "contract_code": contract_code,
        "margin_mode": MarginMode(margin_mode).value,
        "states": ",".join(states) if states else None,
        "start_time": start_time,
        "end_time": end_time,
        "limit": limit,
    }
    return _get("order_history", params, p5.ORDERS.parse)


def fills(
    *, contract_code: str | None = None, start_time: int | None = None, end_time: int | None = None
) -> PreparedRequest[tuple[p5.Fill, ...]]:
    """List the account's fills (last 3 days): ``GET /v5/trade/order/details``."""
    params = {"contract_code": contract_code, "start_time": start_time, "end_time": end_time}
    return _get("fills", params, p5.FILLS.parse)


def positions(*, contract_code: str | None = None) -> PreparedRequest[tuple[p5.Position, ...]]:
    """List open positions: ``GET /v5/trade/position/opens``."""
    return _get("positions", {"contract_code": contract_code}, p5.POSITIONS.parse)


def close_position(
    *,
    contract_code: str,
    margin_mode: MarginMode = MarginMode.CROSS,
    position_side: PositionSide | None = None,
) -> PreparedRequest[p5.OrderAck]:
    """Close the position(s) of a contract at market, the followers' copies with them.

    ``POST /v5/trade/position``; without ``position_side`` every side closes.
    """
    body: dict[str, JsonScalar] = {
        "contract_code": contract_code,
        "margin_mode": MarginMode(margin_mode).value,
    }
    if position_side is not None:
        body["position_side"] = PositionSide(position_side).value
    return _post("close_position", body, p5.ORDER_ACK.parse)


def set_lever(
    *, contract_code: str, lever_rate: int, margin_mode: MarginMode = MarginMode.CROSS
) -> PreparedRequest[p5.Lever]:
    """Set the leverage of later orders: ``POST /v5/position/lever``."""
    body: dict[str, JsonScalar] = {
        "contract_code": contract_code,
        "margin_mode": MarginMode(margin_mode).value,
        "lever_rate": int(lever_rate),
    }
    return _post("set_lever", body, p5.LEVER.parse)


def get_lever(*, contract_code: str | None = None) -> PreparedRequest[tuple[p5.Lever, ...]]:
    """Read leverage per contract and margin mode: ``GET /v5/position/lever``."""
    return _get("get_lever", {"contract_code": contract_code}, p5.LEVERS.parse)


def get_position_mode() -> PreparedRequest[p5.PositionMode]:
    """Read the position mode: ``GET /v5/position/mode``."""
    return _get("get_position_mode", {}, p5.POSITION_MODE.parse)


def set_position_mode(*, position_mode: PositionModeName) -> PreparedRequest[p5.PositionMode]:
    """Set the position mode, ``single_side`` or ``dual_side``: ``POST /v5/position/mode``.

    Refused (1067) while the account holds positions or resting orders.
    """
    return _post("set_position_mode", {"position_mode": position_mode}, p5.POSITION_MODE.parse)


def place_algo_order(
    *,
    contract_code: str,
    side: Side,
    type: AlgoType,
    margin_mode: MarginMode = MarginMode.CROSS,
    position_side: PositionSide | None = None,
    volume: Decimal | None = None,
    tp_trigger_price: Decimal | None = None,
    sl_trigger_price: Decimal | None = None,
) -> PreparedRequest[tuple[p5.AlgoAck, ...]]:
    """Arm a take profit and/or stop loss on a position: ``POST /v5/algo/order``.

    ``side`` is the closing side: ``"sell"`` protects a long, ``"buy"`` a short. When it fires,
    the position closes at market, the followers' copies with it.

    Args:
        contract_code: e.g. ``"BTC-USDT"``.
        side: the side of the closing order.
        type: ``tp``, ``sl`` or ``tpsl``.
        margin_mode: cross or isolated.
        position_side: the position protected (default: the one ``side`` closes).
        volume: contracts (a copytrade server protects the whole position).
        tp_trigger_price: take-profit trigger (``tp``, ``tpsl``).
        sl_trigger_price: stop-loss trigger (``sl``, ``tpsl``).

    Returns:
        One ``algo_id`` per order armed.
    """
    body: dict[str, JsonScalar] = {
        "contract_code": contract_code,
        "margin_mode": MarginMode(margin_mode).value,
        "side": side,
        "type": type,
    }
    if position_side is not None:
        body["position_side"] = PositionSide(position_side).value
    _put_decimals(
        body, volume=volume, tp_trigger_price=tp_trigger_price, sl_trigger_price=sl_trigger_price
    )
    return _post("algo_order", body, p5.ALGO_ACKS.parse)


def _conditional_body(
    contract_code: str,
    side: Side,
    type: str,
    volume: Decimal,
    margin_mode: MarginMode,
    position_side: PositionSide | None,
    reduce_only: bool,
    algo_client_order_id: int | None,
) -> dict[str, JsonScalar]:
    body: dict[str, JsonScalar] = {
        "contract_code": contract_code,
        "margin_mode": MarginMode(margin_mode).value,
        "side": side,
        "type": type,
        "volume": _decimal_text(volume, "volume"),
    }
    if position_side is not None:
        body["position_side"] = PositionSide(position_side).value
    if reduce_only:
        body["reduce_only"] = 1
    if algo_client_order_id is not None:
        if not 1 <= algo_client_order_id < 2**63:
            raise ValueError("algo_client_order_id must be in [1, 2**63)")
        body["algo_client_order_id"] = algo_client_order_id
    return body


def place_trigger_order(
    *,
    contract_code: str,
    side: Side,
    volume: Decimal,
    trigger_price: Decimal,
    type: TriggerOrderType = "market",
    price: Decimal | None = None,
    margin_mode: MarginMode = MarginMode.CROSS,
    position_side: PositionSide | None = None,
    reduce_only: bool = False,
    trigger_type: TriggerType | None = None,
    algo_client_order_id: int | None = None,
) -> PreparedRequest[tuple[p5.AlgoAck, ...]]:
    """Rest a trigger order: ``POST /v5/algo/order`` with ``trigger_price`` (as ccxt sends it).

    When the mark reaches ``trigger_price`` (from the side it stands on now, or as
    ``trigger_type`` says) the order is placed: at market, or a limit order at ``price``. A
    lead's fired order is copied to its followers like any other.

    Args:
        contract_code: e.g. ``"BTC-USDT"``.
        side: ``buy`` or ``sell``.
        volume: contracts.
        trigger_price: the mark that fires it.
        type: ``market`` or ``limit`` (the order placed when it fires).
        price: the limit price (``limit`` only).
        margin_mode: cross or isolated.
        position_side: ``long``/``short`` (hedge mode; default: inferred as for orders).
        reduce_only: only reduce the position (refused with 1048 when there is none).
        trigger_type: ``ge`` or ``le`` (default: from the side of the mark it stands on).
        algo_client_order_id: your id for it (integer).

    Returns:
        The order's ``algo_id``.
    """
    if (type == "limit") != (price is not None):
        raise ValueError("a limit trigger order takes a price; a market one none")
    body = _conditional_body(
        contract_code,
        side,
        type,
        volume,
        margin_mode,
        position_side,
        reduce_only,
        algo_client_order_id,
    )
    _put_decimals(body, trigger_price=trigger_price, price=price)
    if trigger_type is not None:
        body["trigger_type"] = trigger_type
    return _post("algo_order", body, p5.ALGO_ACKS.parse)


def place_trailing_order(
    *,
    contract_code: str,
    side: Side,
    volume: Decimal,
    callback_rate: Decimal,
    active_price: Decimal | None = None,
    margin_mode: MarginMode = MarginMode.CROSS,
    position_side: PositionSide | None = None,
    reduce_only: bool = False,
    algo_client_order_id: int | None = None,
) -> PreparedRequest[tuple[p5.AlgoAck, ...]]:
    """Rest a trailing order: ``POST /v5/algo/order`` of type ``trailing_stop``.

    Once active (at once, or when the mark reaches ``active_price``) it tracks the highest mark
    (a sell) or the lowest (a buy) and places a market order when the mark retraces from it by
    ``callback_rate``.

    Args:
        contract_code: e.g. ``"BTC-USDT"``.
        side: ``buy`` or ``sell``.
        volume: contracts.
        callback_rate: the retrace that fires it, 0.001-0.05 (``0.01`` is 1 %).
        active_price: the mark that activates it (default: active at once).
        margin_mode: cross or isolated.
        position_side: ``long``/``short`` (hedge mode; default: inferred as for orders).
        reduce_only: only reduce the position (refused with 1048 when there is none).
        algo_client_order_id: your id for it (integer).

    Returns:
        The order's ``algo_id``.
    """
    body = _conditional_body(
        contract_code,
        side,
        "trailing_stop",
        volume,
        margin_mode,
        position_side,
        reduce_only,
        algo_client_order_id,
    )
    body["order_price_type"] = "formula_price"
    _put_decimals(body, callback_rate=callback_rate, active_price=active_price)
    return _post("algo_order", body, p5.ALGO_ACKS.parse)


def cancel_algo_orders(
    *, contract_code: str, algo_ids: Sequence[str]
) -> PreparedRequest[tuple[p5.AlgoCancel, ...]]:
    """Cancel conditional orders: ``POST /v5/algo/cancel_orders`` (a JSON array, as ccxt sends).

    Each item of the reply has its own ``code``: 200 cancelled, 1017 unknown.
    """
    if isinstance(algo_ids, str) or not algo_ids:
        raise ValueError("algo_ids must be a non-empty sequence of ids")
    body = tuple({"contract_code": contract_code, "algo_id": str(a)} for a in algo_ids)
    return _post("algo_cancel", body, p5.ALGO_CANCELS.parse)


def algo_order(
    *,
    algo_id: str | None = None,
    type: AlgoKind | None = None,
    algo_client_order_id: int | None = None,
) -> PreparedRequest[p5.AlgoOrder]:
    """Read one conditional order, resting, fired or cancelled: ``GET /v5/algo/order``.

    HTX answers an array (ccxt reads its first item); this returns that one order. Unknown ids
    raise :class:`~copytrade.client.errors.OrderNotFound` (1017).

    Args:
        algo_id: the id :func:`place_algo_order` (or the trigger/trailing builders) returned.
        type: ``tp``, ``sl``, ``tpsl``, ``trigger`` or ``trailing_stop`` (as ccxt sends).
        algo_client_order_id: instead of ``algo_id``: a trigger/trailing order's own id.
    """
    if (algo_id is None) == (algo_client_order_id is None):
        raise ValueError("give algo_id or algo_client_order_id")
    params = {"algo_id": algo_id, "algo_client_order_id": algo_client_order_id, "type": type}
    return _get("algo_query", params, single(p5.ALGO_ORDERS))


def algo_order_history(
    *,
    contract_code: str | None = None,
    margin_mode: MarginMode | None = None,
    type: AlgoKind | None = None,
    states: Sequence[AlgoState] | None = None,
    start_time: int | None = None,
    end_time: int | None = None,
    limit: int | None = None,
) -> PreparedRequest[tuple[p5.AlgoOrder, ...]]:
    """List finished conditional orders, newest first: ``GET /v5/algo/order/history``.

    Args:
        contract_code: only this contract.
        margin_mode: only this margin mode.
        type: only this kind (``tp``, ``sl``, ``tpsl``, ...).
        states: only these states (ccxt: ``effective`` for fired, ``canceled``).
        start_time: epoch ms lower bound (default: 48 hours before ``end_time``).
        end_time: epoch ms upper bound (default: now).
        limit: at most this many (1-100, default 10).
    """
    params: dict[str, str | int | None] = {
        "contract_code": contract_code,
        "margin_mode": MarginMode(margin_mode).value if margin_mode is not None else None,
        "type": type,
        "states": ",".join(states) if states else None,
        "start_time": start_time,
        "end_time": end_time,
        "limit": limit,
    }
    return _get("algo_history", params, p5.ALGO_ORDERS.parse)


def algo_open_orders(
    *, contract_code: str | None = None, type: AlgoKind | None = None
) -> PreparedRequest[tuple[p5.AlgoOrder, ...]]:
    """List untriggered conditional orders: ``GET /v5/algo/order/opens``.

    Without ``type``: armed TP/SL first, then resting trigger and trailing orders.
    """
    params = {"contract_code": contract_code, "type": type}
    return _get("algo_opens", params, p5.ALGO_ORDERS.parse)


def batch_orders(
    *, orders: Sequence[Mapping[str, JsonScalar]]
) -> PreparedRequest[tuple[p5.BatchItem, ...]]:
    """Place up to 10 orders: ``POST /v5/trade/batch_orders`` (a JSON array).

    Each order is a ``/v5/trade/order`` body (see :func:`place_order`); each reply item has
    its own ``code``: a refused order does not stop the others.
    """
    if isinstance(orders, (str, bytes)) or not 1 <= len(orders) <= 10:
        raise ValueError("orders must hold 1 to 10 order bodies")
    body = tuple(dict(o) for o in orders)
    return _post("batch_orders", body, p5.BATCH_ITEMS.parse)


def cancel_batch_orders(
    *, contract_code: str, order_ids: Sequence[str] = (), client_order_ids: Sequence[str] = ()
) -> PreparedRequest[tuple[p5.BatchItem, ...]]:
    """Cancel up to 10 orders: ``POST /v5/trade/cancel_batch_orders``; a code per item."""
    if not 1 <= len(order_ids) + len(client_order_ids) <= 10:
        raise ValueError("give 1 to 10 order ids and client order ids in all")
    body: dict[str, JsonScalar] = {"contract_code": contract_code}
    if order_ids:
        body["order_id"] = ",".join(str(i) for i in order_ids)
    if client_order_ids:
        body["client_order_id"] = ",".join(str(i) for i in client_order_ids)
    return _post("cancel_batch_orders", body, p5.BATCH_ITEMS.parse)


def close_all_positions() -> PreparedRequest[tuple[p5.OrderAck, ...]]:
    """Close every position at market, the followers' copies with them.

    ``POST /v5/trade/position_all``: one closing order per position (none when flat).
    """
    return _post("position_all", {}, p5.ORDER_ACKS.parse)


def _paging(
    contract_code: str | None,
    margin_mode: MarginMode | None,
    start_time: int | None,
    end_time: int | None,
    from_id: str | None,
    limit: int | None,
    direct: Literal["prev", "next"] | None,
) -> dict[str, str | int | None]:
    return {
        "contract_code": contract_code,
        "margin_mode": MarginMode(margin_mode).value if margin_mode is not None else None,
        "start_time": start_time,
        "end_time": end_time,
        "from": from_id,
        "limit": limit,
        "direct": direct,
    }


def position_history(
    *,
    contract_code: str | None = None,
    margin_mode: MarginMode | None = None,
    start_time: int | None = None,
    end_time: int | None = None,
    from_id: str | None = None,
    limit: int | None = None,
    direct: Literal["prev", "next"] | None = None,
) -> PreparedRequest[tuple[p5.ClosedPosition, ...]]:
    """List closed positions, newest first: ``GET /v5/trade/position/history``.

    ``from_id`` with ``direct`` ``prev`` (default) pages to older ones, ``next`` to newer.
    """
    params = _paging(contract_code, margin_mode, start_time, end_time, from_id, limit, direct)
    return _get("position_history", params, p5.CLOSED_POSITIONS.parse)


def position_margin(
    *,
    contract_code: str,
    amount: Decimal,
    type: Literal["add", "reduce"] = "add",
    position_side: PositionSide | None = None,
) -> PreparedRequest[p5.MarginChange]:
    """Add margin to, or reduce it from, an isolated position: ``POST /v5/position/margin``."""
    body: dict[str, JsonScalar] = {
        "contract_code": contract_code,
        "type": type,
        "amount": _decimal_text(amount, "amount"),
        "currency": "USDT",
    }
    if position_side is not None:
        body["position_side"] = PositionSide(position_side).value
    return _post("position_margin", body, p5.MARGIN_CHANGE.parse)


def bills(
    *,
    contract_code: str | None = None,
    margin_mode: MarginMode | None = None,
    type: str | None = None,
    start_time: int | None = None,
    end_time: int | None = None,
    from_id: str | None = None,
    limit: int | None = None,
    direct: Literal["prev", "next"] | None = None,
) -> PreparedRequest[tuple[p5.Bill, ...]]:
    """List the account's bills, newest first: ``GET /v5/account/bills``.

    ``type``: ``trade_fee``, ``funding_fee``, ``realized_pnl``, ``profit_share_income`` or
    ``profit_share_expense`` (a copytrade server's names).
    """
    params = _paging(contract_code, margin_mode, start_time, end_time, from_id, limit, direct)
    params["type"] = type
    return _get("bills", params, p5.BILLS.parse)


def cancel_after(*, on: bool = True, time_out: int = 60_000) -> PreparedRequest[p5.CancelAfter]:
    """Arm (or renew, or with ``on=False`` disarm) the dead-man switch.

    ``POST /v5/trade/cancel-after``: unless renewed within ``time_out`` ms (≥ 5000), every
    open order is cancelled.
    """
    body: dict[str, JsonScalar] = {"on_off": 1 if on else 0, "time_out": int(time_out)}
    return _post("cancel_after", body, p5.CANCEL_AFTER.parse)
