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
    CopyMode,
    OrderDirection,
    OrderPriceType,
    PositionSide,
    SkipReason,
)
from copytrade.domain.errors import (
    InsufficientMargin,
    InvalidFollowSettings,
    NoOpponentPrice,
)
from copytrade.domain.margin import div, to_money
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
    """A follower copying one trader, with the follower's settings (spec §8.1).

    * ``mode`` ``ratio``: a copy is ``floor(ratio × lead change)`` contracts;
      ``fixed_amount``: each copied lead open commits ``fixed_amount`` USDT of initial margin
      (at the lead's leverage and the current opposite price), later growth of that lead sub
      position keeps the copy's proportion.
    * ``tp_ratio`` / ``sl_ratio``: a copy closes on its own once its unrealised PnL / IM reaches
      ``+tp_ratio`` / ``−sl_ratio`` (close types 8 / 9).
    * ``total_stop_loss``: once the follower's copy PnL (realised since following plus
      unrealised) reaches ``−total_stop_loss``, the follow stops and its copies close (type 10).
    * ``contracts``: only these contracts are copied (``None``: all); others are skipped with
      the reason ``contract_not_followed``.
    """

    follower_uid: int
    trader_uid: int
    ratio: Decimal
    mode: CopyMode = CopyMode.RATIO
    fixed_amount: Decimal | None = None
    tp_ratio: Decimal | None = None
    sl_ratio: Decimal | None = None
    total_stop_loss: Decimal | None = None
    contracts: frozenset[str] | None = None

    def copies(self, contract_code: str) -> bool:
        """Return whether this follower copies ``contract_code``."""
        return self.contracts is None or contract_code in self.contracts

    @property
    def watches_marks(self) -> bool:
        """Return whether a mark move can close copies on their own (TP/SL ratio, total stop)."""
        return not (
            self.tp_ratio is None and self.sl_ratio is None and self.total_stop_loss is None
        )


def check_follow(follow: Follow) -> Follow:
    """Return ``follow`` if its settings hold together, else raise InvalidFollowSettings."""
    if follow.mode is CopyMode.RATIO and not follow.ratio > 0:
        raise InvalidFollowSettings("ratio", "must be positive")
    if follow.mode is CopyMode.FIXED_AMOUNT and not (
        follow.fixed_amount is not None and follow.fixed_amount > 0
    ):
        raise InvalidFollowSettings("fixed_amount", "must be positive in fixed_amount mode")
    if follow.mode is CopyMode.RATIO and follow.fixed_amount is not None:
        raise InvalidFollowSettings("fixed_amount", "is used only with mode fixed_amount")
    for name in ("tp_ratio", "sl_ratio", "total_stop_loss"):
        value = getattr(follow, name)
        if value is not None and not value > 0:
            raise InvalidFollowSettings(name, "must be positive when set")
    if follow.contracts is not None and not follow.contracts:
        raise InvalidFollowSettings("contracts", "must name at least one contract when set")
    return follow


def follow_settings(follow: Follow) -> dict[str, str]:
    """Return the follow's settings beyond ``ratio`` as text (empty for a plain ratio follow).

    The stores keep them in one column; :func:`follow_with_settings` reads them back.
    """
    out: dict[str, str] = {}
    if follow.mode is not CopyMode.RATIO:
        out["mode"] = follow.mode.value
    for name in ("fixed_amount", "tp_ratio", "sl_ratio", "total_stop_loss"):
        value = getattr(follow, name)
        if value is not None:
            out[name] = str(value)
    if follow.contracts is not None:
        out["contracts"] = ",".join(sorted(follow.contracts))
    return out


def follow_with_settings(
    follower_uid: int, trader_uid: int, ratio: Decimal, settings: Mapping[str, str] | None
) -> Follow:
    """Return the follow :func:`follow_settings` described (``None``/empty: a ratio follow)."""
    if not settings:
        return Follow(follower_uid, trader_uid, ratio)

    def number(name: str) -> Decimal | None:
        value = settings.get(name)
        return Decimal(value) if value else None

    contracts = settings.get("contracts")
    return Follow(
        follower_uid,
        trader_uid,
        ratio,
        CopyMode(settings.get("mode", CopyMode.RATIO.value)),
        number("fixed_amount"),
        number("tp_ratio"),
        number("sl_ratio"),
        number("total_stop_loss"),
        frozenset(contracts.split(",")) if contracts is not None else None,
    )


def copy_volume(ratio: Decimal, lead_change: Decimal) -> Decimal:
    """Return ``floor(ratio × lead_change)`` in whole contracts."""
    return (ratio * lead_change).to_integral_value(rounding=ROUND_FLOOR)


def fixed_amount_volume(
    amount: Decimal, lever: int, contract_size: Decimal, price: Decimal
) -> Decimal:
    """Return the whole contracts ``amount`` USDT of initial margin buys: ``floor(A·L/(cs·P))``."""
    return div(amount * lever, contract_size * price).to_integral_value(rounding=ROUND_FLOOR)


def wanted_volume(
    follow: Follow,
    lead: SubPosition,
    lead_change: Decimal,
    existing: SubPosition | None,
    market: Market,
) -> Decimal:
    """Return the contracts ``follow`` copies of a lead sub position growing by ``lead_change``."""
    if follow.mode is CopyMode.RATIO:
        return copy_volume(follow.ratio, lead_change)
    prior = lead.volume - lead_change
    if existing is not None and prior > 0:  # growth keeps the proportion of the first copy
        return copy_volume(div(existing.volume, prior), lead_change)
    buy = lead.side is PositionSide.LONG
    levels = market.book.side_for(buy)
    price = levels[0].price if levels else market.mark
    amount = follow.fixed_amount if follow.fixed_amount is not None else _ZERO
    return fixed_amount_volume(amount, lead.lever, market.spec.contract_size, price)


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
        existing = _copy_of(account, lead.sub_position_id) if account is not None else None
        volume = (
            wanted_volume(follow, lead, lead_change, existing, market)
            if follow.copies(lead.contract_code)
            else _ZERO
        )
        reason: SkipReason | None = None
        detail = ""
        if account is None:
            reason, detail = SkipReason.INSUFFICIENT_MARGIN, "follower has no account"
        elif not follow.copies(lead.contract_code):
            reason = SkipReason.CONTRACT_NOT_FOLLOWED
            detail = f"{lead.contract_code} is not among {sorted(follow.contracts or ())}"
        elif volume > market.spec.max_order_volume:
            reason = SkipReason.ABOVE_ORDER_LIMIT
            detail = f"{volume} contracts > max order {market.spec.max_order_volume}"
        elif volume < MIN_COPY_VOLUME:
            reason = SkipReason.BELOW_MINIMUM
            detail = f"{_sizing(follow, lead_change)} = {volume} < {MIN_COPY_VOLUME}"
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


def _sizing(follow: Follow, lead_change: Decimal) -> str:
    if follow.mode is CopyMode.RATIO:
        return f"floor({follow.ratio} x {lead_change})"
    return f"fixed amount {follow.fixed_amount} USDT"


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
            lead = leads[copy.lead_sub_position_id]  # type: ignore[index]
            settle_copy(
                account, copy, price, market, trader, lead, profit_share_ratio, close_type, env
            )
            closed += 1
    return closed


def settle_copy(
    follower: Account,
    copy: SubPosition,
    price: Decimal,
    market: Market,
    trader: Account,
    lead: SubPosition | None,
    profit_share_ratio: Decimal,
    close_type: CloseType,
    env: Env,
) -> SubPosition:
    """Close one follower copy at ``price`` and pay the trader's profit share (spec §8.4).

    A profitable copy pays ``profit × ratio`` (net of fees, credited at once) to the trader,
    recorded as a :class:`ProfitShare` and added to the lead position's ``follow_takes`` when
    the lead is given.

    Args:
        follower: The follower's account holding ``copy``.
        copy: An open copy whose ``lead_uid`` is the trader.
        price: The market close price.
        market: The copy's contract.
        trader: The trader's account, credited with the share.
        lead: The lead sub position the copy follows (open or just closed), if loaded.
        profit_share_ratio: The trader's ratio.
        close_type: Recorded on the closed copy.
        env: Fees, time, ids and the change set.

    Returns:
        The closed copy.
    """
    done = close_position(follower, copy, price, market.spec, close_type, env)
    profit = done.profit if done.profit is not None else _ZERO
    if profit > 0 and profit_share_ratio > 0:
        share = to_money(profit * profit_share_ratio)  # exact in both wallets
        follower.balance -= share
        trader.balance += share
        env.changes.touch(trader)
        if lead is not None:
            lead.follow_takes += share
            env.changes.save_position(lead)
        env.changes.profit_shares.append(
            ProfitShare(
                env.next_id(),
                trader.uid,
                follower.uid,
                copy.lead_sub_position_id if copy.lead_sub_position_id is not None else 0,
                share,
                "USDT",
                env.now,
            )
        )
    return done
