"""COVERAGE.md is the generated one (regenerate: python -m copytrade.api.coverage > COVERAGE.md)."""

from __future__ import annotations

from pathlib import Path

from copytrade.api.coverage import render
from copytrade.api.routes import ROUTES

REPO = Path(__file__).resolve().parents[3]


def test_the_coverage_document_matches_the_route_table() -> None:
    assert (REPO / "COVERAGE.md").read_text() == render()


def test_every_served_endpoint_is_marked_as_served() -> None:
    text = render()
    for name in ROUTES:
        assert f"`/copytrading/trader/{name}` | " in text
        line = next(x for x in text.splitlines() if f"/{name}`" in x)
        assert "| yes |" in line
