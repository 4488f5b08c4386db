"""The SDK's admin helper (``copytrade.client.admin.AdminClient``) sets, reads back, changes and
clears every follower setting of spec §8.1 against a real server (issue 13)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from copytrade.client.admin import AdminClient
from copytrade.testing.server import LiveServer


def test_every_follower_setting_goes_through_the_admin_helper(live_server: LiveServer) -> None:
    with AdminClient(live_server.base_url) as admin:
        trader = admin.create_user("trader")
        follower = admin.create_user("follower")
        uid, lead = int(follower["uid"]), int(trader["uid"])

        made = admin.follow(uid, lead, fixed_amount=Decimal("150.5"), tp_ratio=Decimal("0.4"),
                            sl_ratio="0.2", total_stop_loss=75, contracts=["eth-usdt"])  # fmt: skip

        expected: dict[str, Any] = {
            "follower_uid": uid,
            "trader_uid": lead,
            "ratio": "1",
            "mode": "fixed_amount",
            "fixed_amount": "150.5",
            "tp_ratio": "0.4",
            "sl_ratio": "0.2",
            "total_stop_loss": "75",
            "contracts": ["ETH-USDT"],
            "max_slippage": None,
        }
        assert {k: made[k] for k in expected} == expected
        assert admin.follow_of(uid) == expected

        changed = admin.follower_settings(uid, trader_uid=lead, mode="ratio", ratio="0.5",
                                          tp_ratio=None, sl_ratio="0.3", total_stop_loss=None,
                                          contracts=None)  # fmt: skip

        after = {**expected, "ratio": "0.5", "mode": "ratio", "tp_ratio": None, "sl_ratio": "0.3",
                 "total_stop_loss": None, "contracts": None}  # fmt: skip
        assert {k: changed[k] for k in after if k != "fixed_amount"} == {
            k: v for k, v in after.items() if k != "fixed_amount"
        }
        assert (changed["copy_exits"], changed["stopped"]) == (0, False)
        read = admin.follow_of(uid)
        assert {k: read[k] for k in after if k != "fixed_amount"} == {
            k: v for k, v in after.items() if k != "fixed_amount"
        }

        uids = admin.bulk_followers(lead, 2, sl_ratio="0.25", contracts=["BTC-USDT"])
        for other in uids:
            got = admin.follow_of(other)
            assert (got["sl_ratio"], got["contracts"], got["mode"]) == (
                "0.25",
                ["BTC-USDT"],
                "ratio",
            )
