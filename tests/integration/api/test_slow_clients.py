"""Slow clients are cut off: headers, bodies and idle keep-alive connections have deadlines.

Connections trickling their headers or body stayed open for as long as the client liked.
A raw socket plays the slow client against a real server with short deadlines.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from copytrade.testing.server import LiveServer

DEADLINE = 0.5


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    db = tmp_path_factory.mktemp("slow") / "c.db"
    with LiveServer(
        db_path=db,
        demo_seed=False,
        header_timeout_s=DEADLINE,
        body_timeout_s=DEADLINE,
        keep_alive_timeout_s=DEADLINE,
    ) as live:
        yield live


def _connect(server: LiveServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.setblocking(False)
    return sock


def _closed(sock: socket.socket) -> bool:
    """Return whether the server closed the connection (reading whatever it sent first)."""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except (ConnectionResetError, BrokenPipeError):
        return True


def _trickle(sock: socket.socket, chunks: Iterator[bytes], seconds: float) -> float | None:
    """Send a chunk every 50 ms for ``seconds``; return when the server closed, else None."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if _closed(sock):
            return time.monotonic() - start
        try:
            sock.send(next(chunks))
        except (BrokenPipeError, ConnectionResetError):
            return time.monotonic() - start
        time.sleep(0.05)
    return None


def _forever(prefix: bytes, then: bytes) -> Iterator[bytes]:
    yield prefix
    while True:
        yield then


def test_trickled_headers_are_cut_off(server: LiveServer) -> None:
    sock = _connect(server)
    head = b"GET /_sim/ping HTTP/1.1\r\nHost: x\r\n"
    closed_after = _trickle(sock, _forever(head, b"X-Slow: 1\r\n"), 4)
    sock.close()
    assert closed_after is not None, "a connection trickling headers stayed open"
    assert closed_after < DEADLINE + 1.5


def test_a_trickled_body_is_cut_off(server: LiveServer) -> None:
    sock = _connect(server)
    head = b"POST /_sim/ping HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
    closed_after = _trickle(sock, _forever(head, b"x"), 4)
    sock.close()
    assert closed_after is not None, "a connection trickling its body stayed open"
    assert closed_after < DEADLINE + 1.5


def test_a_silent_connection_is_closed(server: LiveServer) -> None:
    sock = _connect(server)
    start = time.monotonic()
    while not _closed(sock) and time.monotonic() - start < 4:
        time.sleep(0.05)
    sock.close()
    assert time.monotonic() - start < DEADLINE + 1.5


def test_an_idle_keep_alive_connection_is_closed(server: LiveServer) -> None:
    sock = _connect(server)
    sock.send(b"GET /_sim/ping HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.1)
    assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    start = time.monotonic()
    while not _closed(sock) and time.monotonic() - start < 4:
        time.sleep(0.05)
    sock.close()
    assert time.monotonic() - start < DEADLINE + 1.5


def test_a_brisk_client_keeps_its_connection_past_the_deadlines(server: LiveServer) -> None:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    start = time.monotonic()
    served = 0
    while time.monotonic() - start < 3 * DEADLINE:
        sock.sendall(b"POST /_sim/ping HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200"), "connection dropped"
        served += 1
        time.sleep(DEADLINE / 5)
    sock.close()
    assert served >= 5


def test_the_defaults_are_a_few_seconds(tmp_path: Path) -> None:
    from copytrade.config import Settings

    settings = Settings(db_url=f"sqlite:///{tmp_path / 'c.db'}")
    for value in (settings.header_timeout_s, settings.body_timeout_s):
        assert 1 <= value <= 10
    assert 1 <= settings.keep_alive_timeout_s <= 10


def test_a_body_cut_off_by_its_deadline_is_never_run(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    import json
    from datetime import UTC, datetime

    from copytrade.protocol.signing import Signer, encode_query, format_timestamp

    trader = server.create_user("trader")
    path = "/copytrading/trader/place_order"
    signer = Signer(trader["access_key"], secret_key=trader["secret_key"])
    pairs = signer.signed_params(
        "POST", server.host, path, None, timestamp=format_timestamp(datetime.now(UTC))
    )
    order = json.dumps(
        {
            "contract_code": "BTC-USDT",
            "amount": "1",
            "margin_mode": "cross",
            "order_price_type": 17,
            "order_direction": 1,
            "lever": 10,
        }
    ).encode()
    head = (
        f"POST {path}?{encode_query(pairs)} HTTP/1.1\r\nHost: {server.host}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(order) + 10}\r\n\r\n"
    ).encode()
    sock = _connect(server)
    sock.send(head + order)  # a whole order, but 10 bytes short of what was announced
    start = time.monotonic()
    while not _closed(sock) and time.monotonic() - start < 4:
        time.sleep(0.05)
    sock.close()
    assert time.monotonic() - start < DEADLINE + 1.5
    assert server.user(int(trader["uid"]))["positions"] == []
    assert "Traceback" not in caplog.text


def _answer(sock: socket.socket, request: bytes) -> bytes:
    """Send ``request`` (the server may refuse it half-way), then read until the server closes."""
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(request)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    return data


def test_an_oversized_request_head_is_answered_431_and_cut_off(server: LiveServer) -> None:
    # httptools caps the URL (~64 KB) but not the headers: 2 MB of them used to be buffered
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    big = b"GET /_sim/ping HTTP/1.1\r\nHost: x\r\nX-Big: "
    sock.sendall(big + b"a" * 100_000 + b"\r\n\r\n")
    assert sock.recv(65536).startswith(b"HTTP/1.1 200")  # large but under the cap: served
    start = time.monotonic()
    reply = _answer(sock, big + b"a" * 2_000_000)  # the server stops parsing at the cap
    assert reply.startswith(b"HTTP/1.1 431 "), reply[:80]
    assert reply.endswith(b"Request line and headers too large (limit 262144 bytes).")
    assert time.monotonic() - start < DEADLINE / 2  # cut at the cap, not at the deadline


def test_a_url_over_the_cap_is_answered_414(server: LiveServer) -> None:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    reply = _answer(sock, b"GET /copytrading/trader/position_list?x=" + b"%C3%A9" * 100_000)
    assert reply.startswith(b"HTTP/1.1 414 "), reply[:80]
    assert b"connection: close" in reply


@pytest.mark.parametrize(
    "request_line",
    [
        b"GET /copytrading/trader/\xc3\xa9 HTTP/1.1",
        b"GET /_sim/\xff HTTP/1.1",
        b"GET /copytrading/trader/position_list?contract_code=\xe9 HTTP/1.1",
        b"G\xc3T / HTTP/1.1",
    ],
)
def test_raw_non_ascii_bytes_in_the_request_line_are_answered_400(
    server: LiveServer, request_line: bytes
) -> None:
    # the fuzzer's finding: such requests must get an answer, however much more the client sends
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    reply = _answer(sock, request_line + b"\r\nHost: x\r\nX-Pad: " + b"p" * 1_000_000)
    assert reply.startswith(b"HTTP/1.1 400 "), reply[:80]
    assert reply.endswith(b"Invalid HTTP request received.")


def test_the_server_serves_on_after_refusing_heads(server: LiveServer) -> None:
    test_an_oversized_request_head_is_answered_431_and_cut_off(server)
    assert server.http.get("/_sim/ping").json() == {"pong": True}


def test_garbage_pipelined_after_a_request_is_refused_after_that_request_is_answered(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    # the fuzzer's finding: the 400 ended the sending side while the request before it was
    # still being served, whose reply then raised "Cannot call write() after write_eof()"
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    ping = b"GET /_sim/ping HTTP/1.1\r\nHost: x\r\n\r\n"
    reply = _answer(sock, ping + ping + b"G\xc3T / HTTP/1.1\r\nHost: x\r\n\r\n")
    first, second, refusal = reply.split(b"HTTP/1.1 ")[1:]
    for pong in (first, second):
        assert pong.startswith(b"200 "), pong
        assert pong.endswith(b'{"pong":true}'), pong
    assert refusal.startswith(b"400 "), refusal
    assert refusal.endswith(b"Invalid HTTP request received."), refusal
    assert server.http.get("/_sim/ping").json() == {"pong": True}
    assert "Traceback" not in caplog.text
