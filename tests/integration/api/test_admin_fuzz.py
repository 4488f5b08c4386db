"""Any JSON sent to any admin call is answered below 500 (issue 12: ~100 in 5,000 fuzzed admin
requests gave 500 before the typed models).

The fuzz moves marks and the clock at random, so it runs on a server of its own, never on the
session's shared ``live_server``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copytrade.testing.server import LiveServer

CALLS = [
    ("POST", "/_sim/users"),
    ("POST", "/_sim/follow"),
    ("POST", "/_sim/followers/bulk"),
    ("POST", "/_sim/markets/BTC-USDT/price"),
    ("POST", "/_sim/clock"),
    ("GET", "/_sim/users/{value}"),
]
FIELDS = [
    "role",
    "balance",
    "permissions",
    "ed25519_public_key",
    "profit_share_ratio",
    "follower_uid",
    "trader_uid",
    "ratio",
    "count",
    "price",
    "advance_ms",
    "now_ms",
]
_numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, -1, 2**63 - 1, 2**63, 2**64, 10**19]),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
)
_values = st.one_of(
    st.none(),
    st.booleans(),
    _numbers,
    st.text(max_size=70),
    st.sampled_from(["00" * 32, "trader", "follower", "read", "1e19", "-0", "0.01", " 1"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server only this module's fuzz touches."""
    db = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    with LiveServer(db_path=db, demo_seed=False) as server:
        yield server


def _raw(value: Any) -> str:
    # percent-encoded, so control characters and separators reach the server as sent
    text = value if isinstance(value, str) else json.dumps(value)
    return quote(text[:80], safe="") or "x"


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)
@given(
    call=st.sampled_from(CALLS),
    body=st.dictionaries(st.sampled_from(FIELDS), _values, max_size=4),
)
def test_no_admin_call_answers_500(
    fuzzed_server: LiveServer, call: tuple[str, str], body: dict[str, Any]
) -> None:
    _method, path = call
    if "{value}" in path:
        reply = fuzzed_server.http.get(path.format(value=_raw(body.get("follower_uid", body))))
    else:
        reply = fuzzed_server.http.post(path, json=body)
    assert reply.status_code < 500, (call, body, reply.text)
    if reply.status_code >= 400 and reply.headers["content-type"] == "application/json":
        assert "Traceback" not in reply.text


SETTINGS = ["trader_uid", "ratio", "mode", "fixed_amount", "tp_ratio", "sl_ratio",
            "total_stop_loss", "contracts"]  # fmt: skip
_setting_values = st.one_of(
    _values,
    st.sampled_from(["ratio", "fixed_amount", "0.5", "100", "1e-30"]),
    st.lists(st.sampled_from(["BTC-USDT", "eth-usdt", "", "NOPE", "x" * 40]), max_size=3),
)


@pytest.fixture(scope="module")
def follower_uid(fuzzed_server: LiveServer) -> int:
    trader = fuzzed_server.create_user("trader")
    follower = fuzzed_server.create_user("follower")
    fuzzed_server.follow(follower["uid"], trader["uid"])
    return int(follower["uid"])


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    database=None,
)
@given(body=st.dictionaries(st.sampled_from(SETTINGS), _setting_values, max_size=4))
def test_no_follower_settings_change_answers_500_or_breaks_the_follow(
    fuzzed_server: LiveServer, follower_uid: int, body: dict[str, Any]
) -> None:
    reply = fuzzed_server.http.patch(f"/_sim/users/{follower_uid}/follow", json=body)
    assert reply.status_code in (200, 400, 409), (body, reply.text)
    if reply.status_code >= 400:
        assert reply.json()["field"] in (*SETTINGS, None), (body, reply.text)
    shown = fuzzed_server.http.get(f"/_sim/users/{follower_uid}/follow")
    assert shown.status_code == 200, shown.text  # no market moved: nothing can stop the follow
    if reply.status_code == 200:
        assert shown.json() == {
            k: v for k, v in reply.json().items() if k not in ("copy_exits", "stopped",
                                                               "copies_stopped")
        }  # fmt: skip
