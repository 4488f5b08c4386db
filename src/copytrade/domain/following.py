"""A follower's own exits: per-copy TP/SL ratios, the total stop-loss, removal (spec §8.1, §8.5).

These close copies without touching the lead: a copy's own TP/SL (close types 8/9), the total
stop-loss that ends the follow (type 10), and ``remove_follower`` (type 7). Every copy closes at
market and pays the trader's profit share like a copy closed with its lead. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from copytrade.domain.copytrading import CopyWave, Follow, settle_copy, walk_close
from copytrade.domain.enums import CloseType
from copytrade.domain.margin import div, pnl
from copytrade.domain.model import Account, SubPosition
from copytrade.domain.trading import Env, Market, close_price

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Removal:
    """What ending a follow did: the copies it closed."""

    follower_uid: int
    closed: list[SubPosition]


def copies_of(follower: Account, trader_uid: int) -> list[SubPosition]:
    """Return the follower's open copies of ``trader_uid``, oldest first."""
    return sorted(
        (p for p in follower.positions.values() if p.lead_uid == trader_uid),
        key=lambda p: p.sub_position_id,
    )


def copy_return(copy: SubPosition, market: Market) -> Decimal:
    """Return a copy's unrealised PnL at the mark over its initial margin."""
    cs = market.spec.contract_size
    gross = pnl(copy.side, copy.open_avg_price, market.mark, copy.volume, cs)
    return div(gross, copy.initial_margin(cs))


def own_exit(follow: Follow, copy: SubPosition, market: Market) -> CloseType | None:
    """Return the close type a copy's own TP/SL ratio calls for at the mark, if any.

    Take-profit when PnL/IM ≥ ``tp_ratio``; stop-loss when PnL/IM ≤ −``sl_ratio`` (which wins).
    """
    if follow.tp_ratio is None and follow.sl_ratio is None:
        return None
    rate = copy_return(copy, market)
    if follow.sl_ratio is not None and rate <= -follow.sl_ratio:
        return CloseType.COPY_STOP_LOSS
    if follow.tp_ratio is not None and rate >= follow.tp_ratio:
        return CloseType.COPY_TAKE_PROFIT
    return None


def copy_pnl(
    copies: Iterable[SubPosition], realised: Decimal, markets: Mapping[str, Market]
) -> Decimal:
    """Return ``realised`` plus the unrealised PnL (net of open fees) of the open ``copies``."""
    total = realised
    for copy in copies:
        market = markets[copy.contract_code]
        cs = market.spec.contract_size
        total += pnl(copy.side, copy.open_avg_price, market.mark, copy.volume, cs) - copy.open_fee
    return total


def total_stop_hit(
    follow: Follow, copies: Iterable[SubPosition], realised: Decimal, markets: Mapping[str, Market]
) -> bool:
    """Return whether the follower's copy PnL has reached ``−total_stop_loss``.

    Args:
        follow: The follow and its settings.
        copies: The follower's open copies of the trader.
        realised: The follower's realised copy PnL since following (net of fees).
        markets: Marks of every contract the copies hold.
    """
    if follow.total_stop_loss is None:
        return False
    return copy_pnl(copies, realised, markets) <= -follow.total_stop_loss


def close_copies_of(
    follower: Account,
    copies: list[SubPosition],
    trader: Account,
    profit_share_ratio: Decimal,
    markets: Mapping[str, Market],
    close_type: CloseType,
    env: Env,
    wave: CopyWave | None = None,
) -> list[SubPosition]:
    """Close ``copies`` (each with its own market order) and share their profits.

    The trader's lead positions stay open; each copy's profit share is added to its lead's
    ``follow_takes`` when the lead is still in ``trader``. With ``wave`` (market impact on)
    each close walks the book the earlier fills left; no slippage guard holds an exit back.

    Returns:
        The closed copies.
    """
    closed: list[SubPosition] = []
    for copy in copies:
        market = markets[copy.contract_code]
        lead = (
            trader.positions.get(copy.lead_sub_position_id)
            if copy.lead_sub_position_id is not None
            else None
        )
        if wave is not None and wave.settings.enabled:
            price = walk_close(wave, market, copy)
        else:
            price = close_price(market, [copy])
        closed.append(
            settle_copy(
                follower, copy, price, market, trader, lead, profit_share_ratio, close_type, env
            )
        )
    return closed


def apply_own_exits(
    follow: Follow,
    follower: Account,
    trader: Account,
    profit_share_ratio: Decimal,
    markets: Mapping[str, Market],
    env: Env,
    wave: CopyWave | None = None,
) -> list[SubPosition]:
    """Close every copy of the follow whose own TP/SL ratio the marks reach (``wave``: impact).

    Returns:
        The copies closed, each with close type 8 (TP) or 9 (SL).
    """
    closed: list[SubPosition] = []
    for copy in copies_of(follower, follow.trader_uid):
        kind = own_exit(follow, copy, markets[copy.contract_code])
        if kind is not None:
            closed += close_copies_of(
                follower, [copy], trader, profit_share_ratio, markets, kind, env, wave
            )
    return closed


def end_follow(
    follower: Account,
    trader: Account,
    profit_share_ratio: Decimal,
    markets: Mapping[str, Market],
    close_type: CloseType,
    env: Env,
    wave: CopyWave | None = None,
) -> Removal:
    """Close every open copy the follower holds of ``trader`` (spec §8.5, §8.6 Q7).

    Used by ``remove_follower`` (close type 7) and by the total stop-loss (type 10); the caller
    marks the follow ended, so later lead fills are not copied.
    """
    closed = close_copies_of(
        follower,
        copies_of(follower, trader.uid),
        trader,
        profit_share_ratio,
        markets,
        close_type,
        env,
        wave,
    )
    return Removal(follower.uid, closed)


@dataclass(frozen=True, slots=True)
class FollowCheck:
    """What a mark move did to one follow: the copies closed, and whether the follow stopped."""

    closed: list[SubPosition]
    stopped: bool


def check_follow_rules(
    follow: Follow,
    follower: Account,
    trader: Account,
    profit_share_ratio: Decimal,
    realised: Decimal,
    markets: Mapping[str, Market],
    env: Env,
    wave: CopyWave | None = None,
) -> FollowCheck:
    """Apply a follower's own rules after the marks moved: per-copy TP/SL, then total stop-loss.

    Args:
        follow: The follow and its settings.
        follower: The follower's account.
        trader: The trader's account (paid the profit shares).
        profit_share_ratio: The trader's ratio.
        realised: The follower's realised copy PnL of this follow before this check.
        markets: Marks of every contract the copies hold.
        env: Fees, time, ids and the change set.
        wave: With market impact on, the exits walk the book one after another.

    Returns:
        The copies closed (types 8/9, then 10), and ``stopped`` when the total stop-loss was
        reached: the caller ends the follow, so that no later lead fill is copied.
    """
    closed = apply_own_exits(follow, follower, trader, profit_share_ratio, markets, env, wave)
    realised += sum((c.profit for c in closed if c.profit is not None), _ZERO)
    if not total_stop_hit(follow, copies_of(follower, trader.uid), realised, markets):
        return FollowCheck(closed, stopped=False)
    removal = end_follow(
        follower, trader, profit_share_ratio, markets, CloseType.COPY_TOTAL_STOP, env, wave
    )
    return FollowCheck(closed + removal.closed, stopped=True)
