"""``serve --workers 2`` on PostgreSQL: v5 order history and the public trade tape come from the
database, so every worker answers the same whichever one took the orders."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from server_processes import ServerProcess, SharedServer

from copytrade.protocol.signing import Signer, encode_query, format_timestamp

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def served(workers_server: SharedServer) -> ServerProcess:
    """The session's running ``serve --workers 2`` (this module alone trades in it)."""
    return workers_server.get()


def _call(host: str, creds: dict[str, Any], method: str, path: str, **params: Any) -> Any:
    """One signed request on a connection of its own (the kernel picks the worker)."""
    signer = Signer(creds["access_key"], secret_key=creds["secret_key"])
    stamp = format_timestamp(datetime.now(UTC))
    query = {k: str(v) for k, v in params.items()} if method == "GET" else None
    pairs = signer.signed_params(method, host, path, query, timestamp=stamp)
    with httpx.Client(base_url=f"http://{host}", timeout=10) as client:
        url = f"{path}?{encode_query(pairs)}"
        if method == "GET":
            reply = client.get(url)
        else:
            body = json.dumps(params)
            reply = client.post(url, content=body, headers={"content-type": "application/json"})
    body = reply.json()
    assert body["code"] == 200, body
    return body["data"]


def test_every_worker_shows_the_same_history_and_trades(served: ServerProcess) -> None:
    host = served.host
    with httpx.Client(base_url=f"http://{host}", timeout=10) as admin:
        made = admin.post("/_sim/users", json={"role": "trader", "balance": "100000"})
        trader = made.json()
    order = {"contract_code": "BTC-USDT", "margin_mode": "cross", "type": "market"}
    for side, volume in (("buy", "3"), ("sell", "1"), ("buy", "2"), ("sell", "4")):
        _call(host, trader, "POST", "/v5/trade/order", side=side, volume=volume, **order)

    histories, tapes, workers = set(), set(), set()
    for _ in range(16):  # fresh connections: both workers answer some
        history = _call(
            host,
            trader,
            "GET",
            "/v5/trade/order/history",
            contract_code="BTC-USDT",
            margin_mode="cross",
        )
        histories.add(tuple((o["order_id"], o["side"], o["volume"]) for o in history))
        with httpx.Client(base_url=f"http://{host}", timeout=10) as client:
            tape = client.get(
                "/linear-swap-ex/market/history/trade",
                params={"contract_code": "BTC-USDT", "size": "50"},
            ).json()["data"]
            tapes.add(tuple(t["id"] for batch in tape for t in batch["data"]))
            workers.add(client.get("/_sim/health").json()["worker"])
    (history,) = histories
    assert [(side, volume) for _id, side, volume in history] == [
        ("sell", "4"),
        ("buy", "2"),
        ("sell", "1"),
        ("buy", "3"),
    ]
    (tape,) = tapes
    assert len(tape) == 4
    assert len(workers) == 2
