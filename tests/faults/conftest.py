"""Fixtures of the fault harness: one crash run and one fuzz run per store, shared by the tests
that judge them, and the figures printed at the end of the session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from faults import sizes
from faults.crash import CrashFigures, run_crash
from faults.fuzz import FuzzFigures, run_fuzz
from faults.stores import postgres_store, sqlite_store
from suite_services import service_url

FIGURES: list[Any] = []


def _store(name: str, workdir: Path) -> Any:
    if name == "sqlite":
        return sqlite_store(workdir)
    return postgres_store(service_url("COPYTRADE_TEST_POSTGRES_URL", "PostgreSQL"))


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def crash(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CrashFigures]:
    """Crash rounds on one store (SQLite, or PostgreSQL with 2 workers)."""
    workdir = tmp_path_factory.mktemp(f"crash-{request.param}")
    rounds = sizes.sqlite_rounds() if request.param == "sqlite" else sizes.postgres_rounds()
    with _store(request.param, workdir) as store:
        figures = run_crash(
            store,
            workdir,
            rounds=rounds,
            max_load_seconds=sizes.load_seconds(),
            seed=sizes.seed(),
        )
    FIGURES.append(figures)
    return figures


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def fuzz(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FuzzFigures]:
    """The fuzzer's run against one store."""
    workdir = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    with _store(request.param, workdir) as store:
        figures = run_fuzz(store, workdir, cases=sizes.fuzz_cases(), seed=sizes.seed())
    FIGURES.append(figures)
    return figures


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the figures of every crash and fuzz run of the session."""
    if not FIGURES:
        return
    terminalreporter.section("fault harness figures")
    for figures in FIGURES:
        terminalreporter.write_line(figures.report())
