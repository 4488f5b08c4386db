"""Every path of the HTX family answers in HTX's envelope, even with a trailing slash.

It used to answer a 307 redirect (the framework's slash rule) that no HTX client expects.
uvicorn's plain-text 400 for a request it cannot parse never reaches the app: docs/security.md.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from copytrade.testing.server import LiveServer

TID = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/copytrading/trader/place_order/"),
        ("GET", "/copytrading/trader/current_positions/"),
        ("GET", "/copytrading/trader//current_positions"),
        ("GET", "/copytrading/"),
    ],
)
def test_htx_paths_with_a_trailing_slash_answer_in_the_envelope(
    live_server: LiveServer, trader: dict[str, Any], method: str, path: str
) -> None:
    reply = live_server.signed(trader, method, path, {"contract_code": "BTC-USDT"}, body={})
    assert reply.status_code == 404, reply.headers
    assert "location" not in reply.headers
    assert reply.headers["content-type"].startswith("application/json")
    body = reply.json()
    assert list(body) == ["code", "msg", "data", "tid", "success"]
    assert body["code"] == 404
    assert body["success"] is False
    assert TID.fullmatch(body["tid"])
