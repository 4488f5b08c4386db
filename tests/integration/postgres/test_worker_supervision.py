"""``serve --workers N``: workers die with their parent and carry no secrets in their environment.

A ``kill -9`` of the parent used to leave its workers serving; a new ``serve`` on the same port
then shared its traffic with the orphans through ``SO_REUSEPORT``.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from server_processes import ServerProcess, SharedServer

pytestmark = [pytest.mark.postgres]

ADMIN_TOKEN = "admin-token-that-must-stay-secret"


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(child) for child in text]
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie serves nothing


@pytest.fixture(scope="module")
def shared(postgres_database: str, server_key: str) -> Iterator[SharedServer]:
    shared = SharedServer(
        lambda: ServerProcess(
            postgres_database,
            {
                "COPYTRADE_SERVER_KEY": server_key,
                "COPYTRADE_DEMO_SEED": "false",
                "COPYTRADE_ADMIN_TOKEN": ADMIN_TOKEN,
            },
            "--workers",
            "2",
        )
    )
    yield shared
    shared.close()


@pytest.fixture
def served(shared: SharedServer) -> ServerProcess:
    """A running ``serve --workers 2``: the module's, or a new one after the kill test."""
    return shared.get()


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_secrets_are_not_in_a_workers_environment(served: ServerProcess, server_key: str) -> None:
    workers = [pid for pid in _children(served.proc.pid) if _alive(pid)]
    assert workers
    for pid in workers:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
        assert server_key.encode() not in environ
        assert ADMIN_TOKEN.encode() not in environ
        assert b"COPYTRADE_SETTINGS_JSON" not in environ
    # and the workers do have the token: the admin API wants it
    reply = served.http.get("/_sim/health", headers={"authorization": f"Bearer {ADMIN_TOKEN}"})
    assert reply.status_code == 200


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_kill_9_of_the_parent_takes_every_worker_down(served: ServerProcess) -> None:
    workers = _children(served.proc.pid)
    assert len(workers) >= 2
    os.kill(served.proc.pid, signal.SIGKILL)
    served.proc.wait()
    deadline = time.monotonic() + 8
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if _alive(pid)], "orphaned workers still running"
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://{served.host}/_sim/ping", timeout=2)
