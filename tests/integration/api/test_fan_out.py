"""A lead with hundreds of followers: every copy opens and closes, in one transaction each.

On PostgreSQL this many rows go through COPY (``COPY_THRESHOLD``), so both write paths are
covered by the parametrised server.
"""

from __future__ import annotations

from decimal import Decimal

from copytrade.adapters.db.pg_writer import COPY_THRESHOLD
from copytrade.testing.server import LiveServer

FOLLOWERS = COPY_THRESHOLD + 50


def test_close_all_closes_every_copy_of_a_large_following(live_server: LiveServer) -> None:
    server = live_server
    trader = server.create_user("trader", balance="1000000")
    uids = server.admin(
        "/_sim/followers/bulk",
        {
            "trader_uid": trader["uid"],
            "count": FOLLOWERS,
            "balance": "1000",
            "ratio": "1",
        },
    )["uids"]
    assert len(uids) == FOLLOWERS
    opened = server.signed(
        trader,
        "POST",
        "/copytrading/trader/place_order",
        body={
            "contract_code": "DOT-USDT",
            "amount": "3",
            "margin_mode": "isolated",
            "order_price_type": 17,
            "order_direction": 2,
            "lever": 5,
        },
    ).json()
    assert opened["code"] == 200, opened
    server.set_price("DOT-USDT", "9.5")  # the short gains
    closed = server.signed(
        trader,
        "POST",
        "/copytrading/trader/close_all_position",
        body={
            "contract_code": "DOT-USDT",
            "margin_mode": "isolated",
            "position_side": "short",
        },
    ).json()
    assert closed["code"] == 200, closed

    lead = server.user(trader["uid"])
    (lead_row,) = lead["closed_positions"]
    shares = Decimal(0)
    for uid in (uids[0], uids[len(uids) // 2], uids[-1]):
        view = server.user(uid)
        assert view["positions"] == []
        (copy,) = view["closed_positions"]
        assert copy["lead_sub_position_id"] == lead_row["sub_position_id"]
        assert copy["volume"] == "3"
        assert copy["close_type"] == 2
        (paid,) = view["profit_shares_paid"]
        shares += Decimal(paid["amount"])
        fees = sum(Decimal(f["fee"]) for f in view["fills"])
        gross = Decimal(copy["profit"]) + Decimal(copy["open_fee"]) + Decimal(copy["close_fee"])
        assert Decimal(view["balance"]) == Decimal(1000) + gross - fees - Decimal(paid["amount"])
    received = lead["profit_shares_received"]
    assert len(received) == FOLLOWERS
    assert Decimal(lead_row["follow_takes"]) == sum(Decimal(r["amount"]) for r in received)
    assert shares == 3 * Decimal(received[0]["amount"])
