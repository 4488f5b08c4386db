"""Every served reply shape, byte for byte, against a file recorded before the declarations.

The replies of one fixed scenario (frozen clock, fixed prices) are compared with
``golden/replies.txt``, recorded from the hand-written renderers that the declared structures
replaced: the request ids are blanked and the snowflake ids numbered in order of appearance.
Record again (only for an intended change of the wire): ``COPYTRADE_RECORD_GOLDEN=1 pytest``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import httpx

from copytrade.testing.server import LiveServer

P = "/copytrading/trader/"
GOLDEN = Path(__file__).parent / "golden" / "replies.txt"
_TID = re.compile(r'"tid":"[0-9a-f]{32}"')
_SNOWFLAKE = re.compile(r"\b\d{17,19}\b")


def _normalise(lines: list[str]) -> str:
    seen: dict[str, str] = {}

    def number(match: re.Match[str]) -> str:
        return seen.setdefault(match.group(0), f"ID{len(seen)}")

    return "".join(_SNOWFLAKE.sub(number, _TID.sub('"tid":"T"', line)) + "\n" for line in lines)


def _scenario(s: LiveServer) -> list[str]:
    lines: list[str] = []

    def out(label: str, reply: httpx.Response) -> None:
        lines.append(f"{label} {reply.text}")

    s.admin("/_sim/clock", {"now_ms": 1719300000000})
    t = s.create_user("trader", "100000")
    f = s.create_user("follower", "50000")
    s.follow(f["uid"], t["uid"], "0.5")

    def order(**kw: Any) -> httpx.Response:
        body = {"contract_code": "BTC-USDT", "amount": "20", "margin_mode": "cross",
                "order_price_type": 17, "order_direction": 1, "lever": 10} | kw  # fmt: skip
        return s.signed(t, "POST", P + "place_order", body=body)

    out("place", order())
    out("place", order(margin_mode="isolated", amount="10", lever=5, tp_trigger_price="90000",
                       sl_trigger_price="1000"))  # fmt: skip
    out("place", order(contract_code="ETH-USDT", margin_mode="isolated", amount="7", lever=3,
                       order_direction=2))  # fmt: skip
    s.admin("/_sim/clock", {"advance_ms": 60000})
    s.set_price("BTC-USDT", "61234.5")
    current = s.signed(t, "GET", P + "current_positions", {"contract_code": "BTC-USDT"})
    out("current_positions", current)
    first = json.loads(current.text)["data"]["positions"][-1]["sub_position_id"]
    s.admin("/_sim/clock", {"advance_ms": 60000})
    out("close_order", s.signed(t, "POST", P + "close_order", body={"sub_position_id": first}))
    close_all = {"contract_code": "ETH-USDT", "margin_mode": "isolated", "position_side": "short"}
    out("close_all_position", s.signed(t, "POST", P + "close_all_position", body=close_all))
    for name, params in [
        ("current_positions", {"contract_code": "BTC-USDT"}),
        ("current_positions", {"contract_code": "ETH-USDT", "direct": "next"}),
        ("position_positions", {"contract_code": "BTC-USDT"}),
        ("position_positions", {"contract_code": "ETH-USDT"}),
        ("position_list", {}),
        ("query_followers", {}),
        ("query_followers", {"limit": "1", "direct": "next"}),
        ("current_positions", {"contract_code": "XXX-USDT"}),
        ("current_positions", {"contract_code": "BTC-USDT", "limit": "0"}),
        ("open_orders", {}),
    ]:
        out(name, s.signed(t, "GET", P + name, params))
    out("position_list", s.signed(f, "GET", P + "position_list", {}))
    for user in (t, f):
        out("admin user", s.http.get(f"/_sim/users/{user['uid']}"))
    return lines


def test_every_served_reply_keeps_its_recorded_bytes(tmp_path: Path) -> None:
    with LiveServer(db_path=tmp_path / "golden.db", demo_seed=False) as server:
        got = _normalise(_scenario(server))
    if os.environ.get("COPYTRADE_RECORD_GOLDEN") == "1":
        GOLDEN.write_text(got)
    assert got == GOLDEN.read_text()
