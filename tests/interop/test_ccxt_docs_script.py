"""The ccxt script of ``docs/ccxt.md``, run as written against a live server with followers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from copytrade.testing.server import LiveServer, free_port

DOC = Path(__file__).resolve().parents[2] / "docs" / "ccxt.md"


def test_the_documented_ccxt_script_runs_and_its_lead_orders_are_copied(
    live_server: LiveServer, tmp_path: Path
) -> None:
    (script,) = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    path = tmp_path / "ccxt_script.py"
    path.write_text(script)
    trader = live_server.create_user("trader", balance="100000")
    follower = live_server.create_user("follower", balance="50000")
    live_server.follow(follower["uid"], trader["uid"], "2")
    env = {
        **os.environ,
        "COPYTRADE_HOST": live_server.host,
        "COPYTRADE_KEY": trader["access_key"],
        "COPYTRADE_SECRET": trader["secret_key"],
    }
    done = subprocess.run(
        [sys.executable, str(path)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "position long 2.0 10" in done.stdout
    assert "positions after close []" in done.stdout
    copies = live_server.user(follower["uid"])
    assert copies["positions"] == []
    assert [p["volume"] for p in copies["closed_positions"]] == ["4"]


@pytest.fixture
def make_run_server(tmp_path: Path) -> Iterator[str]:
    """``make run``'s server: ``copytrade serve --access-log`` with its defaults (its own SQLite
    file in the working directory, the demo trader and its three followers), on a free port."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPYTRADE_")}
    command = [sys.executable, "-m", "copytrade.cli.main", "serve", "--access-log"]
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # a pipe nobody reads would fill up and stall the server
    )
    host = f"127.0.0.1:{port}"
    started = time.monotonic()
    try:
        while True:
            try:
                if httpx.get(f"http://{host}/_sim/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, f"the server exited with {process.returncode}"
            assert time.monotonic() - started < 60, "the server did not start"
            time.sleep(0.1)
        yield host
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_documented_ccxt_script_runs_as_the_doc_says_against_make_runs_server(
    make_run_server: str, tmp_path: Path
) -> None:
    """The doc's own instructions: the demo key, ``COPYTRADE_HOST`` of ``make run``'s server;
    the demo followers (ratios 1, 0.5 and 2) copy the lead's 2 contracts and close with it."""
    (script,) = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    path = tmp_path / "ccxt_script.py"
    path.write_text(script)
    env = {
        **os.environ,
        "COPYTRADE_HOST": make_run_server,
        "COPYTRADE_KEY": "demo-access-key",
        "COPYTRADE_SECRET": "demo-secret-key",
    }

    done = subprocess.run(
        [sys.executable, str(path)], env=env, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    assert "position long 2.0 10" in done.stdout
    assert "positions after close []" in done.stdout
    copied = []
    for uid in (10000002, 10000003, 10000004):
        follower = httpx.get(f"http://{make_run_server}/_sim/users/{uid}").json()
        assert follower["positions"] == []
        copied += [p["volume"] for p in follower["closed_positions"]]
    assert sorted(copied) == ["1", "2", "4"]
