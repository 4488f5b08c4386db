"""Take-profit and stop-loss triggers on sub positions (spec §6.4, §6.14, §7.8). Pure.

A trigger watches the latest price (the mark here). Long: TP fires at ``price ≥ tp`` and SL at
``price ≤ sl``; short: the reverse. Firing closes the whole sub position at market with
``close_type`` 3 (TP) or 4 (SL); the caller then closes the follower copies with the same type.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from copytrade.domain.enums import CloseType, MarginMode, PositionSide, TpslKind, TriggerType
from copytrade.domain.errors import (
    InvalidStopLoss,
    InvalidTakeProfit,
    PositionNotFound,
    TriggerMissing,
)
from copytrade.domain.model import Account, SubPosition
from copytrade.domain.trading import Env, Market, close_position, close_price


class SideDisplay(enum.Enum):
    """How ``tpsl_open_orders`` fills ``position_side`` (spec §6.14, config key).

    ``htx`` replicates HTX: the side of the *closing* order, the opposite of the protected
    position. ``natural`` shows the protected position's own side.
    """

    HTX = "htx"
    NATURAL = "natural"


@dataclass(frozen=True, slots=True)
class TpslOrder:
    """One untriggered trigger of one sub position (a row of ``tpsl_open_orders``)."""

    sub_position_id: int
    contract_code: str
    margin_mode: MarginMode
    side: PositionSide  # the protected position's side
    volume: Decimal
    trigger_type: TriggerType
    kind: TpslKind
    price: Decimal

    def shown_side(self, display: SideDisplay = SideDisplay.HTX) -> PositionSide:
        """Return ``position_side`` as the wire shows it under ``display``."""
        return self.side.opposite if display is SideDisplay.HTX else self.side


def trigger_type(side: PositionSide, kind: TpslKind) -> TriggerType:
    """Return when a trigger fires: long TP and short SL on ``ge``, the others on ``le``."""
    rises = (side is PositionSide.LONG) is (kind is TpslKind.TAKE_PROFIT)
    return TriggerType.GE if rises else TriggerType.LE


def check_tpsl(
    side: PositionSide, tp: Decimal | None, sl: Decimal | None, reference: Decimal
) -> None:
    """Long: TP above and SL below ``reference``; short: the reverse (1405/1407)."""
    long = side is PositionSide.LONG
    if tp is not None and (tp <= 0 or (tp <= reference if long else tp >= reference)):
        raise InvalidTakeProfit(tp, reference, above=long)
    if sl is not None and (sl <= 0 or (sl >= reference if long else sl <= reference)):
        raise InvalidStopLoss(sl, reference, above=not long)


def set_tpsl(
    account: Account,
    sub_position_id: int,
    tp: Decimal | None,
    sl: Decimal | None,
    mark: Decimal,
    env: Env,
) -> SubPosition:
    """Set TP and/or SL on one of the trader's open lead sub positions (spec §6.4).

    A trigger that is sent replaces the existing one of its kind; one left out keeps it.

    Args:
        account: The trader's account.
        sub_position_id: An open lead sub position of the account (1046 otherwise; a
            follower's copy is not a lead position).
        tp: The new take-profit trigger, or ``None`` to keep the current one.
        sl: The new stop-loss trigger, or ``None`` to keep the current one.
        mark: The latest price the triggers are checked against (1405/1407).
        env: The change set.

    Returns:
        The updated sub position.
    """
    if tp is None and sl is None:
        raise TriggerMissing()
    position = account.positions.get(sub_position_id)
    if position is None or not position.is_open or position.lead_uid is not None:
        raise PositionNotFound(f"sub_position_id {sub_position_id}")
    check_tpsl(position.side, tp, sl, mark)
    if tp is not None:
        position.tp_trigger_price = tp
    if sl is not None:
        position.sl_trigger_price = sl
    env.changes.save_position(position)
    return position


def fired(position: SubPosition, mark: Decimal) -> CloseType | None:
    """Return the close type of the trigger ``mark`` fires on ``position``, if any.

    The one evaluation of TP/SL: every mark move (:func:`copytrade.service.sim.set_price`:
    admin price sets, price-path ticks, clock jumps) and :func:`fire_triggers` use it. When a
    mark fires both (a TP set at or past the SL, which a jump can reach at once), the stop loss
    wins: the spec (§7.8) is silent, and the conservative reading books the loss side.
    """
    long = position.side is PositionSide.LONG
    tp, sl = position.tp_trigger_price, position.sl_trigger_price
    if sl is not None and (mark <= sl if long else mark >= sl):
        return CloseType.STOP_LOSS
    if tp is not None and (mark >= tp if long else mark <= tp):
        return CloseType.TAKE_PROFIT
    return None


def fire_triggers(
    account: Account, market: Market, env: Env
) -> list[tuple[SubPosition, CloseType]]:
    """Close every sub position whose trigger the mark fires, each with its own market order.

    Returns the closed positions (of the market's contract) with their close types. The other
    trigger of a closed position is cancelled with it (spec §7.8).
    """
    code = market.spec.contract_code
    closed: list[tuple[SubPosition, CloseType]] = []
    for position in sorted(account.positions.values(), key=lambda p: p.sub_position_id):
        if position.contract_code != code:
            continue
        kind = fired(position, market.mark)
        if kind is None:
            continue
        price = close_price(market, [position])
        closed.append((close_position(account, position, price, market.spec, kind, env), kind))
    return closed


def tpsl_orders(
    positions: Iterable[SubPosition], contract_code: str | None = None
) -> list[TpslOrder]:
    """Return the untriggered TP/SL of open sub positions (spec §6.14), newest position first.

    Args:
        positions: Sub positions of one account (closed ones are skipped).
        contract_code: Only this contract; ``None`` for every contract.

    Returns:
        One row per trigger: a position with both TP and SL yields its TP row, then its SL row.
    """
    rows: list[TpslOrder] = []
    for p in sorted(positions, key=lambda p: p.sub_position_id, reverse=True):
        if not p.is_open or (contract_code is not None and p.contract_code != contract_code):
            continue
        for kind, price in (
            (TpslKind.TAKE_PROFIT, p.tp_trigger_price),
            (TpslKind.STOP_LOSS, p.sl_trigger_price),
        ):
            if price is not None:
                rows.append(
                    TpslOrder(
                        p.sub_position_id,
                        p.contract_code,
                        p.margin_mode,
                        p.side,
                        p.volume,
                        trigger_type(p.side, kind),
                        kind,
                        price,
                    )
                )
    return rows
