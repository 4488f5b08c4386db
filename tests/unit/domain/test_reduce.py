"""Partial closes of aggregate positions (v5 reducing orders): pieces and follower copies."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from domain_builders import add_position, make_env

from copytrade.domain.enums import MarginMode, PositionSide
from copytrade.domain.errors import CloseAboveHolding, PositionNotFound
from copytrade.domain.model import Account
from copytrade.domain.reduce import reduce_pieces

D = Decimal
LONG = ("BTC-USDT", MarginMode.ISOLATED, PositionSide.LONG)


def _lead_and_follower() -> tuple[Account, Account]:
    lead = Account(1, D(10_000))
    add_position(lead, 10, *LONG, lever=10, volume="4", open_price="60000", open_fee="0.4")
    add_position(lead, 11, *LONG, lever=10, volume="6", open_price="61000", open_fee="0.6")
    follower = Account(2, D(10_000))
    copy = add_position(follower, 20, *LONG, lever=10, volume="12", open_price="61000")
    follower.positions[20] = replace(copy, lead_uid=1, lead_sub_position_id=11)
    return lead, follower


def test_reducing_closes_whole_sub_positions_oldest_first_and_splits_the_next() -> None:
    lead, follower = _lead_and_follower()
    env = make_env(first_id=100)
    margin_before = lead.positions[11].position_margin

    pieces = reduce_pieces(lead, LONG, D(7), {2: follower}, env)

    assert [(p.sub_position_id, p.volume) for p in pieces] == [(10, D(4)), (100, D(3))]
    rest = lead.positions[11]
    assert (rest.volume, rest.open_fee) == (D(3), D("0.3"))
    assert rest.position_margin + pieces[1].position_margin == margin_before
    # the copy of sub position 11 (12 contracts for 6) gives floor(12 x 3 / 6) = 6 to the piece
    copies = sorted(follower.positions.values(), key=lambda p: p.sub_position_id)
    assert [(p.volume, p.lead_sub_position_id) for p in copies] == [(D(6), 11), (D(6), 100)]


def test_reducing_more_than_held_or_nothing_is_refused() -> None:
    lead, follower = _lead_and_follower()
    with pytest.raises(CloseAboveHolding):
        reduce_pieces(lead, LONG, D(11), {2: follower}, make_env())
    short = ("BTC-USDT", MarginMode.ISOLATED, PositionSide.SHORT)
    with pytest.raises(PositionNotFound):
        reduce_pieces(lead, short, D(1), {}, make_env())
