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
uvicorn would buffer a URL of any length).
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

_HEAD, _BODY = 1, 2

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
                self.transport.close()
                return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._phase = _BODY
        self._since = self.loop.time()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._phase = None

    def check(self, now: float) -> None:
        """Close the connection if its head or body is overdue."""
        if self._phase is None or self.transport.is_closing():
            return
        limit = self._header_timeout_s if self._phase == _HEAD else self._body_timeout_s
        if now - self._since > limit:
            self.transport.close()


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
