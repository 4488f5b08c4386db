"""18 requests per second per UID over loopback HTTP: 1032 and the ratelimit-* headers (spec §5).

The server places requests in windows by an injected wall clock that the test holds still or
moves, so a burst never straddles a second boundary and no test waits for one.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import httpx
import pytest

from copytrade.service.ports import ApiKey
from copytrade.testing.server import LiveServer

CURRENT = "/copytrading/trader/current_positions"
POSITIONS = "/copytrading/trader/position_positions"
BTC = {"contract_code": "BTC-USDT"}
LIMIT = 18
START_MS = 1_767_225_600_000  # a second boundary (2026-01-01T00:00:00Z)


class HeldClock:
    """A wall clock that stands still until the test moves it."""

    def __init__(self, now_ms: int) -> None:
        self._now = now_ms
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        with self._lock:
            return self._now

    def set(self, now_ms: int) -> None:
        with self._lock:
            self._now = now_ms


@pytest.fixture(scope="module")
def clock() -> HeldClock:
    return HeldClock(START_MS)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    server_on: Callable[..., AbstractContextManager[LiveServer]],
    clock: HeldClock,
) -> Iterator[LiveServer]:
    with server_on(request.param, tmp_path_factory, wall_clock=clock) as server:
        yield server


@pytest.fixture
def window(clock: HeldClock) -> int:
    """Start a fresh window for each test; return its ``ratelimit-reset`` (ms)."""
    clock.set(clock.now_ms() // 1000 * 1000 + 10_000)  # 10 s on: nothing earlier counts
    return clock.now_ms() + 1000


def _send(server: LiveServer, creds: dict[str, Any], path: str = CURRENT) -> httpx.Response:
    return server.signed(creds, "GET", path, params=BTC)


def _assert_headers(reply: httpx.Response, remaining: int, reset: int) -> None:
    assert reply.headers["ratelimit-limit"] == str(LIMIT)
    assert reply.headers["ratelimit-interval"] == "1000"
    assert reply.headers["ratelimit-remaining"] == str(remaining)
    assert reply.headers["ratelimit-reset"] == str(reset)


def test_the_19th_request_in_one_second_is_1032_and_another_uid_is_unaffected(
    server: LiveServer, window: int
) -> None:
    busy = server.create_user("trader")
    other = server.create_user("trader")
    mine = [_send(server, busy) for _ in range(LIMIT + 2)]
    others = _send(server, other)

    for used, reply in enumerate(mine[:LIMIT], start=1):
        assert reply.status_code == 200
        assert reply.json()["code"] == 200
        _assert_headers(reply, LIMIT - used, window)
    for over in mine[LIMIT:]:
        assert over.status_code == 200
        body = over.json()
        assert list(body) == ["code", "msg", "data", "tid", "success"]
        assert body["code"] == 1032
        assert body["msg"] == "Maximum number of access attempts exceeded."
        assert body["data"] is None
        assert body["success"] is False
        _assert_headers(over, 0, window)
    assert others.json()["code"] == 200
    _assert_headers(others, LIMIT - 1, window)


def test_every_copytrading_path_shares_one_budget_and_it_resets_with_the_window(
    server: LiveServer, clock: HeldClock, window: int
) -> None:
    creds = server.create_user("trader")
    replies = [_send(server, creds, (CURRENT, POSITIONS)[i % 2]) for i in range(LIMIT)]
    replies.append(server.signed(creds, "POST", "/copytrading/trader/place_order", body={}))
    replies.append(_send(server, creds))
    assert [r.json()["code"] for r in replies[:LIMIT]] == [200] * LIMIT
    # The over-limit POST is refused before its (empty, invalid) body is even looked at.
    assert replies[LIMIT].json()["code"] == 1032
    assert replies[LIMIT + 1].json()["code"] == 1032

    clock.set(window - 1)  # the last millisecond of the window: still refused
    assert _send(server, creds).json()["code"] == 1032
    clock.set(window)  # the next window
    again = _send(server, creds)
    assert again.json()["code"] == 200
    _assert_headers(again, LIMIT - 1, window + 1000)


def test_two_keys_of_one_uid_share_the_budget(server: LiveServer, window: int) -> None:
    # The admin API makes one key per user; a second key goes in through the server's own
    # unit of work (no new API), as an exchange's key management would add it.
    first = server.create_user("trader")
    second = {"access_key": "ak-" + secrets.token_hex(12), "secret_key": secrets.token_hex(16)}
    with server.services.ctx.uow() as uow:
        uow.users.add_key(
            ApiKey(
                second["access_key"], first["uid"], "HmacSHA256", second["secret_key"], None, True
            )
        )
        uow.commit()
    replies = [_send(server, (first, second)[i % 2]) for i in range(LIMIT + 1)]
    assert [r.json()["code"] for r in replies] == [200] * LIMIT + [1032]
    assert [int(r.headers["ratelimit-remaining"]) for r in replies] == [
        *range(LIMIT - 1, -1, -1),
        0,
    ]
