"""How big a run is: ``COPYTRADE_FAULTS_*`` environment variables, small by default (CI).

Full size (issue 12): ``COPYTRADE_FAULTS_SQLITE_ROUNDS=20 COPYTRADE_FAULTS_POSTGRES_ROUNDS=10
COPYTRADE_FAULTS_FUZZ_CASES=10000``.
"""

from __future__ import annotations

import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def sqlite_rounds() -> int:
    """Crash rounds on SQLite (``COPYTRADE_FAULTS_SQLITE_ROUNDS``, default 3)."""
    return _int("COPYTRADE_FAULTS_SQLITE_ROUNDS", 3)


def postgres_rounds() -> int:
    """Crash rounds on PostgreSQL, 2 workers (``COPYTRADE_FAULTS_POSTGRES_ROUNDS``, default 3)."""
    return _int("COPYTRADE_FAULTS_POSTGRES_ROUNDS", 3)


def fuzz_cases() -> int:
    """Fuzz cases per store (``COPYTRADE_FAULTS_FUZZ_CASES``, default 500)."""
    return _int("COPYTRADE_FAULTS_FUZZ_CASES", 500)


def load_seconds() -> float:
    """Longest load before the kill of a round (``COPYTRADE_FAULTS_LOAD_SECONDS``, default 3)."""
    return float(os.environ.get("COPYTRADE_FAULTS_LOAD_SECONDS", "") or 3)


def seed() -> int | None:
    """A fixed seed to replay a run (``COPYTRADE_FAULTS_SEED``), else a random one (printed)."""
    value = os.environ.get("COPYTRADE_FAULTS_SEED", "")
    return int(value) if value.strip() else None
