"""The server's ASGI app in this process, driven without HTTP: what the profilers measure.

:class:`InProcess` bootstraps copytrade over a database URL exactly as ``copytrade serve`` does
(same settings, same app), runs its lifespan, and calls the ASGI app with hand-built scopes, so a
profile holds the request path (routing, auth, use case, storage, JSON) and not uvicorn's HTTP
parsing or a client. Signed requests are built once per trader and replayed (the server takes
replays within its 300 s timestamp window, as ``bench/loadgen.py`` does), so the client's signing
is outside the loop being measured.

Only public entry points are used (``Settings``, ``bootstrap``, ``create_app`` and the ASGI
protocol), so the storage rewrite under way does not break the profilers.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from copytrade.api.app import create_app
from copytrade.bootstrap import bootstrap
from copytrade.config import Settings
from copytrade.protocol.signing import Signer, encode_query, format_timestamp

HOST = "127.0.0.1:8080"
PLACE = "/copytrading/trader/place_order"
CLOSE_ALL = "/copytrading/trader/close_all_position"
ORDER = {
    "contract_code": "BTC-USDT",
    "amount": "1",
    "margin_mode": "cross",
    "order_price_type": 17,
    "order_direction": 1,
    "lever": 10,
}
CLOSE = {"contract_code": "BTC-USDT", "margin_mode": "cross", "position_side": "long"}

Request = tuple[str, str, bytes, bytes]  # method, path, query string, body


class InProcess:
    """copytrade's app in this process over ``db_url``; call :meth:`start` inside a loop."""

    def __init__(self, db_url: str, **settings: Any) -> None:
        """Bootstrap (SQLite files are migrated; PostgreSQL must be migrated already).

        The rate limit is raised out of reach: a profiler replays a few keys back to back.
        """
        options = {
            "db_url": db_url,
            "demo_seed": False,
            "rate_limit_per_second": 1_000_000,
            "server_key": "bench-" + "0" * 58,
            **settings,
        }
        self.services = bootstrap(Settings(**options))
        self.app = create_app(self.services)
        self._lifespan: asyncio.Task[None] | None = None
        self._events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def start(self) -> None:
        """Run the app's lifespan startup (seeds the markets)."""
        replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._events = asyncio.Queue()
        await self._events.put({"type": "lifespan.startup"})
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self._lifespan = asyncio.create_task(self.app(scope, self._events.get, replies.put))
        reply = await replies.get()
        if reply["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"lifespan startup failed: {reply}")

    async def stop(self) -> None:
        """Run the lifespan shutdown and release the services."""
        if self._lifespan is not None:
            await self._events.put({"type": "lifespan.shutdown"})
            await self._lifespan
        self.services.close()

    async def call(self, request: Request) -> tuple[int, bytes]:
        """Serve one request; return (HTTP status, body)."""
        method, path, query, body = request
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query,
            "root_path": "",
            "headers": [
                (b"host", HOST.encode()),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8080),
        }
        given = False
        out: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            nonlocal given
            if given:  # a disconnect is never awaited on the paths profiled
                return {"type": "http.disconnect"}
            given = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            out.append(message)

        await self.app(scope, receive, send)
        return out[0]["status"], b"".join(m.get("body", b"") for m in out[1:])

    async def admin(self, path: str, body: dict[str, Any]) -> Any:
        """POST to an admin route; return its JSON (raise on a non-200)."""
        status, reply = await self.call(("POST", path, b"", json.dumps(body).encode()))
        if status != 200:
            raise RuntimeError(f"{path}: {status} {reply!r}")
        return json.loads(reply)

    async def traders(self, count: int) -> list[dict[str, Any]]:
        """Create ``count`` funded traders; return their credentials."""
        body = {"role": "trader", "balance": "1000000000"}
        return [await self.admin("/_sim/users", body) for _ in range(count)]


def signed(creds: dict[str, Any], path: str, body: dict[str, Any]) -> Request:
    """Return a signed POST of ``body`` to ``path`` (timestamp now)."""
    signer = Signer(str(creds["access_key"]), secret_key=str(creds["secret_key"]))
    stamp = format_timestamp(datetime.now(UTC))
    pairs = signer.signed_params("POST", HOST, path, None, timestamp=stamp)
    return ("POST", path, encode_query(pairs).encode(), json.dumps(body).encode())


def cycles(keys: list[dict[str, Any]]) -> list[tuple[Request, Request]]:
    """Return each key's signed place_order and close_all_position."""
    return [(signed(k, PLACE, ORDER), signed(k, CLOSE_ALL, CLOSE)) for k in keys]


async def run_cycles(server: InProcess, work: list[tuple[Request, Request]], count: int) -> None:
    """Serve ``count`` cycles round-robin over ``work``; raise on any refused request."""
    for i in range(count):
        for request in work[i % len(work)]:
            status, body = await server.call(request)
            if status != 200 or not body.startswith(b'{"code":200'):
                raise RuntimeError(f"{request[1]} refused: {body[:200]!r}")


async def run_concurrent(
    server: InProcess, work: list[tuple[Request, Request]], count: int, concurrency: int
) -> None:
    """Serve ``count`` cycles from ``concurrency`` clients at once, each on keys of its own.

    Requests of one loop iteration share a commit group, as under ``cycle.py``'s 32 HTTP
    connections (the sequential :func:`run_cycles` commits every request alone).
    """
    if len(work) < concurrency:
        raise ValueError(f"{concurrency} clients need at least as many keys, got {len(work)}")
    shares = [work[i::concurrency] for i in range(concurrency)]
    await asyncio.gather(*(run_cycles(server, mine, count // concurrency) for mine in shares))


def ping() -> Request:
    """Return the raw-ASGI ping request (the floor of any request)."""
    return ("GET", "/_sim/ping", b"", b"")
