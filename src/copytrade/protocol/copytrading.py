"""The reply structures of HTX's "Future Copy Trade" family (spec §6), each declared once.

The server renders these (``copytrade.api``), the SDK parses them and returns them as its typed
results (``copytrade.client`` re-exports the classes). Field order is HTX's key order. Kinds:
``DEC18`` for computed amounts and ratios (truncated at 18 places), ``DEC`` for amounts echoed
as given, ``INT_STR`` where HTX sends an integer as a string (``lever`` of positions).
:data:`REPLIES` gives the shape of every endpoint's ``data``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from copytrade.protocol.enums import (
    CloseType,
    MarginAdjustType,
    MarginMode,
    OrderDirection,
    PositionSide,
    TpslOrderType,
    TriggerType,
)
from copytrade.protocol.replies import Flag, Many, Names, One, Paged, Reply
from copytrade.protocol.schema import (
    DEC,
    DEC18,
    FIXED18,
    ID,
    INT,
    INT_STR,
    STR,
    Kind,
    Struct,
    WireFormatError,
    structure,
    to_int,
    wire,
)


def _parse_lever_range(value: Any, what: str) -> tuple[int, int] | None:
    # HTX's example is [min, max]; its table says one integer (then read as [1, n])
    if isinstance(value, list) and len(value) == 2:
        low, high = (to_int(v, what) for v in value)
    else:
        low, high = 1, to_int(value, what)
    if low is None or high is None:
        raise WireFormatError(f"{what}: missing")
    return low, high


LEVER_RANGE = Kind(
    "array [min, max] (the SDK also accepts one integer n: [1, n])", list, _parse_lever_range
)

# open_orders.order_direction: the spec emits "open" (every order of this API opens); HTX's
# table says 1/2. The SDK turns "open" into the direction that opens position_side.
OPEN_DIRECTION = Kind(
    '"open" (the SDK also accepts 1, 2, "buy", "sell")', lambda _: "open", lambda v, w: v
)


def _read_direction(obj: Mapping[str, Any]) -> OrderDirection | None:
    raw, side = obj.get("order_direction"), obj.get("position_side")
    if isinstance(raw, str) and raw.strip().lower() == "open":
        return {"long": OrderDirection.BUY, "short": OrderDirection.SELL}.get(str(side))
    if isinstance(raw, str) and raw.strip().lower() in ("buy", "sell"):
        return OrderDirection[raw.strip().upper()]
    number = to_int(raw, "order_direction")
    if number is None:
        return None
    try:
        return OrderDirection(number)
    except ValueError:
        raise WireFormatError(f"order_direction: not a direction: {raw!r}") from None


@structure
class MarginAdjustment(Struct):
    """``add_margin`` echo: the adjustment the server applied."""

    label = "add_margin"
    contract_code: str = wire(STR)
    amount: Decimal = wire(DEC)
    type: MarginAdjustType = wire()
    position_side: PositionSide = wire()


@structure
class LeverageSetting(Struct):
    """``updated_contract_lever`` reply: the new leverage of (contract, margin mode)."""

    label = "updated_contract_lever"
    lever: int = wire(INT)
    contract_code: str = wire(STR)
    margin_mode: MarginMode = wire()


@structure
class ContractLever(Struct):
    """``query_contract_lever`` reply: allowed range ``(min, max)`` and current leverage."""

    label = "query_contract_lever"
    lever_rate_range: tuple[int, int] = wire(LEVER_RANGE)
    current_lever_rate: int = wire(INT)
    contract_code: str = wire(STR)
    margin_mode: MarginMode = wire()


@structure
class AggregatePosition(Struct):
    """One ``position_list`` element: an aggregate position with risk metrics."""

    label = "position_list"
    contract_code: str = wire(STR)
    margin_mode: MarginMode = wire()
    position_side: PositionSide = wire()
    lever: int = wire(INT_STR)
    open_avg_price: Decimal = wire(DEC18)
    volume: Decimal = wire(DEC)
    position_margin: Decimal = wire(DEC18)
    margin_rate: Decimal | None = wire(DEC18)
    liquidation_price: Decimal | None = wire(DEC18)
    unreal_profit: Decimal | None = wire(DEC18)
    profit: Decimal | None = wire(DEC18)
    profit_rate: Decimal | None = wire(DEC18)


@structure
class SubPosition(Struct):
    """One ``current_positions`` element: an open sub (lead) position.

    ``liquidation_price`` is ``None`` for cross positions (spec §6.11).
    """

    label = "current_positions"
    sub_position_id: str = wire(ID)
    margin_mode: MarginMode = wire()
    position_side: PositionSide = wire()
    lever: int = wire(INT_STR)
    open_order_id: str | None = wire(ID)
    open_avg_price: Decimal = wire(DEC18)
    open_fee: Decimal | None = wire(DEC18)
    open_time: int | None = wire(INT)
    position_margin: Decimal | None = wire(DEC18)
    volume: Decimal = wire(DEC)
    liquidation_price: Decimal | None = wire(DEC18)
    tp_trigger_price: Decimal | None = wire(DEC)
    sl_trigger_price: Decimal | None = wire(DEC)


@structure
class ClosedPosition(Struct):
    """One ``position_positions`` element: a closed sub position.

    ``volume`` is ``None`` when HTX sends the literal ``"null"`` (spec §9.2).
    """

    label = "position_positions"
    sub_position_id: str = wire(ID)
    open_order_id: str | None = wire(ID)
    margin_mode: MarginMode = wire()
    position_side: PositionSide = wire()
    lever: int = wire(INT_STR)
    open_avg_price: Decimal = wire(DEC18)
    open_time: int | None = wire(INT)
    volume: Decimal | None = wire(DEC)
    close_time: int | None = wire(INT)
    close_avg_price: Decimal | None = wire(DEC18)
    open_fee: Decimal | None = wire(DEC18)
    close_fee: Decimal | None = wire(DEC18)
    profit: Decimal | None = wire(DEC18)
    profit_rate: Decimal | None = wire(DEC18)
    close_type: CloseType | None = wire()
    follow_takes: Decimal | None = wire(DEC18)


@structure
class OpenOrder(Struct):
    """One ``open_orders`` element: an unfilled (or partly filled) opening order.

    ``order_direction`` is normalised: HTX's ``"open"`` becomes the direction that opens
    ``position_side`` (long → BUY, short → SELL); ``1``/``2`` are taken as they are.
    """

    label = "open_orders"
    contract_code: str = wire(STR)
    position_side: PositionSide = wire()
    order_direction: OrderDirection | None = wire(OPEN_DIRECTION, reader=_read_direction)
    lever: int = wire(INT)
    margin_mode: MarginMode = wire()
    volume: Decimal = wire(FIXED18)
    price: Decimal | None = wire(DEC)
    avg_volume: Decimal | None = wire(FIXED18)
    avg_price: Decimal | None = wire(DEC18)
    fee: Decimal | None = wire(DEC18)


@structure
class TpslOrder(Struct):
    """One ``tpsl_open_orders`` element: an untriggered TP or SL trigger.

    Warning: in HTX's own replies ``position_side`` is the side of the *closing* order, the
    opposite of the protected position (spec §6.14); ``trigger_type`` is correct.
    """

    label = "tpsl_open_orders"
    contract_code: str = wire(STR)
    margin_mode: MarginMode = wire()
    position_side: PositionSide = wire()
    volume: Decimal = wire(DEC)
    trigger_type: TriggerType = wire()
    tpsl_order_type: TpslOrderType = wire()
    price: Decimal = wire(DEC, "trigger_price")


@structure
class ProfitPoint(Struct):
    """One point of a PnL curve in ``order_total_detail`` (``ts``: epoch ms sent as a string)."""

    label = "profit series"
    rate: Decimal | None = wire(DEC18)
    amount: Decimal | None = wire(DEC18)
    ts: int | None = wire(INT_STR)


@structure
class TraderStats(Struct):
    """``order_total_detail`` reply: follower counts, PnL, win rate and PnL curves."""

    label = "order_total_detail"
    total_follower_num: int | None = wire(INT_STR)
    current_follower_num: int | None = wire(INT_STR)
    total_pl: Decimal | None = wire(DEC18)
    win_rate: Decimal | None = wire(DEC18)
    last_24_hours_profit: tuple[ProfitPoint, ...] = wire()
    last_90_days_profit: tuple[ProfitPoint, ...] = wire()


@structure
class ProfitItem(Struct):
    """One ``profit_history_details`` item: a profit share received from a follower."""

    label = "profit_history_details"
    user_id: str = wire(ID)
    profit_currency: str = wire(STR)
    profit_amount: Decimal = wire(DEC18, "profit_amont")
    profit_time: int | None = wire(INT)


@structure
class ProfitTotal(Struct):
    """One ``total_profit_history`` item: the profit-share total of one currency."""

    label = "total_profit_history"
    profit_currency: str = wire(STR)
    total_profit_amount: Decimal = wire(DEC18, "total_profit_amont")


@structure
class Follower(Struct):
    """One ``query_followers`` element.

    ``follower_uid`` is HTX's opaque id (base64 of the UID): pass it unchanged to
    ``remove_follower``.
    """

    label = "query_followers"
    follower_uid: str = wire(STR)
    follower_name: str | None = wire(STR)
    follower_head_pic: str | None = wire(STR)
    follower_time: int | None = wire(INT)
    follower_trade_amount: Decimal | None = wire(DEC18)
    follower_profit_amount: Decimal | None = wire(DEC18, "follower_profit_amont")


# --- the data of each endpoint ---------------------------------------------------------------

ACCEPTED = Flag()
"""``true``: the POST was carried out (place_order, close_order, tpsl_order, ...)."""
MARGIN_ADJUSTMENT = One(MarginAdjustment)
LEVERAGE_SETTING = One(LeverageSetting)
CONTRACT_LEVER = One(ContractLever)
CONTRACTS = Names("contract_code")
POSITION_LIST = Many(AggregatePosition, "positions")
CURRENT_POSITIONS = Paged(SubPosition, "positions")
POSITION_HISTORY = Paged(ClosedPosition, "positions")
OPEN_ORDERS = Many(OpenOrder, also="orders")
TPSL_ORDERS = Many(TpslOrder, also="orders")
TRADER_STATS = One(TraderStats)
PROFIT_HISTORY = Paged(ProfitItem, "profit_items")
PROFIT_TOTALS = Many(ProfitTotal, "items")
FOLLOWERS = Paged(Follower, "follower", also="followers")

REPLIES: dict[str, Reply[Any]] = {
    "place_order": ACCEPTED,
    "close_order": ACCEPTED,
    "close_all_position": ACCEPTED,
    "tpsl_order": ACCEPTED,
    "add_margin": MARGIN_ADJUSTMENT,
    "account_transfer": ACCEPTED,
    "updated_contract_lever": LEVERAGE_SETTING,
    "query_contract_lever": CONTRACT_LEVER,
    "query_contract": CONTRACTS,
    "position_list": POSITION_LIST,
    "current_positions": CURRENT_POSITIONS,
    "position_positions": POSITION_HISTORY,
    "open_orders": OPEN_ORDERS,
    "tpsl_open_orders": TPSL_ORDERS,
    "order_total_detail": TRADER_STATS,
    "profit_history_details": PROFIT_HISTORY,
    "total_profit_history": PROFIT_TOTALS,
    "query_followers": FOLLOWERS,
    "remove_follower": ACCEPTED,
}
"""The shape of ``data`` of every endpoint of the family, by endpoint name."""
