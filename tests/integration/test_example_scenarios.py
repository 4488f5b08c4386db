"""The example scenarios run end to end and meet the expectations they declare."""

from __future__ import annotations

import functools
import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from copytrade.cli.main import main
from copytrade.scenario.model import load_scenario
from copytrade.scenario.report import Report
from copytrade.scenario.runner import run_scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scenarios"


def test_every_example_is_run_here() -> None:
    assert {p.stem for p in EXAMPLES.glob("*.toml")} == {*SMALL, "copy-wave-10k"}


SMALL = ["liquidation-cascade", "gap-through-stop", "funding-day"]


@functools.cache
def on_sqlite(name: str) -> Report:
    """The report of example ``name`` run on SQLite, run once for the module's tests that read it
    (a run is deterministic: the same file gives the same report)."""
    return run_scenario(load_scenario(EXAMPLES / f"{name}.toml"))


@pytest.mark.parametrize("name", SMALL)
def test_an_example_scenario_meets_its_declared_expectations(name: str) -> None:
    scenario = load_scenario(EXAMPLES / f"{name}.toml")
    assert scenario.expect.model_fields_set  # every example declares what it should show
    report = on_sqlite(name)
    assert report.failures == [], report.render()
    assert report.errors == []


def test_the_funding_day_reports_the_same_on_the_memory_store_as_on_sqlite() -> None:
    scenario = load_scenario(EXAMPLES / "funding-day.toml")
    on_memory = run_scenario(scenario, store="memory").as_json()
    assert on_memory == on_sqlite("funding-day").as_json()
    funding = on_memory["funding"]
    assert funding["settlements"] == 3
    # 31 longs pay at each of three settlements, 21 shorts receive at the first two
    assert funding["payments"] == 31 * 3 + 21 * 2
    assert Decimal(funding["paid"]) - Decimal(funding["received"]) == Decimal(funding["venue"])
    assert Decimal(funding["venue"]) > 0  # longs outweigh shorts: the venue keeps the rest


def test_the_copy_wave_scaled_down_ten_times_shows_the_same_slippage_distribution() -> None:
    """The 10k wave at 1/10 of the followers and 1/100 of the depth per level, in memory.

    Each copy is 1/10 of the full run's, so each level holds as many copies as in the full
    run and the distribution keeps its shape; the README command runs the full size.
    """
    full = load_scenario(EXAMPLES / "copy-wave-10k.toml")
    scenario = full.model_copy(deep=True)
    scenario.followers[0].count //= 10
    scenario.contracts[0].mm_depth /= 100
    scenario.actions[0].amount /= 10
    report = run_scenario(scenario, store="memory")
    assert report.errors == []
    assert report.copies + report.skips["slippage"] == 1000
    assert set(report.skips) == {"slippage"}
    # about a tenth of the full run's copies and skips (the lead's own take does not scale)
    assert abs(report.copies * 10 - full.expect.copies) <= 10  # type: ignore[operator]
    slip = report.slippage_bps
    assert slip["worst"] <= full.expect.max_copy_slippage_bps
    assert slip["mean"] >= full.expect.min_mean_copy_slippage_bps  # type: ignore[operator]
    assert slip["distribution"] == {
        "<= 0": 19,
        "0-1": 20,
        "1-5": 80,
        "5-10": 100,
        "10-50": 600,
        "> 50": 0,
    }
    # a copy a level, 20 copies a basis point: the median copy is 20 bp worse than the lead
    assert slip["percentiles"] == {
        "p50": Decimal(20),
        "p90": Decimal(36),
        "p99": Decimal(40),
    }


def test_the_cascade_liquidates_the_high_leverage_traders_and_their_copies_only() -> None:
    report = on_sqlite("liquidation-cascade")
    liquidated = {line.name: line.liquidations for line in report.lines}
    assert liquidated == {
        "degen": 1,
        "bold": 1,
        "steady": 0,
        "degen-crowd": 40,
        "bold-crowd": 40,
        "steady-crowd": 0,
    }
    assert report.marks["ETH-USDT"] == 2770


def test_the_cli_prints_the_report_and_fails_on_an_unmet_expectation(tmp_path: Path) -> None:
    text = (EXAMPLES / "gap-through-stop.toml").read_text()
    ok = CliRunner().invoke(main, ["scenario", "run", str(EXAMPLES / "gap-through-stop.toml")])
    assert ok.exit_code == 0, ok.output
    assert "closed positions: stop_loss 26" in ok.output
    assert "expectations: all met" in ok.output
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(text.replace("copies = 25", "copies = 24"))
    failed = CliRunner().invoke(main, ["scenario", "run", "--json", str(wrong)])
    assert failed.exit_code == 1
    report = json.loads(failed.output)
    assert report["failures"] == ["copies: expected 24, got 25"]
    assert report["closes"] == {"stop_loss": 26}


def test_a_bad_scenario_file_is_refused_before_anything_runs(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[[traders]]\nname = "a"\n[[actions]]\ndo = "order"\ntrader = "b"\n')
    result = CliRunner().invoke(main, ["scenario", "run", str(bad)])
    assert result.exit_code == 1
    assert "no trader 'b'" in result.output


def test_the_cli_runs_a_scenario_on_the_memory_store(tmp_path: Path) -> None:
    example = str(EXAMPLES / "gap-through-stop.toml")
    on_memory = CliRunner().invoke(main, ["scenario", "run", "--db", "memory://", example])
    assert on_memory.exit_code == 0, on_memory.output
    assert "closed positions: stop_loss 26" in on_memory.output
    keep = CliRunner().invoke(
        main, ["scenario", "run", "--db", "memory", "--keep", str(tmp_path), example]
    )
    assert keep.exit_code == 1
    assert "--keep keeps a SQLite store" in keep.output


def test_a_scenario_may_not_set_what_the_run_decides(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[server]\ndb_url = "sqlite:///x.db"\n[[traders]]\nname = "a"\n')
    result = CliRunner().invoke(main, ["scenario", "run", str(bad)])
    assert result.exit_code == 1
    assert "not a setting a scenario may give: ['db_url']" in result.output
