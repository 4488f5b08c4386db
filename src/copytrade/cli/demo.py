"""``copytrade demo``: the whole story in one command, against an in-process server."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
import httpx

from copytrade.testing.server import LiveServer


def _admin(http: httpx.Client, path: str, body: dict[str, Any]) -> Any:
    reply = http.post(path, json=body)
    reply.raise_for_status()
    return reply.json()


@click.command()
def demo() -> None:
    """Run a server in-process: a trader and three followers open, the price moves, close all."""
    from copytrade.client import Client, HmacAuth, MarginMode, OrderDirection, OrderPriceType
    from copytrade.client import PositionSide as Side

    with tempfile.TemporaryDirectory() as tmp:
        server = LiveServer(db_path=Path(tmp) / "demo.db", demo_seed=False).start()
        try:
            with httpx.Client(base_url=server.base_url, timeout=30) as http:
                trader = _admin(http, "/_sim/users", {"role": "trader", "balance": "10000"})
                followers = []
                for ratio in ("1", "0.5", "2"):
                    f = _admin(http, "/_sim/users", {"role": "follower", "balance": "5000"})
                    _admin(
                        http,
                        "/_sim/follow",
                        {"follower_uid": f["uid"], "trader_uid": trader["uid"], "ratio": ratio},
                    )
                    followers.append((f["uid"], ratio))
                client = Client(
                    server.base_url, HmacAuth(trader["access_key"], trader["secret_key"])
                )
                with client:
                    client.place_order(
                        contract_code="BTC-USDT",
                        amount=Decimal(20),
                        margin_mode=MarginMode.CROSS,
                        order_price_type=OrderPriceType.MARKET,
                        order_direction=OrderDirection.BUY,
                        lever=10,
                    )
                    click.echo("trader opened 20 BTC-USDT cross long at market, lever 10")
                    _admin(http, "/_sim/markets/BTC-USDT/price", {"price": "61500"})
                    click.echo("mark price moved 60500 -> 61500")
                    client.close_all_position(
                        contract_code="BTC-USDT",
                        margin_mode=MarginMode.CROSS,
                        position_side=Side.LONG,
                    )
                    click.echo("close_all_position: done\n")
                rows = [("trader", trader["uid"], "-")]
                rows += [("follower", uid, ratio) for uid, ratio in followers]
                click.echo(
                    f"{'role':<9} {'uid':>9} {'ratio':>5} {'volume':>6} "
                    f"{'realised PnL':>14} {'fees':>10} {'balance':>12}"
                )
                for role, uid, ratio in rows:
                    view = http.get(f"/_sim/users/{uid}").json()
                    closed = view["closed_positions"]
                    pnl = sum(
                        (
                            Decimal(p["profit"]) + Decimal(p["open_fee"]) + Decimal(p["close_fee"])
                            for p in closed
                        ),
                        Decimal(0),
                    )
                    fees = sum((Decimal(f["fee"]) for f in view["fills"]), Decimal(0))
                    volume = sum((Decimal(p["volume"]) for p in closed), Decimal(0))
                    click.echo(
                        f"{role:<9} {uid:>9} {ratio:>5} {volume:>6} {pnl:>14.6f} "
                        f"{fees:>10.6f} {Decimal(view['balance']):>12.6f}"
                    )
        finally:
            server.close()
