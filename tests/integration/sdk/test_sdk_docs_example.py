"""Run the documented SDK example against a real copytrade server.

The example is the fenced ``python`` block whose first line is ``EXAMPLE_MARKER`` in
``EXAMPLE_DOC``. It reads ``COPYTRADE_BASE_URL`` / ``COPYTRADE_ACCESS_KEY`` /
``COPYTRADE_SECRET_KEY`` (defaulting to the local demo server), which this test points at
the ``live_server`` fixture and a fresh trader.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
EXAMPLE_DOC = REPO / "README.md"
EXAMPLE_MARKER = "# example: sdk-quickstart"


def extract_example(path: Path, marker: str = EXAMPLE_MARKER) -> str:
    """Return the fenced python block of ``path`` that starts with ``marker``."""
    blocks = re.findall(r"^```python\n(.*?)^```", path.read_text(encoding="utf-8"), re.S | re.M)
    matching = [b for b in blocks if b.lstrip().startswith(marker)]
    assert len(matching) == 1, f"expected one python block starting with {marker!r} in {path}"
    return matching[0]


def test_documented_example_runs_against_the_server(
    live_server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    trader = live_server.admin(
        "/_sim/users", {"role": "trader", "balance": "10000", "permissions": "trade"}
    )
    monkeypatch.setenv("COPYTRADE_BASE_URL", live_server.base_url)
    monkeypatch.setenv("COPYTRADE_ACCESS_KEY", trader["access_key"])
    monkeypatch.setenv("COPYTRADE_SECRET_KEY", trader["secret_key"])
    code = compile(extract_example(EXAMPLE_DOC), str(EXAMPLE_DOC), "exec")

    exec(code, {"__name__": "__example__"})

    out = capsys.readouterr().out
    assert "open " in out
    assert "closed " in out
    assert trader["secret_key"] not in out


def test_documented_v5_v6_example_runs_against_the_server(
    live_server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = REPO / "docs" / "sdk.md"
    trader = live_server.create_user("trader", balance="100000")
    follower = live_server.create_user("follower", balance="50000")
    live_server.follow(follower["uid"], trader["uid"], "1")
    monkeypatch.setenv("COPYTRADE_BASE_URL", live_server.base_url)
    monkeypatch.setenv("COPYTRADE_ACCESS_KEY", trader["access_key"])
    monkeypatch.setenv("COPYTRADE_SECRET_KEY", trader["secret_key"])
    code = compile(extract_example(doc, "# example: sdk-v5-v6"), str(doc), "exec")

    exec(code, {"__name__": "__example__"})

    out = capsys.readouterr().out
    assert "take profit " in out
    assert out.count("follower ") == 1
    assert "followers now 1" in out
    assert live_server.user(follower["uid"])["positions"] == []  # the copy closed with the lead
