"""uvicorn's settings for copytrade: connection deadlines and the graceful stop.

One place for ``copytrade serve``, its workers and the test server, so all serve alike.

uvicorn closes an idle keep-alive connection (``timeout_keep_alive``) but sets no deadline on
a request being received: a client trickling its headers or body one byte at a time held a
connection (and its memory) forever. :func:`deadline_protocol` adds two deadlines to uvicorn's
httptools protocol: the request line and headers must arrive within ``header_timeout_s`` of the
connection (or of the request's first byte), and the body within ``body_timeout_s`` of the
headers (checked every quarter second). Past either, the connection is closed without a reply
(there is no request to answer).
The request line and headers are also capped at ``max_head_bytes`` (httptools sets no limit, and
uvicorn would buffer a URL of any length): past it the client gets ``414`` (still in the URL)
or ``431`` in plain text, as uvicorn answers an unparsable request (``400``). After any of
these refusals the connection drops what the client still sends for up to :data:`LINGER_S`
before closing, so that the reply is read rather than lost to a TCP reset.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from copytrade.config import Settings

log = logging.getLogger("copytrade.serve")


def freeze_startup_heap() -> None:
    """Move every object alive now (modules, the app, its services) out of the collector's sight.

    Called once per server process, after the app is built and before it serves. A full
    collection otherwise walks these hundreds of thousands of objects that never become garbage:
    a 10,000-follower copy wave allocates enough to trigger one, and that pass took ~40 % of the
    wave's CPU (``bench/prof_fanout.py``'s ``gc gen2`` row: ~170 of ~740 ms, ~4 ms after this).
    Not done in ``create_app``: a test process builds many apps, whose garbage must stay
    collectable.

    With the startup heap frozen, CPython's full collections (run once the objects that
    survived since the last one reach a quarter of those it tracks) come far more often, over
    the accounts and journal kept since: the thresholds are raised so that young collections
    (request garbage, freed by reference counts anyway) and full ones stay rare. Measured with
    ``bench/table.py --ab`` (freeze alone vs with these thresholds): server CPU per signed
    request 319 -> 285 us, a 10k-follower open 460 -> 430 ms; without the freeze the
    request cost 344 us and the open 690 ms.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 100)


MAX_HEAD_BYTES = 256 * 1024
"""Request line and headers together (a query of HTX parameters is a few hundred bytes)."""


SWEEP_EVERY_S = 0.25
"""How often each server checks its connections' deadlines (their resolution)."""

LINGER_S = 1.0
"""How long a refused connection's input is still read (and dropped) before it is closed."""

_HEAD, _BODY, _LINGER, _WAIT = 1, 2, 3, 4
# _WAIT: a refusal waits for the replies to the requests pipelined before it

if TYPE_CHECKING:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _ProtocolBase
else:  # the real base joins in deadline_protocol (httptools may be missing)
    _ProtocolBase = object


def _sweep(connections: set[Any], loop: asyncio.AbstractEventLoop, sweeping: set[int]) -> None:
    """Close the server's connections past a deadline; re-arm while any connection is left."""
    now = loop.time()
    for conn in list(connections):
        if isinstance(conn, _Deadlines):
            conn.check(now)
    if connections:
        loop.call_later(SWEEP_EVERY_S, _sweep, connections, loop, sweeping)
    else:  # no connection left: the next one restarts the sweep
        sweeping.discard(id(connections))


class _Deadlines(_ProtocolBase):
    """The deadlines and the head cap, mixed in before uvicorn's ``HttpToolsProtocol``.

    :func:`deadline_protocol` sets the limits and the set of servers being swept on each
    class it makes.
    """

    _header_timeout_s: float
    _body_timeout_s: float
    _max_head_bytes: int
    _sweeping: set[int]  # id() of each server's connection set being swept

    _phase: int | None = _HEAD  # receiving the head, the body, or nothing (None)
    _refusal: bytes | None = None  # a refusal waiting for earlier replies (_WAIT)
    _since = 0.0
    _head_bytes = 0

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._since = self.loop.time()
        if id(self.connections) not in self._sweeping:
            self._sweeping.add(id(self.connections))
            self.loop.call_later(SWEEP_EVERY_S, _sweep, self.connections, self.loop, self._sweeping)

    def data_received(self, data: bytes) -> None:
        if self._phase is None:  # the first bytes of a new request on a kept-alive connection
            self._phase = _HEAD
            self._since = self.loop.time()
            self._head_bytes = 0
        if self._phase == _HEAD:
            self._head_bytes += len(data)
            if self._head_bytes > self._max_head_bytes:
                self._refuse_head()
                return
        elif self._phase in (_LINGER, _WAIT):
            return  # refused: what the client still sends is dropped
        super().data_received(data)

    def send_400_response(self, msg: str) -> None:
        """Refuse an unparsable request with uvicorn's 400, then close as :meth:`_linger` does."""
        self._linger(plain_reply(400, msg, self.server_state.default_headers))

    def _refuse_head(self) -> None:
        """Answer a head over the cap (414 while still in the URL, else 431), then close."""
        if self.headers:
            status, text = 431, "Request line and headers too large"
        else:
            status, text = 414, "Request URL too long"
        text += f" (limit {self._max_head_bytes} bytes)."
        self._linger(plain_reply(status, text, self.server_state.default_headers))

    def _linger(self, reply: bytes) -> None:
        """Send ``reply``, end the sending side, and drop the client's input for a while.

        Closing at once, with the client's request still arriving, makes the kernel answer
        with a reset that can discard the reply before the client reads it. The connection
        is closed when the client closes it, or :data:`LINGER_S` later.

        While requests pipelined before the refused one are still being served, the refusal
        waits for their replies (:meth:`on_response_complete`): written now, it would land in
        the middle of a reply, and ending the sending side would make that reply's next write
        raise (the fuzzer's "Cannot call write() after write_eof()").
        """
        cycle = self.cycle
        if (cycle is not None and not cycle.response_complete) or self.pipeline:
            self._refusal = reply
            self._phase = _WAIT  # input dropped; no deadline while the app answers
            return
        self._refusal = None
        self.transport.write(reply)
        if not self.transport.can_write_eof():  # pragma: no cover - TCP can
            self.transport.close()
            return
        self.transport.write_eof()
        self._phase = _LINGER
        self._since = self.loop.time()

    def on_headers_complete(self) -> None:
        self._phase = _BODY
        self._since = self.loop.time()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        if self._phase != _WAIT:
            self._phase = None

    def on_response_complete(self) -> None:
        """Send a refusal that waited for the replies before it (see :meth:`_linger`)."""
        refusal = self._refusal
        if refusal is None or self.pipeline:
            super().on_response_complete()  # starts the next pipelined request, if any
            return
        self.server_state.total_requests += 1
        if not self.transport.is_closing():  # a reply saying "connection: close" closed it
            self._linger(refusal)

    def check(self, now: float) -> None:
        """Close the connection if its head or body is overdue, or its lingering over."""
        if self._phase in (None, _WAIT) or self.transport.is_closing():
            return
        if self._phase == _HEAD:
            limit = self._header_timeout_s
        else:
            limit = self._body_timeout_s if self._phase == _BODY else LINGER_S
        if now - self._since > limit:
            self.transport.close()


def plain_reply(status: int, text: str, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """Return a whole ``text/plain`` reply that closes the connection, as uvicorn's own 400 is."""
    from uvicorn.protocols.http.httptools_impl import STATUS_LINE

    body = text.encode("ascii")
    head = [STATUS_LINE[status]]
    head += [name + b": " + value + b"\r\n" for name, value in default_headers]
    head.append(b"content-type: text/plain; charset=utf-8\r\n")
    head.append(b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body))
    return b"".join(head) + body


def deadline_protocol(
    header_timeout_s: float, body_timeout_s: float, max_head_bytes: int = MAX_HEAD_BYTES
) -> type[Any] | None:
    """Return uvicorn's httptools protocol class with receive deadlines.

    Return uvicorn's httptools protocol class with the receive deadlines and the head cap,
    or ``None`` when httptools is not installed (uvicorn then picks h11, without them).

    A request only records when its current phase began (no timer per request: arming and
    cancelling two timers per request cost ~3.5 us, a fifth of a raw request); one sweep per
    server every :data:`SWEEP_EVERY_S` closes the connections past their deadline. The head's
    clock starts at the connection, then at the first bytes of each later request (the idle
    time between requests is the keep-alive timeout's).
    """
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # pragma: no cover - uvicorn[standard] brings httptools
        log.warning("httptools is not installed: no header or body deadlines")
        return None

    return type(
        "DeadlineProtocol",
        (_Deadlines, HttpToolsProtocol),
        {
            "__doc__": "HttpToolsProtocol that closes connections too slow to send their request.",
            "_header_timeout_s": header_timeout_s,
            "_body_timeout_s": body_timeout_s,
            "_max_head_bytes": max_head_bytes,
            "_sweeping": set(),
        },
    )


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Return the keyword arguments for ``uvicorn.Config`` that ``settings`` call for."""
    options: dict[str, Any] = {
        "timeout_keep_alive": settings.keep_alive_timeout_s,
        "timeout_graceful_shutdown": settings.graceful_shutdown_s,
    }
    protocol = deadline_protocol(settings.header_timeout_s, settings.body_timeout_s)
    if protocol is not None:
        options["http"] = protocol
    return options
