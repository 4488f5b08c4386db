"""``serve --workers 2``: whichever worker answers ``/metrics`` reports every worker's counts."""

from __future__ import annotations

import json

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from server_processes import ServerProcess, SharedServer

pytestmark = [pytest.mark.postgres]

PATH = "/copytrading/trader/position_list"


@pytest.fixture
def served(workers_server: SharedServer) -> ServerProcess:
    """The session's running ``serve --workers 2``; other tests' requests are counted too, so
    this one counts the difference its own requests make."""
    return workers_server.get()


def _requests_counted(text: str) -> float:
    for family in text_string_to_metric_families(text):
        if family.name == "copytrade_requests":
            return sum(s.value for s in family.samples if s.labels.get("endpoint") == PATH)
    return 0.0


def test_every_worker_reports_the_requests_of_all_workers(served: ServerProcess) -> None:
    with httpx.Client(base_url=f"http://{served.host}", timeout=10) as client:
        before = _requests_counted(client.get("/metrics").text)
    answered_by = set()
    for _ in range(24):  # each on a new connection: the kernel spreads them over the workers
        with httpx.Client(base_url=f"http://{served.host}", timeout=10) as client:
            assert client.get(PATH).json()["code"] == 403  # unsigned: refused, still counted
            answered_by.add(client.get("/_sim/health").json()["worker"])
    assert len(answered_by) == 2
    scraped_by = set()
    for _ in range(12):
        with httpx.Client(base_url=f"http://{served.host}", timeout=10) as client:
            assert _requests_counted(client.get("/metrics").text) == before + 24
            scraped_by.add(client.get("/_sim/health").json()["worker"])
    assert len(scraped_by) == 2


def test_workers_log_in_the_parents_format_with_our_access_line_only(
    postgres_database: str, server_key: str
) -> None:
    server = ServerProcess(
        postgres_database,
        {"COPYTRADE_SERVER_KEY": server_key, "COPYTRADE_DEMO_SEED": "false"},
        "--workers", "2", "--log-level", "info", "--log-format", "json", "--access-log",
    )  # fmt: skip
    try:
        server.wait(60)
        for _ in range(6):
            with httpx.Client(base_url=f"http://{server.host}", timeout=10) as client:
                client.get(PATH)
    finally:
        server.stop()
    assert server.proc.stderr is not None
    records = [json.loads(line) for line in server.proc.stderr.read().decode().splitlines()]
    loggers = [r["logger"] for r in records]
    assert loggers.count("copytrade.access") == 6
    assert "uvicorn.access" not in loggers  # ours replaces it, in every worker
    assert loggers.count("uvicorn.error") >= 4  # both workers' start-up, in the same format
    assert all("color_message" not in r for r in records)
