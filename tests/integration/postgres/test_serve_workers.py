"""``copytrade serve --workers 2``: two processes on one port, connections spread over both."""

from __future__ import annotations

import httpx
import pytest
from server_processes import ServerProcess, SharedServer

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def served(workers_server: SharedServer) -> ServerProcess:
    """A running ``serve --workers 2``: the session's, or a new one if a test stopped it."""
    return workers_server.get()


def test_two_workers_share_the_port_and_both_take_connections(served: ServerProcess) -> None:
    workers = set()
    for _ in range(24):  # each a new connection: the kernel picks a worker for each
        with httpx.Client(base_url=f"http://{served.host}", timeout=10) as client:
            reply = client.get("/_sim/health")
            assert reply.status_code == 200
            workers.add(reply.json()["worker"])
    # all 24 on one worker would happen with probability 2 * 2**-24 if the kernel spread them
    assert len(workers) == 2


def test_stopping_the_parent_stops_every_worker(served: ServerProcess) -> None:
    served.stop()
    assert served.proc.returncode == 0
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://{served.host}/_sim/health", timeout=2)
