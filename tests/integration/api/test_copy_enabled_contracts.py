"""A contract that exists but is closed to copy trading: 1505 naming the open ones (spec §6.1)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from copytrade.config import ContractSettings
from copytrade.testing.server import LiveServer


def test_an_order_on_a_contract_closed_to_copy_trading_is_refused_with_1505(
    tmp_path: Path,
) -> None:
    contracts = [
        ContractSettings(
            contract_code="BTC-USDT",
            contract_size=Decimal("0.001"),
            price_tick=Decimal("0.1"),
            lever_max=200,
            mark_price=Decimal(60500),
        ),
        ContractSettings(
            contract_code="XRP-USDT",
            contract_size=Decimal(10),
            price_tick=Decimal("0.0001"),
            lever_max=50,
            mark_price=Decimal("0.5"),
            copy_enabled=False,
        ),
    ]
    with LiveServer(db_path=tmp_path / "c.db", demo_seed=False, contracts=contracts) as server:
        trader = server.create_user("trader", balance="10000")
        reply = server.signed(
            trader,
            "POST",
            "/copytrading/trader/place_order",
            body={
                "contract_code": "XRP-USDT",
                "amount": "1",
                "margin_mode": "cross",
                "order_price_type": 17,
                "order_direction": 1,
                "lever": 5,
            },
        ).json()
        assert reply["code"] == 1505
        assert reply["msg"] == (
            "After becoming a trader, only the following trading pairs are allowed to trade:"
            "BTC-USDT"
        )
        assert server.user(trader["uid"])["positions"] == []
