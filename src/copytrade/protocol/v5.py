"""HTX's v5 USDT-M trading family (spec ``htx-v5-v6.md`` §6.8-§6.16): endpoints and replies.

Structures follow :mod:`copytrade.protocol.copytrading`'s conventions: field order is HTX's, ids
are strings, decimals decimal strings, times epoch ms (strings where HTX prints them so).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from copytrade.protocol.endpoints import Endpoint, HttpMethod, Permission
from copytrade.protocol.replies import Many, One, Reply
from copytrade.protocol.schema import (
    BOOL,
    DEC,
    DEC18,
    ID,
    INT,
    INT_STR,
    STR,
    Struct,
    structure,
    wire,
)


@structure
class BalanceDetail(Struct):
    """One asset of ``/v5/account/balance`` (only USDT)."""

    label = "balance.details"
    currency: str = wire(STR)
    equity: Decimal = wire(DEC18)
    available: Decimal = wire(DEC18)
    available_margin: Decimal = wire(DEC18)
    withdraw_available: Decimal = wire(DEC18)
    profit_unreal: Decimal = wire(DEC18)
    initial_margin: Decimal = wire(DEC18)
    maintenance_margin: Decimal = wire(DEC18)
    maintenance_margin_rate: Decimal = wire(DEC18)
    initial_margin_rate: Decimal = wire(DEC18)
    voucher: Decimal = wire(DEC)
    voucher_value: Decimal = wire(DEC)
    isolated_equity: Decimal = wire(DEC18)
    isolated_profit_unreal: Decimal = wire(DEC18)
    created_time: int = wire(INT)
    updated_time: int = wire(INT)


@structure
class Balance(Struct):
    """``/v5/account/balance``: account totals in USDT and one detail per asset (spec §6.8)."""

    label = "balance"
    state: str = wire(STR)
    equity: Decimal = wire(DEC18)
    initial_margin: Decimal = wire(DEC18)
    maintenance_margin: Decimal = wire(DEC18)
    maintenance_margin_rate: Decimal = wire(DEC18)
    profit_unreal: Decimal = wire(DEC18)
    available_margin: Decimal = wire(DEC18)
    voucher_value: Decimal = wire(DEC)
    created_time: int = wire(INT)
    updated_time: int = wire(INT)
    details: tuple[BalanceDetail, ...] = wire()


@structure
class OrderAck(Struct):
    """A placed, cancelled or closing order: its id and client id (the id when none given)."""

    label = "order ack"
    order_id: str = wire(ID)
    client_order_id: str | None = wire(ID)


@structure
class CancelItem(Struct):
    """One ``cancel_all_orders`` item, with its own code and message."""

    label = "cancel_all_orders"
    code: int = wire(INT)
    message: str = wire(STR)
    order_id: str = wire(ID)
    client_order_id: str | None = wire(ID)


@structure
class BatchItem(Struct):
    """One ``batch_orders`` or ``cancel_batch_orders`` item, with its own code and message.

    A refused item has no ``order_id`` (``null``) unless the request named one.
    """

    label = "batch item"
    order_id: str | None = wire(ID)
    client_order_id: str | None = wire(ID)
    code: int = wire(INT)
    message: str = wire(STR)


@structure
class ClosedPosition(Struct):
    """One ``position/history`` item: a closed position.

    Spec §7 [INF]: a position's fields plus its close price, fees and profit; ``profit`` is
    net of both fees.
    """

    label = "position/history"
    id: str = wire(ID)
    contract_code: str = wire(STR)
    contract_type: str = wire(STR)
    position_side: str = wire(STR)
    direction: str = wire(STR)
    margin_mode: str = wire(STR)
    lever_rate: int = wire(INT)
    volume: Decimal = wire(DEC)
    open_avg_price: Decimal = wire(DEC18)
    close_avg_price: Decimal | None = wire(DEC18)
    open_fee: Decimal = wire(DEC18)
    close_fee: Decimal = wire(DEC18)
    profit: Decimal = wire(DEC18)
    profit_rate: Decimal = wire(DEC18)
    close_type: int | None = wire(INT)
    margin_currency: str = wire(STR)
    created_time: int = wire(INT_STR)
    updated_time: int = wire(INT_STR)


@structure
class Bill(Struct):
    """One ``account/bills`` item: a change of the account's USDT (spec §7 [3P] fields).

    ``amount`` is signed: positive credits the account, negative debits it.
    """

    label = "account/bills"
    id: str = wire(ID)
    contract_code: str | None = wire(STR)
    margin_mode: str | None = wire(STR)
    type: str = wire(STR)
    currency: str = wire(STR)
    amount: Decimal = wire(DEC18)
    created_time: int = wire(INT_STR)


@structure
class MarginChange(Struct):
    """``position/margin``: ``{}`` as HTX answers [3P] (the change shows in the position)."""

    label = "position/margin"


@structure
class CancelAfter(Struct):
    """``cancel-after``: the clock now and when the open orders will be cancelled (0: off)."""

    label = "cancel-after"
    current_time: int = wire(INT)
    trigger_time: int = wire(INT)


@structure
class Order(Struct):
    """One order as ``order``, ``order/opens`` and ``order/history`` show it (spec §6.11).

    ``id`` equals ``order_id`` (ccxt reads ``id`` first); ``fee`` is negative when paid.
    """

    label = "order"
    id: str = wire(ID)
    order_id: str = wire(ID)
    client_order_id: str | None = wire(ID)
    contract_code: str = wire(STR)
    side: str = wire(STR)
    position_side: str = wire(STR)
    type: str = wire(STR)
    price: Decimal = wire(DEC)
    price_match: str | None = wire(STR)
    volume: Decimal = wire(DEC)
    state: str = wire(STR)
    trade_volume: Decimal = wire(DEC)
    trade_avg_price: Decimal | None = wire(DEC18)
    trade_turnover: Decimal = wire(DEC18)
    fee: Decimal = wire(DEC18)
    fee_currency: str = wire(STR)
    margin_mode: str = wire(STR)
    lever_rate: int = wire(INT)
    order_source: str = wire(STR)
    contract_type: str = wire(STR)
    price_protect: bool = wire(BOOL)
    cancel_reason: str | None = wire(STR)
    reduce_only: bool = wire(BOOL)
    time_in_force: str = wire(STR)
    tp_trigger_price: Decimal | None = wire(DEC)
    tp_order_price: Decimal | None = wire(DEC)
    tp_type: str | None = wire(STR)
    tp_trigger_price_type: str | None = wire(STR)
    sl_trigger_price: Decimal | None = wire(DEC)
    sl_order_price: Decimal | None = wire(DEC)
    sl_type: str | None = wire(STR)
    sl_trigger_price_type: str | None = wire(STR)
    created_time: int = wire(INT_STR)
    updated_time: int = wire(INT_STR)


@structure
class Fill(Struct):
    """One ``order/details`` item: a fill of the account; ``trade_fee`` positive when paid."""

    label = "order/details"
    id: str = wire(ID)
    trade_id: str = wire(ID)
    order_id: str | None = wire(ID)
    contract_code: str = wire(STR)
    side: str = wire(STR)
    position_side: str = wire(STR)
    type: str = wire(STR)
    role: str = wire(STR)
    trade_price: Decimal = wire(DEC18)
    trade_volume: Decimal = wire(DEC)
    trade_turnover: Decimal = wire(DEC18)
    trade_fee: Decimal = wire(DEC18)
    fee_currency: str = wire(STR)
    margin_mode: str = wire(STR)
    profit: Decimal = wire(DEC18)
    created_time: int = wire(INT_STR)


@structure
class Position(Struct):
    """One ``position/opens`` item: an aggregate position (spec §6.13)."""

    label = "position/opens"
    contract_code: str = wire(STR)
    contract_type: str = wire(STR)
    position_side: str = wire(STR)
    direction: str = wire(STR)
    margin_mode: str = wire(STR)
    open_avg_price: Decimal = wire(DEC18)
    volume: Decimal = wire(DEC)
    available: Decimal = wire(DEC)
    lever_rate: int = wire(INT)
    initial_margin: Decimal = wire(DEC18)
    margin: Decimal = wire(DEC18)
    maintenance_margin: Decimal = wire(DEC18)
    margin_rate: Decimal = wire(DEC18)
    profit_unreal: Decimal = wire(DEC18)
    profit_rate: Decimal = wire(DEC18)
    liquidation_price: Decimal | None = wire(DEC18)
    mark_price: Decimal = wire(DEC)
    last_price: Decimal = wire(DEC)
    margin_currency: str = wire(STR)
    adl_risk_percent: int = wire(INT)
    created_time: int = wire(INT_STR)
    updated_time: int = wire(INT_STR)


@structure
class Lever(Struct):
    """``position/lever``: the leverage of (contract, margin mode)."""

    label = "position/lever"
    contract_code: str = wire(STR)
    margin_mode: str = wire(STR)
    lever_rate: int = wire(INT)


@structure
class PositionMode(Struct):
    """``position/mode``: ``single_side`` (one-way) or ``dual_side`` (hedge)."""

    label = "position/mode"
    position_mode: str = wire(STR)


@structure
class AlgoAck(Struct):
    """A placed or cancelled conditional order."""

    label = "algo ack"
    algo_id: str = wire(ID)
    algo_client_order_id: str | None = wire(ID)


@structure
class AlgoCancel(Struct):
    """One ``algo/cancel_orders`` item, with its own code and message."""

    label = "algo/cancel_orders"
    algo_id: str = wire(ID)
    algo_client_order_id: str | None = wire(ID)
    code: int = wire(INT)
    message: str = wire(STR)


@structure
class AlgoOrder(Struct):
    """One conditional order: a position's take profit or stop loss, a trigger or a trailing order.

    ``algo/order``, ``algo/order/opens`` and ``algo/order/history``. The fields of the other
    kinds are ``null``. ``relation_order_id``, ``formula_price`` (the mark a trailing order now
    fires at), ``extreme_price`` (the extreme it tracks) and ``cancel_reason`` are the
    emulator's: HTX's v5 pages show no fired order's details [INF].
    """

    label = "algo order"
    id: str = wire(ID)
    algo_id: str = wire(ID)
    algo_client_order_id: str | None = wire(ID)
    contract_code: str = wire(STR)
    side: str = wire(STR)
    position_side: str = wire(STR)
    margin_mode: str = wire(STR)
    type: str = wire(STR)
    state: str = wire(STR)
    volume: Decimal = wire(DEC)
    tp_trigger_price: Decimal | None = wire(DEC)
    tp_order_price: Decimal | None = wire(DEC)
    tp_type: str | None = wire(STR)
    tp_trigger_price_type: str | None = wire(STR)
    sl_trigger_price: Decimal | None = wire(DEC)
    sl_order_price: Decimal | None = wire(DEC)
    sl_type: str | None = wire(STR)
    sl_trigger_price_type: str | None = wire(STR)
    trigger_price: Decimal | None = wire(DEC)
    trigger_type: str | None = wire(STR)
    price: Decimal | None = wire(DEC)
    order_price_type: str | None = wire(STR)
    active_price: Decimal | None = wire(DEC)
    callback_rate: Decimal | None = wire(DEC)
    formula_price: Decimal | None = wire(DEC)
    extreme_price: Decimal | None = wire(DEC)
    reduce_only: bool | None = wire(BOOL)
    relation_order_id: str | None = wire(ID)
    cancel_reason: str | None = wire(STR)
    order_source: str = wire(STR)
    created_time: int = wire(INT_STR)
    updated_time: int = wire(INT_STR)


_T = "/v5/trade/"


def _ep(name: str, method: HttpMethod, path: str, perm: Permission, summary: str) -> Endpoint:
    return Endpoint(name, method, path, perm, summary)


G, P = HttpMethod.GET, HttpMethod.POST
R, T = Permission.READ, Permission.TRADE

ENDPOINTS: tuple[Endpoint, ...] = (
    _ep("balance", G, "/v5/account/balance", R, "Account balance (ccxt fetch_balance)"),
    _ep("place_order", P, _T + "order", T, "Place an order (ccxt create_order)"),
    _ep("cancel_order", P, _T + "cancel_order", T, "Cancel an order (ccxt cancel_order)"),
    _ep(
        "cancel_all_orders",
        P,
        _T + "cancel_all_orders",
        T,
        "Cancel every open order (ccxt cancel_all_orders)",
    ),
    _ep("order", G, _T + "order", R, "One order (ccxt fetch_order)"),
    _ep("open_orders", G, _T + "order/opens", R, "Open orders (ccxt fetch_open_orders)"),
    _ep(
        "order_history",
        G,
        _T + "order/history",
        R,
        "Finished orders (ccxt fetch_orders / fetch_closed_orders)",
    ),
    _ep("fills", G, _T + "order/details", R, "Fills of the last 3 days (ccxt fetch_my_trades)"),
    _ep("positions", G, _T + "position/opens", R, "Open positions (ccxt fetch_positions)"),
    _ep(
        "close_position",
        P,
        _T + "position",
        T,
        "Close every position of contract + margin mode + side at market (ccxt close_position)",
    ),
    _ep("set_lever", P, "/v5/position/lever", T, "Set leverage (ccxt set_leverage)"),
    _ep("get_lever", G, "/v5/position/lever", R, "Read leverage"),
    _ep("set_position_mode", P, "/v5/position/mode", T, "Set position mode"),
    _ep("get_position_mode", G, "/v5/position/mode", R, "Read position mode"),
    _ep(
        "algo_order",
        P,
        "/v5/algo/order",
        T,
        "TP/SL on a position, trigger or trailing order (ccxt create_order with triggerPrice, ...)",
    ),
    Endpoint(
        "algo_cancel",
        P,
        "/v5/algo/cancel_orders",
        T,
        "Cancel conditional orders (ccxt cancel_order with trigger, trailing, stopLossTakeProfit)",
        array_body=True,
    ),
    _ep(
        "algo_opens",
        G,
        "/v5/algo/order/opens",
        R,
        "Armed TP/SL, resting trigger and trailing orders",
    ),
    _ep(
        "algo_query",
        G,
        "/v5/algo/order",
        R,
        "One conditional order, resting, fired or cancelled (ccxt fetch_order with algo flags)",
    ),
    _ep(
        "algo_history",
        G,
        "/v5/algo/order/history",
        R,
        "Fired and cancelled conditional orders (ccxt fetch_closed/canceled_orders, algo flags)",
    ),
    Endpoint(
        "batch_orders",
        P,
        _T + "batch_orders",
        T,
        "Place up to 10 orders; each item answers its own code",
        array_body=True,
    ),
    _ep(
        "cancel_batch_orders",
        P,
        _T + "cancel_batch_orders",
        T,
        "Cancel up to 10 orders by id or client id; each item answers its own code",
    ),
    _ep(
        "position_all",
        P,
        _T + "position_all",
        T,
        "Close every position at market (the followers' copies with them)",
    ),
    _ep("position_history", G, _T + "position/history", R, "Closed positions, paged"),
    _ep(
        "position_margin",
        P,
        "/v5/position/margin",
        T,
        "Add or reduce an isolated position's margin",
    ),
    _ep("bills", G, "/v5/account/bills", R, "Account bills: fees, funding, PnL, profit shares"),
    _ep(
        "cancel_after",
        P,
        _T + "cancel-after",
        T,
        "Dead-man switch: cancel the open orders unless renewed within time_out ms",
    ),
    _ep(
        "cancel_after_get",
        G,
        _T + "cancel-after",
        T,
        "cancel-after as HTX's Java SDK sends it (GET, Trade permission)",
    ),
)
"""The v5 endpoints served: spec §10.1 and the other v5 endpoints of §7 (not the asset-mode
and risk-limit family, which §7 leaves out of scope)."""

ORDER_ACK = One(OrderAck)
BALANCE = One(Balance)
CANCEL_ITEMS = Many(CancelItem)
ORDER = One(Order)
ORDERS = Many(Order)
FILLS = Many(Fill)
POSITIONS = Many(Position)
LEVER = One(Lever)
LEVERS = Many(Lever)
POSITION_MODE = One(PositionMode)

BATCH_ITEMS = Many(BatchItem)
ORDER_ACKS = Many(OrderAck)
CLOSED_POSITIONS = Many(ClosedPosition)
BILLS = Many(Bill)
MARGIN_CHANGE = One(MarginChange)
CANCEL_AFTER = One(CancelAfter)

ALGO_ACKS = Many(AlgoAck)
ALGO_CANCELS = Many(AlgoCancel)
ALGO_ORDERS = Many(AlgoOrder)

REPLIES: dict[str, Reply[Any]] = {
    "algo_order": ALGO_ACKS,
    "algo_cancel": ALGO_CANCELS,
    "algo_opens": ALGO_ORDERS,
    "algo_query": ALGO_ORDERS,
    "algo_history": ALGO_ORDERS,
    "balance": BALANCE,
    "place_order": ORDER_ACK,
    "cancel_order": ORDER_ACK,
    "cancel_all_orders": CANCEL_ITEMS,
    "order": ORDER,
    "open_orders": ORDERS,
    "order_history": ORDERS,
    "fills": FILLS,
    "positions": POSITIONS,
    "close_position": ORDER_ACK,
    "set_lever": LEVER,
    "get_lever": LEVERS,
    "set_position_mode": POSITION_MODE,
    "get_position_mode": POSITION_MODE,
    "batch_orders": BATCH_ITEMS,
    "cancel_batch_orders": BATCH_ITEMS,
    "position_all": ORDER_ACKS,
    "position_history": CLOSED_POSITIONS,
    "position_margin": MARGIN_CHANGE,
    "bills": BILLS,
    "cancel_after": CANCEL_AFTER,
    "cancel_after_get": CANCEL_AFTER,
}
"""The shape of ``data`` of every v5 endpoint, by endpoint name."""
