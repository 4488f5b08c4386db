"""18 requests per second per UID over loopback HTTP: 1032 and the ratelimit-* headers (spec §5)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

import httpx

from copytrade.service.ports import ApiKey
from copytrade.testing.server import LiveServer

CURRENT = "/copytrading/trader/current_positions"
POSITIONS = "/copytrading/trader/position_positions"
BTC = {"contract_code": "BTC-USDT"}
LIMIT = 18


def _wait_for_a_fresh_second() -> None:
    """Sleep until just after the next wall-clock second boundary.

    The burst then fits in one window, and nothing sent before it (a check that a key works)
    shares that window.
    """
    time.sleep(1 - time.time() % 1 + 0.005)


def _window(reply: httpx.Response) -> int:
    return int(reply.headers["ratelimit-reset"])


def _in_one_window(
    run: Callable[[], tuple[list[httpx.Response], float, float]],
) -> tuple[list[httpx.Response], float, float]:
    """Run a burst; if it straddled a second boundary (a slow machine), run it once more."""
    for _ in range(2):
        replies, started, ended = run()
        if len({_window(r) for r in replies}) == 1:
            return replies, started, ended
    raise AssertionError("two bursts in a row straddled a second boundary")


def _send(server: LiveServer, creds: dict[str, Any], path: str = CURRENT) -> httpx.Response:
    return server.signed(creds, "GET", path, params=BTC)


def _assert_headers(reply: httpx.Response, remaining: int) -> None:
    assert reply.headers["ratelimit-limit"] == str(LIMIT)
    assert reply.headers["ratelimit-interval"] == "1000"
    assert reply.headers["ratelimit-remaining"] == str(remaining)


def test_the_19th_request_in_one_second_is_1032_and_another_uid_is_unaffected(
    live_server: LiveServer,
) -> None:
    def burst() -> tuple[list[httpx.Response], float, float]:
        busy = live_server.create_user("trader")
        other = live_server.create_user("trader")
        _wait_for_a_fresh_second()
        started = time.time()
        replies = [_send(live_server, busy) for _ in range(LIMIT + 2)]
        replies.append(_send(live_server, other))
        return replies, started, time.time()

    replies, started, ended = _in_one_window(burst)
    *mine, others = replies
    for used, reply in enumerate(mine[:LIMIT], start=1):
        assert reply.status_code == 200
        assert reply.json()["code"] == 200
        _assert_headers(reply, LIMIT - used)
    for over in mine[LIMIT:]:
        assert over.status_code == 200
        body = over.json()
        assert list(body) == ["code", "msg", "data", "tid", "success"]
        assert body["code"] == 1032
        assert body["msg"] == "Maximum number of access attempts exceeded."
        assert body["data"] is None
        assert body["success"] is False
        _assert_headers(over, 0)
    reset = _window(mine[0])
    assert reset % 1000 == 0
    assert started * 1000 < reset <= ended * 1000 + 1000
    assert others.json()["code"] == 200
    _assert_headers(others, LIMIT - 1)
    assert _window(others) == reset


def test_every_copytrading_path_shares_one_budget_and_it_resets_with_the_window(
    live_server: LiveServer,
) -> None:
    users: list[dict[str, Any]] = []

    def burst() -> tuple[list[httpx.Response], float, float]:
        creds = live_server.create_user("trader")
        users.append(creds)
        _wait_for_a_fresh_second()
        started = time.time()
        replies = [_send(live_server, creds, (CURRENT, POSITIONS)[i % 2]) for i in range(LIMIT)]
        replies.append(
            live_server.signed(creds, "POST", "/copytrading/trader/place_order", body={})
        )
        replies.append(_send(live_server, creds))
        return replies, started, time.time()

    replies, _, _ = _in_one_window(burst)
    assert [r.json()["code"] for r in replies[:LIMIT]] == [200] * LIMIT
    # The over-limit POST is refused before its (empty, invalid) body is even looked at.
    assert replies[LIMIT].json()["code"] == 1032
    assert replies[LIMIT + 1].json()["code"] == 1032
    reset_ms = _window(replies[0])
    time.sleep(max(0.0, reset_ms / 1000 - time.time()) + 0.01)
    again = _send(live_server, users[-1])
    assert again.json()["code"] == 200
    assert _window(again) > reset_ms
    _assert_headers(again, LIMIT - 1)


def test_two_keys_of_one_uid_share_the_budget(live_server: LiveServer) -> None:
    # The admin API makes one key per user; a second key goes in through the server's own
    # unit of work (no new API), as an exchange's key management would add it.
    def burst() -> tuple[list[httpx.Response], float, float]:
        first = live_server.create_user("trader")
        second = {"access_key": "ak-" + secrets.token_hex(12), "secret_key": secrets.token_hex(16)}
        with live_server.services.ctx.uow() as uow:
            uow.users.add_key(
                ApiKey(
                    second["access_key"],
                    first["uid"],
                    "HmacSHA256",
                    second["secret_key"],
                    None,
                    True,
                )
            )
            uow.commit()
        assert _send(live_server, second).json()["code"] == 200  # the new key works
        _wait_for_a_fresh_second()
        started = time.time()
        replies = [_send(live_server, (first, second)[i % 2]) for i in range(LIMIT + 1)]
        return replies, started, time.time()

    replies, _, _ = _in_one_window(burst)
    assert [r.json()["code"] for r in replies] == [200] * LIMIT + [1032]
    assert [int(r.headers["ratelimit-remaining"]) for r in replies] == [
        *range(LIMIT - 1, -1, -1),
        0,
    ]
