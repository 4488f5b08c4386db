"""The other v5 endpoints (spec ``htx-v5-v6.md`` §7): parse, use case, render.

Batch items answer their own ``code``/``message`` (spec §4.8: per-item failures inside batch
replies use the item's own code), translated to v5's codes as a whole reply's would be.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from copytrade.api import wire
from copytrade.api.errors import domain_error_reply
from copytrade.api.routes import Params, Route, no_parameters, route, route_each
from copytrade.api.routes_v5 import DAY_MS, _illegal, _optional_side, parse_place_order
from copytrade.api.wire import WireError
from copytrade.domain import risk
from copytrade.domain.enums import MarginAdjust, MarginMode, PositionSide
from copytrade.domain.errors import DomainError
from copytrade.domain.model import SubPosition
from copytrade.protocol import profiles
from copytrade.protocol import v5 as p5
from copytrade.service import v5, v5_others
from copytrade.service.context import ServiceContext
from copytrade.service.v5_others import BATCH_LIMIT, PageQuery

_ZERO = Decimal(0)
_ADJUST = {
    "add": MarginAdjust.ADD,
    "1": MarginAdjust.ADD,
    "reduce": MarginAdjust.REDUCE,
    "2": MarginAdjust.REDUCE,
}


def item_error(exc: Exception) -> tuple[int, str]:
    """Return the v5 ``(code, message)`` a whole reply would answer ``exc`` with."""
    if isinstance(exc, WireError):
        _status, body = profiles.V5.failure(exc.code, "", 0, arg=exc.arg)
    elif isinstance(exc, DomainError):
        code, msg = domain_error_reply(exc)
        _status, body = profiles.V5.failure(code, "", 0, msg=msg)
    else:  # pragma: no cover - the use cases pass only these two on
        raise exc
    return int(body["code"]), str(body["message"])


def parse_batch_orders(p: Params, now_ms: int) -> tuple[tuple[v5.V5Order | Exception, ...]]:
    """``POST /v5/trade/batch_orders``: a JSON array of ``/v5/trade/order`` bodies.

    Also the v1 shape ``{"orders_data": [...]}``. A malformed item is refused alone (its error
    takes its place); an empty array or more than :data:`BATCH_LIMIT` items refuse the request
    (nothing placed).
    """
    items = p.get("items", p.get("orders_data"))
    if not isinstance(items, list) or not items:
        raise _illegal("orders_data")
    if len(items) > BATCH_LIMIT:
        raise _illegal("orders_data")
    parsed: list[v5.V5Order | Exception] = []
    for item in items:
        if not isinstance(item, dict):
            parsed.append(_illegal("orders_data"))
            continue
        try:
            parsed.append(parse_place_order(item, now_ms)[0])
        except (WireError, DomainError) as exc:
            parsed.append(exc)
    return (tuple(parsed),)


def _ids(p: Params, name: str) -> tuple[str, ...]:
    """A list of ids, or one string of comma-separated ids (HTX's v1 habit)."""
    raw = p.get(name)
    if raw in (None, ""):
        return ()
    values = raw if isinstance(raw, list) else str(raw).split(",")
    if not all(isinstance(v, (int, str)) and not isinstance(v, bool) for v in values):
        raise _illegal(name)
    ids = tuple(str(v).strip() for v in values)
    if any(not i for i in ids):
        raise _illegal(name)
    return ids


def parse_cancel_batch(p: Params, now_ms: int) -> tuple[tuple[tuple[str, str], ...], str]:
    """``POST /v5/trade/cancel_batch_orders``: at most 10 ids in all.

    ``contract_code``, ``order_id`` and/or ``client_order_id`` (lists or comma-separated).
    """
    code = wire.contract_code(p)
    order_ids, client_ids = _ids(p, "order_id"), _ids(p, "client_order_id")
    if not order_ids and not client_ids:
        raise _illegal("order_id")
    if len(order_ids) + len(client_ids) > BATCH_LIMIT:
        raise _illegal("order_id" if order_ids else "client_order_id")
    refs = tuple(("order_id", i) for i in order_ids)
    return refs + tuple(("client_order_id", c) for c in client_ids), code


def _page_query(p: Params, now_ms: int, kinds: frozenset[str] | None = None) -> PageQuery:
    """Return the filters and paging of ``position/history`` and ``account/bills``.

    ``contract_code``, ``margin_mode``, ``start_time``/``end_time`` (48 h by default, 90 days
    back at most), ``from`` (an id), ``limit`` (1-100, default 10), ``direct`` (``next``:
    newer than ``from``; ``prev``, the default: older).
    """
    code = wire.contract_code(p) if p.get("contract_code") not in (None, "") else None
    mode = wire.margin_mode(p) if p.get("margin_mode") not in (None, "") else None
    if p.get("contract_type") not in (None, "", "swap"):
        raise _illegal("contract_type")
    end = wire.int_field(p["end_time"], "end_time") if p.get("end_time") else now_ms
    start = (
        wire.int_field(p["start_time"], "start_time") if p.get("start_time") else end - 2 * DAY_MS
    )
    if start > end:
        raise _illegal("start_time")
    limit = wire.int_field(p["limit"], "limit") if p.get("limit") not in (None, "") else 10
    if not 1 <= limit <= 100:
        raise _illegal("limit")
    raw_from = p.get("from")
    from_id = None
    if raw_from not in (None, "", "0", 0):
        from_id = wire.int_field(raw_from, "from")
        if not 0 < from_id < 2**63:
            raise _illegal("from")
    direct = p.get("direct") or "prev"
    if direct not in ("prev", "next"):
        raise _illegal("direct")
    kind = p.get("type")
    if kind in ("", None):
        kind = None
    elif kinds is None or kind not in kinds:
        raise _illegal("type")
    return PageQuery(
        code, mode, max(start, now_ms - 90 * DAY_MS), end, from_id, direct == "next", limit, kind
    )


def parse_position_history(p: Params, now_ms: int) -> tuple[PageQuery]:
    """``GET /v5/trade/position/history``."""
    return (_page_query(p, now_ms),)


def parse_bills(p: Params, now_ms: int) -> tuple[PageQuery]:
    """``GET /v5/account/bills``: the filters of :func:`_page_query` and ``type``."""
    return (_page_query(p, now_ms, v5_others.BILL_TYPES),)


def parse_margin(p: Params, now_ms: int) -> tuple[str, PositionSide | None, Decimal, MarginAdjust]:
    """``POST /v5/position/margin``: v1 ``add_margin``'s use case.

    ``type`` ``add``/``reduce`` (or v1's 1/2), ``amount``, ``currency`` USDT (optional).
    """
    code = wire.contract_code(p)
    raw = wire.required(p, "type")
    kind = _ADJUST.get(str(raw)) if isinstance(raw, (int, str)) else None
    if kind is None:
        raise _illegal("type")
    amount = wire.decimal_field(wire.required(p, "amount"), "amount")
    currency = p.get("currency")
    if currency not in (None, "") and (not isinstance(currency, str) or currency.upper() != "USDT"):
        raise _illegal("currency")
    return code, _optional_side(p), amount, kind


def parse_cancel_after(p: Params, now_ms: int) -> tuple[bool, int]:
    """``POST /v5/trade/cancel-after``: ``on_off`` 1 with ``time_out`` ≥ 5000 ms, or 0."""
    raw = wire.required(p, "on_off")
    if str(raw) not in ("0", "1") or isinstance(raw, bool):
        raise _illegal("on_off")
    on = str(raw) == "1"
    time_out = 0
    if on or p.get("time_out") not in (None, ""):
        time_out = wire.int_field(wire.required(p, "time_out"), "time_out")
        if not 0 <= time_out < 2**62:
            raise _illegal("time_out")
    if on and time_out < v5_others.MIN_TIME_OUT_MS:
        raise _illegal("time_out")
    return on, time_out


# --- renderers ---------------------------------------------------------------------------------


def render_batch(
    ctx: ServiceContext,
    arguments: tuple[tuple[v5.V5Order | Exception, ...]],
    results: list[v5.Placed | Exception],
) -> Any:
    """``batch_orders``: per item its ids and 200, or its refusal's code (no order id)."""
    items = []
    for sent, r in zip(arguments[0], results, strict=True):
        if isinstance(r, v5.Placed):
            oid = str(r.order_id)
            items.append(p5.BatchItem(oid, r.client_order_id or oid, 200, "Success"))
        else:
            cid = sent.client_order_id if isinstance(sent, v5.V5Order) else None
            items.append(p5.BatchItem(None, cid, *item_error(r)))
    return p5.BATCH_ITEMS.render(tuple(items))


def render_cancel_batch(
    ctx: ServiceContext,
    arguments: tuple[tuple[tuple[str, str], ...], str],
    results: list[str | Exception],
) -> Any:
    """``cancel_batch_orders``: per id 200, or 1017 for an unknown or finished order."""
    items = []
    for (kind, text), r in zip(arguments[0], results, strict=True):
        cid = text if kind == "client_order_id" else None
        if isinstance(r, Exception):
            oid = text if kind == "order_id" else None
            items.append(p5.BatchItem(oid, cid, *item_error(r)))
        else:
            items.append(p5.BatchItem(r, cid or r, 200, "Success"))
    return p5.BATCH_ITEMS.render(tuple(items))


def render_position_all(ctx: ServiceContext, arguments: tuple[()], ids: list[int]) -> Any:
    """``position_all``: one closing order per position closed."""
    return p5.ORDER_ACKS.render(tuple(p5.OrderAck(str(i), str(i)) for i in ids))


def _closed(pos: SubPosition, contract_size: Decimal) -> p5.ClosedPosition:
    has_margin = pos.profit is not None and pos.initial_margin(contract_size) > 0
    return p5.ClosedPosition(
        id=str(pos.sub_position_id),
        contract_code=pos.contract_code,
        contract_type="swap",
        position_side=pos.side.value,
        direction="buy" if pos.side is PositionSide.LONG else "sell",
        margin_mode=pos.margin_mode.value,
        lever_rate=pos.lever,
        volume=pos.volume,
        open_avg_price=pos.open_avg_price,
        close_avg_price=pos.close_avg_price or None,
        open_fee=pos.open_fee,
        close_fee=pos.close_fee,
        profit=_ZERO if pos.profit is None else pos.profit,
        profit_rate=risk.closed_profit_rate(pos, contract_size) if has_margin else _ZERO,
        close_type=int(pos.close_type) if pos.close_type is not None else None,
        margin_currency="USDT",
        created_time=pos.open_time,
        updated_time=pos.close_time if pos.close_time is not None else pos.open_time,
    )


def render_position_history(
    ctx: ServiceContext, arguments: tuple[PageQuery], rows: list[SubPosition]
) -> Any:
    """``position/history``: newest first."""
    return p5.CLOSED_POSITIONS.render(
        tuple(_closed(p, ctx.spec(p.contract_code).contract_size) for p in rows)
    )


def render_margin(ctx: ServiceContext, arguments: tuple[Any, ...], result: None) -> Any:
    """``position/margin``: ``{}``."""
    return p5.MARGIN_CHANGE.render(p5.MarginChange())


def render_bills(
    ctx: ServiceContext, arguments: tuple[PageQuery], rows: list[v5_others.BillRow]
) -> Any:
    """``account/bills``: newest first."""
    return p5.BILLS.render(
        tuple(
            p5.Bill(
                id=str(r.bill_id),
                contract_code=r.contract_code,
                margin_mode=r.margin_mode.value if isinstance(r.margin_mode, MarginMode) else None,
                type=r.kind,
                currency="USDT",
                amount=r.amount,
                created_time=r.ts,
            )
            for r in rows
        )
    )


def render_cancel_after(
    ctx: ServiceContext, arguments: tuple[bool, int], times: tuple[int, int]
) -> Any:
    """``cancel-after``: ``{current_time, trigger_time}``."""
    return p5.CANCEL_AFTER.render(p5.CancelAfter(*times))


OTHER_ROUTES: dict[str, Route] = {
    "batch_orders": route_each(parse_batch_orders, v5_others.batch_order, render_batch),
    "cancel_batch_orders": route_each(
        parse_cancel_batch,
        v5_others.cancel_batch_item,
        render_cancel_batch,
        before=v5_others.check_cancel_batch,
    ),
    "position_all": route(no_parameters, v5_others.position_all, render_position_all),
    "position_history": route(
        parse_position_history, v5_others.position_history, render_position_history
    ),
    "position_margin": route(parse_margin, v5_others.position_margin, render_margin),
    "bills": route(parse_bills, v5_others.bills, render_bills),
    "cancel_after": route(parse_cancel_after, v5_others.cancel_after, render_cancel_after),
    "cancel_after_get": route(parse_cancel_after, v5_others.cancel_after, render_cancel_after),
}
"""Spec §7's endpoints, by name (merged into the v5 routes)."""
