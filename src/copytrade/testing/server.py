"""A real copytrade server in a background thread, for tests and the demo."""

from __future__ import annotations

import json as json_module
import socket
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from copytrade.protocol.signing import Signer, encode_query, format_timestamp


def free_port() -> int:
    """Return a free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """uvicorn serving copytrade on ``127.0.0.1:<port>`` over a database URL.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        db_url: str | None = None,
        *,
        db_path: Path | None = None,
        port: int | None = None,
        wall_clock: Any = None,
        **settings: Any,
    ) -> None:
        """Prepare a server over ``db_url`` (or a SQLite file at ``db_path``).

        ``wall_clock`` (an object with ``now_ms()``) replaces the system clock for rate-limit
        windows; ``settings`` are :class:`copytrade.config.Settings` fields.
        """
        if db_url is None:
            if db_path is None:
                raise ValueError("give db_url or db_path")
            db_url = f"sqlite:///{db_path}"
        self.port = port or free_port()
        self.db_url = db_url
        self._settings = settings
        self._wall_clock = wall_clock
        self._thread: threading.Thread | None = None
        self.services: Any = None
        self._server: Any = None
        self.http = httpx.Client(base_url=self.base_url, timeout=60)

    @property
    def base_url(self) -> str:
        """Return the server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        """Return the ``Host`` header clients send (and sign)."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        """Start the server and wait until it answers."""
        import uvicorn

        from copytrade.api.app import create_app
        from copytrade.bootstrap import bootstrap
        from copytrade.cli.serving import uvicorn_options
        from copytrade.config import Settings

        settings = Settings(host="127.0.0.1", port=self.port, db_url=self.db_url, **self._settings)
        self.services = bootstrap(settings)
        config = uvicorn.Config(
            create_app(self.services, wall_clock=self._wall_clock),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="on",
            **uvicorn_options(settings),
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("copytrade server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop the server and release its threads and connections."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self.services is not None:
            self.services.close()
        self._server = self._thread = self.services = None

    def close(self) -> None:
        """Stop the server and close the admin HTTP client."""
        self.stop()
        self.http.close()

    def __enter__(self) -> LiveServer:
        """Start."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop."""
        self.close()

    # -- admin helpers -------------------------------------------------------------------
    def admin(self, path: str, json: dict[str, Any] | None = None) -> Any:
        """POST to the admin API (``/_sim/…``) and return the decoded reply."""
        reply = self.http.post(path, json=json or {})
        reply.raise_for_status()
        return reply.json()

    def admin_get(self, path: str) -> Any:
        """GET from the admin API."""
        reply = self.http.get(path)
        reply.raise_for_status()
        return reply.json()

    def create_user(
        self, role: str = "trader", balance: str = "10000", permissions: str = "trade", **extra: Any
    ) -> dict[str, Any]:
        """Create a user; return ``{"uid", "access_key", "secret_key"}``."""
        return dict(
            self.admin(
                "/_sim/users",
                {"role": role, "balance": balance, "permissions": permissions, **extra},
            )
        )

    def set_funds(self, uid: int, **funds: str) -> Any:
        """Set any of ``balance`` (copy trading), ``spot``, ``futures``; return all three."""
        return self.admin(f"/_sim/users/{uid}/funds", funds)

    def follow(self, follower_uid: int, trader_uid: int, ratio: str = "1", **settings: Any) -> Any:
        """Make a follower copy a trader, with the admin API's follow settings.

        ``settings``: ``mode``, ``fixed_amount``, ``tp_ratio``, ``sl_ratio``,
        ``total_stop_loss``, ``contracts``.
        """
        body = {"follower_uid": follower_uid, "trader_uid": trader_uid, "ratio": ratio}
        return self.admin("/_sim/follow", {**body, **settings})

    def set_price(self, contract_code: str, price: str | Decimal) -> Any:
        """Move a mark price."""
        return self.admin(f"/_sim/markets/{contract_code}/price", {"price": str(price)})

    def user(self, uid: int) -> Any:
        """Return the admin view of a user."""
        return self.admin_get(f"/_sim/users/{uid}")

    def signed(
        self,
        creds: dict[str, Any],
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        body: Any = None,
        *,
        timestamp: str | None = None,
        host: str | None = None,
    ) -> httpx.Response:
        """Send a request signed with HMAC as HTX clients do (raw wire, for tests)."""
        signer = Signer(creds["access_key"], secret_key=creds["secret_key"])
        stamp = timestamp or format_timestamp(datetime.now(UTC))
        pairs = signer.signed_params(
            method, host or self.host, path, params if method == "GET" else None, timestamp=stamp
        )
        url = f"{path}?{encode_query(pairs)}"
        if method == "GET":
            return self.http.get(url)
        content = body if isinstance(body, str | bytes) else json_module.dumps(body or {})
        return self.http.post(url, content=content, headers={"content-type": "application/json"})


class _PortalTransport(httpx.BaseTransport):
    """A sync httpx transport that awaits an ASGI app on an event loop in another thread."""

    def __init__(self, app: Any, portal: Any) -> None:
        self._asgi = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` to the app; return its whole reply."""

        async def call() -> httpx.Response:
            reply = await self._asgi.handle_async_request(request)
            content = await reply.aread()
            return httpx.Response(reply.status_code, headers=reply.headers, content=content)

        response: httpx.Response = self._portal.call(call)
        return response


class InProcessServer(LiveServer):
    """The same app and helpers as :class:`LiveServer`, called in process (no socket).

    Requests go through httpx's ASGI transport straight to the app, on an event loop in a
    thread of their own; the app's lifespan runs there as under uvicorn (the store is seeded,
    the ticker starts). Requests name ``127.0.0.1:<port>`` as their host, so signatures are
    the ones a :class:`LiveServer` checks. For loops that start many short-lived servers
    (property tests); the wire itself is :class:`LiveServer`'s business.
    """

    def start(self) -> InProcessServer:
        """Build the app and run its start-up."""
        from anyio.from_thread import start_blocking_portal

        from copytrade.api.app import create_app
        from copytrade.bootstrap import bootstrap
        from copytrade.config import Settings

        settings = Settings(host="127.0.0.1", port=self.port, db_url=self.db_url, **self._settings)
        self.services = bootstrap(settings)
        app = create_app(self.services, wall_clock=self._wall_clock)
        self._portal_cm = start_blocking_portal()
        portal = self._portal_cm.__enter__()
        self._lifespan, self._stop_lifespan = portal.start_task(_lifespan, app)
        self._portal = portal
        self.http.close()
        self.http = httpx.Client(
            base_url=self.base_url, transport=_PortalTransport(app, portal), timeout=60
        )
        return self

    def stop(self) -> None:
        """Run the app's shut-down and release the event loop and the store."""
        if self.services is None:
            return
        self._portal.call(self._stop_lifespan.set)
        self._lifespan.result()
        self._portal_cm.__exit__(None, None, None)
        self.services.close()
        self.services = None

    def __enter__(self) -> InProcessServer:
        """Start."""
        return self.start()


async def _lifespan(app: Any, *, task_status: Any) -> None:
    """Run ``app``'s lifespan: start-up, report started, then shut-down once told to stop."""
    import anyio

    send, receive = anyio.create_memory_object_stream[dict[str, Any]](2)
    replies, replied = anyio.create_memory_object_stream[dict[str, Any]](2)
    stop = anyio.Event()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    async with send, receive, replies, replied, anyio.create_task_group() as group:
        group.start_soon(app, scope, receive.receive, replies.send)
        await send.send({"type": "lifespan.startup"})
        message = await replied.receive()
        if message["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"copytrade app did not start: {message.get('message')}")
        task_status.started(stop)
        await stop.wait()
        await send.send({"type": "lifespan.shutdown"})
        await replied.receive()
