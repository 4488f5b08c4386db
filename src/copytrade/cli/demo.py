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


TRADER_BALANCE = Decimal(10_000)
FOLLOWER_BALANCE = Decimal(5_000)
COLUMNS = ("role", "uid", "ratio", "volume", "start", "gross PnL", "fees", "profit share",
           "balance")  # fmt: skip


def _sum(items: list[dict[str, Any]], key: str) -> Decimal:
    return sum((Decimal(item[key]) for item in items), Decimal(0))


def _row(http: httpx.Client, role: str, uid: int, ratio: str, start: Decimal) -> list[str]:
    """One user's figures; ``start + gross - fees + share == balance`` exactly."""
    view = http.get(f"/_sim/users/{uid}").json()
    closed = view["closed_positions"]
    fees = _sum(view["fills"], "fee")
    # a sub position's ``profit`` is net of its open and close fees
    gross = _sum(closed, "profit") + _sum(closed, "open_fee") + _sum(closed, "close_fee")
    share = _sum(view["profit_shares_received"], "amount") - _sum(
        view["profit_shares_paid"], "amount"
    )
    cells = [role, str(uid), ratio, f"{_sum(closed, 'volume'):f}", f"{start:f}"]
    cells += [f"{gross:f}", f"{fees:f}", f"{share:+f}", f"{Decimal(view['balance']):f}"]
    return cells


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(COLUMNS)]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(COLUMNS, widths, strict=True)))]  # fmt: skip
    for row in rows:
        lines.append(
            "  ".join(
                c.ljust(w) if i < 2 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return "\n".join(lines)


@click.command()
def demo() -> None:
    """Run a server in-process: a trader and three followers open, the price moves, close all."""
    from copytrade.client import Client, HmacAuth, MarginMode, OrderDirection, OrderPriceType
    from copytrade.client import PositionSide as Side

    with tempfile.TemporaryDirectory() as tmp:
        server = LiveServer(db_path=Path(tmp) / "demo.db", demo_seed=False).start()
        try:
            with httpx.Client(base_url=server.base_url, timeout=30) as http:
                trader = _admin(
                    http, "/_sim/users", {"role": "trader", "balance": str(TRADER_BALANCE)}
                )
                followers = []
                for ratio in ("1", "0.5", "2"):
                    f = _admin(
                        http,
                        "/_sim/users",
                        {"role": "follower", "balance": str(FOLLOWER_BALANCE)},
                    )
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
                rows = [("trader", trader["uid"], "-", TRADER_BALANCE)]
                rows += [("follower", uid, ratio, FOLLOWER_BALANCE) for uid, ratio in followers]
                click.echo(
                    _table(
                        [_row(http, role, uid, ratio, start) for role, uid, ratio, start in rows]
                    )
                )
                click.echo(
                    "\nbalance = start + gross PnL - fees + profit share (received by the "
                    "trader: 10% of each\nfollower's net profit; paid by the followers)"
                )
        finally:
            server.close()
