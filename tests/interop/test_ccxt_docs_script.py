"""The ccxt script of ``docs/ccxt.md``, run as written against a live server with followers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from copytrade.testing.server import LiveServer

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
