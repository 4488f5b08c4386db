"""``copytrade serve --db memory://``: a throw-away sandbox that serves the README's quick start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from copytrade.cli.main import main
from copytrade.testing.server import free_port


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPYTRADE_")}
    started = time.monotonic()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "copytrade.cli.main",
            "serve",
            "--db",
            "memory://",
            "--port",
            str(port),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # a pipe nobody reads would fill up and stall the server
    )
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                if httpx.get(f"{url}/_sim/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, f"the sandbox exited with {process.returncode}"
            assert time.monotonic() - started < 30, "the sandbox did not start"
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert not list(tmp_path.iterdir())  # nothing written anywhere: a sandbox


def test_the_readme_quick_start_runs_against_a_memory_sandbox(
    sandbox: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("BASE_URL", "ACCESS_KEY", "SECRET_KEY", "PROFILE", "CONFIG"):
        monkeypatch.delenv(f"COPYTRADE_{name}", raising=False)
    monkeypatch.setenv("COPYTRADE_PROFILE_FILE", str(tmp_path.parent / "absent.toml"))
    monkeypatch.setenv("COPYTRADE_BASE_URL", sandbox)
    monkeypatch.setenv("COPYTRADE_ACCESS_KEY", "demo-access-key")
    monkeypatch.setenv("COPYTRADE_SECRET_KEY", "demo-secret-key")
    runner = CliRunner()

    def api(*args: str) -> str:
        result = runner.invoke(main, ["api", *args])
        assert result.exit_code == 0, result.output
        return result.output

    api(
        "place-order", "--contract-code", "BTC-USDT", "--amount", "2", "--margin-mode", "cross",
        "--order-price-type", "market", "--order-direction", "buy", "--lever", "10",
    )  # fmt: skip
    positions = json.loads(api("current-positions", "--contract-code", "BTC-USDT", "--json"))
    assert len(positions["items"]) == 1
    api(
        "close-all",
        "--contract-code",
        "BTC-USDT",
        "--margin-mode",
        "cross",
        "--position-side",
        "long",
    )
    history = json.loads(api("history", "--contract-code", "BTC-USDT", "--json"))
    assert len(history["items"]) == 1
    # the demo's three followers copied the trader and were closed with it
    followers = httpx.get(f"{sandbox}/_sim/users/10000002").json()
    assert len(followers["closed_positions"]) == 1
    # and the dashboard shows the sandbox (the memory store's overview reader)
    state = httpx.get(f"{sandbox}/_sim/ui/state.json").json()
    [demo] = state["traders"]
    assert (demo["uid"], demo["followers"]) == (10000001, 3)


def test_a_memory_store_boots_and_seeds_in_milliseconds() -> None:
    from copytrade.bootstrap import bootstrap
    from copytrade.config import Settings

    started = time.perf_counter()
    services = bootstrap(Settings(db_url="memory://"))
    services.seed()  # markets and the demo trader with three followers
    elapsed = time.perf_counter() - started
    services.close()
    assert elapsed < 0.5, elapsed  # a SQLite file takes its migrations alone longer
