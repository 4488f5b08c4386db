"""The README's ``copytrade`` shell blocks, run line by line as a newcomer pastes them (issue 15).

Each block runs on a fresh loopback server with its demo data (the trader 10000001 and its
three followers, as after ``make run``). A newcomer who pasted the ``copytrade sim`` block met
``Error: refused (400): 10000002 already follows a trader``: the demo's followers already follow
the demo trader, so the block's own ``follow`` line failed.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from copytrade.cli.main import main
from copytrade.testing.server import LiveServer

README = Path(__file__).resolve().parents[2] / "README.md"


def shell_blocks(text: str) -> list[str]:
    """Return the README's ``sh`` blocks that run ``copytrade sim`` or ``copytrade api``."""
    blocks = re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M)
    return [b for b in blocks if re.search(r"copytrade (sim|api) ", b)]


def commands(block: str) -> Iterator[tuple[dict[str, str], list[str]]]:
    """Yield ``(exported variables so far, copytrade arguments)`` per command of ``block``."""
    exported: dict[str, str] = {}
    for line in block.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        if words[0] == "export":
            exported |= dict(w.split("=", 1) for w in words[1:])
            continue
        assert Path(words[0]).name == "copytrade", line
        yield dict(exported), words[1:]


def test_the_readme_has_the_blocks_this_test_runs() -> None:
    blocks = shell_blocks(README.read_text(encoding="utf-8"))
    runs = [" ".join(args[:2]) for block in blocks for _, args in commands(block)]
    assert "api place-order" in runs
    assert "sim follow" in runs
    assert "sim follower-settings" in runs
    assert "sim reset" in runs


@pytest.mark.parametrize(
    "block", shell_blocks(README.read_text(encoding="utf-8")), ids=lambda b: b.split("\n")[0][:40]
)
def test_each_readme_block_runs_on_a_fresh_demo_server(block: str, tmp_path: Path) -> None:
    with LiveServer(db_path=tmp_path / "readme.db") as server:
        assert server.user(10000002)["following"]["trader_uid"] == 10000001  # the demo's data
        for exported, args in commands(block):
            env = exported | {"COPYTRADE_BASE_URL": server.base_url}
            if args[0] == "sim":
                env["COPYTRADE_SIM_URL"] = server.base_url
            result = CliRunner().invoke(main, args, env=env)
            assert result.exit_code == 0, f"copytrade {shlex.join(args)}:\n{result.output}"
            assert "Error" not in result.output
