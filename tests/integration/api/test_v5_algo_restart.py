"""Trigger and trailing orders are kept by the store: a server restarted on the same database
shows the resting ones (a trailing order with the extreme it had tracked) and the finished ones,
and fires the resting ones when the mark crosses after the restart."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from copytrade.testing.server import LiveServer
from suite_services import fresh_postgres_database, service_url

ALGO = "/v5/algo/order"


def _data(reply: httpx.Response) -> Any:
    body = reply.json()
    assert (reply.status_code, body["code"]) == (200, 200), body
    return body["data"]


def _algo(side: str, volume: str, **extra: Any) -> dict[str, Any]:
    body = {"contract_code": "ETH-USDT", "margin_mode": "cross", "side": side, "volume": volume}
    return {"type": "market", **body, **extra}


def _shown(server: LiveServer, trader: dict[str, Any]) -> dict[str, Any]:
    return {
        "opens": _data(server.signed(trader, "GET", "/v5/algo/order/opens")),
        "history": _data(server.signed(trader, "GET", "/v5/algo/order/history")),
    }


@contextmanager
def _database(backend: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    if backend == "sqlite":
        yield {"db_path": tmp_path / "algo.db"}
        return
    with fresh_postgres_database(service_url("COPYTRADE_TEST_POSTGRES_URL", "PostgreSQL")) as url:
        yield {"db_url": url, "server_key": secrets.token_hex(32)}


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_algo_orders_survive_a_restart_and_fire_after_it(backend: str, tmp_path: Path) -> None:
    with _database(backend, tmp_path) as where:
        url = where.pop("db_url", None)
        with LiveServer(url, demo_seed=False, **where) as first:
            first.set_price("ETH-USDT", "3000")
            trader = first.create_user("trader", balance="100000")
            follower = first.create_user("follower", balance="100000")
            first.follow(follower["uid"], trader["uid"], "1")
            _data(first.signed(trader, "POST", "/v5/trade/order", body=_algo("buy", "2")))
            trigger = _algo("buy", "1", trigger_price="3500", algo_client_order_id=77)
            _data(first.signed(trader, "POST", ALGO, body=trigger))
            trailing = _algo("sell", "2", callback_rate="0.05", reduce_only=1)
            trailing["type"] = "trailing_stop"
            _data(first.signed(trader, "POST", ALGO, body=trailing))
            (dropped,) = _data(
                first.signed(trader, "POST", ALGO, body=_algo("buy", "1", trigger_price="2000"))
            )
            cancel = [{"contract_code": "ETH-USDT", "algo_id": dropped["algo_id"]}]
            _data(first.signed(trader, "POST", "/v5/algo/cancel_orders", body=cancel))
            first.set_price("ETH-USDT", "3200")  # the trailing order's highest mark
            before = _shown(first, trader)
            first.stop()

        assert [(o["type"], o["extreme_price"]) for o in before["opens"]] == [
            ("trigger", None),
            ("trailing_stop", "3200"),
        ]
        assert before["opens"][0]["algo_client_order_id"] == "77"
        assert [(h["algo_id"], h["state"]) for h in before["history"]] == [
            (dropped["algo_id"], "canceled")
        ]

        with LiveServer(url, demo_seed=False, **where) as second:
            assert _shown(second, trader) == before
            by_client = {"algo_client_order_id": "77", "type": "trigger"}
            (found,) = _data(second.signed(trader, "GET", ALGO, params=by_client))
            assert found["algo_id"] == before["opens"][0]["algo_id"]

            second.set_price("ETH-USDT", "3040")  # 3200 × 0.95: the trailing stop fires
            assert second.user(trader["uid"])["positions"] == []
            assert second.user(follower["uid"])["positions"] == []
            second.set_price("ETH-USDT", "3500")  # the trigger opens, and is copied
            assert [p["volume"] for p in second.user(follower["uid"])["positions"]] == ["1"]
            assert _data(second.signed(trader, "GET", "/v5/algo/order/opens")) == []
