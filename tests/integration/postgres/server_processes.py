"""Real ``copytrade serve`` processes over one PostgreSQL database, for cross-process tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx

from copytrade.protocol.signing import Signer, encode_query, format_timestamp
from copytrade.testing.server import free_port


class ServerProcess:
    """One ``python -m copytrade.cli.main serve`` child process on its own loopback port."""

    def __init__(self, db_url: str, env: dict[str, str], *extra: str) -> None:
        """Start the process (not yet waiting for it)."""
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        args = [sys.executable, "-m", "copytrade.cli.main", "serve", "--db", db_url]
        args += ["--port", str(self.port), "--log-level", "warning", *extra]
        self.proc = subprocess.Popen(
            args,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.http = httpx.Client(base_url=f"http://{self.host}", timeout=30)

    def wait(self, seconds: float = 30) -> ServerProcess:
        """Wait until the server answers its ping."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"server exited with {self.proc.returncode}: {err}")
            try:
                if self.http.get("/_sim/ping").status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        """Stop the process and close the client."""
        self.http.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def admin(self, path: str, body: dict[str, Any]) -> Any:
        """POST to the admin API."""
        reply = self.http.post(path, json=body)
        reply.raise_for_status()
        return reply.json()

    def signed_post(
        self, client: httpx.Client, creds: dict[str, Any], path: str, body: dict[str, Any]
    ) -> httpx.Response:
        """POST ``body`` signed with HMAC for this process's ``Host``, through ``client``."""
        signer = Signer(creds["access_key"], secret_key=creds["secret_key"])
        stamp = format_timestamp(datetime.now(UTC))
        pairs = signer.signed_params("POST", self.host, path, None, timestamp=stamp)
        return client.post(
            f"http://{self.host}{path}?{encode_query(pairs)}",
            content=json.dumps(body),
            headers={"content-type": "application/json"},
        )


def start_servers(
    db_url: str, count: int, env: dict[str, str], *extra: str
) -> Iterator[list[ServerProcess]]:
    """Start ``count`` server processes in parallel, yield them, then stop them."""
    servers = [ServerProcess(db_url, env, *extra) for _ in range(count)]
    try:
        yield [s.wait() for s in servers]
    finally:
        for s in servers:
            s.stop()


class SharedServer:
    """One server process that a module's tests share while it runs.

    Starting ``serve --workers 2`` costs seconds; tests that only look at a running server
    share one. A test that stops or kills it leaves it dead, and the next :meth:`get` starts a
    fresh one, so each test still meets a running server whatever the order.
    """

    def __init__(self, start: Callable[[], ServerProcess]) -> None:
        """``start`` makes a new (not yet waited for) :class:`ServerProcess`."""
        self._start = start
        self._server: ServerProcess | None = None

    def get(self, seconds: float = 60) -> ServerProcess:
        """Return the running server, starting a new one if there is none or it has exited."""
        if self._server is not None and self._server.proc.poll() is None:
            return self._server
        self.close()
        server = self._start()
        try:
            server.wait(seconds)
        except BaseException:
            server.stop()
            raise
        self._server = server
        return server

    def close(self) -> None:
        """Stop the current server, if any."""
        if self._server is not None:
            self._server.stop()
            self._server = None
