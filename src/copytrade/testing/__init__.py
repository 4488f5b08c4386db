"""Test kit shipped with copytrade: an in-process server and a pytest fixture.

``from copytrade.testing import LiveServer`` runs the real server (uvicorn on a loopback port,
a SQLite file) inside your test process; the pytest plugin gives it as the ``copytrade_server``
fixture.
"""

from __future__ import annotations

from copytrade.testing.server import LiveServer, free_port

__all__ = ["LiveServer", "free_port"]
