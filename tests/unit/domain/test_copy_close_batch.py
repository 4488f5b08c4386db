"""A close fan-out settles each copy from figures computed once per equal copy: settle_copy's.

``close_copies`` (impact off) no longer runs ``close_position`` per copy; these tests hold it to
what the general path (``settle_copy`` at the market close price) books, field for field and id
for id: wallets, closed positions (and their text), fills, profit shares, the trader's wallet
and the lead's ``follow_takes``, including isolated copies losing beyond their margin, equal
figures written differently (``0.3`` / ``0.30`` / ``0.3`` with 22 decimals) and accounts
holding copies of two leads.
"""

from __future__ import annotations

import copy as copying
import itertools
from decimal import Decimal

import pytest
from domain_builders import D, add_position, make_env, make_markets

from copytrade.domain.copytrading import close_copies, settle_copy
from copytrade.domain.enums import CloseType, MarginMode, PositionSide
from copytrade.domain.model import Account, SubPosition
from copytrade.domain.trading import Env, close_price

TRADER = 1
CODE = "BTC-USDT"
MARKETS = make_markets(BTC="60500.5")
RATIO = D("0.1")


def _leads(side: PositionSide) -> list[SubPosition]:
    trader = Account(TRADER, D(10) ** 9)
    return [
        add_position(
            trader, lead_id, CODE, MarginMode.CROSS, side, lever=10, volume="5", open_price="60000"
        )
        for lead_id in (7, 8)
    ]


_OPEN_PRICES = ("59000", "59000.0", "61999.5", "60500.5", "30000")
_OPEN_FEES = ("0.3", "0.30", "0", "1.234567890123456789", "0.3000000000000000000000")


def _followers(side: PositionSide) -> dict[int, Account]:
    """Followers whose copies repeat in a few shapes, with some differences that matter."""
    out: dict[int, Account] = {}
    pid = 100
    for uid in range(10, 70):
        account = Account(uid, D(10) ** (uid % 5) + D("0.37"))
        for lead_id in (7, 8) if uid % 4 else (7,):
            if uid % 9 == 0:
                continue  # follows, but holds no copy
            mode = MarginMode.ISOLATED if uid % 3 == 0 else MarginMode.CROSS
            pos = add_position(
                account,
                pid,
                CODE,
                mode,
                side,
                lever=10,
                volume=("2", "2.0", "3")[uid % 3],
                open_price=_OPEN_PRICES[uid % len(_OPEN_PRICES)],
                open_fee=_OPEN_FEES[(uid // 2) % len(_OPEN_FEES)],
                # some isolated copies hold less margin than their loss
                position_margin="1.5" if uid % 6 == 0 else ("1.50" if uid % 5 == 0 else None),
            )
            pos.lead_uid, pos.lead_sub_position_id = TRADER, lead_id
            if uid % 7 == 0:
                pos.tp_trigger_price = D("70000")
            pid += 1
        # a position that is not a copy stays open
        add_position(
            account, pid, CODE, MarginMode.CROSS, side, lever=5, volume="1", open_price="60000"
        )
        pid += 1
        out[uid] = account
    return out


def _general(
    leads: list[SubPosition], trader: Account, followers: dict[int, Account], env: Env
) -> None:
    """Each copy through settle_copy at the price of its own market close."""
    by_id = {p.sub_position_id: p for p in leads}
    market = MARKETS[CODE]
    for account in followers.values():
        copies = [p for p in account.positions.values() if p.lead_sub_position_id in by_id]
        for pos in sorted(copies, key=lambda p: p.sub_position_id):
            lead = by_id[pos.lead_sub_position_id]  # type: ignore[index]
            price = close_price(market, [pos])
            settle_copy(account, pos, price, market, trader, lead, RATIO, CloseType.CLOSE_ALL, env)


def _texts(positions: dict[int, SubPosition]) -> list[tuple[str, ...]]:
    return [
        (str(p.close_avg_price), str(p.close_fee), str(p.profit), str(p.follow_takes))
        for p in positions.values()
    ]


@pytest.mark.parametrize("side", [PositionSide.LONG, PositionSide.SHORT])
def test_each_close_is_what_settle_copy_books(side: PositionSide) -> None:
    fast_leads, general_leads = _leads(side), _leads(side)
    fast_trader, general_trader = Account(TRADER, D(1000)), Account(TRADER, D(1000))
    fast, general = _followers(side), _followers(side)
    fast_env, general_env = make_env(first_id=5000), make_env(first_id=5000)

    n = close_copies(fast_leads, fast_trader, RATIO, fast, MARKETS, CloseType.CLOSE_ALL, fast_env)
    _general(general_leads, general_trader, general, general_env)

    got, want = fast_env.changes, general_env.changes
    assert n == len(got.fills) == len(want.fills) > 0
    assert got.fills == want.fills
    assert got.profit_shares == want.profit_shares
    assert 0 < len(got.profit_shares) < n  # some copies pay a share, some do not
    assert list(got.accounts) == list(want.accounts)
    assert got.positions == want.positions
    assert list(got.positions) == list(want.positions)
    assert (
        got.closed == want.closed == {i for i, p in got.positions.items() if p.lead_uid == TRADER}
    )
    assert _texts(got.positions) == _texts(want.positions)
    assert {u: str(a.balance) for u, a in fast.items()} == {
        u: str(a.balance) for u, a in general.items()
    }
    assert {u: a.positions for u, a in fast.items()} == {u: a.positions for u, a in general.items()}
    assert str(fast_trader.balance) == str(general_trader.balance)
    assert [str(p.follow_takes) for p in fast_leads] == [str(p.follow_takes) for p in general_leads]
    assert any(p.follow_takes > 0 for p in fast_leads)


def test_a_copy_saved_earlier_in_the_command_is_not_close_only() -> None:
    """Only a position the command did not write before its close is marked close-only."""
    leads = _leads(PositionSide.LONG)
    followers = _followers(PositionSide.LONG)
    env = make_env()
    account = followers[10]
    touched = next(p for p in account.positions.values() if p.lead_uid == TRADER)
    touched.position_margin += 1
    env.changes.save_position(touched)
    close_copies(leads, Account(TRADER, D(0)), RATIO, followers, MARKETS, CloseType.CLOSE_ALL, env)
    assert touched.sub_position_id not in env.changes.closed
    assert not touched.is_open
    assert len(env.changes.closed) == len(env.changes.fills) - 1


def test_a_later_save_drops_the_close_only_mark() -> None:
    env = make_env()
    account = Account(10, D(100))
    pos = add_position(
        account, 3, CODE, MarginMode.CROSS, PositionSide.LONG, lever=1, volume="1", open_price="1"
    )
    env.changes.closed.add(3)
    env.changes.save_position(pos)
    assert env.changes.closed == set()


def test_equal_closes_share_no_mutable_state() -> None:
    leads = _leads(PositionSide.LONG)
    followers = _followers(PositionSide.LONG)
    before = copying.deepcopy(followers)
    env = make_env()
    close_copies(leads, Account(TRADER, D(0)), RATIO, followers, MARKETS, CloseType.CLOSE_ALL, env)
    closed = [p for p in env.changes.positions.values() if p.lead_uid == TRADER]
    for a, b in itertools.pairwise(closed):
        assert a is not b
    assert all(not p.is_open for p in closed)
    assert sum(len(a.positions) for a in followers.values()) == len(followers)
    assert sum(len(a.positions) for a in before.values()) == len(followers) + len(closed)
    assert isinstance(closed[0].profit, Decimal)
