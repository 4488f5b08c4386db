"""Pure request builders: one function per copy-trading endpoint.

Each builder validates and encodes its typed keyword arguments into a
:class:`PreparedRequest` (endpoint, signed GET parameters or JSON body, result parser). No I/O
happens here: :class:`~copytrade.client.Client` and :class:`~copytrade.client.AsyncClient`
expose every builder as a method and differ only in how they send. The builders are public so
that ``client.send(builders.position_list())`` can return the full
:class:`~copytrade.client.models.ApiResponse`.

Decimals travel as strings in POST bodies (``"amount": "20"``) and integers as JSON integers,
as in HTX's examples. Every GET parameter goes into the signed query string.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from copytrade.client import models as m
from copytrade.protocol import copytrading as ct
from copytrade.protocol.decimals import fmt
from copytrade.protocol.endpoints import BY_NAME, Endpoint, HttpMethod
from copytrade.protocol.replies import Many
from copytrade.protocol.schema import Struct

__all__ = [
    "DataRejection",
    "PreparedRequest",
    "account_transfer",
    "add_margin",
    "close_all_position",
    "close_order",
    "current_positions",
    "open_orders",
    "order_total_detail",
    "place_order",
    "position_list",
    "position_positions",
    "profit_history_details",
    "query_contract",
    "query_contract_lever",
    "query_followers",
    "remove_follower",
    "total_profit_history",
    "tpsl_open_orders",
    "tpsl_order",
    "updated_contract_lever",
]

T = TypeVar("T")
S = TypeVar("S", bound=Struct)
JsonScalar = str | int | bool | None
JsonValue = JsonScalar | tuple[JsonScalar, ...]
JsonBody = Mapping[str, JsonValue] | tuple[Mapping[str, JsonValue], ...]
"""A POST body: one object, or an array of objects (v5 batch endpoints)."""


class DataRejection(Exception):
    """Raised by a result parser when a *successful* envelope still means failure.

    The clients turn it into the :class:`~copytrade.client.errors.ExchangeError` subclass for
    ``code``, carrying the reply's ``tid`` and body.
    """

    def __init__(self, code: int, msg: str) -> None:
        """Store the code and message to raise."""
        super().__init__(code, msg)
        self.code = code
        self.msg = msg


@dataclass(frozen=True, slots=True)
class PreparedRequest(Generic[T]):
    """An unsigned request for one endpoint plus the parser of its ``data``.

    Attributes:
        endpoint: the row of :data:`copytrade.protocol.endpoints.ENDPOINTS`.
        params: GET business parameters (signed with the auth parameters).
        body: POST JSON body (never signed): an object, or a tuple of objects sent as an
            array; ``None`` for GET.
        parse: turns the envelope's ``data`` into the typed result.
        whole_body: ``parse`` reads the whole reply, not ``data`` (the market family puts its
            payload beside ``status`` under ``tick``, ``ticks`` or ``data``).
    """

    endpoint: Endpoint
    params: tuple[tuple[str, str], ...]
    body: JsonBody | None
    parse: Callable[[Any], T]
    whole_body: bool = False

    @property
    def method(self) -> str:
        """Return ``"GET"`` or ``"POST"``."""
        return self.endpoint.method.value

    @property
    def path(self) -> str:
        """Return the endpoint path, e.g. ``/copytrading/trader/place_order``."""
        return self.endpoint.path

    @property
    def is_post(self) -> bool:
        """Return whether this is a POST (never retried automatically)."""
        return self.endpoint.method is HttpMethod.POST

    def content(self) -> bytes | None:
        """Return the JSON body bytes for a POST, ``None`` for a GET."""
        if self.body is None:
            return None
        body = [dict(b) for b in self.body] if isinstance(self.body, tuple) else dict(self.body)
        return json.dumps(body, separators=(",", ":")).encode()


def _decimal_text(value: Decimal, name: str) -> str:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"{name} must be a Decimal, not {type(value).__name__}")
    dec = Decimal(value)
    if not dec.is_finite():
        raise ValueError(f"{name} must be finite")
    return fmt(dec)


def single(reply: Many[S]) -> Callable[[Any], S]:
    """Parse ``data`` holding exactly one item (HTX wraps some single results in an array)."""

    def parse(data: Any) -> S:
        items = reply.parse(data)
        if len(items) != 1:
            raise m.WireFormatError(f"expected one {reply.cls.label}, got {len(items)}")
        return items[0]

    return parse


def _put_decimals(body: dict[str, JsonScalar], **values: Decimal | None) -> None:
    """Add each given decimal to ``body`` as its exact text; ``None`` values are left out."""
    for name, value in values.items():
        if value is not None:
            body[name] = _decimal_text(value, name)


def _post(name: str, body: dict[str, JsonScalar], parse: Callable[[Any], T]) -> PreparedRequest[T]:
    return PreparedRequest(BY_NAME[name], (), body, parse)


def _get(
    name: str, params: Mapping[str, str | int | None], parse: Callable[[Any], T]
) -> PreparedRequest[T]:
    pairs = tuple((k, str(v)) for k, v in params.items() if v is not None)
    return PreparedRequest(BY_NAME[name], pairs, None, parse)


def _paging(
    start_time: int | None,
    end_time: int | None,
    direct: m.Direct | None,
    from_id: int | str | None,
    limit: int | None,
) -> dict[str, str | int | None]:
    return {
        "start_time": start_time,
        "end_time": end_time,
        "direct": m.Direct(direct).value if direct is not None else None,
        "from_id": from_id,
        "limit": limit,
    }


def _parse_close_all(data: Any) -> bool:
    if ct.ACCEPTED.parse(data):
        return True
    # Spec §8.6 Q3: a live server may answer data:false instead of error 1046.
    raise DataRejection(1046, "Nothing was closed (data: false).")


# --- POST ----------------------------------------------------------------------------------


def place_order(
    *,
    contract_code: str,
    amount: Decimal,
    margin_mode: m.MarginMode,
    order_price_type: m.OrderPriceType,
    order_direction: m.OrderDirection,
    lever: int,
    price: Decimal | None = None,
    tp_trigger_price: Decimal | None = None,
    sl_trigger_price: Decimal | None = None,
) -> PreparedRequest[bool]:
    """Place an opening (lead) order: ``POST /copytrading/trader/place_order``.

    ``order_direction`` BUY opens or adds to a long, SELL to a short. No order id is returned:
    find the result in ``open_orders`` or ``current_positions``. Never resend after a timeout
    without checking those first.

    Args:
        contract_code: e.g. ``"BTC-USDT"``.
        amount: order size in contracts (a whole number).
        margin_mode: isolated or cross.
        order_price_type: limit, opponent, optimal_20, fok, ... or market.
        order_direction: BUY (open long) or SELL (open short).
        lever: leverage; must equal the current one when positions or orders exist.
        price: limit price, required for LIMIT and FOK.
        tp_trigger_price: take-profit trigger for the resulting sub position.
        sl_trigger_price: stop-loss trigger for the resulting sub position.

    Returns:
        ``True`` when the order was accepted.
    """
    body: dict[str, JsonScalar] = {"contract_code": contract_code}
    if price is not None:
        body["price"] = _decimal_text(price, "price")
    body |= {
        "amount": _decimal_text(amount, "amount"),
        "margin_mode": m.MarginMode(margin_mode).value,
        "order_price_type": int(m.OrderPriceType(order_price_type)),
        "order_direction": int(m.OrderDirection(order_direction)),
        "lever": int(lever),
    }
    _put_decimals(body, tp_trigger_price=tp_trigger_price, sl_trigger_price=sl_trigger_price)
    return _post("place_order", body, ct.ACCEPTED.parse)


def close_order(*, sub_position_id: str | int) -> PreparedRequest[bool]:
    """Close one sub position at market: ``POST /copytrading/trader/close_order``.

    Args:
        sub_position_id: an id from ``current_positions``.

    Returns:
        ``True`` when the close was accepted.

    Raises:
        PositionNotFound: error 1046, the sub position is unknown or already closed.
    """
    return _post("close_order", {"sub_position_id": str(sub_position_id)}, ct.ACCEPTED.parse)


def close_all_position(
    *, contract_code: str, margin_mode: m.MarginMode, position_side: m.PositionSide
) -> PreparedRequest[bool]:
    """Close every sub position of one instrument, margin mode and side at market.

    ``POST /copytrading/trader/close_all_position``. Other sides, margin modes and contracts
    are left alone; the followers' copies of the closed positions are closed too.

    Live HTX may process the close asynchronously: after this call returns, poll
    ``current_positions`` (or ``position_list``) until the positions are gone. The copytrade
    server closes synchronously.

    Nothing to close is error 1046, raised as :class:`PositionNotFound`. A reply of
    ``data: false`` (which HTX's docs allow) is treated the same way: "nothing closed".

    Args:
        contract_code: e.g. ``"BTC-USDT"``.
        margin_mode: isolated or cross.
        position_side: long or short.

    Returns:
        ``True`` (the close was carried out).

    Raises:
        PositionNotFound: nothing matched (1046 or ``data: false``).
    """
    body: dict[str, JsonScalar] = {
        "contract_code": contract_code,
        "margin_mode": m.MarginMode(margin_mode).value,
        "position_side": m.PositionSide(position_side).value,
    }
    return _post("close_all_position", body, _parse_close_all)


def tpsl_order(
    *,
    sub_position_id: str | int,
    tp_trigger_price: Decimal | None = None,
    sl_trigger_price: Decimal | None = None,
) -> PreparedRequest[bool]:
    """Set take-profit and/or stop-loss on a sub position: ``POST /copytrading/trader/tpsl_order``.

    A trigger that is given replaces the existing one; one that is left out is kept.

    Args:
        sub_position_id: an id from ``current_positions``.
        tp_trigger_price: take-profit trigger price.
        sl_trigger_price: stop-loss trigger price.

    Returns:
        ``True`` when accepted.

    Raises:
        ValueError: neither trigger was given.
    """
    if tp_trigger_price is None and sl_trigger_price is None:
        raise ValueError("give tp_trigger_price, sl_trigger_price or both")
    body: dict[str, JsonScalar] = {"sub_position_id": str(sub_position_id)}
    _put_decimals(body, tp_trigger_price=tp_trigger_price, sl_trigger_price=sl_trigger_price)
    return _post("tpsl_order", body, ct.ACCEPTED.parse)


def add_margin(
    *,
    contract_code: str,
    amount: Decimal,
    type: m.MarginAdjustType,
    position_side: m.PositionSide,
) -> PreparedRequest[m.MarginAdjustment]:
    """Add or reduce the margin of an isolated position: ``POST /copytrading/trader/add_margin``.

    Args:
        contract_code: e.g. ``"BTC-USDT"``.
        amount: USDT to add or remove.
        type: ADD (1) or REDUCE (2).
        position_side: long or short.

    Returns:
        The server's echo of the adjustment.
    """
    body: dict[str, JsonScalar] = {
        "contract_code": contract_code,
        "amount": _decimal_text(amount, "amount"),
        "type": int(m.MarginAdjustType(type)),
        "position_side": m.PositionSide(position_side).value,
    }
    return _post("add_margin", body, ct.MARGIN_ADJUSTMENT.parse)


def account_transfer(
    *, amount: Decimal, type: m.TransferType, currency: str = "USDT"
) -> PreparedRequest[bool]:
    """Move funds to or from the copy-trading account.

    ``POST /copytrading/trader/account_transfer``.

    Args:
        amount: amount to move (at most 8 decimals).
        type: FUTURES_TO_COPY (1), COPY_TO_FUTURES (2), SPOT_TO_COPY (3) or COPY_TO_SPOT (4).
        currency: ``"USDT"``.

    Returns:
        ``True`` when the transfer was made.
    """
    body: dict[str, JsonScalar] = {
        "amount": _decimal_text(amount, "amount"),
        "type": int(m.TransferType(type)),
        "currency": currency,
    }
    return _post("account_transfer", body, ct.ACCEPTED.parse)


def updated_contract_lever(
    *, contract_code: str, lever: int, margin_mode: m.MarginMode
) -> PreparedRequest[m.LeverageSetting]:
    """Change the leverage of a contract and margin mode.

    ``POST /copytrading/trader/updated_contract_lever``. Refused (1045) while unfilled orders
    exist; open sub positions are re-levered.

    Args:
        contract_code: e.g. ``"BTC-USDT"``.
        lever: the new leverage.
        margin_mode: isolated or cross.

    Returns:
        The leverage now in force.
    """
    body: dict[str, JsonScalar] = {
        "contract_code": contract_code,
        "lever": int(lever),
        "margin_mode": m.MarginMode(margin_mode).value,
    }
    return _post("updated_contract_lever", body, ct.LEVERAGE_SETTING.parse)


def remove_follower(*, follower_uid: str) -> PreparedRequest[bool]:
    """Remove one follower: ``POST /copytrading/trader/remove_follower``.

    The follower's open copies are closed at market.

    Args:
        follower_uid: the opaque id from ``query_followers``, unchanged.

    Returns:
        ``True`` when removed.
    """
    return _post("remove_follower", {"follower_uid": follower_uid}, ct.ACCEPTED.parse)


# --- GET -----------------------------------------------------------------------------------


def query_contract_lever(
    *, contract_code: str, margin_mode: m.MarginMode
) -> PreparedRequest[m.ContractLever]:
    """Read the leverage range and current leverage.

    ``GET /copytrading/trader/query_contract_lever``.

    Args:
        contract_code: e.g. ``"BTC-USDT"``.
        margin_mode: isolated or cross.

    Returns:
        The allowed ``[min, max]`` range and the current leverage.
    """
    params = {"contract_code": contract_code, "margin_mode": m.MarginMode(margin_mode).value}
    return _get("query_contract_lever", params, ct.CONTRACT_LEVER.parse)


def query_contract() -> PreparedRequest[tuple[str, ...]]:
    """List the contracts open to copy trading: ``GET /copytrading/trader/query_contract``.

    Returns:
        Contract codes (HTX's string or ``{contract_code}`` elements, both accepted).
    """
    return _get("query_contract", {}, ct.CONTRACTS.parse)


def position_list() -> PreparedRequest[tuple[m.AggregatePosition, ...]]:
    """List the aggregate open positions: ``GET /copytrading/trader/position_list``.

    Needs the **Trade** permission although it only reads (as HTX documents).

    Returns:
        One entry per (contract, margin mode, side) with margin and risk figures.
    """
    return _get("position_list", {}, ct.POSITION_LIST.parse)


def current_positions(
    *,
    contract_code: str,
    start_time: int | None = None,
    end_time: int | None = None,
    direct: m.Direct | None = None,
    from_id: int | str | None = None,
    limit: int | None = None,
) -> PreparedRequest[m.Page[m.SubPosition]]:
    """List open sub positions of one contract: ``GET /copytrading/trader/current_positions``.

    Args:
        contract_code: e.g. ``"BTC-USDT"`` (required).
        start_time: open-time lower bound, epoch ms.
        end_time: open-time upper bound, epoch ms.
        direct: PREV (newest first, the default) or NEXT (oldest first).
        from_id: the previous page's ``query_id``.
        limit: page size, 1-100.

    Returns:
        A page of sub positions and its ``query_id`` cursor.
    """
    params = {"contract_code": contract_code} | _paging(
        start_time, end_time, direct, from_id, limit
    )
    return _get("current_positions", params, ct.CURRENT_POSITIONS.parse)


def position_positions(
    *,
    contract_code: str,
    start_time: int | None = None,
    end_time: int | None = None,
    direct: m.Direct | None = None,
    from_id: int | str | None = None,
    limit: int | None = None,
) -> PreparedRequest[m.Page[m.ClosedPosition]]:
    """List closed sub positions (history): ``GET /copytrading/trader/position_positions``.

    Args:
        contract_code: e.g. ``"BTC-USDT"`` (required).
        start_time: open-time lower bound, epoch ms.
        end_time: open-time upper bound, epoch ms.
        direct: PREV (newest first, the default) or NEXT (oldest first).
        from_id: the previous page's ``query_id``.
        limit: page size, 1-100.

    Returns:
        A page of closed positions with fees and net profit.
    """
    params = {"contract_code": contract_code} | _paging(
        start_time, end_time, direct, from_id, limit
    )
    return _get("position_positions", params, ct.POSITION_HISTORY.parse)


def open_orders(*, contract_code: str | None = None) -> PreparedRequest[tuple[m.OpenOrder, ...]]:
    """List unfilled opening orders: ``GET /copytrading/trader/open_orders``.

    Args:
        contract_code: one contract, or all when ``None``.

    Returns:
        The unfilled orders, newest first.
    """
    return _get("open_orders", {"contract_code": contract_code}, ct.OPEN_ORDERS.parse)


def tpsl_open_orders(
    *, contract_code: str | None = None
) -> PreparedRequest[tuple[m.TpslOrder, ...]]:
    """List untriggered TP/SL orders: ``GET /copytrading/trader/tpsl_open_orders``.

    HTX reports ``position_side`` inverted (the closing order's side); see
    :class:`~copytrade.client.models.TpslOrder`.

    Args:
        contract_code: one contract, or all when ``None``.

    Returns:
        One entry per trigger.
    """
    return _get("tpsl_open_orders", {"contract_code": contract_code}, ct.TPSL_ORDERS.parse)


def order_total_detail() -> PreparedRequest[m.TraderStats]:
    """Read the trader's statistics: ``GET /copytrading/trader/order_total_detail``.

    Returns:
        Follower counts, total PnL, win rate and the 24 h / 90 d PnL curves.
    """
    return _get("order_total_detail", {}, ct.TRADER_STATS.parse)


def profit_history_details(
    *,
    start_time: int | None = None,
    end_time: int | None = None,
    direct: m.Direct | None = None,
    from_id: int | str | None = None,
    limit: int | None = None,
) -> PreparedRequest[m.Page[m.ProfitItem]]:
    """List profit shares received: ``GET /copytrading/trader/profit_history_details``.

    Args:
        start_time: profit-time lower bound, epoch ms.
        end_time: profit-time upper bound, epoch ms.
        direct: PREV (newest first) or NEXT.
        from_id: the previous page's ``query_id``.
        limit: page size, 1-100.

    Returns:
        A page of profit-share items.
    """
    params = _paging(start_time, end_time, direct, from_id, limit)
    return _get("profit_history_details", params, ct.PROFIT_HISTORY.parse)


def total_profit_history() -> PreparedRequest[tuple[m.ProfitTotal, ...]]:
    """Read profit-share totals per currency: ``GET /copytrading/trader/total_profit_history``.

    Returns:
        One total per currency.
    """
    return _get("total_profit_history", {}, ct.PROFIT_TOTALS.parse)


def query_followers(
    *,
    start_time: int | None = None,
    end_time: int | None = None,
    direct: m.Direct | None = None,
    from_id: int | str | None = None,
    limit: int | None = None,
) -> PreparedRequest[m.Page[m.Follower]]:
    """List the current followers: ``GET /copytrading/trader/query_followers``.

    Args:
        start_time: follow-time lower bound, epoch ms.
        end_time: follow-time upper bound, epoch ms.
        direct: PREV (newest first) or NEXT.
        from_id: the previous page's ``query_id``.
        limit: page size, 1-100.

    Returns:
        A page of followers.
    """
    params = _paging(start_time, end_time, direct, from_id, limit)
    return _get("query_followers", params, ct.FOLLOWERS.parse)
