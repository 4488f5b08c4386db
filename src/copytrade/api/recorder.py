"""``serve --record FILE``: every accepted request, with its simulation time, as JSON lines.

The first line is a header with the settings a replay needs (contracts, fees, demo seed); each
following line is one request the server accepted (HTTP 2xx, and a success code where the
reply has one, in its family's terms: 200 for v1/v5, ``"0"`` for v6): arrival order ``seq``,
simulation time ``t``, method, path, the query without its signature parameters, the body, the
access key that signed it, and the reply (a replay maps the ids and keys it finds there). Reads
are recorded too, since a bot learns ids from them. Refused requests change nothing and are
left out. :mod:`copytrade.replay` rebuilds the state from such a file.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from copytrade.config import Settings
from copytrade.protocol.profiles import reply_accepted
from copytrade.service.ports import Clock

FORMAT = 1
SIGNATURE_PARAMS = frozenset(
    {"AccessKeyId", "SignatureMethod", "SignatureVersion", "Timestamp", "Signature"}
)
_SKIPPED = (
    "/_sim/ui",
    "/_sim/openapi.json",
    "/_sim/docs",
    "/_sim/ping",
    "/_sim/health",
    "/_sim/ready",
)
ASGI = Callable[[Any, Any, Any], Awaitable[None]]


def header(settings: Settings, start_ms: int) -> dict[str, Any]:
    """Return the header line: what a replay's server must be configured with.

    ``demo_seed`` is whether the demo users were seeded (the setting, on loopback only);
    ``start_ms`` is the simulation time the server seeded its store at.
    """
    kept = settings.model_dump(
        mode="json",
        include={
            "contracts",
            "fee_maker",
            "fee_taker",
            "profit_share_ratio",
            "demo_seed",
            # funding and market impact change what commands do
            "funding_mode",
            "funding_interval_hours",
            "funding_rate",
            "funding_impact_volume",
            "impact_half_life_ms",
            "copy_order",
            "copy_order_seed",
            "copy_latency_ms",
            "max_copy_slippage",
        },
    )
    kept["demo_seed"] = settings.demo_seed and settings.is_loopback
    return {"copytrade_record": FORMAT, "settings": kept, "start_ms": start_ms}


def recorded(path: str, htx_paths: frozenset[str]) -> bool:
    """Return whether requests to ``path`` are recorded."""
    if path in htx_paths:
        return True
    return path.startswith("/_sim/") and path != "/_sim/" and not path.startswith(_SKIPPED)


class RecordFileError(ValueError):
    """``--record FILE`` cannot be written: it holds a record already, or one it cannot continue."""


def continued_seq(file: str, settings: Settings, append: bool) -> int | None:
    """Return the last ``seq`` of the record in ``file`` to continue, or None for a new record.

    A file that does not exist or is empty starts a new record. A record already there is only
    continued when ``append`` says so (two sessions numbered from 1 each would interleave on
    replay) and its header's settings are this server's (a replay has one header); the store
    must be the one the record left (a replay rebuilds the first session, then the next).
    """
    target = Path(file)
    if not target.exists() or target.stat().st_size == 0:
        return None
    if not append:
        raise RecordFileError(
            f"--record {file}: the file holds a record already; --record-append continues it "
            "(on the store it left), or name a new file"
        )
    lines = target.read_text(encoding="utf-8").splitlines()
    try:
        head = json.loads(lines[0])
        last = json.loads(next(x for x in reversed(lines) if x.strip()))
    except ValueError:
        head = last = None
    if not isinstance(head, dict) or head.get("copytrade_record") != FORMAT:
        raise RecordFileError(f"--record-append {file}: not a copytrade record")
    if head.get("settings") != header(settings, 0)["settings"]:
        raise RecordFileError(
            f"--record-append {file}: the record was made with other settings "
            "(contracts, fees, funding, impact or demo seed); name a new file"
        )
    return int(last.get("seq", 0)) if isinstance(last, dict) else 0


class Recorder:
    """Wraps the ASGI app: appends each accepted request to the record file."""

    def __init__(
        self,
        app: ASGI,
        file: str,
        settings: Settings,
        clock: Clock,
        htx_paths: frozenset[str],
        *,
        append: bool = False,
    ) -> None:
        """Open ``file`` and write the header, or continue the record in it (``append``).

        Raises :class:`RecordFileError` when ``file`` holds a record and ``append`` is false.
        """
        self.app = app
        self.clock = clock
        self.htx_paths = htx_paths
        self._lock = threading.Lock()
        self._seq = 0
        self.start_ms = clock.now_ms()
        """The seeding's simulation time (the server seeds its store with the clock held here)."""
        last = continued_seq(file, settings, append)
        self._seq = last or 0
        target = Path(file)
        self._fh = target.open("a", encoding="utf-8")
        if last is None:
            self._write(header(settings, self.start_ms))

    def _write(self, line: dict[str, Any]) -> None:
        with self._lock:
            self._fh.write(json.dumps(line, separators=(",", ":"), sort_keys=True) + "\n")
            self._fh.flush()

    def close(self) -> None:
        """Close the file."""
        self._fh.close()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Serve the request; record it once its reply says it was accepted."""
        if scope["type"] != "http" or not recorded(scope["path"], self.htx_paths):
            await self.app(scope, receive, send)
            return
        self._seq += 1
        seq, at = self._seq, self.clock.now_ms()
        chunks: list[bytes] = []
        reply: list[bytes] = []
        status = [0]

        async def receive_and_keep() -> Any:
            message = await receive()
            if message.get("type") == "http.request":
                chunks.append(message.get("body", b""))
            return message

        async def send_and_keep(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            elif message["type"] == "http.response.body":
                reply.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive_and_keep, send_and_keep)
        if not 200 <= status[0] < 300:
            return
        try:
            answer = json.loads(b"".join(reply) or b"null")
        except ValueError:
            return
        if scope["path"] in self.htx_paths:
            # each family says success its own way: v6's is the code "0", v1/v5's is 200
            if not reply_accepted(scope["path"], answer, status[0]):
                return
        elif isinstance(answer, dict) and (
            answer.get("code", 200) != 200 or answer.get("status") == "error"
        ):
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"))
        key = next((v for k, v in query if k == "AccessKeyId"), None)
        body = b"".join(chunks).decode("utf-8", "replace")
        self._write(
            {
                "seq": seq,
                "t": at,
                "method": scope["method"],
                "path": scope["path"],
                "query": [[k, v] for k, v in query if k not in SIGNATURE_PARAMS],
                "key": key,
                "body": body,
                "reply": answer,
            }
        )
