"""``/metrics`` scraped from a live server and parsed by prometheus_client; health and ready."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from copytrade.adapters.db.engine import head_revision
from copytrade.client import (
    Client,
    HmacAuth,
    MarginMode,
    OrderDirection,
    OrderPriceType,
    PositionSide,
    RateLimitExceeded,
)
from copytrade.testing.server import LiveServer

PLACE = "/copytrading/trader/place_order"
POSITIONS = "/copytrading/trader/position_list"


def scrape(server: Any, headers: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    reply = httpx.get(f"{server.base_url}/metrics", headers=headers, timeout=10)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(reply.text)}
    return families


def value(families: dict[str, Any], sample: str, **labels: str) -> float:
    name = sample.removesuffix("_total").removesuffix("_count").removesuffix("_sum")
    for family_name, family in families.items():
        if not name.startswith(family_name):
            continue
        for s in family.samples:
            if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


def client_for(server: Any, creds: dict[str, Any]) -> Client:
    return Client(server.base_url, HmacAuth(creds["access_key"], creds["secret_key"]))


def open_long(client: Client, amount: str) -> None:
    client.place_order(
        contract_code="BTC-USDT",
        amount=Decimal(amount),
        margin_mode=MarginMode.CROSS,
        order_price_type=OrderPriceType.MARKET,
        order_direction=OrderDirection.BUY,
        lever=10,
    )


def test_metrics_count_requests_copies_skips_commits_and_trader_gauges(
    live_server: Any,
) -> None:
    before = scrape(live_server)
    trader = live_server.create_user("trader", balance="100000")
    rich = live_server.create_user("follower", balance="100000")
    poor = live_server.create_user("follower", balance="1")
    live_server.follow(rich["uid"], trader["uid"])
    live_server.follow(poor["uid"], trader["uid"])
    uid = str(trader["uid"])
    with client_for(live_server, trader) as client:
        open_long(client, "20")
        opened = scrape(live_server)
        assert value(opened, "copytrade_trader_open_positions", uid=uid) == 1
        assert value(opened, "copytrade_trader_followers", uid=uid) == 2
        client.close_all_position(
            contract_code="BTC-USDT", margin_mode=MarginMode.CROSS, position_side=PositionSide.LONG
        )
    after = scrape(live_server)

    def grew(sample: str, **labels: str) -> float:
        return value(after, sample, **labels) - value(before, sample, **labels)

    assert grew("copytrade_requests_total", endpoint=PLACE, code="200") == 1
    assert grew("copytrade_request_seconds_count", endpoint=PLACE) == 1
    assert grew("copytrade_request_seconds_sum", endpoint=PLACE) > 0
    assert grew("copytrade_copy_fan_out_followers_count", kind="open") == 1
    assert grew("copytrade_copy_fan_out_followers_sum", kind="open") == 2
    assert grew("copytrade_copy_fan_out_followers_count", kind="close") == 1
    assert grew("copytrade_copy_fan_out_seconds_count", kind="open") == 1
    assert grew("copytrade_copies_skipped_total", reason="insufficient_margin") == 1
    assert value(after, "copytrade_trader_open_positions", uid=uid) == 0
    if live_server.db_url.startswith("sqlite"):
        assert grew("copytrade_commit_group_calls_count") >= 2
        assert grew("copytrade_commit_seconds_count") >= 2


def test_rate_limit_refusals_are_counted(tmp_path: Path) -> None:
    with LiveServer(db_path=tmp_path / "rl.db", demo_seed=False, rate_limit_per_second=1) as server:
        trader = server.create_user("trader")
        refused = 0
        with client_for(server, trader) as client:
            for _ in range(6):
                try:
                    client.position_list()
                except RateLimitExceeded:
                    refused += 1
        after = scrape(server)
    assert refused > 0
    assert value(after, "copytrade_rate_limit_refusals_total", endpoint=POSITIONS) == refused
    assert value(after, "copytrade_requests_total", endpoint=POSITIONS, code="1032") == refused
    assert value(after, "copytrade_requests_total", endpoint=POSITIONS, code="200") == 6 - refused


def test_health_reports_version_store_schema_and_redis(live_server: Any) -> None:
    body = httpx.get(f"{live_server.base_url}/_sim/health", timeout=10).json()
    assert body["status"] == "ok"
    assert body["version"]
    assert body["store"] in ("sqlite", "postgresql")
    assert body["schema_revision"] == head_revision()
    assert body["redis"] == "not configured"
    assert "worker" in body
    ready = httpx.get(f"{live_server.base_url}/_sim/ready", timeout=10)
    assert ready.status_code == 200
    assert ready.json()["ready"] is True


def test_ready_is_503_when_redis_is_unreachable(tmp_path: Path) -> None:
    with LiveServer(
        db_path=tmp_path / "r.db", demo_seed=False, redis_url="redis://127.0.0.1:9/0"
    ) as server:
        health = httpx.get(f"{server.base_url}/_sim/health", timeout=10)
        ready = httpx.get(f"{server.base_url}/_sim/ready", timeout=10)
    assert health.status_code == 200
    assert health.json()["redis"].startswith("unreachable")
    assert ready.status_code == 503
    assert any(p.startswith("redis unreachable") for p in ready.json()["problems"])


@pytest.mark.redis
def test_health_says_redis_ok_with_a_real_redis(tmp_path: Path, redis_url: str) -> None:
    with LiveServer(db_path=tmp_path / "r.db", demo_seed=False, redis_url=redis_url) as server:
        assert server.admin_get("/_sim/health")["redis"] == "ok"
        assert server.admin_get("/_sim/ready")["ready"] is True


def test_health_ready_and_metrics_need_the_admin_token_when_one_is_set(tmp_path: Path) -> None:
    with LiveServer(db_path=tmp_path / "t.db", demo_seed=False, admin_token="tok") as server:
        for path in ("/_sim/health", "/_sim/ready", "/metrics"):
            assert httpx.get(f"{server.base_url}{path}", timeout=10).status_code == 401
            good = {"authorization": "Bearer tok"}
            assert (
                httpx.get(f"{server.base_url}{path}", headers=good, timeout=10).status_code == 200
            )
        scrape(server, {"authorization": "Bearer tok"})


def test_the_memory_store_reports_trader_gauges_and_its_kind() -> None:
    with LiveServer("memory://", demo_seed=False) as server:
        trader = server.create_user("trader", balance="100000")
        follower = server.create_user("follower", balance="100000")
        server.follow(follower["uid"], trader["uid"])
        with client_for(server, trader) as client:
            open_long(client, "2")
        families = scrape(server)
        uid = str(trader["uid"])
        assert value(families, "copytrade_trader_open_positions", uid=uid) == 1
        assert value(families, "copytrade_trader_followers", uid=uid) == 1
        health = server.http.get("/_sim/health").json()
        assert health["store"] == "memory"
        assert health["database"] == "memory://"
        assert health["schema_revision"] is None
