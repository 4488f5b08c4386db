"""Two server processes, one PostgreSQL database, one trader hammered from both sides.

Fifty signed requests (close_all_position, close_order and place_order on one trader who has
followers) are fired at once, alternating between the two processes. Afterwards the database
itself is checked, not the replies:

* every closed sub position has exactly one close fill, and an open one none (no double close);
* no position or fill has a negative volume, and no follower copy is open under a closed lead;
* money is conserved, account by account and to the last decimal (see ``_expected_balance``).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import httpx
import pytest
from server_processes import ServerProcess, start_servers
from sqlalchemy import select

from copytrade.adapters.db import schema as t
from copytrade.adapters.db.engine import make_engine

pytestmark = pytest.mark.postgres

PLACE = "/copytrading/trader/place_order"
CLOSE_ORDER = "/copytrading/trader/close_order"
CLOSE_ALL = "/copytrading/trader/close_all_position"
START_TRADER = Decimal(1_000_000)
START_FOLLOWER = Decimal(100_000)
FOLLOWERS = 5


@pytest.fixture(scope="module")
def servers(postgres_database: str, server_key: str) -> Iterator[list[ServerProcess]]:
    """Two processes on the module's database; the per-process limiter is out of the way."""
    env = {
        "COPYTRADE_SERVER_KEY": server_key,
        "COPYTRADE_DEMO_SEED": "false",
        "COPYTRADE_RATE_LIMIT_PER_SECOND": "100000",
    }
    yield from start_servers(postgres_database, 2, env)


def _order(mode: str, amount: str = "2") -> dict[str, Any]:
    return {
        "contract_code": "BTC-USDT",
        "amount": amount,
        "margin_mode": mode,
        "order_price_type": 17,
        "order_direction": 1,
        "lever": 10,
    }


def _expected_balance(
    start: Decimal, fees: Decimal, positions: list[Any], shares_in: Decimal, shares_out: Decimal
) -> Decimal:
    """Return the wallet balance an account must have, from its rows alone.

    ``balance = start − Σ fill fees + Σ gross PnL of closed positions − Σ isolated margin of
    open positions + profit shares received − profit shares paid``, where a closed position's
    gross PnL is ``profit + open_fee + close_fee`` (``profit`` is net of both fees) and an open
    isolated position holds ``position_margin`` out of the wallet (its open fee is in the fills).
    Prices never move in this test, so no isolated loss exceeds its margin (nothing is absorbed).
    Summed over every account the profit shares cancel, and what is left is the market maker's
    side: Σ balances + Σ open isolated margins + Σ fees − Σ gross PnL = Σ starting balances.
    """
    gross = sum(
        (p.profit + p.open_fee + p.close_fee for p in positions if not p.is_open), Decimal(0)
    )
    held = sum(
        (p.position_margin for p in positions if p.is_open and p.margin_mode == "isolated"),
        Decimal(0),
    )
    return start - fees + gross - held + shares_in - shares_out


def test_fifty_concurrent_commands_over_two_processes_keep_one_consistent_state(
    servers: list[ServerProcess], postgres_database: str
) -> None:
    a, b = servers
    trader = a.admin("/_sim/users", {"role": "trader", "balance": str(START_TRADER)})
    b.admin(
        "/_sim/followers/bulk",
        {
            "trader_uid": trader["uid"],
            "count": FOLLOWERS,
            "balance": str(START_FOLLOWER),
            "ratio": "1",
        },
    )
    with httpx.Client(timeout=60) as client:
        for i in range(8):  # targets for close_order, each aimed at twice below
            mode = "cross" if i % 2 else "isolated"
            assert servers[i % 2].signed_post(client, trader, PLACE, _order(mode)).json()["success"]
    positions = a.http.get(f"/_sim/users/{trader['uid']}").json()["positions"]
    targets = [p["sub_position_id"] for p in positions]
    assert len(targets) == 8

    calls: list[tuple[str, dict[str, Any]]] = []
    for i in range(50):
        kind = i % 5
        if kind in (0, 1):
            calls.append((CLOSE_ORDER, {"sub_position_id": targets[(i // 5 * 2 + kind) % 8]}))
        elif kind == 2:
            side_mode = "cross" if i % 2 else "isolated"
            body = {"contract_code": "BTC-USDT", "margin_mode": side_mode, "position_side": "long"}
            calls.append((CLOSE_ALL, body))
        else:
            calls.append((PLACE, _order("cross" if i % 2 else "isolated", "1")))
    gate = threading.Barrier(16)

    def fire(i: int) -> dict[str, Any]:
        path, body = calls[i]
        if i < 16:
            gate.wait()
        reply = servers[i % 2].signed_post(client, trader, path, body)
        assert reply.status_code == 200
        return dict(reply.json())

    with httpx.Client(timeout=60) as client, ThreadPoolExecutor(16) as pool:
        replies = list(pool.map(fire, range(50)))

    codes = Counter(r["code"] for r in replies)
    assert set(codes) <= {200, 1046}, codes  # 1046: the position was already closed
    assert codes[200] >= 10

    engine = make_engine(postgres_database)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(t.positions)).all()
            fills = conn.execute(select(t.fills)).all()
            balances = dict(conn.execute(select(t.accounts.c.uid, t.accounts.c.balance)).all())
            shares = conn.execute(select(t.profit_shares)).all()
    finally:
        engine.dispose()

    assert len(balances) == 1 + FOLLOWERS
    close_fills = Counter(f.sub_position_id for f in fills if f.offset == "close")
    for p in rows:
        assert close_fills[p.sub_position_id] == (0 if p.is_open else 1), p
        assert p.volume >= 0
    assert all(f.volume > 0 for f in fills)
    by_id = {p.sub_position_id: p for p in rows}
    for p in rows:
        if p.lead_sub_position_id is not None and p.is_open:
            assert by_id[p.lead_sub_position_id].is_open, "a copy outlived its lead"
    assert any(not p.is_open for p in rows)
    assert any(p.lead_uid is not None for p in rows)  # the followers really copied

    for uid, balance in balances.items():
        mine = [p for p in rows if p.uid == uid]
        fees = sum((f.fee for f in fills if f.uid == uid), Decimal(0))
        shares_in = sum((s.amount for s in shares if s.trader_uid == uid), Decimal(0))
        shares_out = sum((s.amount for s in shares if s.follower_uid == uid), Decimal(0))
        start = START_TRADER if uid == trader["uid"] else START_FOLLOWER
        assert balance == _expected_balance(start, fees, mine, shares_in, shares_out), uid


def test_users_created_at_once_on_two_processes_get_distinct_uids(
    servers: list[ServerProcess],
) -> None:
    def create(i: int) -> int:
        reply = servers[i % 2].admin("/_sim/users", {"role": "follower", "balance": "1"})
        return int(reply["uid"])

    with ThreadPoolExecutor(max_workers=16) as pool:
        uids = list(pool.map(create, range(40)))
    assert len(set(uids)) == 40


def test_followers_added_by_the_other_process_mid_trading_are_closed_with_their_lead(
    servers: list[ServerProcess], postgres_database: str
) -> None:
    """Each process keeps a trader's follows between commands (checked by row version): a
    follower added through the other process must be copied and closed like the rest."""
    a = servers[0]
    trader = a.admin("/_sim/users", {"role": "trader", "balance": str(START_TRADER)})
    first = a.admin(
        "/_sim/followers/bulk",
        {"trader_uid": trader["uid"], "count": 1, "balance": str(START_FOLLOWER), "ratio": "1"},
    )
    close_all = {"contract_code": "BTC-USDT", "margin_mode": "cross", "position_side": "long"}

    def fire(i: int) -> int:
        server = servers[i % 2]
        if i % 5 == 4:  # a new follower, through either process, while orders fly
            server.admin(
                "/_sim/followers/bulk",
                {"trader_uid": trader["uid"], "count": 1, "balance": "100000", "ratio": "1"},
            )
            return 200
        path, body = (CLOSE_ALL, close_all) if i % 5 == 3 else (PLACE, _order("cross", "1"))
        return int(server.signed_post(client, trader, path, body).json()["code"])

    with httpx.Client(timeout=60) as client, ThreadPoolExecutor(8) as pool:
        codes = set(pool.map(fire, range(40)))
        assert codes <= {200, 1046}, codes
        # one last close through each process: whatever either kept, nothing may stay open
        for server in servers:
            reply = server.signed_post(client, trader, CLOSE_ALL, close_all).json()
            assert reply["code"] in (200, 1046), reply

    engine = make_engine(postgres_database)
    try:
        with engine.connect() as conn:
            f = t.follows
            followers = [
                uid
                for (uid,) in conn.execute(
                    select(f.c.follower_uid).where(f.c.trader_uid == trader["uid"])
                )
            ]
            p = t.positions
            owners = [trader["uid"], *followers]
            rows = conn.execute(select(p).where(p.c.uid.in_(owners))).all()
    finally:
        engine.dispose()
    assert len(followers) == 1 + 8  # the first one and one per fifth call
    assert first["uids"][0] in followers
    assert [r for r in rows if r.is_open] == []  # every copy closed with its lead
    copied = {r.uid for r in rows if r.lead_uid is not None}
    assert len(copied) > 1  # followers added mid-way were copied too
