"""Partial closes of aggregate positions (v5 reducing orders) and their follower copies. Pure.

v5 has aggregate positions; the core keeps sub positions. Reducing ``Δ`` contracts of a key
closes whole sub positions oldest first and detaches the rest from the next one with
:func:`split_off`; each follower copy of a partly closed lead sub position detaches
``floor(F × Δ_sub / V_sub)`` contracts linked to the lead's detached piece (spec ``htx-v5-v6.md``
§9.4). The caller then closes the pieces with the usual close-with-copies use case, so fills,
fees, PnL and profit sharing stay the copy engine's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import ROUND_FLOOR, Decimal

from copytrade.domain.errors import CloseAboveHolding, PositionNotFound
from copytrade.domain.margin import div, to_money
from copytrade.domain.model import Account, PositionKey, SubPosition
from copytrade.domain.trading import Env

_ZERO = Decimal(0)


def split_off(account: Account, pos: SubPosition, volume: Decimal, env: Env) -> SubPosition:
    """Detach ``volume`` contracts of an open sub position into a new one (same open price).

    Open fee and margin are shared pro rata (the piece's shares truncated at 18 decimals, the
    rest stays with ``pos``, so nothing is lost); both parts stay open in ``account``.
    """
    share = div(volume, pos.volume)
    piece = replace(
        pos,
        sub_position_id=env.next_id(),
        volume=volume,
        open_fee=to_money(pos.open_fee * share),
        position_margin=to_money(pos.position_margin * share),
    )
    pos.volume -= volume
    pos.open_fee -= piece.open_fee
    pos.position_margin -= piece.position_margin
    account.positions[piece.sub_position_id] = piece
    env.changes.save_position(piece, new=True)
    env.changes.save_position(pos)
    return piece


def _detach_copies(
    followers: Mapping[int, Account],
    lead: SubPosition,
    piece: SubPosition,
    lead_before: Decimal,
    env: Env,
) -> None:
    for account in followers.values():
        copies = [
            p for p in account.positions.values() if p.lead_sub_position_id == lead.sub_position_id
        ]
        for copy in sorted(copies, key=lambda p: p.sub_position_id):
            take = (copy.volume * piece.volume / lead_before).to_integral_value(ROUND_FLOOR)
            if take <= 0:
                continue
            if take < copy.volume:
                copy = split_off(account, copy, take, env)
            copy.lead_sub_position_id = piece.sub_position_id
            env.changes.save_position(copy)


def reduce_pieces(
    trader: Account,
    key: PositionKey,
    volume: Decimal,
    followers: Mapping[int, Account],
    env: Env,
) -> list[SubPosition]:
    """Return the lead sub positions that close ``volume`` contracts of ``key``, oldest first.

    Whole sub positions are returned as they are; the last one is split (and its copies with
    it) when only part of it closes. Raises :class:`PositionNotFound` when nothing is open and
    :class:`CloseAboveHolding` when ``volume`` exceeds the position.
    """
    positions = [p for p in trader.open_positions(key) if p.lead_uid is None]
    held = sum((p.volume for p in positions), _ZERO)
    if not positions:
        raise PositionNotFound(" ".join((key[0], key[1].value, key[2].value)))
    if volume > held:
        raise CloseAboveHolding(volume, held)
    pieces: list[SubPosition] = []
    left = volume
    for pos in positions:
        if left <= 0:
            break
        if pos.volume <= left:
            pieces.append(pos)
            left -= pos.volume
            continue
        before = pos.volume
        piece = split_off(trader, pos, left, env)
        _detach_copies(followers, pos, piece, before, env)
        pieces.append(piece)
        left = _ZERO
    return pieces
