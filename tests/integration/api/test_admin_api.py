"""The emulator's admin API: the clock, and refusals that are clear 4xx, never 500."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from copytrade.bootstrap import ConfigError, bootstrap
from copytrade.config import Settings
from copytrade.testing.server import LiveServer


def test_the_simulation_clock_can_be_frozen_advanced_and_resumed(
    live_server: LiveServer,
) -> None:
    http = live_server.http
    try:
        assert http.post("/_sim/clock", json={"now_ms": 1_719_304_200_000}).json() == {
            "now_ms": 1_719_304_200_000
        }
        assert http.post("/_sim/clock", json={"advance_ms": 60_000}).json() == {
            "now_ms": 1_719_304_260_000
        }
        trader = live_server.create_user("trader", balance="1000")
        opened = live_server.signed(
            trader,
            "POST",
            "/copytrading/trader/place_order",
            body={
                "contract_code": "DOT-USDT",
                "amount": "1",
                "margin_mode": "cross",
                "order_price_type": 17,
                "order_direction": 1,
                "lever": 5,
            },
        ).json()
        assert opened["code"] == 200  # signing uses the real clock, not the simulated one
        (position,) = live_server.user(trader["uid"])["positions"]
        assert position["open_time"] == 1_719_304_260_000
        resumed = http.post("/_sim/clock", json={"now_ms": None}).json()["now_ms"]
        assert resumed >= 1_719_304_260_000
    finally:  # back to real time for the rest of the session
        http.post("/_sim/clock", json={"now_ms": int(time.time() * 1000)})
        http.post("/_sim/clock", json={"now_ms": None})


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/_sim/clock", {"advance_ms": "soon"}),
        ("/_sim/clock", {"now_ms": True}),
        ("/_sim/users", {"role": "admin"}),
        ("/_sim/users", {"balance": "lots"}),
        ("/_sim/users", {"ed25519_public_key": "zz"}),
        ("/_sim/follow", {"follower_uid": "x", "trader_uid": 1}),
        ("/_sim/follow", {"follower_uid": 1, "trader_uid": 1, "ratio": "1"}),
        ("/_sim/followers/bulk", {"trader_uid": 1, "count": 200_000}),
        ("/_sim/markets/NOPE-USDT/price", {"price": "1"}),
        ("/_sim/markets/BTC-USDT/price", {"price": "-5"}),
    ],
)
def test_bad_admin_calls_get_a_clear_client_error(
    live_server: LiveServer, path: str, body: dict[str, object]
) -> None:
    reply = live_server.http.post(path, json=body)
    assert 400 <= reply.status_code < 500, (reply.status_code, reply.text)
    assert reply.json()["error"]


def test_a_configured_admin_token_is_required_even_on_loopback(tmp_path: Path) -> None:
    token = "t-" + "0123456789abcdef" * 2
    with LiveServer(db_path=tmp_path / "a.db", demo_seed=False, admin_token=token) as server:
        refused = server.http.post("/_sim/users", json={"role": "trader"})
        assert refused.status_code == 401
        wrong = server.http.post(
            "/_sim/users", json={"role": "trader"}, headers={"Authorization": "Bearer nope"}
        )
        assert wrong.status_code == 401
        assert token not in refused.text + wrong.text
        made = server.http.post(
            "/_sim/users", json={"role": "trader"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert made.status_code == 200
        assert made.json()["uid"]


def test_the_server_refuses_to_bind_outside_loopback_without_an_admin_token(
    tmp_path: Path,
) -> None:
    settings = Settings(host="0.0.0.0", db_url=f"sqlite:///{tmp_path / 'b.db'}")
    with pytest.raises(ConfigError, match="admin token"):
        bootstrap(settings)


def test_the_demo_trader_exists_only_on_loopback(tmp_path: Path) -> None:
    outside = Settings(
        host="0.0.0.0",
        admin_token="x" * 32,
        db_url=f"sqlite:///{tmp_path / 'c.db'}",
    )
    services = bootstrap(outside)
    try:
        services.executor.submit(services.seed).result(timeout=30)
        with services.ctx.uow() as uow:
            assert uow.users.key("demo-access-key") is None
    finally:
        services.close()
    with LiveServer(db_path=tmp_path / "d.db") as server:  # loopback, demo seed on
        demo = {"access_key": "demo-access-key", "secret_key": "demo-secret-key"}
        reply = server.signed(demo, "GET", "/copytrading/trader/position_list").json()
        assert reply["code"] == 200
