"""The throttle under late arrivals, in virtual time: no 1032 when requests reach the server late.

A small discrete-event simulation drives :func:`copytrade.client._core.exchange` flows (the
code both clients run) against a fake server that counts 18 requests per epoch-aligned window
the way spec §5.4 says, at the moment each request *reaches* it. Every request can be given a
delay between leaving the client and being counted (CPU starvation, a queue in the server):
a request sent for window W near its end is then counted in W+1. Nothing sleeps; both of the
bucket's clocks read the virtual clock.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sdk_fakes import ACCESS_KEY, FIXED_NOW, SECRET_KEY, Recorder, envelope

from copytrade.client import Client, HmacAuth, RateLimit, TokenBucket, _core, builders
from copytrade.client.builders import PreparedRequest
from copytrade.client.errors import RateLimitExceeded, TransportError

_NS = 1_000_000
_LIMIT = 18


@dataclass
class Simulation:
    """Virtual time, a fake windowed server and the flows it drives."""

    delay_ms: Callable[[int], int] = lambda n: 0  # n-th request (0-based) -> ms to reach server
    drop: Callable[[int], bool] = lambda n: False  # n-th request fails in transit (no reply)
    now_ms: int = 0
    counted: dict[int, int] = field(default_factory=dict)  # server window end -> requests
    refused: int = 0
    finished: list[Any] = field(default_factory=list)
    sent: int = 0
    _queue: list[tuple[int, int, Callable[[], None]]] = field(default_factory=list)
    _seq: int = 0

    def bucket(self, rate: int = _LIMIT, capacity: int | None = None) -> TokenBucket:
        # capacity above rate: the window alone paces, not the spacing of the tokens
        return TokenBucket(
            rate,
            capacity=capacity,
            clock_ns=lambda: self.now_ms * _NS,
            wall_ms=lambda: self.now_ms,
        )

    def at(self, when: int, what: Callable[[], None]) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (when, self._seq, what))

    def start(
        self, when: int, limiter: TokenBucket, prepared: PreparedRequest[Any] | None = None
    ) -> None:
        settings = _core.Settings(
            endpoint=_core.Endpoint.from_base_url("http://127.0.0.1:8080"),
            signer=HmacAuth(ACCESS_KEY, SECRET_KEY).signer(),
            clock=lambda: FIXED_NOW,
            limiter=limiter,
            retry_rate_limited_gets=0,
        )
        flow = _core.exchange(prepared or builders.position_list(), settings)
        self.at(when, lambda: self._step(flow, None))

    def run(self) -> None:
        while self._queue:
            when, _, what = heapq.heappop(self._queue)
            self.now_ms = when
            what()

    def _step(self, flow: _core.Flow[Any], result: httpx.Response | None) -> None:
        try:
            action = flow.send(result)
        except StopIteration as done:
            self.finished.append(done.value)
            return
        except RateLimitExceeded as exc:
            self.finished.append(exc)
            return
        if isinstance(action, _core.Sleep):
            self.at(self.now_ms + action.ms, lambda: self._step(flow, None))
            return
        n = self.sent
        self.sent += 1
        if self.drop(n):
            self.at(self.now_ms + 1, lambda: self._fail(flow))
            return
        arrives = self.now_ms + self.delay_ms(n)
        # counted when it reaches the server; the reply is back 1 ms later
        self.at(arrives, lambda: self._count(flow, arrives))

    def _fail(self, flow: _core.Flow[Any]) -> None:
        try:
            flow.throw(TransportError("lost"))
        except TransportError as exc:
            self.finished.append(exc)

    def _count(self, flow: _core.Flow[Any], arrives: int) -> None:
        end = (arrives // 1000 + 1) * 1000
        used = self.counted.get(end, 0) + 1
        self.counted[end] = used
        headers = {
            "content-type": "application/json",
            "ratelimit-limit": str(_LIMIT),
            "ratelimit-interval": "1000",
            "ratelimit-remaining": str(max(0, _LIMIT - used)),
            "ratelimit-reset": str(end),
        }
        if used > _LIMIT:
            self.refused += 1
            body: Any = {"code": 1032, "msg": "Maximum number of access attempts exceeded.",
                         "data": None, "tid": "0" * 32, "success": False}  # fmt: skip
        else:
            body = envelope([])
        reply = httpx.Response(200, content=json.dumps(body).encode(), headers=headers)
        self.at(arrives + 1, lambda: self._step(flow, reply))


def test_requests_counted_in_the_next_window_do_not_overfill_it() -> None:
    # 25 calls at 990 ms: 18 go at once for window [0, 1000) but reach the server 20 ms late,
    # in [1000, 2000), where the 7 others are due too. The bucket must not send those 7
    # while the 18 may still be counted there.
    sim = Simulation(delay_ms=lambda n: 20 if n < 18 else 0)
    bucket = sim.bucket()
    for _ in range(25):
        sim.start(990, bucket)
    sim.run()

    assert sim.refused == 0
    assert all(not isinstance(r, BaseException) for r in sim.finished)
    assert len(sim.finished) == 25
    assert max(sim.counted.values()) <= _LIMIT


def test_a_late_request_is_charged_to_the_window_its_reply_names() -> None:
    # callers keep coming (100/s, more than the budget) for three windows and every request
    # reaches the server 40 ms after it leaves: no window may see more than 18
    sim = Simulation(delay_ms=lambda n: 40)
    bucket = sim.bucket()
    for i in range(60):
        sim.start(970 + i * 10, bucket)
    sim.run()

    assert sim.refused == 0
    assert max(sim.counted.values()) <= _LIMIT


def test_no_throughput_is_lost_when_requests_arrive_on_time() -> None:
    # 36 calls at 990 ms without delay: 18 in [0, 1000), the other 18 spaced by the bucket
    # over [1000, 2000)
    sim = Simulation()
    bucket = sim.bucket()
    for _ in range(36):
        sim.start(990, bucket)
    sim.run()

    assert sim.refused == 0
    assert sim.counted == {1000: 18, 2000: 18}
    assert sim.now_ms < 2000


def test_a_request_lost_in_transit_frees_its_place_in_later_windows() -> None:
    # 18 sent at 990 ms and all lost (no reply): they may have been counted anywhere up to the
    # failure, so they hold [0, 1000) only; the next window still takes 18
    sim = Simulation(drop=lambda n: n < 18)
    bucket = sim.bucket()
    for _ in range(36):
        sim.start(990, bucket)
    sim.run()

    assert sim.refused == 0
    assert sum(isinstance(r, TransportError) for r in sim.finished) == 18
    assert sim.counted == {2000: 18}


def _headers(reset: int, remaining: int) -> RateLimit:
    return RateLimit(limit=2, interval=1000, remaining=remaining, reset=reset)


def test_admit_waits_for_replies_that_may_still_be_counted_in_its_window() -> None:
    sim = Simulation()
    bucket = sim.bucket(rate=2, capacity=4)
    sim.now_ms = 990
    first, wait_first = bucket.acquire()
    second, wait_second = bucket.acquire()
    assert (wait_first, bucket.admit(first), wait_second, bucket.admit(second)) == (0, 0, 0, 0)
    third, wait = bucket.acquire()
    assert wait == 15  # [0, 1000) is full: due when [1000, 2000) opens, +5 ms
    sim.now_ms = 1005
    # both requests are still in flight and may yet be counted in [1000, 2000)
    assert bucket.admit(third) == 5
    bucket.release(first, _headers(reset=1000, remaining=1))  # counted on time
    assert bucket.admit(third) == 0  # one place is certain now
    # the second was counted late, in [1000, 2000): that window is full
    bucket.release(second, _headers(reset=2000, remaining=1))
    fourth, wait = bucket.acquire()
    assert wait == 2000 - 1005 + 5
    assert fourth.window == 3000


def test_the_server_remaining_counts_other_clients_of_the_uid() -> None:
    sim = Simulation()
    bucket = sim.bucket(rate=18)
    sim.now_ms = 10_200
    ticket, _ = bucket.acquire()
    assert bucket.admit(ticket) == 0
    # another client of the UID used 15 places: our reply says 2 left
    bucket.release(ticket, RateLimit(limit=18, interval=1000, remaining=2, reset=11_000))
    places = [bucket.acquire() for _ in range(3)]
    assert [wait for _, wait in places] == [0, 0, 11_000 - 10_200 + 5]


def test_a_failed_send_gives_its_place_back(
    make_client: Callable[..., Client], recorder: Recorder
) -> None:
    sim = Simulation()
    sim.now_ms = 500
    bucket = sim.bucket(rate=1, capacity=2)
    sleeps: list[int] = []

    def sleep(ms: int) -> None:
        assert len(sleeps) < 10, f"still waiting after {sleeps}"
        sleeps.append(ms)
        sim.now_ms += ms

    recorder.fail(httpx.ConnectError("refused"))
    recorder.reply(envelope(["BTC-USDT"]))
    client = make_client(rate_limiter=bucket, sleep=sleep)
    with pytest.raises(TransportError):
        client.query_contract()
    # the lost request holds the window it failed in, and no later one
    assert client.query_contract() == ("BTC-USDT",)
    assert sleeps == [505]


def test_the_bucket_counts_the_1032_replies_its_clients_receive(
    make_client: Callable[..., Client], recorder: Recorder
) -> None:
    sim = Simulation()
    bucket = sim.bucket()
    recorder.reply(
        {"code": 1032, "msg": "Maximum number of access attempts exceeded.", "data": None,
         "tid": "0" * 32, "success": False},
        headers={"ratelimit-remaining": "0"},
    )  # fmt: skip
    recorder.reply(envelope(["BTC-USDT"]))
    client = make_client(rate_limiter=bucket, sleep=lambda ms: None)
    with pytest.raises(RateLimitExceeded):
        client.query_contract()
    assert client.query_contract() == ("BTC-USDT",)
    assert bucket.refusals == 1
