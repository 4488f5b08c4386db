"""v5 trading endpoints (spec ``htx-v5-v6.md`` §6.8-§6.15): parse, use case, render."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from copytrade.api import wire
from copytrade.api.routes import Params, Route, no_parameters, route
from copytrade.api.wire import WireError
from copytrade.domain.algo import AlgoOrder, fire_price
from copytrade.domain.enums import (
    Liquidity,
    MarginMode,
    OrderDirection,
    PositionSide,
)
from copytrade.domain.margin import maintenance_margin
from copytrade.domain.model import Order
from copytrade.protocol import v5 as p5
from copytrade.protocol.error_codes import ErrorCode
from copytrade.service import algo, v5
from copytrade.service.context import ServiceContext
from copytrade.service.journal import Entry

DAY_MS = 86_400_000
_ZERO = Decimal(0)
_SIDES = {"buy": OrderDirection.BUY, "sell": OrderDirection.SELL}
_POSITION_SIDES = {"long": PositionSide.LONG, "short": PositionSide.SHORT}
_KINDS: dict[str, tuple[str, str | None]] = {
    "market": ("market", None),
    "limit": ("limit", None),
    "post_only": ("post_only", None),
    "ioc": ("limit", "ioc"),
    "fok": ("limit", "fok"),
}


def _illegal(name: str) -> WireError:
    return WireError(ErrorCode.ILLEGAL_PARAM, name)


def _flag(p: Params, name: str) -> bool:
    value = p.get(name)
    if value in (None, "", 0, "0", False, "false"):
        return False
    if value in (1, "1", True, "true"):
        return True
    raise _illegal(name)


def _optional_side(p: Params) -> PositionSide | None:
    """``position_side``: ``long``/``short``; ``None`` when absent or ``both`` (one-way)."""
    raw = p.get("position_side")
    if raw in (None, "", "both"):
        return None
    side = _POSITION_SIDES.get(raw) if isinstance(raw, str) else None
    if side is None:
        raise _illegal("position_side")
    return side


def _client_id(p: Params) -> str | None:
    raw = p.get("client_order_id")
    if raw in (None, ""):
        return None
    text = wire.id_field(raw, "client_order_id")
    if not text.isdigit() or not 1 <= int(text) < 2**63:
        raise _illegal("client_order_id")
    return text


def _volume(p: Params) -> Decimal:
    volume = wire.decimal_field(wire.required(p, "volume"), "volume")
    if volume <= 0 or volume != volume.to_integral_value():
        raise _illegal("volume")
    return volume


def parse_place_order(p: Params, now_ms: int) -> tuple[v5.V5Order]:
    """``POST /v5/trade/order`` (spec §6.9): position side inferred when absent."""
    code = wire.contract_code(p)
    mode = wire.margin_mode(p)
    raw_side, raw_type = p.get("side"), p.get("type")
    direction = _SIDES.get(raw_side) if isinstance(raw_side, str) else None
    if direction is None:
        raise _illegal("side")
    kind, forced_tif = _KINDS.get(raw_type, ("", None)) if isinstance(raw_type, str) else ("", None)
    if not kind:
        raise _illegal("type")
    tif = forced_tif or p.get("time_in_force") or "gtc"
    if tif not in ("gtc", "ioc", "fok"):
        raise _illegal("time_in_force")
    volume = _volume(p)
    price = wire.optional_decimal(p, "price")
    if kind != "market" and price is None:
        raise _illegal("price")
    order = v5.V5Order(
        contract_code=code,
        margin_mode=mode,
        direction=direction,
        position_side=_optional_side(p),
        reduce_only=_flag(p, "reduce_only"),
        kind=kind,
        tif=tif,
        volume=volume,
        price=price if kind != "market" else None,
        tp_trigger_price=wire.optional_decimal(p, "tp_trigger_price"),
        sl_trigger_price=wire.optional_decimal(p, "sl_trigger_price"),
        client_order_id=_client_id(p),
        both=p.get("position_side") == "both",
    )
    return (order,)


def _order_id(p: Params) -> int:
    raw = wire.id_field(wire.required(p, "order_id"), "order_id")
    if not raw.isdigit() or len(raw) > 19:
        raise WireError(ErrorCode.ILLEGAL_PARAM, "order_id")
    return int(raw)


def _order_ref(p: Params) -> tuple[int | None, str | None]:
    """``order_id``, else ``client_order_id`` (one of them is required)."""
    if p.get("order_id") in (None, "") and p.get("client_order_id") not in (None, ""):
        return None, _client_id(p)
    return _order_id(p), None


def parse_cancel(p: Params, now_ms: int) -> tuple[str, int | None, str | None]:
    """``POST /v5/trade/cancel_order``: ``contract_code`` and the order's id or client id."""
    return (wire.contract_code(p), *_order_ref(p))


def parse_cancel_all(p: Params, now_ms: int) -> tuple[str, int | None, str | None]:
    """``POST /v5/trade/cancel_all_orders``: ``contract_code``."""
    return wire.contract_code(p), None, None


def parse_order(p: Params, now_ms: int) -> tuple[str, int | None, str | None]:
    """``GET /v5/trade/order``: ``contract_code`` and the order's id or client id."""
    return (wire.contract_code(p), *_order_ref(p))


def parse_optional_contract(p: Params, now_ms: int) -> tuple[str | None]:
    """An optional ``contract_code`` filter."""
    return (wire.contract_code(p) if p.get("contract_code") not in (None, "") else None,)


def parse_fills(p: Params, now_ms: int) -> tuple[str | None, int, int]:
    """``GET /v5/trade/order/details``: contract filter, ``start_time``/``end_time`` (3 days)."""
    (code,) = parse_optional_contract(p, now_ms)
    end = wire.int_field(p["end_time"], "end_time") if p.get("end_time") else now_ms
    start = (
        wire.int_field(p["start_time"], "start_time") if p.get("start_time") else end - 2 * DAY_MS
    )
    return code, max(start, now_ms - 3 * DAY_MS), end


def parse_close_position(p: Params, now_ms: int) -> tuple[str, MarginMode, PositionSide | None]:
    """``POST /v5/trade/position``: no ``position_side`` closes every side (spec §6.14)."""
    return wire.contract_code(p), wire.margin_mode(p), _optional_side(p)


def parse_set_lever(p: Params, now_ms: int) -> tuple[str, MarginMode, int]:
    """``POST /v5/position/lever``."""
    lever = wire.int_field(wire.required(p, "lever_rate", ErrorCode.LEVER_EMPTY), "lever_rate")
    return wire.contract_code(p), wire.margin_mode(p), lever


def parse_position_mode(p: Params, now_ms: int) -> tuple[str]:
    """``POST /v5/position/mode``: ``single_side`` (one-way) or ``dual_side`` (hedge)."""
    mode = p.get("position_mode")
    if mode not in (v5.SINGLE_SIDE, v5.DUAL_SIDE):
        raise _illegal("position_mode")
    return (mode,)


_STATES = frozenset({"filled", "partially_canceled", "canceled"})


def parse_history(p: Params, now_ms: int) -> tuple[v5.HistoryQuery]:
    """``GET /v5/trade/order/history``: ``states`` (or ``state``), window 48 h by default."""
    code, mode = wire.contract_code(p), wire.margin_mode(p)
    states, start, end, limit = _history_filters(p, now_ms, _STATES)
    return (v5.HistoryQuery(code, mode, states, start, end, limit),)


def _history_filters(
    p: Params, now_ms: int, allowed: frozenset[str]
) -> tuple[frozenset[str] | None, int, int, int]:
    """Return the filters both histories share: states, start, end and limit.

    ``states`` (or ``state``) from ``allowed``; a window of 48 h by default reaching back 90 days
    at most; ``limit`` 1-100 (10 by default).
    """
    raw = p.get("states") or p.get("state")
    states = None
    if raw not in (None, ""):
        states = frozenset(str(raw).split(","))
        if not states <= allowed:
            raise _illegal("states")
    end = wire.int_field(p["end_time"], "end_time") if p.get("end_time") else now_ms
    start = (
        wire.int_field(p["start_time"], "start_time") if p.get("start_time") else end - 2 * DAY_MS
    )
    limit = wire.int_field(p["limit"], "limit") if p.get("limit") not in (None, "") else 10
    if not 1 <= limit <= 100:
        raise _illegal("limit")
    return states, max(start, now_ms - 90 * DAY_MS), end, limit


# --- renderers ---------------------------------------------------------------------------------


def render_ack(ctx: ServiceContext, arguments: tuple[Any, ...], placed: v5.Placed) -> Any:
    """``{order_id, client_order_id}``; the order id stands in for a missing client id."""
    oid = str(placed.order_id)
    return p5.ORDER_ACK.render(p5.OrderAck(oid, placed.client_order_id or oid))


def render_close(ctx: ServiceContext, arguments: tuple[Any, ...], order_id: int) -> Any:
    """``POST /v5/trade/position``: the closing order's id."""
    return p5.ORDER_ACK.render(p5.OrderAck(str(order_id), str(order_id)))


_NOT_FOUND = ErrorCode.ORDER_NOT_EXIST


def _tpsl(
    tp: Decimal | None,
    sl: Decimal | None,
    *,
    tp_armed: bool,
    sl_armed: bool,
    order_price: Decimal | None = None,
) -> dict[str, Any]:
    """Return the eight ``tp_*``/``sl_*`` fields of a v5 order or algo order.

    Args:
        tp: The take-profit trigger (``None``: none, or not known any more).
        sl: The stop-loss trigger.
        tp_armed: Whether there is a take profit (its type and trigger type are shown).
        sl_armed: Whether there is a stop loss.
        order_price: The order price shown beside a known trigger (``None``: none).
    """
    fields: dict[str, Any] = {}
    for leg, trigger, armed in (("tp", tp, tp_armed), ("sl", sl, sl_armed)):
        fields[f"{leg}_trigger_price"] = trigger
        fields[f"{leg}_order_price"] = order_price if trigger is not None else None
        fields[f"{leg}_type"] = "market" if armed else None
        fields[f"{leg}_trigger_price_type"] = "last" if armed else None
    return fields


def v5_order(entry: Entry, contract_size: Decimal) -> p5.Order:
    """Return an order as v5 shows it (a reducing order: its side closes ``position_side``)."""
    order = entry.order
    oid = str(order.order_id)
    market = entry.kind == "market"
    tp, sl = order.tp_trigger_price, order.sl_trigger_price
    return p5.Order(
        id=oid,
        order_id=oid,
        client_order_id=entry.client_order_id or oid,
        contract_code=order.contract_code,
        side=entry.side,
        position_side=entry.position_side_shown,
        type=entry.kind,
        price=order.price if order.price is not None and not market else _ZERO,
        price_match=None,
        volume=order.volume,
        state=v5.state_of(order),
        trade_volume=order.filled,
        trade_avg_price=order.avg_price,
        trade_turnover=order.filled_notional * contract_size,
        fee=-order.fee,
        fee_currency="USDT" if order.fee else "",
        margin_mode=order.margin_mode.value,
        lever_rate=order.lever,
        order_source="api",
        contract_type="swap",
        price_protect=False,
        cancel_reason=None,
        reduce_only=entry.reduce_only,
        time_in_force=entry.tif,
        **_tpsl(tp, sl, tp_armed=tp is not None, sl_armed=sl is not None),
        created_time=order.created_at,
        updated_time=entry.updated,
    )


def render_order(ctx: ServiceContext, arguments: tuple[Any, ...], entry: Entry) -> Any:
    """``GET /v5/trade/order``."""
    return p5.ORDER.render(v5_order(entry, ctx.spec(entry.order.contract_code).contract_size))


def render_orders(ctx: ServiceContext, arguments: tuple[Any, ...], entries: list[Entry]) -> Any:
    """``order/opens`` and ``order/history``."""
    return p5.ORDERS.render(
        tuple(v5_order(e, ctx.spec(e.order.contract_code).contract_size) for e in entries)
    )


def render_cancelled(ctx: ServiceContext, arguments: tuple[Any, ...], orders: list[Order]) -> Any:
    """``cancel_order``: the order's ids; ``cancel_all_orders``: one item per order."""
    if arguments[1] is not None or arguments[2] is not None:
        oid = str(orders[0].order_id)
        return p5.ORDER_ACK.render(p5.OrderAck(oid, arguments[2] or oid))
    return p5.CANCEL_ITEMS.render(
        tuple(p5.CancelItem(200, "Success", str(o.order_id), str(o.order_id)) for o in orders)
    )


def render_balance(ctx: ServiceContext, arguments: tuple[()], view: v5.BalanceView) -> Any:
    """``/v5/account/balance``: one USDT detail."""
    available = max(view.cross.available, _ZERO)
    rate = view.maintenance_margin / view.equity if view.equity > 0 else _ZERO
    im_rate = view.initial_margin / view.equity if view.equity > 0 else _ZERO
    detail = p5.BalanceDetail(
        currency="USDT",
        equity=view.equity,
        available=available,
        available_margin=available,
        withdraw_available=available,
        profit_unreal=view.profit_unreal,
        initial_margin=view.initial_margin,
        maintenance_margin=view.maintenance_margin,
        maintenance_margin_rate=rate,
        initial_margin_rate=im_rate,
        voucher=_ZERO,
        voucher_value=_ZERO,
        isolated_equity=view.isolated_equity,
        isolated_profit_unreal=view.isolated_profit_unreal,
        created_time=view.now,
        updated_time=view.now,
    )
    return p5.BALANCE.render(
        p5.Balance(
            state="normal",
            equity=view.equity,
            initial_margin=view.initial_margin,
            maintenance_margin=view.maintenance_margin,
            maintenance_margin_rate=rate,
            profit_unreal=view.profit_unreal,
            available_margin=available,
            voucher_value=_ZERO,
            created_time=view.now,
            updated_time=view.now,
            details=(detail,),
        )
    )


def render_positions(
    ctx: ServiceContext, arguments: tuple[str | None], view: v5.PositionsView
) -> Any:
    """``position/opens``: one item per (contract, margin mode, side)."""
    items = []
    now = ctx.clock.now_ms()
    for agg in view.positions:
        spec = ctx.spec(agg.contract_code)
        mark = view.marks[agg.contract_code]
        mm = maintenance_margin(
            spec.adjustment_factor, agg.volume, spec.contract_size, mark, agg.lever
        )
        long = agg.side is PositionSide.LONG
        items.append(
            p5.Position(
                contract_code=agg.contract_code,
                contract_type="swap",
                position_side="both" if view.one_way else agg.side.value,
                direction="buy" if long else "sell",
                margin_mode=agg.margin_mode.value,
                open_avg_price=agg.open_avg_price,
                volume=agg.volume,
                available=agg.volume,
                lever_rate=agg.lever,
                initial_margin=agg.position_margin,
                margin=agg.position_margin,
                maintenance_margin=mm,
                margin_rate=agg.margin_rate,
                profit_unreal=agg.unreal_profit,
                profit_rate=agg.profit_rate,
                liquidation_price=agg.liquidation_price,
                mark_price=mark,
                last_price=mark,
                margin_currency="USDT",
                adl_risk_percent=1,
                created_time=view.opened.get(agg.key, now),
                updated_time=now,
            )
        )
    return p5.POSITIONS.render(tuple(items))


def render_fills(ctx: ServiceContext, arguments: tuple[Any, ...], rows: list[v5.FillView]) -> Any:
    """``order/details``: one item per fill; ``trade_fee`` positive when paid."""
    items = []
    for view in rows:
        f = view.fill
        spec = ctx.spec(f.contract_code)
        buy = (f.side is PositionSide.LONG) == (f.offset == "open")
        maker = f.liquidity is Liquidity.MAKER
        items.append(
            p5.Fill(
                id=f"{f.trade_id}-{f.order_id or f.sub_position_id}",
                trade_id=str(f.trade_id),
                order_id=str(f.order_id) if f.order_id is not None else None,
                contract_code=f.contract_code,
                side="buy" if buy else "sell",
                position_side=f.side.value,
                type="limit" if maker else "market",
                role="MAKER" if maker else "TAKER",
                trade_price=f.price,
                trade_volume=f.volume,
                trade_turnover=f.volume * spec.contract_size * f.price,
                trade_fee=f.fee,
                fee_currency="USDT",
                margin_mode=view.margin_mode.value,
                profit=_ZERO,
                created_time=f.ts,
            )
        )
    return p5.FILLS.render(tuple(items))


def render_lever(ctx: ServiceContext, arguments: tuple[str, MarginMode, int], lever: int) -> Any:
    """``POST /v5/position/lever``."""
    return p5.LEVER.render(p5.Lever(arguments[0], arguments[1].value, lever))


def render_levers(
    ctx: ServiceContext, arguments: tuple[Any, ...], rows: list[tuple[str, MarginMode, int]]
) -> Any:
    """``GET /v5/position/lever``."""
    return p5.LEVERS.render(tuple(p5.Lever(c, m.value, lv) for c, m, lv in rows))


def render_mode(ctx: ServiceContext, arguments: tuple[Any, ...], mode: str) -> Any:
    """``position/mode``."""
    return p5.POSITION_MODE.render(p5.PositionMode(mode))


def parse_algo_order(p: Params, now_ms: int) -> tuple[algo.AlgoRequest | algo.TpslRequest]:
    """``POST /v5/algo/order`` (spec §6.9): TP/SL on a position, a trigger or a trailing order.

    ``type`` ``tp``/``sl``/``tpsl`` arms a position's take profit and/or stop loss on the
    position ``side`` closes. A ``trigger_price`` with ``type`` ``limit``/``market`` (ccxt) or
    ``trigger`` (the SDKs, the order type then in ``order_price_type``) is a trigger order;
    ``type`` ``trailing_stop`` with ``callback_rate`` (and ``active_price``) a trailing order.
    """
    code, mode = wire.contract_code(p), wire.margin_mode(p)
    raw_side, kind = p.get("side"), p.get("type")
    direction = _SIDES.get(raw_side) if isinstance(raw_side, str) else None
    if direction is None:
        raise _illegal("side")
    if kind in ("tp", "sl", "tpsl"):
        if p.get("trigger_price") not in (None, ""):
            raise _illegal("type")
        return (_tpsl_request(p, code, mode, direction, kind),)
    if kind == "trailing_stop":
        return (_trailing_request(p, code, mode, direction),)
    if kind in ("trigger", "limit", "market"):
        return (_trigger_request(p, code, mode, direction, kind),)
    raise _illegal("type")


def _tpsl_request(
    p: Params, code: str, mode: MarginMode, direction: OrderDirection, kind: str
) -> algo.TpslRequest:
    side = _optional_side(p) or direction.opens.opposite  # a sell protects the long
    take = wire.optional_decimal(p, "tp_trigger_price") if kind in ("tp", "tpsl") else None
    stop = wire.optional_decimal(p, "sl_trigger_price") if kind in ("sl", "tpsl") else None
    if kind in ("tp", "tpsl") and take is None:
        raise _illegal("tp_trigger_price")
    if kind in ("sl", "tpsl") and stop is None:
        raise _illegal("sl_trigger_price")
    return algo.TpslRequest(code, mode, side, take, stop)


def _algo_client_id(p: Params) -> str | None:
    raw = p.get("algo_client_order_id")
    if raw in (None, ""):
        return None
    text = wire.id_field(raw, "algo_client_order_id")
    if not text.isdigit() or not 1 <= int(text) < 2**63:
        raise _illegal("algo_client_order_id")
    return text


def _algo_base(
    p: Params, code: str, mode: MarginMode, direction: OrderDirection, kind: str
) -> v5.V5Order:
    """Return the order a trigger or trailing order places once it fires."""
    price = wire.optional_decimal(p, "price") if kind == "limit" else None
    if kind == "limit" and (price is None or price <= 0):
        raise _illegal("price")
    return v5.V5Order(
        contract_code=code,
        margin_mode=mode,
        direction=direction,
        position_side=_optional_side(p),
        reduce_only=_flag(p, "reduce_only"),
        kind=kind,
        tif="gtc",
        volume=_volume(p),
        price=price,
        tp_trigger_price=None,
        sl_trigger_price=None,
        client_order_id=_algo_client_id(p),
        both=p.get("position_side") == "both",
    )


def _trigger_request(
    p: Params, code: str, mode: MarginMode, direction: OrderDirection, kind: str
) -> algo.AlgoRequest:
    if p.get("trigger_price") in (None, ""):
        raise _illegal("trigger_price")
    trigger = wire.decimal_field(p["trigger_price"], "trigger_price")
    if kind == "trigger":  # the SDKs: the order type in order_price_type (or from the price)
        raw = p.get("order_price_type")
        if raw in (None, ""):
            raw = "limit" if p.get("price") not in (None, "") else "market"
        if raw not in ("limit", "market"):
            raise _illegal("order_price_type")
        kind = str(raw)
    trigger_type = p.get("trigger_type")
    if trigger_type not in (None, "", "ge", "le"):
        raise _illegal("trigger_type")
    return algo.AlgoRequest(
        _algo_base(p, code, mode, direction, kind),
        "trigger",
        trigger_price=trigger,
        trigger_type=str(trigger_type) if trigger_type else None,
    )


def _trailing_request(
    p: Params, code: str, mode: MarginMode, direction: OrderDirection
) -> algo.AlgoRequest:
    if p.get("callback_rate") in (None, ""):
        raise _illegal("callback_rate")
    rate = wire.decimal_field(p["callback_rate"], "callback_rate")
    if p.get("order_price_type") not in (None, "", "formula_price", "market"):
        raise _illegal("order_price_type")
    return algo.AlgoRequest(
        _algo_base(p, code, mode, direction, "market"),
        "trailing_stop",
        callback_rate=rate,
        active_price=wire.optional_decimal(p, "active_price"),
    )


def parse_algo_cancel(p: Params, now_ms: int) -> tuple[str, tuple[str, ...]]:
    """``POST /v5/algo/cancel_orders``: an array (ccxt) or one object (the official SDKs)."""
    items = p.get("items", [p])
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise _illegal("algo_id")
    code = wire.contract_code(items[0])
    ids = tuple(wire.id_field(wire.required(i, "algo_id"), "algo_id") for i in items)
    return code, ids


_ALGO_TYPES = frozenset({"tp", "sl", "tpsl", "trigger", "trailing_stop"})


def _algo_type(p: Params) -> str | None:
    kind = p.get("type")
    if kind in (None, ""):
        return None
    if kind not in _ALGO_TYPES:
        raise _illegal("type")
    return str(kind)


def parse_algo_opens(p: Params, now_ms: int) -> tuple[str | None, str | None]:
    """``GET /v5/algo/order/opens``: optional ``contract_code`` and ``type``."""
    return parse_optional_contract(p, now_ms)[0], _algo_type(p)


def parse_algo_query(p: Params, now_ms: int) -> tuple[str | None, str | None, str | None]:
    """``GET /v5/algo/order``: ``algo_id`` (or ``algo_client_order_id``) and ``type``."""
    if p.get("algo_id") in (None, "") and p.get("algo_client_order_id") not in (None, ""):
        return None, _algo_client_id(p), _algo_type(p)
    return wire.id_field(wire.required(p, "algo_id"), "algo_id"), None, _algo_type(p)


_ALGO_STATES = frozenset({"active", "effective", "triggered", "canceled"})


def parse_algo_history(p: Params, now_ms: int) -> tuple[v5.AlgoHistoryQuery]:
    """``GET /v5/algo/order/history``: filters as ``order/history``'s (spec §6.11)."""
    (code,) = parse_optional_contract(p, now_ms)
    mode = wire.margin_mode(p) if p.get("margin_mode") not in (None, "") else None
    states, start, end, limit = _history_filters(p, now_ms, _ALGO_STATES)
    return (v5.AlgoHistoryQuery(code, mode, _algo_type(p), states, start, end, limit),)


def render_algo_acks(
    ctx: ServiceContext, arguments: tuple[Any, ...], placed: list[algo.Conditional]
) -> Any:
    """``algo/order``: one item per order placed (a take profit and a stop loss: two)."""
    return p5.ALGO_ACKS.render(
        tuple(
            p5.AlgoAck(str(x.algo_id), x.client_order_id)
            if isinstance(x, AlgoOrder)
            else p5.AlgoAck(x.algo_id, None)
            for x in placed
        )
    )


def render_algo_cancels(
    ctx: ServiceContext, arguments: tuple[Any, ...], done: list[tuple[str, bool]]
) -> Any:
    """``algo/cancel_orders``: per item, 200 or 1017 (ccxt ignores per-item codes)."""
    return p5.ALGO_CANCELS.render(
        tuple(
            p5.AlgoCancel(
                algo_id, None, *((200, "Success") if ok else (_NOT_FOUND, _NOT_FOUND.text()))
            )
            for algo_id, ok in done
        )
    )


_NO_TRIGGER: dict[str, Any] = {
    "trigger_price": None,
    "trigger_type": None,
    "price": None,
    "order_price_type": None,
    "active_price": None,
    "callback_rate": None,
    "formula_price": None,
    "extreme_price": None,
    "reduce_only": None,
    "relation_order_id": None,
    "cancel_reason": None,
}


def _protection_item(a: v5.Protection) -> p5.AlgoOrder:
    tp = a.kind == "tp"
    return p5.AlgoOrder(
        id=a.algo_id,
        algo_id=a.algo_id,
        algo_client_order_id=None,
        contract_code=a.contract_code,
        side="sell" if a.position_side is PositionSide.LONG else "buy",
        position_side=a.position_side.value,
        margin_mode=a.margin_mode.value,
        type=a.kind,
        state=a.state,
        volume=a.volume,
        **_tpsl(
            a.trigger if tp else None,
            None if tp else a.trigger,
            tp_armed=tp,
            sl_armed=not tp,
            order_price=_ZERO,  # a market order once triggered
        ),
        **_NO_TRIGGER,
        order_source="api",
        created_time=a.created,
        updated_time=a.updated if a.updated is not None else a.created,
    )


def _algo_item(a: AlgoOrder) -> p5.AlgoOrder:
    oid = str(a.algo_id)
    buy = a.direction is OrderDirection.BUY
    side = a.position_side
    if a.both:
        shown = "both"
    elif side is not None:
        shown = side.value
    else:  # as /v5/trade/order infers it (one-way accounts show "both" once filled)
        opens = a.direction.opens
        shown = (opens.opposite if a.reduce_only else opens).value
    trailing = a.kind == "trailing_stop"
    return p5.AlgoOrder(
        id=oid,
        algo_id=oid,
        algo_client_order_id=a.client_order_id,
        contract_code=a.contract_code,
        side="buy" if buy else "sell",
        position_side=shown,
        margin_mode=a.margin_mode.value,
        type=a.kind,
        state=a.state,
        volume=a.volume,
        **_tpsl(None, None, tp_armed=False, sl_armed=False),
        trigger_price=a.trigger_price,
        trigger_type=a.trigger_type,
        price=a.order_price,
        order_price_type="formula_price" if trailing else a.order_type,
        active_price=a.active_price,
        callback_rate=a.callback_rate,
        formula_price=fire_price(a) if a.is_active else None,
        extreme_price=a.extreme,
        reduce_only=a.reduce_only,
        relation_order_id=str(a.order_id) if a.order_id is not None else None,
        cancel_reason=a.reason,
        order_source="api",
        created_time=a.created,
        updated_time=a.updated,
    )


def render_algo_orders(
    ctx: ServiceContext, arguments: tuple[Any, ...], found: list[algo.Conditional]
) -> Any:
    """``algo/order``, ``algo/order/opens`` and ``algo/order/history``."""
    return p5.ALGO_ORDERS.render(
        tuple(_algo_item(x) if isinstance(x, AlgoOrder) else _protection_item(x) for x in found)
    )


V5_ROUTES: dict[str, Route] = {
    "algo_order": route(parse_algo_order, algo.place_conditional, render_algo_acks),
    "algo_cancel": route(parse_algo_cancel, algo.cancel_conditionals, render_algo_cancels),
    "algo_opens": route(parse_algo_opens, algo.open_conditionals, render_algo_orders),
    "algo_query": route(parse_algo_query, algo.conditional, render_algo_orders),
    "algo_history": route(parse_algo_history, algo.conditional_history, render_algo_orders),
    "balance": route(no_parameters, v5.balance, render_balance),
    "place_order": route(parse_place_order, v5.place_order, render_ack),
    "cancel_order": route(parse_cancel, v5.cancel_orders, render_cancelled),
    "cancel_all_orders": route(parse_cancel_all, v5.cancel_orders, render_cancelled),
    "order": route(parse_order, v5.order, render_order),
    "open_orders": route(parse_optional_contract, v5.open_orders, render_orders),
    "order_history": route(parse_history, v5.order_history, render_orders),
    "fills": route(parse_fills, v5.fills, render_fills),
    "positions": route(parse_optional_contract, v5.positions, render_positions),
    "close_position": route(parse_close_position, v5.close_position, render_close),
    "set_lever": route(parse_set_lever, v5.set_lever, render_lever),
    "get_lever": route(parse_optional_contract, v5.levers, render_levers),
    "set_position_mode": route(parse_position_mode, v5.set_position_mode, render_mode),
    "get_position_mode": route(no_parameters, v5.position_mode, render_mode),
}
"""The v5 endpoints the server implements, by name."""
