"""``serve --workers N``: N server processes, each with its own listening socket on one port.

uvicorn's own multi-process mode shares one listening socket, and whichever process wakes
first accepts: with keep-alive clients (trading bots, a load generator) one process ended up
holding every connection while the others idled (32 of 32 connections on one worker, measured).
Here every worker binds the port with ``SO_REUSEPORT`` and the kernel spreads new connections
over the workers' sockets (on Linux, by a hash of the connection's addresses).

Workers never outlive their parent: were they to, a new ``serve`` on the same port would share
its traffic with the orphans. On Linux the kernel sends each worker SIGTERM when the parent
dies (``prctl(PR_SET_PDEATHSIG)``); everywhere, a thread in each worker watches the parent's
sentinel (a pipe that closes when the parent dies) and stops the worker the same way. A worker
that has not finished its graceful stop within :data:`ORPHAN_GRACE_S` exits regardless.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import wait
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from copytrade.config import Settings

PR_SET_PDEATHSIG = 1
ORPHAN_GRACE_S = 5.0
"""Seconds an orphaned worker gets to stop gracefully before it exits anyway."""


def _listen(host: str, port: int) -> socket.socket:
    family, kind, proto, _name, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.listen(2048)
    return sock


def _die_with_parent() -> None:
    """Ask the kernel for SIGTERM when the parent dies (Linux; elsewhere the watcher does it)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # the sentinel watcher still covers it


def _watch_parent(parent_pid: int) -> None:
    """Stop this worker when the parent dies: SIGTERM to itself, then a hard exit."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        wait([parent.sentinel])  # returns when the parent's end of the pipe closes
    else:  # pragma: no cover - not started by multiprocessing
        while os.getppid() == parent_pid:
            time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(ORPHAN_GRACE_S)
    os._exit(1)


def _worker(settings_json: str, parent_pid: int) -> None:
    """Serve in a worker process.

    Serve in a worker process; the settings (secrets included) came through the spawn pipe,
    never through the environment.
    """
    import uvicorn

    from copytrade.api.app import create_app
    from copytrade.api.logs import configure_logging
    from copytrade.bootstrap import bootstrap
    from copytrade.cli.serving import freeze_startup_heap, uvicorn_options
    from copytrade.config import Settings

    _die_with_parent()
    if os.getppid() != parent_pid:  # the parent died before the death signal was armed
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    settings = Settings.model_validate_json(settings_json)
    del settings_json
    configure_logging(settings.log_level, settings.log_format, access_log=settings.access_log)
    sock = _listen(settings.host, settings.port)
    # the parent has checked the schema and seeded
    services = bootstrap(settings, migrate_sqlite=False)
    try:
        config = uvicorn.Config(
            create_app(services, seed_on_start=False),
            log_level=settings.log_level,
            log_config=None,  # configure_logging already routes uvicorn's loggers
            access_log=False,
            **uvicorn_options(settings),
        )
        freeze_startup_heap()
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        services.close()


@contextmanager
def _without_settings_env() -> Iterator[None]:
    """Hide ``COPYTRADE_*`` from the environment workers start with.

    Hide ``COPYTRADE_*`` (the server key, the admin token, URLs with passwords) from the
    environment workers are started with: they get their settings through the spawn pipe.
    """
    hidden = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("COPYTRADE_")}
    try:
        yield
    finally:
        os.environ.update(hidden)


def run_workers(count: int, settings: Settings) -> int:
    """Start ``count`` workers serving ``settings``; return an exit status.

    Each worker receives the settings through the pipe ``multiprocessing`` spawns it with, so
    the server key and admin token never appear in a worker's environment.

    SIGTERM or SIGINT stops every worker gracefully; if a worker dies on its own, the others
    are stopped too and the status is 1, so a supervisor (systemd, a container) restarts all.
    """
    if not hasattr(socket, "SO_REUSEPORT"):
        raise RuntimeError("--workers > 1 needs SO_REUSEPORT (Linux, BSD, macOS)")
    ctx = multiprocessing.get_context("spawn")
    args = (settings.model_dump_json(), os.getpid())
    procs = [
        ctx.Process(target=_worker, args=args, name=f"copytrade-worker-{i}") for i in range(count)
    ]
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for proc in procs:
            if proc.is_alive():
                proc.terminate()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        with _without_settings_env():
            for proc in procs:
                proc.start()
        wait([p.sentinel for p in procs])  # returns when the first worker exits
        if not stopping:
            stop(signal.SIGTERM, None)
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
                proc.join()
        return 0 if stopping else 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sys.stdout.flush()
