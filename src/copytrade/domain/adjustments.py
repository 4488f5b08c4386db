"""Isolated margin top-ups and reductions, and leverage changes (spec §6.5, §6.7). Pure.

An aggregate isolated position is spread over its sub positions; every change here moves margin
between the copy-trading wallet ``W`` and the sub positions' ``position_margin``, so
``W + Σ isolated margins`` is the same before and after (no money is created or lost).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

from copytrade.domain.enums import MarginAdjust, MarginMode, PositionSide
from copytrade.domain.errors import (
    IllegalParameter,
    InsufficientMargin,
    InvalidLever,
    LeverChangeBlocked,
    NoIsolatedPosition,
)
from copytrade.domain.instruments import ContractSpec
from copytrade.domain.margin import div, maintenance_margin, margin_rate, pnl
from copytrade.domain.model import Account, SubPosition
from copytrade.domain.trading import Env, Market, cross_figures

_ZERO = Decimal(0)
_SHARE_QUANTUM = Decimal("1e-18")
DEFAULT_LEVER = 5


def spread(amount: Decimal, positions: list[SubPosition], caps: list[Decimal]) -> list[Decimal]:
    """Split ``amount`` over ``positions`` in proportion to volume, each share at most its cap.

    Shares are truncated to 18 decimals and the remainder goes to the oldest position that has
    room, so the shares add up to ``amount`` exactly. A position whose proportional share would
    pass its cap gets its cap and the others share the rest (the caller makes sure
    ``amount ≤ Σ caps``).

    Args:
        amount: The non-negative total to split.
        positions: Sub positions, oldest first.
        caps: The most each position may take, in the same order.

    Returns:
        One share per position, in the same order.
    """
    shares = [_ZERO] * len(positions)
    left = amount
    active = [i for i in range(len(positions)) if caps[i] > 0]
    while left > 0 and active:
        volume = sum((positions[i].volume for i in active), _ZERO)
        proposed = {
            i: div(left * positions[i].volume, volume).quantize(_SHARE_QUANTUM, ROUND_DOWN)
            for i in active
        }
        full = [i for i in active if proposed[i] >= caps[i] - shares[i]]
        if not full:
            for i in active:
                shares[i] += proposed[i]
                left -= proposed[i]
            break
        for i in full:  # these take their cap; the rest share what is left
            left -= caps[i] - shares[i]
            shares[i] = caps[i]
        active = [i for i in active if i not in full]
    for i in range(len(positions)):  # the truncation remainder: oldest with room first
        if left <= 0:
            break
        take = min(left, caps[i] - shares[i])
        shares[i] += take
        left -= take
    return shares


def reducible_margin(positions: list[SubPosition], market: Market) -> Decimal:
    """Return ``max(0, position_margin + min(0, unreal_profit) − initial_margin)`` (spec §6.5)."""
    cs = market.spec.contract_size
    margin = sum((p.position_margin for p in positions), _ZERO)
    unreal = sum(
        (pnl(p.side, p.open_avg_price, market.mark, p.volume, cs) for p in positions), _ZERO
    )
    im = sum((p.initial_margin(cs) for p in positions), _ZERO)
    return max(_ZERO, margin + min(_ZERO, unreal) - im)


def adjust_margin(
    account: Account,
    contract_code: str,
    side: PositionSide,
    amount: Decimal,
    kind: MarginAdjust,
    markets: Mapping[str, Market],
    env: Env,
) -> list[SubPosition]:
    """Add margin to, or reduce it from, the isolated (contract, side) position (spec §6.5).

    Adding needs the copy account's available balance (1047); reducing may take at most
    :func:`reducible_margin` (1047). The amount is spread over the sub positions by volume.

    Args:
        account: The trader's account.
        contract_code: The contract of the isolated aggregate position.
        side: Its side.
        amount: USDT to move; must be positive.
        kind: Add or reduce.
        markets: Every contract the account holds, with its mark price.
        env: Fees and the change set.

    Returns:
        The sub positions whose margin changed, oldest first.
    """
    if not amount.is_finite() or amount <= 0:
        raise IllegalParameter("amount", amount)
    positions = account.open_positions((contract_code, MarginMode.ISOLATED, side))
    if not positions:
        raise NoIsolatedPosition(contract_code, side.value)
    market = markets[contract_code]
    if kind is MarginAdjust.ADD:
        available = cross_figures(account, markets, env.fees).available
        if amount > available:
            raise InsufficientMargin(amount, available)
        shares = spread(amount, positions, [amount] * len(positions))
    else:
        limit = reducible_margin(positions, market)
        if amount > limit:
            raise InsufficientMargin(amount, limit)
        caps = [max(_ZERO, p.position_margin) for p in positions]
        shares = [-s for s in spread(amount, positions, caps)]
    for position, share in zip(positions, shares, strict=True):
        position.position_margin += share
        env.changes.save_position(position)
    account.balance -= sum(shares, _ZERO)
    env.changes.touch(account)
    return positions


def current_lever(
    account: Account, contract_code: str, margin_mode: MarginMode, default: int = DEFAULT_LEVER
) -> int:
    """Return the leverage of (contract, margin mode): the last one set, else ``default``."""
    return account.levers.get((contract_code, margin_mode), default)


def change_lever(
    account: Account,
    spec: ContractSpec,
    margin_mode: MarginMode,
    lever: int,
    markets: Mapping[str, Market],
    env: Env,
) -> list[SubPosition]:
    """Set the leverage of (contract, margin mode) and re-lever its open sub positions (§6.7).

    Refused while orders rest there (1045). Each open sub position takes the new leverage; an
    isolated one's margin moves by ``ΔIM = IM_new − IM_old`` (a negative ΔIM returns margin to
    ``W``). A positive total ΔIM (isolated moved, cross held) needs available balance (1047),
    and an isolated position whose margin rate would reach 1 is refused too (1047).

    Args:
        account: The trader's account.
        spec: The contract (its leverage range).
        margin_mode: Isolated or cross.
        lever: The new leverage, inside the contract's range (1037).
        markets: Every contract the account holds, with its mark price.
        env: Fees and the change set.

    Returns:
        The re-levered open sub positions, oldest first.
    """
    if not spec.lever_min <= lever <= spec.lever_max:
        raise InvalidLever(lever, spec.lever_min, spec.lever_max)
    code = spec.contract_code
    resting = [
        o
        for o in account.orders.values()
        if (o.contract_code, o.margin_mode) == (code, margin_mode)
    ]
    if resting:
        raise LeverChangeBlocked(code, margin_mode.value, len(resting))
    positions = sorted(
        (
            p
            for p in account.positions.values()
            if (p.contract_code, p.margin_mode) == (code, margin_mode)
        ),
        key=lambda p: p.sub_position_id,
    )
    cs = spec.contract_size
    # ΔIM kept to 18 decimals: W and the margins stay exact whatever the leverage divides by
    deltas = [
        (div(p.volume * cs * p.open_avg_price, Decimal(lever)) - p.initial_margin(cs)).quantize(
            _SHARE_QUANTUM, ROUND_HALF_EVEN
        )
        for p in positions
    ]
    needed = sum(deltas, _ZERO)
    if needed > 0:
        available = cross_figures(account, markets, env.fees).available
        if needed > available:
            raise InsufficientMargin(needed, available)
    if margin_mode is MarginMode.ISOLATED:
        _check_isolated_after(positions, deltas, lever, markets[code])
    for position, delta in zip(positions, deltas, strict=True):
        position.lever = lever
        if margin_mode is MarginMode.ISOLATED:
            position.position_margin += delta
            account.balance -= delta
        env.changes.save_position(position)
    account.levers[(code, margin_mode)] = lever
    env.changes.set_lever(account.uid, (code, margin_mode), lever)
    env.changes.touch(account)
    return positions


def _check_isolated_after(
    positions: list[SubPosition], deltas: list[Decimal], lever: int, market: Market
) -> None:
    """Refuse a re-lever that would leave an isolated aggregate at liquidation."""
    cs, af, mark = market.spec.contract_size, market.spec.adjustment_factor, market.mark
    for side in PositionSide:
        picked = [(p, d) for p, d in zip(positions, deltas, strict=True) if p.side is side]
        if not picked:
            continue
        equity = sum(
            (
                p.position_margin + d + pnl(p.side, p.open_avg_price, mark, p.volume, cs)
                for p, d in picked
            ),
            _ZERO,
        )
        mm = sum((maintenance_margin(af, p.volume, cs, mark, lever) for p, _ in picked), _ZERO)
        if margin_rate(mm, equity) >= 1:
            raise InsufficientMargin(mm, equity)
