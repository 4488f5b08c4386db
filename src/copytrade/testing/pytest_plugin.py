"""pytest plugin: the ``copytrade_server`` fixture (a real server over a temporary SQLite file).

Installed with copytrade (entry point ``pytest11``), so any project's tests can write::

    def test_my_bot(copytrade_server):
        trader = copytrade_server.create_user("trader", balance="10000")
        ...
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from copytrade.testing.server import LiveServer


@pytest.fixture
def copytrade_server(tmp_path: Path) -> Iterator[LiveServer]:
    """Yield a started copytrade server over a fresh SQLite file; stopped afterwards."""
    with LiveServer(db_path=tmp_path / "copytrade.db", demo_seed=False) as server:
        yield server
