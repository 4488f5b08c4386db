"""The example scenarios run end to end and meet the expectations they declare."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from copytrade.cli.main import main
from copytrade.scenario.model import load_scenario
from copytrade.scenario.runner import run_scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scenarios"


@pytest.mark.parametrize("name", ["liquidation-cascade", "gap-through-stop", "copy-wave-10k"])
def test_an_example_scenario_meets_its_declared_expectations(name: str) -> None:
    scenario = load_scenario(EXAMPLES / f"{name}.toml")
    assert scenario.expect.model_fields_set  # every example declares what it should show
    report = run_scenario(scenario)
    assert report.failures == [], report.render()
    assert report.errors == []


def test_the_cascade_liquidates_the_high_leverage_traders_and_their_copies_only() -> None:
    report = run_scenario(load_scenario(EXAMPLES / "liquidation-cascade.toml"))
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
