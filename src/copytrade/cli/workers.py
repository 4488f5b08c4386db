"""``serve --workers N``: N server processes, each with its own listening socket on one port.

uvicorn's own multi-process mode shares one listening socket, and whichever process wakes
first accepts: with keep-alive clients (trading bots, a load generator) one process ended up
holding every connection while the others idled (32 of 32 connections on one worker, measured).
Here every worker binds the port with ``SO_REUSEPORT`` and the kernel spreads new connections
over the workers' sockets (on Linux, by a hash of the connection's addresses).
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
from multiprocessing.connection import wait
from types import FrameType


def _listen(host: str, port: int) -> socket.socket:
    family, kind, proto, _name, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.listen(2048)
    return sock


def _worker(host: str, port: int, log_level: str) -> None:
    import uvicorn

    sock = _listen(host, port)
    config = uvicorn.Config(
        "copytrade.api.app:app_from_env",
        factory=True,
        log_level=log_level,
        access_log=False,
    )
    uvicorn.Server(config).run(sockets=[sock])


def run_workers(count: int, host: str, port: int, log_level: str) -> int:
    """Start ``count`` workers (settings come from the environment); return an exit status.

    SIGTERM or SIGINT stops every worker gracefully; if a worker dies on its own, the others
    are stopped too and the status is 1, so a supervisor (systemd, a container) restarts all.
    """
    if not hasattr(socket, "SO_REUSEPORT"):
        raise RuntimeError("--workers > 1 needs SO_REUSEPORT (Linux, BSD, macOS)")
    ctx = multiprocessing.get_context("spawn")
    procs = [
        ctx.Process(target=_worker, args=(host, port, log_level), name=f"copytrade-worker-{i}")
        for i in range(count)
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
