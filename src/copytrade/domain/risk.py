"""Aggregate positions and their risk figures: margin rate, liquidation price (spec §6.10, §7.6).

An aggregate position is every open sub position of one account that shares a
(contract_code, margin_mode, position_side) key. Its figures follow spec §7.5 and §7.6:

* ``unreal_profit`` = Σ sub PnL at the mark; ``profit_rate`` = profit / Σ IM (IM at open prices);
* ``MM`` = Σ ``AF × v × cs × P_mark / L`` of the sub positions (at the current mark);
* equity: isolated ``position_margin + unreal_profit``; cross, the account's cross equity;
* ``margin_rate`` = MM / equity (cross: the account's Σ MM(cross) / cross equity);
* liquidation price = ``P_mark ∓ (equity − MM) / (v × cs)`` (long −, short +; a long's floored at
  0). For isolated this equals spec's ``P_open ∓ (position_margin − MM) / (v × cs)``, but it
  divides once, so exact results stay exact.

Values are exact Decimals; the wire layer formats them (18-decimal truncation).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from copytrade.domain.enums import MarginMode, PositionSide
from copytrade.domain.instruments import FeeSchedule
from copytrade.domain.margin import (
    cross_liquidation_price,
    div,
    maintenance_margin,
    margin_rate,
    notional,
    pnl,
    wide_context,
)
from copytrade.domain.model import Account, PositionKey, SubPosition
from copytrade.domain.trading import CrossFigures, Market, cross_figures

_ZERO = Decimal(0)
_LIQUIDATION_RATE = Decimal(1)


@dataclass(frozen=True, slots=True)
class AggregatePosition:
    """One row of ``position_list``: the open sub positions of one key, summed (spec §6.10).

    ``lever`` is the newest sub position's (they normally all share one). ``position_margin`` is
    Σ sub margins for isolated (net of open fees, plus adjustments) and Σ IM for cross.
    """

    contract_code: str
    margin_mode: MarginMode
    side: PositionSide
    lever: int
    open_avg_price: Decimal
    volume: Decimal
    position_margin: Decimal
    margin_rate: Decimal
    liquidation_price: Decimal
    unreal_profit: Decimal
    profit: Decimal
    profit_rate: Decimal

    @property
    def key(self) -> PositionKey:
        """Return (contract_code, margin_mode, position_side)."""
        return (self.contract_code, self.margin_mode, self.side)


@dataclass(frozen=True, slots=True)
class _Sums:
    """Sums over the sub positions of one key, at the current mark."""

    volume: Decimal
    open_notional: Decimal
    position_margin: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal
    unreal_profit: Decimal
    lever: int


def _sort_key(key: PositionKey) -> tuple[str, int, int]:
    code, mode, side = key
    return (code, mode is not MarginMode.CROSS, side is not PositionSide.LONG)


def _groups(account: Account) -> dict[PositionKey, list[SubPosition]]:
    groups: dict[PositionKey, list[SubPosition]] = {}
    for pos in sorted(account.positions.values(), key=lambda p: p.sub_position_id):
        if pos.is_open and pos.volume > 0:
            groups.setdefault(pos.key, []).append(pos)
    return dict(sorted(groups.items(), key=lambda item: _sort_key(item[0])))


def _sums(positions: list[SubPosition], market: Market) -> _Sums:
    spec, mark = market.spec, market.mark
    cs = spec.contract_size
    return _Sums(
        volume=sum((p.volume for p in positions), _ZERO),
        open_notional=sum((notional(p.volume, cs, p.open_avg_price) for p in positions), _ZERO),
        position_margin=sum((p.position_margin for p in positions), _ZERO),
        initial_margin=sum((p.initial_margin(cs) for p in positions), _ZERO),
        maintenance_margin=sum(
            (
                maintenance_margin(spec.adjustment_factor, p.volume, cs, mark, p.lever)
                for p in positions
            ),
            _ZERO,
        ),
        unreal_profit=sum(
            (pnl(p.side, p.open_avg_price, mark, p.volume, cs) for p in positions), _ZERO
        ),
        lever=positions[-1].lever,
    )


def _aggregate(
    key: PositionKey, sums: _Sums, market: Market, cross: CrossFigures
) -> AggregatePosition:
    code, mode, side = key
    cs = market.spec.contract_size
    if mode is MarginMode.ISOLATED:
        position_margin = sums.position_margin
        equity = position_margin + sums.unreal_profit
        mm = sums.maintenance_margin
    else:
        position_margin = sums.initial_margin
        equity, mm = cross.equity, cross.maintenance_margin
    return AggregatePosition(
        contract_code=code,
        margin_mode=mode,
        side=side,
        lever=sums.lever,
        open_avg_price=div(sums.open_notional, sums.volume * cs),
        volume=sums.volume,
        position_margin=position_margin,
        margin_rate=margin_rate(mm, equity),
        liquidation_price=cross_liquidation_price(side, market.mark, equity, mm, sums.volume, cs),
        unreal_profit=sums.unreal_profit,
        profit=sums.unreal_profit,
        profit_rate=div(sums.unreal_profit, sums.initial_margin),
    )


def aggregate_positions(
    account: Account, markets: Mapping[str, Market], fees: FeeSchedule
) -> list[AggregatePosition]:
    """Return the account's aggregate positions with their risk figures (spec §6.10).

    Args:
        account: The account whose open sub positions are aggregated.
        markets: Every contract the account holds, with its mark price.
        fees: The fee schedule (cross figures count resting orders' estimated taker fees).

    Returns:
        One aggregate per (contract_code, margin_mode, position_side) with an open sub position,
        sorted by contract_code, then cross before isolated, then long before short.
    """
    with wide_context():  # the sums and differences below must not round at 28 digits
        cross = cross_figures(account, markets, fees)
        return [
            _aggregate(key, _sums(group, markets[key[0]]), markets[key[0]], cross)
            for key, group in _groups(account).items()
        ]


def isolated_liquidation_prices(
    account: Account, markets: Mapping[str, Market], fees: FeeSchedule
) -> dict[tuple[str, PositionSide], Decimal]:
    """Return each isolated aggregate's liquidation price, for ``current_positions`` (§6.11).

    Args:
        account: The account whose isolated positions are priced.
        markets: Every contract the account holds, with its mark price.
        fees: The fee schedule.

    Returns:
        ``{(contract_code, position_side): liquidation_price}`` for every isolated aggregate;
        cross positions are absent (the wire shows ``null`` for them).
    """
    return {
        (agg.contract_code, agg.side): agg.liquidation_price
        for agg in aggregate_positions(account, markets, fees)
        if agg.margin_mode is MarginMode.ISOLATED
    }


def liquidation_scopes(
    account: Account, markets: Mapping[str, Market], fees: FeeSchedule
) -> list[PositionKey]:
    """Return the position keys that must be liquidated now (spec §7.10).

    An isolated aggregate is liquidated on its own when its margin rate reaches 1. When the
    account's cross margin rate reaches 1, every cross aggregate (all contracts) is liquidated.

    Args:
        account: The account to check.
        markets: Every contract the account holds, with its mark price.
        fees: The fee schedule.

    Returns:
        The keys (contract_code, margin_mode, position_side) to close, in ``position_list``
        order; each feeds ``account.open_positions(key)``. Empty when nothing is at risk.
    """
    return [
        agg.key
        for agg in aggregate_positions(account, markets, fees)
        if agg.margin_rate >= _LIQUIDATION_RATE
    ]


def closed_profit_rate(position: SubPosition, contract_size: Decimal) -> Decimal:
    """Return a closed sub position's ``profit / IM`` with IM at the open price (spec §7.9).

    Args:
        position: A closed sub position (its ``profit`` is set).
        contract_size: The contract's size.

    Returns:
        The realised profit rate; 0 when the position has no realised profit yet.
    """
    profit = position.profit if position.profit is not None else _ZERO
    return div(profit, position.initial_margin(contract_size))
