"""What the per-request access line costs, in process (no HTTP, no load generator).

Calls the ASGI app directly with a signed ``position_list`` over a SQLite file, access log off
(``copytrade.access`` above INFO: the hot path only asks ``isEnabledFor``) and on (one line per
request to a file), interleaved; prints CPU microseconds per request and the ratio.

Usage: ``python bench/log_cost.py [--requests 3000] [--rounds 4] [--format plain]``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from copytrade.api.app import create_app
from copytrade.api.logs import configure_logging
from copytrade.bootstrap import bootstrap
from copytrade.config import Settings
from copytrade.protocol.signing import Signer, encode_query, format_timestamp

PATH = "/copytrading/trader/position_list"


async def _call(app: Any, query: bytes) -> None:
    scope = {
        "type": "http",
        "method": "GET",
        "path": PATH,
        "query_string": query,
        "headers": [(b"host", b"127.0.0.1:8080")],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        return None

    await app(scope, receive, send)


async def _run(app: Any, queries: list[bytes]) -> float:
    started = time.process_time()
    for query in queries:
        await _call(app, query)
    return (time.process_time() - started) / len(queries) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--format", default="plain", choices=["plain", "json"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sys.stderr = Path(tmp, "server.log").open("w")  # noqa: SIM115 - the log sink
        services = bootstrap(
            Settings(db_url=f"sqlite:///{tmp}/cost.db", rate_limit_per_second=10**9)
        )
        app = create_app(services)
        loop = asyncio.new_event_loop()
        loop.run_until_complete(services.run(services.seed))
        signer = Signer("demo-access-key", secret_key="demo-secret-key")
        stamp = format_timestamp(datetime.now(UTC))
        query = encode_query(
            signer.signed_params("GET", "127.0.0.1:8080", PATH, {}, timestamp=stamp)
        ).encode()
        queries = [query] * args.requests
        loop.run_until_complete(_run(app, queries[:500]))  # warm caches
        off: list[float] = []
        on: list[float] = []
        for _ in range(args.rounds):
            configure_logging("warning", args.format, access_log=True)
            off.append(loop.run_until_complete(_run(app, queries)))
            configure_logging("info", args.format, access_log=True)
            on.append(loop.run_until_complete(_run(app, queries)))
        logging.shutdown()
        services.close()
    off_us, on_us = min(off), min(on)
    print(
        f"{args.format}: access log off {off_us:.1f} us/request, on {on_us:.1f} us/request "
        f"(+{on_us - off_us:.1f} us, {on_us / off_us - 1:+.1%}); best of {args.rounds}",
        file=sys.__stdout__,
    )


if __name__ == "__main__":
    main()
