"""A real ``copytrade serve`` child process: started in its own process group, killed with -9.

The server runs exactly as an operator runs it (the CLI in a subprocess, real loopback HTTP); its
stderr goes to a file the harness scans for tracebacks and secrets.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from copytrade.testing.server import free_port

LOOPBACK = "127.0.0.1"


class ServeProcess:
    """``python -m copytrade.cli.main serve`` on a fresh loopback port, in a new session.

    Args:
        db_url: the database the server uses.
        env: extra environment (``COPYTRADE_*`` settings).
        log_path: file that receives the server's stderr (appended).
        workers: ``--workers``.
        redis_url: ``--redis``, or None.
    """

    def __init__(
        self,
        db_url: str,
        env: dict[str, str],
        log_path: Path,
        *,
        workers: int = 1,
        redis_url: str | None = None,
    ) -> None:
        """Start the server (call :meth:`wait_ready` before use)."""
        self.port = free_port()
        self.host = f"{LOOPBACK}:{self.port}"
        self.base_url = f"http://{self.host}"
        args = [sys.executable, "-m", "copytrade.cli.main", "serve", "--db", db_url]
        args += ["--host", LOOPBACK, "--port", str(self.port), "--log-level", "warning"]
        args += ["--workers", str(workers)]
        if redis_url:
            args += ["--redis", redis_url]
        clean = {k: v for k, v in os.environ.items() if not k.startswith("COPYTRADE_")}
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.proc = subprocess.Popen(
            args,
            env={**clean, **env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            start_new_session=True,  # its own process group: workers included
            preexec_fn=_die_with_parent,
        )
        self.pgid = self.proc.pid
        _RUNNING.add(self)

    def wait_ready(self, seconds: float = 60) -> ServeProcess:
        """Wait (bounded) until ``/_sim/ping`` answers; raise if the process exits or stalls."""
        deadline = time.monotonic() + seconds
        with httpx.Client(timeout=2) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"server exited with {self.proc.returncode}: {self.log_tail()}"
                    )
                try:
                    if http.get(f"{self.base_url}/_sim/ping").status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        self.kill_group()
        raise RuntimeError(f"server did not answer within {seconds} s: {self.log_tail()}")

    def log_tail(self, size: int = 2000) -> str:
        """Return the end of the server's stderr."""
        data = self.log_path.read_bytes()
        return data[-size:].decode("utf-8", "replace")

    def kill9(self, grace: float = 3.0) -> list[str]:
        """``kill -9`` the server's parent process; return the processes that outlived it.

        Workers should notice their parent's death and exit; any still alive after ``grace``
        seconds are orphans (returned as short command lines), then killed with -9 too so the
        next round starts clean.
        """
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        deadline = time.monotonic() + grace
        while _group(self.pgid) and time.monotonic() < deadline:
            time.sleep(0.05)
        orphans = _group(self.pgid)
        self.kill_group()
        return orphans

    def kill_group(self) -> None:
        """SIGKILL every process of the server's group and wait (bounded) until none is left."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while _group(self.pgid) and time.monotonic() < deadline:
            time.sleep(0.05)
        self._log.close()
        _RUNNING.discard(self)

    def stop(self) -> None:
        """Stop gracefully (SIGTERM to the group), then make sure nothing is left."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pgid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=20)
        self.kill_group()


_RUNNING: set[ServeProcess] = set()


@atexit.register
def _kill_leftovers() -> None:
    """A harness that stops early (an error, Ctrl-C) leaves no server behind."""
    for server in list(_RUNNING):
        server.kill_group()


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the server's parent process gets SIGKILL when the harness dies (PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)


def _group(pgid: int) -> list[str]:
    """Return the live (non-zombie) processes of group ``pgid`` as short command lines."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            state, pgrp = fields[0], int(fields[2])
            if pgrp != pgid or state == "Z":
                continue
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        found.append(b" ".join(argv).decode("utf-8", "replace")[-80:])
    return found
