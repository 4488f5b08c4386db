"""Test kit shipped with copytrade: an in-process server, a sandbox helper, pytest fixtures.

``from copytrade.testing import LiveServer`` runs the real server (uvicorn on a loopback port,
a SQLite file) inside your test process; :class:`Sandbox` drives any server through its admin
API and makes SDK clients. The pytest plugin (:mod:`copytrade.testing.pytest_plugin`) gives
them as fixtures: ``copytrade``, ``trader_with_followers``, ``client_for``,
``copytrade_server``, and ``--copytrade-url`` to aim them at an external server.
"""

from __future__ import annotations

from copytrade.testing.sandbox import Sandbox, Team
from copytrade.testing.server import LiveServer, free_port

__all__ = ["LiveServer", "Sandbox", "Team", "free_port"]
