"""HTX endpoints: wire -> service call -> ``data`` with HTX's field names and types (spec §6).

Each function runs on a database thread and returns the envelope's ``data``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, NamedTuple

from copytrade.api import wire
from copytrade.api.wire import WireError
from copytrade.domain.enums import MarginMode
from copytrade.domain.errors import PositionNotFound
from copytrade.domain.margin import div
from copytrade.domain.model import SubPosition
from copytrade.domain.trading import OpenRequest
from copytrade.protocol.decimals import fmt, fmt_trunc18
from copytrade.protocol.error_codes import ErrorCode
from copytrade.service import handlers, queries
from copytrade.service.context import ServiceContext
from copytrade.service.ports import Page

DAY_MS = 86_400_000
WINDOW_MS = 90 * DAY_MS
INT64_LIMIT = 2**63


class Call(NamedTuple):
    """One authenticated call: who, its parameters (query on GET, body on POST), and now.

    A named tuple: immutable like a frozen dataclass, and a third of its cost to build.
    """

    uid: int
    params: dict[str, Any]
    now_ms: int


Route = Callable[[ServiceContext, Call], Any]


def place_order(ctx: ServiceContext, call: Call) -> Any:
    """``POST place_order``: open or add to a lead position (spec §6.1)."""
    p = call.params
    code = wire.contract_code(p)
    amount = wire.decimal_field(wire.required(p, "amount"), "amount")
    mode = wire.margin_mode(p)
    price_type = wire.order_price_type(p)
    direction = wire.order_direction(p)
    lever = wire.lever(p)
    price = wire.optional_decimal(p, "price")
    if price_type.needs_price and price is None:
        raise WireError(ErrorCode.EMPTY_PARAM, "price")
    req = OpenRequest(
        contract_code=code,
        direction=direction,
        volume=amount,
        margin_mode=mode,
        price_type=price_type,
        price=price if price_type.needs_price else None,
        lever=lever,
        tp_trigger_price=wire.optional_decimal(p, "tp_trigger_price"),
        sl_trigger_price=wire.optional_decimal(p, "sl_trigger_price"),
    )
    handlers.place_order(ctx, call.uid, req)
    return True


def close_order(ctx: ServiceContext, call: Call) -> Any:
    """``POST close_order``: close one sub position at market (spec §6.2)."""
    raw = wire.id_field(wire.required(call.params, "sub_position_id"), "sub_position_id")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19:
        raise PositionNotFound(f"sub_position_id {raw}")
    handlers.close_order(ctx, call.uid, int(raw))
    return True


def close_all_position(ctx: ServiceContext, call: Call) -> Any:
    """``POST close_all_position``: close every sub position of one key (spec §6.3, §8.2)."""
    p = call.params
    code = wire.contract_code(p)
    mode = wire.margin_mode(p)
    side = wire.position_side(p)
    handlers.close_all_position(ctx, call.uid, code, mode, side)
    return True


def parse_page(params: dict[str, Any], now_ms: int) -> Page:
    """Build paging from ``direct``, ``from_id``, ``limit``, ``start_time``, ``end_time``."""

    def opt(name: str) -> Any:
        value = params.get(name)
        return None if value in (None, "") else value

    def number(name: str) -> int | None:
        # ids and times are 64-bit in storage: anything wider is an illegal value, not a fault
        value = opt(name)
        if value is None:
            return None
        parsed = wire.int_field(value, name)
        if not -INT64_LIMIT <= parsed < INT64_LIMIT:
            raise WireError(ErrorCode.ILLEGAL_PARAM, name)
        return parsed

    direct = opt("direct") or "prev"
    if direct not in ("prev", "next"):
        raise WireError(ErrorCode.ILLEGAL_PARAM, "direct")
    limit = number("limit")
    limit = 100 if limit is None else limit
    if not 1 <= limit <= 100:
        raise WireError(ErrorCode.ILLEGAL_PARAM, "limit")
    from_id = number("from_id")
    end = number("end_time")
    end = now_ms if end is None else end
    floor = now_ms - WINDOW_MS
    start = number("start_time")
    start = floor if start is None else max(start, floor)
    if start > end:
        raise WireError(ErrorCode.ILLEGAL_PARAM, "start_time")
    return Page(direct == "next", from_id, limit, start, end)


def _opt(value: Any) -> str | None:
    return None if value is None else fmt(value)


def _query_id(items: list[Any], key: Callable[[Any], int]) -> int | None:
    return key(items[-1]) if items else None


def current_positions(ctx: ServiceContext, call: Call) -> Any:
    """``GET current_positions``: open sub positions of one contract (spec §6.11)."""
    code = wire.contract_code(call.params)
    view = queries.current_positions(ctx, call.uid, code, parse_page(call.params, call.now_ms))
    out = []
    for pos in view.positions:
        liq = view.liquidation.get((code, pos.side))
        isolated = pos.margin_mode is MarginMode.ISOLATED
        out.append(
            {
                "sub_position_id": str(pos.sub_position_id),
                "margin_mode": pos.margin_mode.value,
                "position_side": pos.side.value,
                "lever": str(pos.lever),
                "open_order_id": str(pos.open_order_id),
                "open_avg_price": fmt_trunc18(pos.open_avg_price),
                "open_fee": fmt_trunc18(pos.open_fee),
                "open_time": pos.open_time,
                "position_margin": fmt_trunc18(pos.position_margin),
                "volume": fmt(pos.volume),
                "liquidation_price": fmt_trunc18(liq) if isolated and liq is not None else None,
                "tp_trigger_price": _opt(pos.tp_trigger_price),
                "sl_trigger_price": _opt(pos.sl_trigger_price),
            }
        )
    query_id = _query_id(view.positions, lambda p: p.sub_position_id)
    return {"positions": out, "query_id": query_id}


def _history_item(pos: SubPosition) -> dict[str, Any]:
    return {
        "sub_position_id": str(pos.sub_position_id),
        "open_order_id": str(pos.open_order_id),
        "margin_mode": pos.margin_mode.value,
        "position_side": pos.side.value,
        "lever": str(pos.lever),
        "open_avg_price": fmt_trunc18(pos.open_avg_price),
        "open_time": pos.open_time,
        "volume": fmt(pos.volume),
        "close_time": pos.close_time,
        "close_avg_price": fmt_trunc18(pos.close_avg_price) if pos.close_avg_price else None,
        "open_fee": fmt_trunc18(pos.open_fee),
        "close_fee": fmt_trunc18(pos.close_fee),
        "profit": fmt_trunc18(pos.profit) if pos.profit is not None else "0",
        "profit_rate": "0",
        "close_type": int(pos.close_type) if pos.close_type is not None else None,
        "follow_takes": fmt_trunc18(pos.follow_takes),
    }


def position_positions(ctx: ServiceContext, call: Call) -> Any:
    """``GET position_positions``: closed sub positions of one contract (spec §6.12)."""
    code = wire.contract_code(call.params)
    spec = ctx.spec(code)
    rows = queries.position_history(ctx, call.uid, code, parse_page(call.params, call.now_ms))
    out = []
    for pos in rows:
        item = _history_item(pos)
        im = pos.initial_margin(spec.contract_size)
        if pos.profit is not None and im > 0:
            item["profit_rate"] = fmt_trunc18(div(pos.profit, im))
        out.append(item)
    return {"positions": out, "query_id": _query_id(rows, lambda p: p.sub_position_id)}


def position_list(ctx: ServiceContext, call: Call) -> Any:
    """``GET position_list``: aggregate positions with risk figures (spec §6.10)."""
    out = []
    for agg in queries.position_list(ctx, call.uid):
        out.append(
            {
                "contract_code": agg.contract_code,
                "margin_mode": agg.margin_mode.value,
                "position_side": agg.side.value,
                "lever": str(agg.lever),
                "open_avg_price": fmt_trunc18(agg.open_avg_price),
                "volume": fmt(agg.volume),
                "position_margin": fmt_trunc18(agg.position_margin),
                "margin_rate": fmt_trunc18(agg.margin_rate),
                "liquidation_price": fmt_trunc18(agg.liquidation_price),
                "unreal_profit": fmt_trunc18(agg.unreal_profit),
                "profit": fmt_trunc18(agg.profit),
                "profit_rate": fmt_trunc18(agg.profit_rate),
            }
        )
    return {"positions": out}


def encode_follower_uid(uid: int) -> str:
    """Return HTX's follower id: base64 of the decimal UID, padding stripped."""
    return base64.b64encode(str(uid).encode()).decode().rstrip("=")


def query_followers(ctx: ServiceContext, call: Call) -> Any:
    """``GET query_followers``: current followers (spec §6.18)."""
    rows = queries.followers(ctx, call.uid, parse_page(call.params, call.now_ms))
    out = [
        {
            "follower_uid": encode_follower_uid(r.follower_uid),
            "follower_name": _mask(r.name),
            "follower_head_pic": f"https://static.example.invalid/avatar/{r.follower_uid}.png",
            "follower_time": r.started_at,
            "follower_trade_amount": fmt_trunc18(r.trade_amount),
            "follower_profit_amount": fmt_trunc18(r.profit_amount),
        }
        for r in rows
    ]
    return {"follower": out, "query_id": _query_id(rows, lambda r: r.follow_id)}


def _mask(name: str) -> str:
    local, at, domain = name.partition("@")
    return f"{local[:1]}***{at}{domain}" if local else "***"


ROUTES: dict[str, Route] = {
    "place_order": place_order,
    "close_order": close_order,
    "close_all_position": close_all_position,
    "current_positions": current_positions,
    "position_positions": position_positions,
    "position_list": position_list,
    "query_followers": query_followers,
}
