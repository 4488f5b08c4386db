"""The copy engine: sizing follower copies and closing them with the lead. Pure.

A lead fill becomes, per follower, either a copy (a linked sub position in the follower's
account) or a :class:`CopySkipped` record with its reason; nothing is silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_FLOOR, Decimal

from copytrade.domain.enums import (
    CloseType,
    OrderDirection,
    OrderPriceType,
    PositionSide,
    SkipReason,
)
from copytrade.domain.errors import (
    InsufficientMargin,
    NoOpponentPrice,
)
from copytrade.domain.margin import to_money
from copytrade.domain.model import Account, CopySkipped, ProfitShare, SubPosition
from copytrade.domain.trading import (
    Env,
    Market,
    OpenRequest,
    close_position,
    close_price,
    open_order,
)

_ZERO = Decimal(0)
MIN_COPY_VOLUME = Decimal(1)


@dataclass(frozen=True, slots=True)
class Follow:
    """A follower copying one trader with a ratio (copy = floor(ratio × lead change))."""

    follower_uid: int
    trader_uid: int
    ratio: Decimal


def copy_volume(ratio: Decimal, lead_change: Decimal) -> Decimal:
    """Return ``floor(ratio × lead_change)`` in whole contracts."""
    return (ratio * lead_change).to_integral_value(rounding=ROUND_FLOOR)


def copy_open(
    lead: SubPosition,
    lead_change: Decimal,
    follows: Iterable[Follow],
    followers: Mapping[int, Account],
    market: Market,
    markets: Mapping[str, Market],
    env: Env,
) -> tuple[int, int]:
    """Copy a lead sub position's growth to every follower; return (copied, skipped)."""
    copied = skipped = 0
    direction = OrderDirection.BUY if lead.side is PositionSide.LONG else OrderDirection.SELL
    for follow in follows:
        account = followers.get(follow.follower_uid)
        volume = copy_volume(follow.ratio, lead_change)
        reason: SkipReason | None = None
        detail = ""
        if account is None:
            reason, detail = SkipReason.INSUFFICIENT_MARGIN, "follower has no account"
        elif volume > market.spec.max_order_volume:
            reason = SkipReason.ABOVE_ORDER_LIMIT
            detail = f"{volume} contracts > max order {market.spec.max_order_volume}"
        elif volume < MIN_COPY_VOLUME:
            reason = SkipReason.BELOW_MINIMUM
            detail = f"floor({follow.ratio} x {lead_change}) = {volume} < {MIN_COPY_VOLUME}"
        else:
            req = OpenRequest(
                lead.contract_code,
                direction,
                volume,
                lead.margin_mode,
                OrderPriceType.MARKET,
                None,
                lead.lever,
                lead_uid=lead.uid,
                lead_sub_position_id=lead.sub_position_id,
            )
            existing = _copy_of(account, lead.sub_position_id)
            if existing is not None:
                req = replace(req, sub_position_id=existing.sub_position_id)
            try:
                open_order(account, req, market, markets, env)
            except InsufficientMargin as exc:
                reason = SkipReason.INSUFFICIENT_MARGIN
                detail = f"required {exc.required}, available {exc.available}"
            except NoOpponentPrice:
                reason, detail = SkipReason.NO_LIQUIDITY, "empty book"
            else:
                copied += 1
        if reason is not None:
            skipped += 1
            env.changes.skips.append(
                CopySkipped(
                    env.next_id(),
                    lead.uid,
                    follow.follower_uid,
                    lead.sub_position_id,
                    lead.contract_code,
                    lead.margin_mode,
                    lead.side,
                    volume,
                    reason,
                    detail,
                    env.now,
                )
            )
    return copied, skipped


def _copy_of(account: Account, lead_sub_position_id: int) -> SubPosition | None:
    for pos in account.positions.values():
        if pos.lead_sub_position_id == lead_sub_position_id:
            return pos
    return None


def close_copies(
    lead_positions: list[SubPosition],
    trader: Account,
    profit_share_ratio: Decimal,
    followers: Mapping[int, Account],
    markets: Mapping[str, Market],
    close_type: CloseType,
    env: Env,
) -> int:
    """Close every follower copy of the (now closed) lead positions and share profits.

    Returns the number of copies closed. A profitable copy pays ``profit × ratio`` to the trader
    (net of fees, credited immediately, spec §8.4), added to the lead position's ``follow_takes``.
    """
    leads = {p.sub_position_id: p for p in lead_positions}
    closed = 0
    # The market maker re-quotes at once, so every copy's market order meets the same book:
    # one price per (contract, side, volume), computed once for thousands of equal copies.
    prices: dict[tuple[str, PositionSide, Decimal], Decimal] = {}
    for account in followers.values():
        copies = [p for p in account.positions.values() if p.lead_sub_position_id in leads]
        for copy in sorted(copies, key=lambda p: p.sub_position_id):
            market = markets[copy.contract_code]
            key = (copy.contract_code, copy.side, copy.volume)
            price = prices.get(key)
            if price is None:
                price = prices[key] = close_price(market, [copy])
            done = close_position(account, copy, price, market.spec, close_type, env)
            closed += 1
            lead = leads[copy.lead_sub_position_id]  # type: ignore[index]
            profit = done.profit if done.profit is not None else _ZERO
            if profit > 0 and profit_share_ratio > 0:
                share = to_money(profit * profit_share_ratio)  # exact in both wallets
                account.balance -= share
                trader.balance += share
                lead.follow_takes += share
                env.changes.touch(trader)
                env.changes.save_position(lead)
                env.changes.profit_shares.append(
                    ProfitShare(
                        env.next_id(),
                        trader.uid,
                        account.uid,
                        lead.sub_position_id,
                        share,
                        "USDT",
                        env.now,
                    )
                )
    return closed
