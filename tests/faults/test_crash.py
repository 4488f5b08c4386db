"""Crash rounds: ``kill -9`` under load, restart, and a database that lost nothing and holds
together (SQLite; PostgreSQL with 2 workers). Opt-in: ``pytest -m faults``."""

from __future__ import annotations

import pytest

from faults.crash import CrashFigures

pytestmark = [pytest.mark.faults, pytest.mark.timeout(3600)]


def test_every_round_ran_under_load(crash: CrashFigures) -> None:
    assert crash.rounds > 0
    assert crash.acknowledged > 0, crash.report()


def test_no_acknowledged_command_is_lost(crash: CrashFigures) -> None:
    assert not crash.lost, crash.report("lost")


def test_the_database_is_consistent_after_every_restart(crash: CrashFigures) -> None:
    assert not crash.inconsistent, crash.report("inconsistent")


def test_money_is_conserved_to_the_last_decimal(crash: CrashFigures) -> None:
    assert not crash.drift, crash.report("rounding drift")


def test_no_worker_outlives_a_killed_parent(crash: CrashFigures) -> None:
    assert crash.orphans == 0, crash.summary()


def test_no_system_error_under_load(crash: CrashFigures) -> None:
    assert crash.http_500 == crash.code_1000 == 0, crash.report("errors under load")
    assert crash.tracebacks == crash.leaks == 0, crash.summary()
