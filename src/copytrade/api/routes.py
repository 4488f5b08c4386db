"""HTX endpoints in three steps: parse the wire, run the use case, render the reply (spec §6).

Each :class:`Route` is ``(parse, run, render)``. ``parse(params, now_ms)`` turns the request's
parameters into the use case's arguments (a tuple) or raises ``WireError``/``DomainError``;
``run(ctx, uid, *arguments)`` is the service function, the only step that runs in the database
runner; ``render(ctx, arguments, result)`` builds the envelope's ``data`` from the declared
reply structures (:mod:`copytrade.protocol.copytrading`). Parsing and rendering stay on the
event loop, outside the commit group.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar, TypeVarTuple

from copytrade.api import v1_wire, wire
from copytrade.api.wire import WireError
from copytrade.domain import risk
from copytrade.domain.enums import MarginMode, PositionSide
from copytrade.domain.errors import PositionNotFound
from copytrade.domain.model import Order, ProfitShare, SubPosition
from copytrade.domain.statistics import TraderStats
from copytrade.domain.tpsl import TpslOrder
from copytrade.domain.trading import OpenRequest
from copytrade.protocol import copytrading as ct
from copytrade.protocol.error_codes import ErrorCode
from copytrade.protocol.replies import Page as WirePage
from copytrade.service import handlers, queries, v1
from copytrade.service.context import ServiceContext
from copytrade.service.ports import FollowerRow, Page

DAY_MS = 86_400_000
WINDOW_MS = 90 * DAY_MS
INT64_LIMIT = 2**63
_ZERO = Decimal(0)

Params = dict[str, Any]
Ts = TypeVarTuple("Ts")
R = TypeVar("R")


class Route(NamedTuple):
    """One endpoint: parse (event loop), use case (database runner), render (event loop)."""

    parse: Callable[[Params, int], tuple[Any, ...]]
    run: Callable[..., Any]
    render: Callable[[ServiceContext, Any, Any], Any]
    per_item: bool = False
    """A batch: ``parse`` returns ``(items, *rest)`` and ``run(ctx, uid, item, *rest)`` runs
    once per item, each in a runner call of its own, so a refused item fails alone (a store's
    group commit undoes a failed call whole); an item the parser refused is an exception
    among the items and is not run; ``render`` gets one result or error per item."""
    before: Callable[..., Any] | None = None
    """A batch's check of the whole request, ``before(ctx, uid, *arguments)`` in the runner
    ahead of the items: its refusal refuses the request (nothing done), e.g. an unknown
    contract that every item names."""


def route(
    parse: Callable[[Params, int], tuple[*Ts]],
    run: Callable[[ServiceContext, int, *Ts], R],
    render: Callable[[ServiceContext, tuple[*Ts], R], Any],
) -> Route:
    """Return a :class:`Route`, checking that the three steps fit together (for mypy)."""
    return Route(parse, run, render)


def route_each(
    parse: Callable[[Params, int], tuple[Any, ...]],
    run: Callable[..., Any],
    render: Callable[[ServiceContext, Any, list[Any]], Any],
    before: Callable[..., Any] | None = None,
) -> Route:
    """Return a batch :class:`Route` whose use case runs once per item (``per_item``)."""
    return Route(parse, run, render, per_item=True, before=before)


def accepted(ctx: ServiceContext, arguments: tuple[object, ...], result: object) -> bool:
    """Render ``data: true``: the POST was carried out (``ct.ACCEPTED``, a bare ``True``)."""
    return True


# --- parsers: wire parameters -> the use case's arguments ------------------------------------


def parse_place_order(p: Params, now_ms: int) -> tuple[OpenRequest]:
    """``POST place_order`` (spec §6.1)."""
    code = wire.contract_code(p)
    amount = wire.decimal_field(wire.required(p, "amount"), "amount")
    mode = wire.margin_mode(p)
    price_type = wire.order_price_type(p)
    direction = wire.order_direction(p)
    lever = wire.lever(p)
    price = wire.optional_decimal(p, "price")
    if price_type.needs_price and price is None:
        raise WireError(ErrorCode.EMPTY_PARAM, "price")
    request = OpenRequest(
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
    return (request,)


def parse_close_order(p: Params, now_ms: int) -> tuple[int]:
    """``POST close_order`` (spec §6.2): an id that cannot exist is an unknown position."""
    raw = wire.id_field(wire.required(p, "sub_position_id"), "sub_position_id")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19:
        raise PositionNotFound(f"sub_position_id {raw}")
    return (int(raw),)


def parse_close_all(p: Params, now_ms: int) -> tuple[str, MarginMode, PositionSide]:
    """``POST close_all_position`` (spec §6.3, §8.2)."""
    return wire.contract_code(p), wire.margin_mode(p), wire.position_side(p)


def parse_page(params: Params, now_ms: int) -> Page:
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


def parse_contract_page(p: Params, now_ms: int) -> tuple[str, Page]:
    """``contract_code`` (required) and paging: ``current_positions``, ``position_positions``."""
    return wire.contract_code(p), parse_page(p, now_ms)


def parse_paging(p: Params, now_ms: int) -> tuple[Page]:
    """Paging only: ``query_followers``."""
    return (parse_page(p, now_ms),)


def no_parameters(p: Params, now_ms: int) -> tuple[()]:
    """An endpoint without parameters (unknown ones are ignored, spec §2.3)."""
    return ()


# --- renderers: the use case's result -> the declared reply structures -----------------------


def render_current_positions(
    ctx: ServiceContext, arguments: tuple[str, Page], view: queries.OpenPositionsView
) -> Any:
    """``GET current_positions`` (spec §6.11): cross positions have no liquidation price."""
    code = arguments[0]
    items = []
    for pos in view.positions:
        liq = view.liquidation.get((code, pos.side))
        items.append(
            ct.SubPosition(
                sub_position_id=str(pos.sub_position_id),
                margin_mode=pos.margin_mode,
                position_side=pos.side,
                lever=pos.lever,
                open_order_id=str(pos.open_order_id),
                open_avg_price=pos.open_avg_price,
                open_fee=pos.open_fee,
                open_time=pos.open_time,
                position_margin=pos.position_margin,
                volume=pos.volume,
                liquidation_price=liq if pos.margin_mode is MarginMode.ISOLATED else None,
                tp_trigger_price=pos.tp_trigger_price,
                sl_trigger_price=pos.sl_trigger_price,
            )
        )
    return ct.CURRENT_POSITIONS.render(WirePage(tuple(items), _last_position_id(view.positions)))


def closed_position(pos: SubPosition, contract_size: Decimal) -> ct.ClosedPosition:
    """Return a closed sub position as ``position_positions`` shows it (spec §6.12)."""
    has_margin = pos.profit is not None and pos.initial_margin(contract_size) > 0
    return ct.ClosedPosition(
        sub_position_id=str(pos.sub_position_id),
        open_order_id=str(pos.open_order_id),
        margin_mode=pos.margin_mode,
        position_side=pos.side,
        lever=pos.lever,
        open_avg_price=pos.open_avg_price,
        open_time=pos.open_time,
        volume=pos.volume,
        close_time=pos.close_time,
        close_avg_price=pos.close_avg_price or None,
        open_fee=pos.open_fee,
        close_fee=pos.close_fee,
        profit=_ZERO if pos.profit is None else pos.profit,
        profit_rate=risk.closed_profit_rate(pos, contract_size) if has_margin else _ZERO,
        close_type=pos.close_type,
        follow_takes=pos.follow_takes,
    )


def render_position_history(
    ctx: ServiceContext, arguments: tuple[str, Page], rows: list[SubPosition]
) -> Any:
    """``GET position_positions`` (spec §6.12)."""
    size = ctx.spec(arguments[0]).contract_size
    items = tuple(closed_position(pos, size) for pos in rows)
    return ct.POSITION_HISTORY.render(WirePage(items, _last_position_id(rows)))


def render_position_list(
    ctx: ServiceContext, arguments: tuple[()], rows: list[risk.AggregatePosition]
) -> Any:
    """``GET position_list`` (spec §6.10)."""
    return ct.POSITION_LIST.render(
        tuple(
            ct.AggregatePosition(
                contract_code=agg.contract_code,
                margin_mode=agg.margin_mode,
                position_side=agg.side,
                lever=agg.lever,
                open_avg_price=agg.open_avg_price,
                volume=agg.volume,
                position_margin=agg.position_margin,
                margin_rate=agg.margin_rate,
                liquidation_price=agg.liquidation_price,
                unreal_profit=agg.unreal_profit,
                profit=agg.profit,
                profit_rate=agg.profit_rate,
            )
            for agg in rows
        )
    )


def encode_follower_uid(uid: int) -> str:
    """Return HTX's follower id: base64 of the decimal UID, padding stripped."""
    return base64.b64encode(str(uid).encode()).decode().rstrip("=")


def render_followers(ctx: ServiceContext, arguments: tuple[Page], rows: list[FollowerRow]) -> Any:
    """``GET query_followers`` (spec §6.18): names masked, ids opaque."""
    items = tuple(
        ct.Follower(
            follower_uid=encode_follower_uid(r.follower_uid),
            follower_name=_mask(r.name),
            follower_head_pic=f"https://static.example.invalid/avatar/{r.follower_uid}.png",
            follower_time=r.started_at,
            follower_trade_amount=r.trade_amount,
            follower_profit_amount=r.profit_amount,
        )
        for r in rows
    )
    return ct.FOLLOWERS.render(WirePage(items, rows[-1].follow_id if rows else None))


def _last_position_id(rows: list[SubPosition]) -> int | None:
    return rows[-1].sub_position_id if rows else None


def _mask(name: str) -> str:
    local, at, domain = name.partition("@")
    return f"{local[:1]}***{at}{domain}" if local else "***"


# --- the v1 endpoints (issue 13): parsers and renderers in api/v1_wire.py -----------------------


def _margin_echo(ctx: ServiceContext, arguments: tuple[Any, ...], result: None) -> Any:
    return v1_wire.render_margin_adjustment(*arguments)


def _leverage_setting(
    ctx: ServiceContext, arguments: tuple[str, MarginMode, int], result: None
) -> Any:
    return v1_wire.render_leverage_setting(*arguments)


def _contract_lever(
    ctx: ServiceContext, arguments: tuple[str, MarginMode], view: v1.LeverView
) -> Any:
    return v1_wire.render_contract_lever(*arguments, view.lever_range, view.current)


def _contracts(ctx: ServiceContext, arguments: tuple[()], codes: tuple[str, ...]) -> Any:
    return v1_wire.render_contracts(codes)


def _open_orders(ctx: ServiceContext, arguments: tuple[str | None], orders: list[Order]) -> Any:
    return v1_wire.render_open_orders(orders)


def _tpsl_orders(ctx: ServiceContext, arguments: tuple[str | None], rows: list[TpslOrder]) -> Any:
    return v1_wire.render_tpsl_orders(rows, ctx.tpsl_side_display)


def _trader_stats(ctx: ServiceContext, arguments: tuple[()], stats: TraderStats) -> Any:
    return v1_wire.render_trader_stats(stats)


def _profit_items(ctx: ServiceContext, arguments: tuple[Page], shares: list[ProfitShare]) -> Any:
    return v1_wire.render_profit_items(shares)


def _profit_totals(ctx: ServiceContext, arguments: tuple[()], totals: dict[str, Decimal]) -> Any:
    return v1_wire.render_profit_totals(totals)


ROUTES: dict[str, Route] = {
    "place_order": route(parse_place_order, handlers.place_order, accepted),
    "close_order": route(parse_close_order, handlers.close_order, accepted),
    "close_all_position": route(parse_close_all, handlers.close_all_position, accepted),
    "current_positions": route(
        parse_contract_page, queries.current_positions, render_current_positions
    ),
    "position_positions": route(
        parse_contract_page, queries.position_history, render_position_history
    ),
    "position_list": route(no_parameters, queries.position_list, render_position_list),
    "query_followers": route(parse_paging, queries.followers, render_followers),
    "tpsl_order": route(v1_wire.parse_tpsl_order, v1.tpsl_order, accepted),
    "tpsl_open_orders": route(v1_wire.parse_optional_contract, v1.tpsl_open_orders, _tpsl_orders),
    "add_margin": route(v1_wire.parse_add_margin, v1.add_margin, _margin_echo),
    "account_transfer": route(v1_wire.parse_account_transfer, v1.account_transfer, accepted),
    "updated_contract_lever": route(
        v1_wire.parse_updated_lever, v1.updated_contract_lever, _leverage_setting
    ),
    "query_contract_lever": route(
        v1_wire.parse_contract_mode, v1.query_contract_lever, _contract_lever
    ),
    "open_orders": route(v1_wire.parse_optional_contract, v1.open_orders, _open_orders),
    "query_contract": route(no_parameters, v1.query_contract, _contracts),
    "remove_follower": route(v1_wire.parse_remove_follower, v1.remove_follower, accepted),
    "order_total_detail": route(no_parameters, v1.order_total_detail, _trader_stats),
    "profit_history_details": route(parse_paging, v1.profit_history_details, _profit_items),
    "total_profit_history": route(no_parameters, v1.total_profit_history, _profit_totals),
}
"""The endpoints the server implements, by name (the others answer 1000, see COVERAGE.md)."""
