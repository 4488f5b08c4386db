"""Typed values of the copy-trading API: request enums, result dataclasses, ``ApiResponse``.

Results are frozen dataclasses holding :class:`~decimal.Decimal` for every price, amount and
ratio. Each has a ``from_wire`` constructor that tolerates the quirks of spec §9.2: numbers
sent as strings or as JSON numbers, the ``*_amont`` spellings, ``"null"`` volumes,
``query_contract`` as strings or objects, ``order_direction`` as ``"open"`` or ``1``/``2``
and ``query_id`` as a string or an integer.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from copytrade.protocol.decimals import parse_decimal_text

__all__ = [
    "AggregatePosition",
    "ApiResponse",
    "ClosedPosition",
    "ContractLever",
    "Direct",
    "Follower",
    "LeverageSetting",
    "MarginAdjustType",
    "MarginAdjustment",
    "MarginMode",
    "OpenOrder",
    "OrderDirection",
    "OrderPriceType",
    "Page",
    "PositionSide",
    "ProfitItem",
    "ProfitPoint",
    "ProfitTotal",
    "RateLimit",
    "SubPosition",
    "TpslOrder",
    "TraderStats",
    "TransferType",
    "WireFormatError",
]

T = TypeVar("T")


class MarginMode(enum.StrEnum):
    """``margin_mode``."""

    ISOLATED = "isolated"
    CROSS = "cross"


class PositionSide(enum.StrEnum):
    """``position_side``."""

    LONG = "long"
    SHORT = "short"


class OrderPriceType(enum.IntEnum):
    """``order_price_type`` codes accepted by ``place_order`` (spec §7.1)."""

    LIMIT = 1
    OPPONENT = 2
    OPTIMAL_20 = 6
    FOK = 8
    OPPONENT_FOK = 13
    OPTIMAL_20_FOK = 16
    MARKET = 17


class OrderDirection(enum.IntEnum):
    """``order_direction``: buy opens a long, sell opens a short."""

    BUY = 1
    SELL = 2


class Direct(enum.StrEnum):
    """Paging direction: ``next`` oldest first, ``prev`` newest first."""

    NEXT = "next"
    PREV = "prev"


class MarginAdjustType(enum.IntEnum):
    """``add_margin`` ``type``."""

    ADD = 1
    REDUCE = 2


class TransferType(enum.IntEnum):
    """``account_transfer`` ``type``."""

    FUTURES_TO_COPY = 1
    COPY_TO_FUTURES = 2
    SPOT_TO_COPY = 3
    COPY_TO_SPOT = 4


class WireFormatError(ValueError):
    """A reply field is missing or has a type the spec does not allow."""


@dataclass(frozen=True, slots=True)
class RateLimit:
    """The ``ratelimit-*`` headers of a reply (spec §5.2).

    Attributes:
        limit: requests allowed per window.
        interval: window length in milliseconds.
        remaining: requests left in the current window.
        reset: epoch milliseconds at which the window ends.
    """

    limit: int | None
    interval: int | None
    remaining: int | None
    reset: int | None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimit | None:
        """Read the headers; ``None`` when the reply carried none of them."""
        values = [
            _header_int(headers, f"ratelimit-{n}")
            for n in ("limit", "interval", "remaining", "reset")
        ]
        if all(v is None for v in values):
            return None
        return cls(*values)


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    raw = raw.strip()
    return int(raw) if raw.isdigit() else None


@dataclass(frozen=True, slots=True)
class ApiResponse(Generic[T]):
    """One successful reply: typed ``data`` plus envelope and rate-limit details.

    Attributes:
        data: the endpoint's typed result.
        tid: the request id (32 hex characters) for support and logs.
        rate_limit: the ``ratelimit-*`` headers, ``None`` when absent.
        http_status: the HTTP status code.
        raw: the decoded JSON ``data`` before conversion.
    """

    data: T
    tid: str | None
    rate_limit: RateLimit | None
    http_status: int
    raw: Any


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a paged endpoint.

    Attributes:
        items: the records of this page.
        query_id: the id of the page's last record; pass it as ``from_id`` for the next page
            (``None`` when the page is empty).
    """

    items: tuple[T, ...]
    query_id: int | None


# --- field readers -------------------------------------------------------------------------

_NULLS = (None, "", "null")


def _obj(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise WireFormatError(f"{what}: expected an object, got {type(value).__name__}")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise WireFormatError(f"{what}: expected an array, got {type(value).__name__}")
    return value


def _pick(d: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if key in d and d[key] is not None:
            return d[key]
    return None


def to_decimal(value: Any, what: str = "value") -> Decimal | None:
    """Convert a wire decimal (string, integer or ``Decimal``) to ``Decimal``; nulls give None."""
    if value in _NULLS:
        return None
    if isinstance(value, bool):
        raise WireFormatError(f"{what}: expected a decimal, got a boolean")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        parsed = parse_decimal_text(value.strip())
        if parsed is not None:
            return parsed
    raise WireFormatError(f"{what}: not a decimal: {value!r}")


def to_int(value: Any, what: str = "value") -> int | None:
    """Convert a wire integer (number or digit string) to ``int``; nulls give None."""
    if value in _NULLS:
        return None
    if isinstance(value, bool):
        raise WireFormatError(f"{what}: expected an integer, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise WireFormatError(f"{what}: not an integer: {value!r}")


def _dec(d: Mapping[str, Any], *keys: str) -> Decimal:
    value = to_decimal(_pick(d, *keys), keys[0])
    if value is None:
        raise WireFormatError(f"{keys[0]}: missing")
    return value


def _odec(d: Mapping[str, Any], *keys: str) -> Decimal | None:
    return to_decimal(_pick(d, *keys), keys[0])


def _int(d: Mapping[str, Any], key: str) -> int:
    value = to_int(d.get(key), key)
    if value is None:
        raise WireFormatError(f"{key}: missing")
    return value


def _oint(d: Mapping[str, Any], key: str) -> int | None:
    return to_int(d.get(key), key)


def _str(d: Mapping[str, Any], key: str) -> str:
    value = d.get(key)
    if value is None or isinstance(value, bool | Mapping | list):
        raise WireFormatError(f"{key}: missing or not a string")
    return str(value)


def _ostr(d: Mapping[str, Any], key: str) -> str | None:
    value = d.get(key)
    return None if value in _NULLS else str(value)


def _page(data: Any, key: str, item: Callable[[Mapping[str, Any]], T], what: str) -> Page[T]:
    body = _obj(data, what)
    items = tuple(item(_obj(x, what)) for x in _list(body.get(key), f"{what}.{key}"))
    return Page(items=items, query_id=to_int(body.get("query_id"), "query_id"))


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MarginAdjustment:
    """``add_margin`` echo: the adjustment the server applied."""

    contract_code: str
    amount: Decimal
    type: int
    position_side: str

    @classmethod
    def from_wire(cls, data: Any) -> MarginAdjustment:
        """Parse ``data`` of ``add_margin``."""
        d = _obj(data, "add_margin")
        return cls(
            _str(d, "contract_code"), _dec(d, "amount"), _int(d, "type"), _str(d, "position_side")
        )


@dataclass(frozen=True, slots=True)
class LeverageSetting:
    """``updated_contract_lever`` reply: the new leverage of (contract, margin mode)."""

    lever: int
    contract_code: str
    margin_mode: str

    @classmethod
    def from_wire(cls, data: Any) -> LeverageSetting:
        """Parse ``data`` of ``updated_contract_lever``."""
        d = _obj(data, "updated_contract_lever")
        return cls(_int(d, "lever"), _str(d, "contract_code"), _str(d, "margin_mode"))


@dataclass(frozen=True, slots=True)
class ContractLever:
    """``query_contract_lever`` reply: allowed range and current leverage."""

    lever_rate_range: tuple[int, int]
    current_lever_rate: int
    contract_code: str
    margin_mode: str

    @classmethod
    def from_wire(cls, data: Any) -> ContractLever:
        """Parse ``data``; ``lever_rate_range`` is ``[min, max]`` (or one integer: ``[1, n]``)."""
        d = _obj(data, "query_contract_lever")
        raw = d.get("lever_rate_range")
        if isinstance(raw, list) and len(raw) == 2:
            low, high = (to_int(v, "lever_rate_range") for v in raw)
        else:
            low, high = 1, to_int(raw, "lever_rate_range")
        if low is None or high is None:
            raise WireFormatError("lever_rate_range: missing")
        return cls(
            (low, high),
            _int(d, "current_lever_rate"),
            _str(d, "contract_code"),
            _str(d, "margin_mode"),
        )


def parse_contracts(data: Any) -> tuple[str, ...]:
    """Parse ``query_contract``: strings, or objects with ``contract_code``."""
    out: list[str] = []
    for item in _list(data, "query_contract"):
        if isinstance(item, Mapping):
            out.append(_str(item, "contract_code"))
        elif isinstance(item, str):
            out.append(item)
        else:
            raise WireFormatError(f"query_contract: unexpected element {item!r}")
    return tuple(out)


@dataclass(frozen=True, slots=True)
class AggregatePosition:
    """One ``position_list`` element: an aggregate position with risk metrics."""

    contract_code: str
    margin_mode: str
    position_side: str
    lever: int
    open_avg_price: Decimal
    volume: Decimal
    position_margin: Decimal
    margin_rate: Decimal | None
    liquidation_price: Decimal | None
    unreal_profit: Decimal | None
    profit: Decimal | None
    profit_rate: Decimal | None

    @classmethod
    def from_wire(cls, d: Mapping[str, Any]) -> AggregatePosition:
        """Parse one element of ``data.positions``."""
        return cls(
            contract_code=_str(d, "contract_code"),
            margin_mode=_str(d, "margin_mode"),
            position_side=_str(d, "position_side"),
            lever=_int(d, "lever"),
            open_avg_price=_dec(d, "open_avg_price"),
            volume=_dec(d, "volume"),
            position_margin=_dec(d, "position_margin"),
            margin_rate=_odec(d, "margin_rate"),
            liquidation_price=_odec(d, "liquidation_price"),
            unreal_profit=_odec(d, "unreal_profit"),
            profit=_odec(d, "profit"),
            profit_rate=_odec(d, "profit_rate"),
        )


def parse_position_list(data: Any) -> tuple[AggregatePosition, ...]:
    """Parse ``position_list``: ``{"positions": [...]}`` (a bare array is accepted too)."""
    raw = data if isinstance(data, list) else _obj(data, "position_list").get("positions")
    return tuple(AggregatePosition.from_wire(_obj(x, "position")) for x in _list(raw, "positions"))


@dataclass(frozen=True, slots=True)
class SubPosition:
    """One ``current_positions`` element: an open sub (lead) position."""

    sub_position_id: str
    margin_mode: str
    position_side: str
    lever: int
    open_order_id: str | None
    open_avg_price: Decimal
    open_fee: Decimal | None
    open_time: int | None
    position_margin: Decimal | None
    volume: Decimal
    liquidation_price: Decimal | None
    tp_trigger_price: Decimal | None
    sl_trigger_price: Decimal | None

    @classmethod
    def from_wire(cls, d: Mapping[str, Any]) -> SubPosition:
        """Parse one element of ``data.positions``."""
        return cls(
            sub_position_id=_str(d, "sub_position_id"),
            margin_mode=_str(d, "margin_mode"),
            position_side=_str(d, "position_side"),
            lever=_int(d, "lever"),
            open_order_id=_ostr(d, "open_order_id"),
            open_avg_price=_dec(d, "open_avg_price"),
            open_fee=_odec(d, "open_fee"),
            open_time=_oint(d, "open_time"),
            position_margin=_odec(d, "position_margin"),
            volume=_dec(d, "volume"),
            liquidation_price=_odec(d, "liquidation_price"),
            tp_trigger_price=_odec(d, "tp_trigger_price"),
            sl_trigger_price=_odec(d, "sl_trigger_price"),
        )


def parse_current_positions(data: Any) -> Page[SubPosition]:
    """Parse ``current_positions``: ``{"positions": [...], "query_id": n}``."""
    return _page(data, "positions", SubPosition.from_wire, "current_positions")


@dataclass(frozen=True, slots=True)
class ClosedPosition:
    """One ``position_positions`` element: a closed sub position.

    ``volume`` is ``None`` when HTX sends the literal ``"null"`` (spec §9.2).
    ``close_type``: 1 close_order, 2 close_all_position, 3 TP, 4 SL, 5 liquidation, 6 ADL.
    """

    sub_position_id: str
    open_order_id: str | None
    margin_mode: str
    position_side: str
    lever: int
    open_avg_price: Decimal
    open_time: int | None
    volume: Decimal | None
    close_time: int | None
    close_avg_price: Decimal | None
    open_fee: Decimal | None
    close_fee: Decimal | None
    profit: Decimal | None
    profit_rate: Decimal | None
    close_type: int | None
    follow_takes: Decimal | None

    @classmethod
    def from_wire(cls, d: Mapping[str, Any]) -> ClosedPosition:
        """Parse one element of ``data.positions``."""
        return cls(
            sub_position_id=_str(d, "sub_position_id"),
            open_order_id=_ostr(d, "open_order_id"),
            margin_mode=_str(d, "margin_mode"),
            position_side=_str(d, "position_side"),
            lever=_int(d, "lever"),
            open_avg_price=_dec(d, "open_avg_price"),
            open_time=_oint(d, "open_time"),
            volume=_odec(d, "volume"),
            close_time=_oint(d, "close_time"),
            close_avg_price=_odec(d, "close_avg_price"),
            open_fee=_odec(d, "open_fee"),
            close_fee=_odec(d, "close_fee"),
            profit=_odec(d, "profit"),
            profit_rate=_odec(d, "profit_rate"),
            close_type=_oint(d, "close_type"),
            follow_takes=_odec(d, "follow_takes"),
        )


def parse_position_history(data: Any) -> Page[ClosedPosition]:
    """Parse ``position_positions``: ``{"positions": [...], "query_id": n}``."""
    return _page(data, "positions", ClosedPosition.from_wire, "position_positions")


@dataclass(frozen=True, slots=True)
class OpenOrder:
    """One ``open_orders`` element: an unfilled (or partly filled) opening order.

    ``order_direction`` is normalised: HTX's ``"open"`` becomes the direction that opens
    ``position_side`` (long → BUY, short → SELL); ``1``/``2`` are taken as they are.
    """

    contract_code: str
    position_side: str
    order_direction: OrderDirection | None
    lever: int
    margin_mode: str
    volume: Decimal
    price: Decimal | None
    avg_volume: Decimal | None
    avg_price: Decimal | None
    fee: Decimal | None

    @classmethod
    def from_wire(cls, d: Mapping[str, Any]) -> OpenOrder:
        """Parse one element of the ``open_orders`` array."""
        side = _str(d, "position_side")
        return cls(
            contract_code=_str(d, "contract_code"),
            position_side=side,
            order_direction=_direction(d.get("order_direction"), side),
            lever=_int(d, "lever"),
            margin_mode=_str(d, "margin_mode"),
            volume=_dec(d, "volume"),
            price=_odec(d, "price"),
            avg_volume=_odec(d, "avg_volume"),
            avg_price=_odec(d, "avg_price"),
            fee=_odec(d, "fee"),
        )


def _direction(raw: Any, position_side: str) -> OrderDirection | None:
    if isinstance(raw, str) and raw.strip().lower() == "open":
        return {"long": OrderDirection.BUY, "short": OrderDirection.SELL}.get(position_side)
    if isinstance(raw, str) and raw.strip().lower() in ("buy", "sell"):
        return OrderDirection[raw.strip().upper()]
    number = to_int(raw, "order_direction")
    return None if number is None else OrderDirection(number)


def parse_open_orders(data: Any) -> tuple[OpenOrder, ...]:
    """Parse ``open_orders``: an array (``{"orders": [...]}`` is accepted too)."""
    raw = data if not isinstance(data, Mapping) else data.get("orders")
    return tuple(OpenOrder.from_wire(_obj(x, "order")) for x in _list(raw, "open_orders"))


@dataclass(frozen=True, slots=True)
class TpslOrder:
    """One ``tpsl_open_orders`` element: an untriggered TP or SL trigger.

    Warning: in HTX's own replies ``position_side`` is the side of the *closing* order, the
    opposite of the protected position (spec §6.14); ``trigger_type`` is correct.
    """

    contract_code: str
    margin_mode: str
    position_side: str
    volume: Decimal
    trigger_type: str
    tpsl_order_type: str
    price: Decimal

    @classmethod
    def from_wire(cls, d: Mapping[str, Any]) -> TpslOrder:
        """Parse one element of the ``tpsl_open_orders`` array."""
        return cls(
            contract_code=_str(d, "contract_code"),
            margin_mode=_str(d, "margin_mode"),
            position_side=_str(d, "position_side"),
            volume=_dec(d, "volume"),
            trigger_type=_str(d, "trigger_type"),
            tpsl_order_type=_str(d, "tpsl_order_type"),
            price=_dec(d, "price", "trigger_price"),
        )


def parse_tpsl_orders(data: Any) -> tuple[TpslOrder, ...]:
    """Parse ``tpsl_open_orders``: an array (``{"orders": [...]}`` is accepted too)."""
    raw = data if not isinstance(data, Mapping) else data.get("orders")
    return tuple(TpslOrder.from_wire(_obj(x, "tpsl")) for x in _list(raw, "tpsl_open_orders"))


@dataclass(frozen=True, slots=True)
class ProfitPoint:
    """One point of a PnL curve in ``order_total_detail`` (``ts`` in epoch ms)."""

    rate: Decimal | None
    amount: Decimal | None
    ts: int | None

    @classmethod
    def from_wire(cls, d: Mapping[str, Any]) -> ProfitPoint:
        """Parse one series point (``ts`` may be a string or an integer)."""
        return cls(_odec(d, "rate"), _odec(d, "amount"), _oint(d, "ts"))


@dataclass(frozen=True, slots=True)
class TraderStats:
    """``order_total_detail`` reply: follower counts, PnL, win rate and PnL curves."""

    total_follower_num: int | None
    current_follower_num: int | None
    total_pl: Decimal | None
    win_rate: Decimal | None
    last_24_hours_profit: tuple[ProfitPoint, ...]
    last_90_days_profit: tuple[ProfitPoint, ...]

    @classmethod
    def from_wire(cls, data: Any) -> TraderStats:
        """Parse ``data`` of ``order_total_detail`` (every field is optional)."""
        d = _obj(data, "order_total_detail")

        def series(key: str) -> tuple[ProfitPoint, ...]:
            return tuple(ProfitPoint.from_wire(_obj(x, key)) for x in _list(d.get(key), key))

        return cls(
            total_follower_num=_oint(d, "total_follower_num"),
            current_follower_num=_oint(d, "current_follower_num"),
            total_pl=_odec(d, "total_pl"),
            win_rate=_odec(d, "win_rate"),
            last_24_hours_profit=series("last_24_hours_profit"),
            last_90_days_profit=series("last_90_days_profit"),
        )


@dataclass(frozen=True, slots=True)
class ProfitItem:
    """One ``profit_history_details`` item: a profit share received from a follower."""

    user_id: str
    profit_currency: str
    profit_amount: Decimal
    profit_time: int | None

    @classmethod
    def from_wire(cls, d: Mapping[str, Any]) -> ProfitItem:
        """Parse one item (``profit_amont`` is accepted for ``profit_amount``)."""
        return cls(
            user_id=_str(d, "user_id"),
            profit_currency=_str(d, "profit_currency"),
            profit_amount=_dec(d, "profit_amount", "profit_amont"),
            profit_time=_oint(d, "profit_time"),
        )


def parse_profit_history(data: Any) -> Page[ProfitItem]:
    """Parse ``profit_history_details``: ``{"profit_items": [...], "query_id": n}``."""
    return _page(data, "profit_items", ProfitItem.from_wire, "profit_history_details")


@dataclass(frozen=True, slots=True)
class ProfitTotal:
    """One ``total_profit_history`` item: the profit-share total of one currency."""

    profit_currency: str
    total_profit_amount: Decimal

    @classmethod
    def from_wire(cls, d: Mapping[str, Any]) -> ProfitTotal:
        """Parse one item (``total_profit_amont`` is accepted too)."""
        return cls(_str(d, "profit_currency"), _dec(d, "total_profit_amount", "total_profit_amont"))


def parse_profit_totals(data: Any) -> tuple[ProfitTotal, ...]:
    """Parse ``total_profit_history``: ``{"items": [...]}`` (a bare array is accepted too)."""
    raw = data if isinstance(data, list) else _obj(data, "total_profit_history").get("items")
    return tuple(ProfitTotal.from_wire(_obj(x, "item")) for x in _list(raw, "items"))


@dataclass(frozen=True, slots=True)
class Follower:
    """One ``query_followers`` element.

    ``follower_uid`` is HTX's opaque id (base64 of the UID): pass it unchanged to
    ``remove_follower``.
    """

    follower_uid: str
    follower_name: str | None
    follower_head_pic: str | None
    follower_time: int | None
    follower_trade_amount: Decimal | None
    follower_profit_amount: Decimal | None

    @classmethod
    def from_wire(cls, d: Mapping[str, Any]) -> Follower:
        """Parse one element (``follower_profit_amont`` is accepted too)."""
        return cls(
            follower_uid=_str(d, "follower_uid"),
            follower_name=_ostr(d, "follower_name"),
            follower_head_pic=_ostr(d, "follower_head_pic"),
            follower_time=_oint(d, "follower_time"),
            follower_trade_amount=_odec(d, "follower_trade_amount"),
            follower_profit_amount=_odec(d, "follower_profit_amount", "follower_profit_amont"),
        )


def parse_followers(data: Any) -> Page[Follower]:
    """Parse ``query_followers``: ``{"follower": [...], "query_id": n}``."""
    body = _obj(data, "query_followers")
    key = "follower" if "follower" in body else "followers"
    return _page(body, key, Follower.from_wire, "query_followers")


def parse_true(data: Any) -> bool:
    """Parse a boolean ``data`` (``true`` for the accepted POSTs)."""
    if isinstance(data, bool):
        return data
    if isinstance(data, str) and data.lower() in ("true", "false"):
        return data.lower() == "true"
    raise WireFormatError(f"expected a boolean, got {data!r}")
