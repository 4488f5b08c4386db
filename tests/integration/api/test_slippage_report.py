"""The follower slippage report: each open lead position's copies against the lead's price."""

from __future__ import annotations

from decimal import Decimal

from copytrade.client.admin import AdminClient
from copytrade.testing.server import LiveServer

PLACE = "/copytrading/trader/place_order"


def test_the_report_lists_each_open_lead_position_with_its_copies(
    live_server: LiveServer,
) -> None:
    server = live_server
    server.set_price("DOT-USDT", "10")
    trader = server.create_user("trader", balance="100000")
    followers = server.admin(
        "/_sim/followers/bulk",
        {"trader_uid": trader["uid"], "count": 12, "balance": "5000", "ratio": "2"},
    )["uids"]
    order = {
        "contract_code": "DOT-USDT",
        "amount": "30",
        "margin_mode": "isolated",
        "order_direction": 2,
        "lever": 5,
        "order_price_type": 17,
    }
    assert server.signed(trader, "POST", PLACE, body=order).json()["code"] == 200

    with AdminClient(server.base_url) as admin:
        report = admin.slippage(trader["uid"])
    assert report["trader_uid"] == trader["uid"]
    (lead,) = report["positions"]
    assert (lead["contract_code"], lead["position_side"], lead["lead_volume"]) == (
        "DOT-USDT",
        "short",
        "30",
    )
    assert lead["copies"] == len(followers)
    # the market maker re-quotes at once (impact off): every copy gets the lead's price
    assert Decimal(lead["mean_bps"]) == 0
    assert lead["worst_bps"] == lead["best_bps"] == "0"
    assert lead["distribution"]["<= 0"] == len(followers)
    assert sum(lead["distribution"].values()) == len(followers)
    assert lead["percentiles"] == {"p50": "0", "p90": "0", "p99": "0"}


def test_a_trader_without_positions_has_an_empty_report_and_an_unknown_uid_is_404(
    live_server: LiveServer,
) -> None:
    trader = live_server.create_user("trader")
    assert live_server.admin_get(f"/_sim/traders/{trader['uid']}/slippage")["positions"] == []
    reply = live_server.http.get("/_sim/traders/999999999/slippage")
    assert (reply.status_code, reply.json()["field"]) == (404, "uid")
