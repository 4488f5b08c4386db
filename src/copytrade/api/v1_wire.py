"""Parsers and renderers of the twelve v1 endpoints (issue 13; spec §6.4–§6.9, §6.13–§6.17, §6.19).

Parsers turn request parameters into the use case's arguments (a tuple) or raise
``WireError``/``DomainError``; renderers turn the use case's result into the declared reply
structures of :mod:`copytrade.protocol.copytrading`. :mod:`copytrade.api.routes` joins each
pair with its use case.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import orjson

from copytrade.api import wire
from copytrade.api.wire import WireError
from copytrade.domain.enums import MarginAdjust, MarginMode, OrderDirection, PositionSide
from copytrade.domain.errors import PositionNotFound, UnknownFollower
from copytrade.domain.model import Order, ProfitShare
from copytrade.domain.statistics import ProfitPoint, TraderStats
from copytrade.domain.tpsl import SideDisplay, TpslOrder
from copytrade.protocol import copytrading as ct
from copytrade.protocol.error_codes import ErrorCode
from copytrade.protocol.replies import Page as WirePage

Params = dict[str, Any]
_MARGIN_ADJUST = {m.value: m for m in MarginAdjust}


# --- parsers ---------------------------------------------------------------------------------


def sub_position_id(p: Params) -> int:
    """Return ``sub_position_id``; an id that cannot exist is an unknown position (1046)."""
    raw = wire.id_field(wire.required(p, "sub_position_id"), "sub_position_id")
    if not raw.isdigit() or len(raw) > 19:
        raise PositionNotFound(f"sub_position_id {raw}")
    return int(raw)


def parse_tpsl_order(p: Params, now_ms: int) -> tuple[int, Decimal | None, Decimal | None]:
    """``POST tpsl_order`` (spec §6.4): the sub position and the triggers sent."""
    return (
        sub_position_id(p),
        wire.optional_decimal(p, "tp_trigger_price"),
        wire.optional_decimal(p, "sl_trigger_price"),
    )


def parse_add_margin(
    p: Params, now_ms: int
) -> tuple[str, PositionSide, Decimal, MarginAdjust, Any]:
    """``POST add_margin`` (spec §6.5); the last element is ``amount`` as sent (for the echo)."""
    code = wire.contract_code(p)
    raw = wire.required(p, "amount")
    amount = wire.decimal_field(raw, "amount")
    kind = _MARGIN_ADJUST.get(wire.int_field(wire.required(p, "type"), "type"))
    if kind is None:
        raise WireError(ErrorCode.ILLEGAL_PARAM, "type")
    return code, wire.position_side(p), amount, kind, raw


def parse_account_transfer(p: Params, now_ms: int) -> tuple[Decimal, int, str]:
    """``POST account_transfer`` (spec §6.6): amount, type and currency, checked by the domain."""
    amount = wire.decimal_field(wire.required(p, "amount"), "amount")
    kind = wire.int_field(wire.required(p, "type"), "type")
    currency = wire.required(p, "currency")
    if not isinstance(currency, str):
        raise WireError(ErrorCode.INPUT_ERROR, "currency")
    return amount, kind, currency


def parse_updated_lever(p: Params, now_ms: int) -> tuple[str, MarginMode, int]:
    """``POST updated_contract_lever`` (spec §6.7): a missing ``lever`` is 1094."""
    code = wire.contract_code(p)
    lever = wire.int_field(wire.required(p, "lever", ErrorCode.LEVER_EMPTY), "lever")
    return code, wire.margin_mode(p), lever


def parse_contract_mode(p: Params, now_ms: int) -> tuple[str, MarginMode]:
    """``GET query_contract_lever`` (spec §6.8)."""
    return wire.contract_code(p), wire.margin_mode(p)


def parse_optional_contract(p: Params, now_ms: int) -> tuple[str | None]:
    """``open_orders``/``tpsl_open_orders``: an absent or empty ``contract_code`` means all."""
    value = p.get("contract_code")
    if value is None or value == "":
        return (None,)
    return (wire.contract_code(p),)


def decode_follower_uid(value: str) -> int:
    """Return the UID behind HTX's follower id (base64 of the decimal UID, padding stripped)."""
    try:
        text = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise UnknownFollower(value) from None
    if not text.isdigit() or len(text) > 19:
        raise UnknownFollower(value)
    return int(text)


def parse_remove_follower(p: Params, now_ms: int) -> tuple[int]:
    """``POST remove_follower`` (spec §6.19): an id that is no UID is an unknown follower."""
    raw = wire.id_field(wire.required(p, "follower_uid"), "follower_uid")
    return (decode_follower_uid(raw),)


# --- renderers -------------------------------------------------------------------------------


def echo_amount(raw: Any) -> Any:
    """Return ``amount`` with the JSON type the client sent (spec §6.5): string or number."""
    if isinstance(raw, str) or (isinstance(raw, int) and not isinstance(raw, bool)):
        return raw
    if isinstance(raw, Decimal):
        return orjson.Fragment(format(raw, "f").encode())
    return str(raw)


def render_margin_adjustment(
    code: str, side: PositionSide, amount: Decimal, kind: MarginAdjust, raw: Any
) -> Any:
    """``add_margin`` data: the request echoed (spec §6.5)."""
    data = ct.MARGIN_ADJUSTMENT.render(ct.MarginAdjustment(code, amount, kind, side))
    data["amount"] = echo_amount(raw)
    return data


def render_leverage_setting(code: str, mode: MarginMode, lever: int) -> Any:
    """``updated_contract_lever`` data."""
    return ct.LEVERAGE_SETTING.render(ct.LeverageSetting(lever, code, mode))


def render_contract_lever(
    code: str, mode: MarginMode, lever_range: tuple[int, int], current: int
) -> Any:
    """``query_contract_lever`` data."""
    return ct.CONTRACT_LEVER.render(ct.ContractLever(lever_range, current, code, mode))


def render_contracts(codes: Iterable[str]) -> Any:
    """``query_contract`` data: an array of contract codes."""
    return ct.CONTRACTS.render(tuple(codes))


def render_open_orders(orders: Iterable[Order]) -> Any:
    """``open_orders`` data: resting lead orders, newest first (spec §6.13)."""
    rows = sorted(orders, key=lambda o: (o.created_at, o.order_id), reverse=True)
    return ct.OPEN_ORDERS.render(
        tuple(
            ct.OpenOrder(
                contract_code=o.contract_code,
                position_side=o.side,
                order_direction=OrderDirection.BUY
                if o.side is PositionSide.LONG
                else OrderDirection.SELL,
                lever=o.lever,
                margin_mode=o.margin_mode,
                volume=o.volume,
                price=o.price,
                avg_volume=o.filled,
                avg_price=o.avg_price,
                fee=o.fee,
            )
            for o in rows
        )
    )


def render_tpsl_orders(rows: Iterable[TpslOrder], display: SideDisplay = SideDisplay.HTX) -> Any:
    """``tpsl_open_orders`` data; ``position_side`` per ``display`` (spec §6.14)."""
    return ct.TPSL_ORDERS.render(
        tuple(
            ct.TpslOrder(
                contract_code=r.contract_code,
                margin_mode=r.margin_mode,
                position_side=r.shown_side(display),
                volume=r.volume,
                trigger_type=r.trigger_type,
                tpsl_order_type=r.kind,
                price=r.price,
            )
            for r in rows
        )
    )


def _points(points: Iterable[ProfitPoint]) -> tuple[ct.ProfitPoint, ...]:
    return tuple(ct.ProfitPoint(p.rate, p.amount, p.ts) for p in points)


def render_trader_stats(stats: TraderStats) -> Any:
    """``order_total_detail`` data (spec §6.15)."""
    return ct.TRADER_STATS.render(
        ct.TraderStats(
            total_follower_num=stats.total_follower_num,
            current_follower_num=stats.current_follower_num,
            total_pl=stats.total_pl,
            win_rate=stats.win_rate,
            last_24_hours_profit=_points(stats.last_24_hours_profit),
            last_90_days_profit=_points(stats.last_90_days_profit),
        )
    )


def render_profit_items(shares: list[ProfitShare]) -> Any:
    """``profit_history_details`` data: one page of profit shares received (spec §6.16)."""
    items = tuple(ct.ProfitItem(str(s.follower_uid), s.currency, s.amount, s.ts) for s in shares)
    return ct.PROFIT_HISTORY.render(WirePage(items, shares[-1].item_id if shares else None))


def render_profit_totals(totals: dict[str, Decimal]) -> Any:
    """``total_profit_history`` data: one item per currency (spec §6.17)."""
    return ct.PROFIT_TOTALS.render(
        tuple(ct.ProfitTotal(currency, amount) for currency, amount in totals.items())
    )
