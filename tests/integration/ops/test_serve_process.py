"""``copytrade serve`` as a user runs it (a subprocess): start-up order, banner, log lines."""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from copytrade.protocol.signing import Signer, encode_query, format_timestamp
from copytrade.testing.server import free_port

EXE = str(Path(sys.executable).with_name("copytrade"))
DEMO = {"access_key": "demo-access-key", "secret_key": "demo-secret-key"}


class Serve:
    """``copytrade serve`` in a subprocess; its stderr is collected line by line."""

    def __init__(
        self, *args: str, cwd: Path, port: int | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.port = port or free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("COPYTRADE_")} | (env or {})
        self.proc = subprocess.Popen(
            [EXE, "serve", "--port", str(self.port), *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, fragment: str, timeout: float = 30) -> str:
        """Return the first line (seen from now on, or before) containing ``fragment``."""
        for line in self.lines:
            if fragment in line:
                return line
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                break
            self.lines.append(line)
            if fragment in line:
                return line
        raise AssertionError(f"no line with {fragment!r} in:\n" + "\n".join(self.lines))

    def finish(self, timeout: float = 30) -> int:
        """Wait for the process to end on its own; return its exit status."""
        code = self.proc.wait(timeout=timeout)
        while (line := self._queue.get(timeout=5)) is not None:
            self.lines.append(line)
        return code

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[Serve]]:
    servers: list[Serve] = []
    yield servers
    for server in servers:
        server.stop()


def signed_get(
    base: str, host: str, path: str, creds: dict[str, str], secret: str
) -> httpx.Response:
    signer = Signer(creds["access_key"], secret_key=secret)
    pairs = signer.signed_params(
        "GET", host, path, {}, timestamp=format_timestamp(datetime.now(UTC))
    )
    return httpx.get(f"{base}{path}?{encode_query(pairs)}", timeout=10)


def test_a_port_in_use_ends_in_one_line_before_any_banner(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = Serve(cwd=tmp_path, port=port)
        code = server.finish()
    assert code == 2
    assert server.lines == [
        f"Error: cannot listen on 127.0.0.1:{port}: Address already in use "
        "(another server runs there: stop it or choose another --port)"
    ]
    assert not (tmp_path / "copytrade-data").exists()  # nothing created either


def test_the_banner_names_the_absolute_sqlite_path_and_whether_it_is_new(
    tmp_path: Path, started: list[Serve]
) -> None:
    first = Serve(cwd=tmp_path)
    started.append(first)
    banner = first.wait_for("copytrade serving")
    expected = tmp_path / "copytrade-data" / "copytrade.db"
    assert f"SQLite file {expected}, new: created now" in banner
    first.wait_for("Application startup complete")
    assert "demo trader" in "\n".join(first.lines)  # after the banner, never before
    where = first.wait_for("dashboard ")  # where a newcomer looks next
    assert f"dashboard {first.url}/_sim/ui, admin API docs {first.url}/_sim/docs" in where
    first.stop()
    again = Serve(cwd=tmp_path)
    started.append(again)
    banner = again.wait_for("copytrade serving")
    assert f"SQLite file {expected} (" in banner or f"SQLite file {expected}," in banner
    assert ", new:" not in banner


def test_plain_logs_one_line_per_request_with_uid_code_latency_and_tid(
    tmp_path: Path, started: list[Serve]
) -> None:
    server = Serve("--access-log", cwd=tmp_path)
    started.append(server)
    server.wait_for("Application startup complete")
    host = f"127.0.0.1:{server.port}"
    path = "/copytrading/trader/position_list"
    ok = signed_get(server.url, host, path, DEMO, DEMO["secret_key"]).json()
    bad = signed_get(server.url, host, path, DEMO, "not-the-secret").json()
    line = server.wait_for(f"tid={ok['tid']}")
    assert f"INFO copytrade.access: GET {path} uid=" in line
    assert "uid=-" not in line
    assert " code=200 " in line
    assert "ms tid=" in line
    refused = server.wait_for(f"tid={bad['tid']}")
    assert "code=403" in refused
    assert "error=" in refused
    everything = "\n".join(server.lines)
    assert "demo-secret-key" not in everything.split("demo trader", 1)[1].split("\n", 1)[1]
    assert "not-the-secret" not in everything
    # uvicorn's own lines share the format
    started_line = server.wait_for("Started server process")
    assert started_line.split(" ")[1:3] == ["INFO", "uvicorn.error:"]


def test_admin_calls_get_an_access_line_without_the_token_or_a_secret(
    tmp_path: Path, started: list[Serve]
) -> None:
    token = "admin-token-not-for-logs"
    server = Serve("--access-log", cwd=tmp_path, env={"COPYTRADE_ADMIN_TOKEN": token})
    started.append(server)
    server.wait_for("Application startup complete")
    auth = {"Authorization": f"Bearer {token}"}
    made = httpx.post(
        f"{server.url}/_sim/users", json={"role": "trader"}, headers=auth, timeout=10
    ).json()
    denied = httpx.get(f"{server.url}/_sim/users/{made['uid']}?token={token}", timeout=10)
    assert denied.status_code == 401
    created = server.wait_for("POST /_sim/users ")
    assert "INFO copytrade.access: POST /_sim/users status=200 " in created
    assert created.endswith("ms admin")
    refused = server.wait_for(f"GET /_sim/users/{made['uid']} ")
    assert " status=401 " in refused
    server.stop()
    server.finish()
    everything = "\n".join(server.lines)
    assert token not in everything
    assert made["secret_key"] not in everything


def test_json_logs_put_every_line_in_json_alembic_and_uvicorn_included(
    tmp_path: Path, started: list[Serve]
) -> None:
    server = Serve("--log-format", "json", "--log-level", "debug", "--access-log", cwd=tmp_path)
    started.append(server)
    server.wait_for("Application startup complete")
    host = f"127.0.0.1:{server.port}"
    path = "/copytrading/trader/position_list"
    reply = signed_get(server.url, host, path, DEMO, DEMO["secret_key"]).json()
    bad = signed_get(server.url, host, path, DEMO, "not-the-secret").json()
    stale = httpx.get(
        f"{server.url}{path}?AccessKeyId=demo-access-key&SignatureMethod=HmacSHA256"
        "&SignatureVersion=2&Timestamp=2020-01-01T00%3A00%3A00&Signature=x",
        timeout=10,
    ).json()
    assert stale["code"] == 12001
    server.wait_for(bad["tid"])
    server.wait_for("expected this string")
    server.wait_for(stale["tid"])
    server.wait_for("request refused")
    records = [json.loads(line) for line in server.lines]  # every line is JSON
    loggers = {r["logger"] for r in records}
    assert {"copytrade.server", "uvicorn.error", "copytrade.access"} <= loggers
    assert any(name.startswith("alembic") for name in loggers)
    access = next(r for r in records if r.get("tid") == reply["tid"])
    assert access["method"] == "GET"
    assert access["path"] == path
    assert access["code"] == 200
    assert isinstance(access["uid"], int)
    assert access["latency_ms"] > 0
    # at debug, a refused signature shows the expected string to sign, never the secret
    why = next(r for r in records if "expected this string" in r["msg"])
    assert f"GET\\n{host}\\n{path}\\nAccessKeyId=demo-access-key" in why["msg"]
    assert "demo-secret-key" not in why["msg"]
    assert "not-the-secret" not in why["msg"]
    assert "Signature=" not in why["msg"]
    late = next(r for r in records if r["msg"].startswith("request refused"))
    assert "Timestamp '2020-01-01T00:00:00'" in late["msg"]
    assert "server time" in late["msg"]
