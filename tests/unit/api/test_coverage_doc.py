"""COVERAGE.md is the generated one (regenerate: python -m copytrade.api.coverage > COVERAGE.md)."""

from __future__ import annotations

from pathlib import Path

from copytrade.api.coverage import render
from copytrade.api.routes import ROUTES
from copytrade.protocol.endpoints import ENDPOINTS

REPO = Path(__file__).resolve().parents[3]


def test_the_coverage_document_matches_the_route_table() -> None:
    assert (REPO / "COVERAGE.md").read_text() == render()


def test_every_served_endpoint_is_marked_as_served() -> None:
    text = render()
    for name in ROUTES:
        assert f"`/copytrading/trader/{name}` | " in text
        line = next(x for x in text.splitlines() if f"/{name}`" in x)
        assert "| yes |" in line


def test_coverage_says_19_of_19_and_counts_v5_and_v6() -> None:
    text = (REPO / "COVERAGE.md").read_text()
    assert "The server implements 19 of 19 endpoints." in text
    assert "## HTX v5 USDT-M trading" in text
    assert "## HTX v6 copy trading" in text
    assert "The server implements 12 of 12 endpoints" in text  # v6: 11 paths, config GET+POST


def test_the_readme_api_table_lists_all_19_endpoints() -> None:
    readme = (REPO / "README.md").read_text()
    rows = {line.split("|")[1].strip() for line in readme.splitlines() if line.startswith("| `")}
    assert len(ENDPOINTS) == 19
    for endpoint in ENDPOINTS:
        assert f"`{endpoint.method.value} {endpoint.name}`" in rows, endpoint.name
