"""The layering of STYLE.md, checked on the source: who may import what."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[3] / "src" / "copytrade"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _package_imports(package: str) -> dict[str, set[str]]:
    return {str(p.relative_to(SRC)): _imports(p) for p in sorted((SRC / package).rglob("*.py"))}


def _violations(package: str, allowed: tuple[str, ...]) -> list[str]:
    bad = []
    for module, imports in _package_imports(package).items():
        for name in sorted(imports):
            top = name.split(".")[0]
            stdlib = top in sys.stdlib_module_names or top == "__future__"
            if not stdlib and not any(name == a or name.startswith(a + ".") for a in allowed):
                bad.append(f"{module} imports {name}")
    return bad


@pytest.mark.parametrize(
    ("package", "allowed"),
    [
        # the trading core: stdlib only, plus HTX's vocabulary (a stdlib-only leaf module)
        ("domain", ("copytrade.domain", "copytrade.protocol.enums")),
        # the wire contract shared with the SDK: nothing else from copytrade
        ("protocol", ("copytrade.protocol", "cryptography")),
        # use cases: the domain and their own ports
        ("service", ("copytrade.domain", "copytrade.service")),
        # the ASGI edge: use cases, the wire contract, domain types and the composition root's
        # Services; never an adapter (SQL, Redis clients and engines stay behind the ports)
        (
            "api",
            (
                "copytrade",
                "copytrade.api",
                "copytrade.service",
                "copytrade.protocol",
                "copytrade.domain",
                "copytrade.bootstrap",
                "copytrade.config",
                "starlette",
                "orjson",
                "pydantic",
                "pydantic_core",
                "prometheus_client",
                "cryptography",
                "uvicorn",
            ),
        ),
        # the SDK: protocol only (and the package root's __version__), and its HTTP library
        (
            "client",
            ("copytrade", "copytrade.client", "copytrade.protocol", "httpx", "cryptography"),
        ),
    ],
)
def test_a_layer_imports_only_what_it_may(package: str, allowed: tuple[str, ...]) -> None:
    assert _violations(package, allowed) == []


def test_the_domain_has_no_clock_or_randomness() -> None:
    for module, imports in _package_imports("domain").items():
        assert not imports & {"time", "random", "datetime", "uuid", "secrets"}, module
