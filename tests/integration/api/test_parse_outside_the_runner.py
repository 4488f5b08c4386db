"""A request's parameters are parsed before its use case joins a commit group.

Two requests that arrive together run in one SQLite commit group. A request whose parameters
make the parser fail (here with an error the parser did not foresee) must fail alone: the
other request of the group commits and answers as if it had been sent alone.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from copytrade.api.app import create_app
from copytrade.bootstrap import bootstrap
from copytrade.config import Settings
from copytrade.protocol.signing import Signer, encode_query, format_timestamp
from copytrade.service import sim

HOST = "127.0.0.1:8080"
P = "/copytrading/trader/"
ORDER = {"contract_code": "BTC-USDT", "amount": "1", "margin_mode": "cross",
         "order_price_type": 17, "order_direction": 1, "lever": 10}  # fmt: skip


async def _call(
    app: Any, creds: Any, method: str, path: str, params: dict[str, str], body: Any = None
) -> dict[str, Any]:
    signer = Signer(creds.access_key, secret_key=creds.secret_key)
    stamp = format_timestamp(datetime.now(UTC))
    pairs = signer.signed_params(method, HOST, path, params or None, timestamp=stamp)
    query = encode_query(pairs).encode()
    headers = [(b"host", HOST.encode())]
    scope = {"type": "http", "method": method, "path": path, "query_string": query,
             "headers": headers}  # fmt: skip
    payload = json.dumps(body).encode() if body is not None else b""
    replies: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": payload, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            replies.append(message["body"])

    await app(scope, receive, send)
    return dict(json.loads(replies[0]))


def test_a_request_failing_to_parse_does_not_fail_the_rest_of_its_group(tmp_path: Path) -> None:
    services = bootstrap(
        Settings(
            host="127.0.0.1", port=8080, db_url=f"sqlite:///{tmp_path / 'g.db'}", demo_seed=False
        )
    )
    app = create_app(services, seed_on_start=False)

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        await services.run(services.seed)

        def trader() -> Any:
            return sim.create_user(services.ctx, "trader", Decimal(100000), True, None)

        good, poison = await services.run(trader), await services.run(trader)
        for creds in (good, poison):  # load both keys first: nothing else awaits below
            assert (await _call(app, creds, "GET", P + "position_list", {}))["code"] == 200
        # both start in one loop iteration, so both would run in one commit group
        order = _call(app, good, "POST", P + "place_order", {}, ORDER)
        bad = _call(app, poison, "GET", P + "current_positions",
                    {"contract_code": "BTC-USDT", "start_time": "--1"})  # fmt: skip
        placed, refused = await asyncio.gather(order, bad)
        return placed, refused

    try:
        placed, refused = asyncio.run(scenario())
        assert placed["code"] == 200, placed
        assert placed["data"] is True
        assert refused["success"] is False
        with services.ctx.uow() as uow:
            assert uow.markets.marks()  # the database still answers
    finally:
        services.close()
