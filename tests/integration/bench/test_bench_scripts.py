"""bench/'s scripts run at tiny size against a real server (benchmarks never run here).

Each test drives the very functions the benchmarks call, with a handful of followers, keys and
cycles, so a change to the server or the scripts that breaks a benchmark fails here in seconds.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench"
sys.path.insert(0, str(BENCH))

import harness  # noqa: E402
import inproc  # noqa: E402
import prof_callgrind  # noqa: E402
import prof_tail  # noqa: E402
from cycle import CycleLoad  # noqa: E402
from fanout import Bystander, wave  # noqa: E402
from pg_cost import _on_cpu_seconds  # noqa: E402
from pg_split import sample  # noqa: E402
from prof_pg import StatementCounter  # noqa: E402


@pytest.fixture(scope="module")
def server() -> Iterator[harness.Server]:
    side = harness.Side("this")
    with harness.database(side, None) as url, harness.Server(side, url) as running:
        yield running


def test_a_wave_opens_and_closes_every_copy_while_the_bystander_is_served(
    server: harness.Server,
) -> None:
    # a request starts at least every 5 ms, on 12 keys that stay under the 18/s rate limit
    bystander = Bystander(server, connections=1, interval_ms=5, keys=12)
    rss = server.rss_mib()
    done = wave(server, bystander, 400, settle=0.05)  # opens and closes last > 5 ms
    assert done.notes == []  # the last follower had its copy after the open, none after close
    assert 0 < done.open < 10
    assert 0 < done.close < 10
    assert done.open_cpu >= 0
    assert done.close_cpu >= 0
    assert done.during_open.count >= 1
    assert done.during_close.count >= 1
    assert bystander.errors == {}
    assert rss > 10
    assert done.rss_before > 10


def test_signed_cycles_report_a_ratio_and_server_cpu_per_request(server: harness.Server) -> None:
    load = CycleLoad(server, keys=20, connections=2)
    run = load.run(0.3)
    assert run.raw_rate > 0
    assert run.rate > 0
    assert run.latencies
    assert run.server_us > 0


def test_the_in_process_driver_serves_signed_cycles(tmp_path: Path) -> None:
    prof_callgrind.inner(3, 2, "cycle", str(tmp_path))  # raises on any refused request


def test_the_tail_profiler_reports_the_latency_spread(capsys: pytest.CaptureFixture[str]) -> None:
    figures = asyncio.run(prof_tail.measure(8, 4, 5.0, freeze=False))
    assert figures["tail"] >= 1
    assert figures["cpu_tail"] >= 1
    assert figures["cpu_us"] > 0
    out = capsys.readouterr().out
    assert "p99/p50" in out
    assert "cpu p99/p50" in out
    assert "commits:" in out


@pytest.mark.postgres
def test_statements_of_the_postgres_cycle_are_counted(postgres_database: str) -> None:
    counter = StatementCounter()

    async def go() -> None:
        server = inproc.InProcess(postgres_database)
        await server.start()
        try:
            work = inproc.cycles(await server.traders(1))
            counter.on = True
            await inproc.run_cycles(server, work, 2)
            counter.on = False
        finally:
            await server.stop()

    with counter.install():
        asyncio.run(go())
    assert sum(counter.calls.values()) >= 4  # at least one statement per request
    assert "statements per request" in counter.report(4)


@pytest.mark.postgres
def test_a_warm_trading_command_begins_and_commits_in_its_two_pipelines(
    postgres_database: str,
) -> None:
    counter = StatementCounter()

    async def go() -> None:
        server = inproc.InProcess(postgres_database)
        await server.start()
        try:
            work = inproc.cycles(await server.traders(1))
            await inproc.run_cycles(server, work, 2)  # warm: the account kept, marks read
            counter.on = True
            await inproc.run_cycles(server, work, 3)
            counter.on = False
        finally:
            await server.stop()

    with counter.install():
        asyncio.run(go())
    requests = 6
    assert counter.calls["BEGIN (pipelined)"] == requests
    assert counter.calls["COMMIT (pipelined)"] == requests
    assert counter.round_trips >= 2 * requests


def test_the_cpu_split_reads_the_server_threads(server: harness.Server) -> None:
    split = sample(server, "no_such_database")
    assert split["server: event loop"][0] + split["server: event loop"][1] > 0
    assert "postgres: backends" not in split
    assert _on_cpu_seconds([server.proc.pid], threads=True) > 0
