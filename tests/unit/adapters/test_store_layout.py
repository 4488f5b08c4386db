"""The stores' layout, checked on the source: each part in its own module, no module mixing
the embedded (SQLite) and the shared (PostgreSQL) design, and the composition root apart from
the HTTP layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[3] / "src" / "copytrade"
DB = SRC / "adapters" / "db"

EMBEDDED = ("sqlite_cache", "sqlite_store", "sqlite_uow", "sqlite_writer", "batching", "checkpoint")
SHARED = ("dbthreads", "pg_store", "pg_uow", "pg_writer", "pgwire", "pgwrite", "versions")
NEUTRAL = ("loader", "overview", "readmodel", "records", "rows", "schema", "sql", "types")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _uses(module: str, parts: tuple[str, ...]) -> set[str]:
    names = _imports(DB / f"{module}.py")
    return {p for p in parts if f"copytrade.adapters.db.{p}" in names}


@pytest.mark.parametrize("module", EMBEDDED)
def test_an_embedded_part_uses_no_shared_part(module: str) -> None:
    assert _uses(module, SHARED) == set()


@pytest.mark.parametrize("module", SHARED)
def test_a_shared_part_uses_no_embedded_part(module: str) -> None:
    assert _uses(module, EMBEDDED) == set()


@pytest.mark.parametrize("module", NEUTRAL)
def test_a_part_both_stores_use_belongs_to_neither(module: str) -> None:
    assert _uses(module, EMBEDDED + SHARED) == set()


def test_the_memory_store_uses_no_database() -> None:
    names = _imports(SRC / "adapters" / "memory.py")
    assert not any(n.startswith(("copytrade.adapters.db", "sqlalchemy")) for n in names)


def test_the_composition_root_imports_nothing_from_the_http_layer() -> None:
    names = _imports(SRC / "bootstrap.py")
    assert not any(n.startswith("copytrade.api") for n in names)


def test_every_module_of_the_database_stores_is_classified() -> None:
    modules = {p.stem for p in DB.glob("*.py")} - {"__init__", "engine"}
    assert modules == set(EMBEDDED + SHARED + NEUTRAL)
