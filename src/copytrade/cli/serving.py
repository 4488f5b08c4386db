"""uvicorn's settings for copytrade: connection deadlines and the graceful stop.

One place for ``copytrade serve``, its workers and the test server, so all serve alike.

uvicorn closes an idle keep-alive connection (``timeout_keep_alive``) but sets no deadline on
a request being received: a client trickling its headers or body one byte at a time held a
connection (and its memory) forever. :func:`deadline_protocol` adds two deadlines to uvicorn's
httptools protocol: the request line and headers must arrive within ``header_timeout_s`` of the
connection (or of the request's first byte), and the body within ``body_timeout_s`` of the
headers. Past either, the connection is closed without a reply (there is no request to answer).
The request line and headers are also capped at ``max_head_bytes`` (httptools sets no limit, and
uvicorn would buffer a URL of any length).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from copytrade.config import Settings

log = logging.getLogger("copytrade.serve")


MAX_HEAD_BYTES = 256 * 1024
"""Request line and headers together (a query of HTX parameters is a few hundred bytes)."""


def deadline_protocol(
    header_timeout_s: float, body_timeout_s: float, max_head_bytes: int = MAX_HEAD_BYTES
) -> type[Any] | None:
    """Return uvicorn's httptools protocol class with the two receive deadlines, or ``None``
    when httptools is not installed (uvicorn then picks h11, without them)."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # pragma: no cover - uvicorn[standard] brings httptools
        log.warning("httptools is not installed: no header or body deadlines")
        return None

    class DeadlineProtocol(HttpToolsProtocol):
        """HttpToolsProtocol that closes connections too slow to send their request."""

        _deadline: asyncio.TimerHandle | None = None
        _head_bytes: int | None = 0  # bytes of the request head so far; None once complete

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm(header_timeout_s)

        def data_received(self, data: bytes) -> None:
            if self._head_bytes is not None:
                self._head_bytes += len(data)
                if self._head_bytes > max_head_bytes:
                    self._expired()
                    return
            super().data_received(data)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._head_bytes is None:
                self._head_bytes = 0
            if self._deadline is None:  # a new request on a kept-alive connection
                self._arm(header_timeout_s)

        def on_headers_complete(self) -> None:
            self._head_bytes = None
            super().on_headers_complete()
            self._arm(body_timeout_s)

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._disarm()

        def _arm(self, seconds: float) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(seconds, self._expired)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expired(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                self.transport.close()

    return DeadlineProtocol


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
