"""bench/'s pure parts: the target table's verdicts and ratios, and the profilers' parsers."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[3] / "bench"
sys.path.insert(0, str(BENCH))

import prof_callgrind  # noqa: E402
import prof_groups  # noqa: E402
import prof_pyspy  # noqa: E402
import table  # noqa: E402
from harness import Side  # noqa: E402


def test_targets_pass_miss_and_missing() -> None:
    at_most = table.Target("<=", 250)
    assert at_most.check(250) == "PASS"
    assert at_most.check(251) == "MISS"
    assert at_most.check(float("nan")) == "n/a"
    assert table.Target(">=", 0.22).check(0.21) == "MISS"


def test_render_gives_both_sides_the_interleaved_ratio_and_a_verdict_on_new() -> None:
    rows = table.rows([10_000], [], postgres=False)
    figures = {"old": {"sq.10000.open": 800.0}, "new": {"sq.10000.open": 200.0}}
    text = table.render(rows, [Side("old"), Side("new")], figures)
    line = next(x for x in text.splitlines() if x.startswith("10k-follower open, SQLite"))
    assert line.split()[-6:] == ["800", "200", "0.25", "<=", "250", "PASS"]


def test_render_marks_a_target_row_that_was_not_measured() -> None:
    rows = table.rows([10_000], [], postgres=False)
    text = table.render(rows, [Side("this")], {"this": {}})
    line = next(x for x in text.splitlines() if x.startswith("10k-follower close_all, SQLite"))
    assert line.endswith("not run")


def test_every_issue_target_has_a_row() -> None:
    targets = {r.key: r.target for r in table.rows([10_000, 100_000], [10_000], True) if r.target}
    assert set(targets) == {
        "sq.ratio",
        "sq.tail",
        "sq.10000.open",
        "sq.10000.close",
        "sq.10000.by_open",
        "sq.10000.by_close",
        "sq.100000.close",
        "pg.cpu",
        "pg.10000.close",
    }


def test_small_sets_tiny_defaults_that_options_still_override() -> None:
    args = table.parse(["--small", "--followers", "50"])
    assert (args.followers, args.repeat, args.pairs) == ("50", 1, 1)


def test_callgrind_total_is_read_from_the_output_file(tmp_path: Path) -> None:
    out = tmp_path / "callgrind.out"
    out.write_text("events: Ir\nfn=main\n1 5\nsummary: 123456\ntotals: 123456\n")
    assert prof_callgrind._total_ir(out) == 123456


def test_pyspy_collapsed_stacks_give_self_and_inclusive_shares() -> None:
    stacks = "process 1:x;run (a.py:1);handle (b.py:2) 3\nprocess 1:x;run (a.py:1) 1\n"
    lines = prof_pyspy.top_functions(stacks, 5).splitlines()
    assert lines[0].startswith("4 samples")
    assert lines[1].split() == ["75.0%", "75.0%", "handle", "(b.py:2)"]
    assert lines[2].split() == ["25.0%", "100.0%", "run", "(a.py:1)"]


def test_groups_give_each_sample_to_its_innermost_stage() -> None:
    collapsed = "\n".join(
        [
            "process 1:x;run (asyncio/runners.py:86) 6",
            "run (asyncio/runners.py:86);asgi (copytrade/api/htx.py:175);"
            "authenticate (copytrade/api/auth.py:200);digest (hmac.py:187) 3",
            "run (asyncio/runners.py:86);asgi (copytrade/api/htx.py:175) 1",
        ]
    )
    text = prof_groups.groups(collapsed, functions=1)
    lines = text.splitlines()
    assert lines[0] == "10 samples (GIL held)"
    assert "  60.0%  HTTP server (uvicorn, loop)" in lines
    assert "  30.0%  signature (auth, query, HMAC)" in lines  # hmac.py counts for its caller
    assert "  10.0%  HTX dispatch (htx.py)" in lines
