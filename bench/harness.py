"""What every benchmark shares: a server subprocess, its database, signed requests, code sides.

* :class:`Side` names a version of the code: ``src=None`` is the installed package (this
  worktree), otherwise a ``src`` directory put first on the server's ``PYTHONPATH``, so one sitting
  can run old and new code side by side (:func:`export_ref` exports a git ref's ``src``).
* :func:`database` yields a fresh SQLite file or PostgreSQL database, migrated by that side's own
  code (``copytrade migrate`` in a subprocess: old and new schemas may differ).
* :class:`Server` runs ``copytrade serve`` as a subprocess and reads its CPU time and RSS from
  ``/proc`` (the whole process tree, so ``--workers`` counts every worker).

The client side (signing, admin calls) always uses this worktree's code: the wire is the same.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cpu
import loadgen

from copytrade.protocol.signing import Signer, encode_query, format_timestamp
from copytrade.testing.server import free_port

PLACE = "/copytrading/trader/place_order"
CLOSE_ALL = "/copytrading/trader/close_all_position"
PING = "/_sim/ping"
REPO = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"

Creds = dict[str, Any]


@dataclass(frozen=True)
class Side:
    """One version of the server code: ``src`` (a directory holding ``copytrade/``) or installed."""

    label: str
    src: Path | None = None

    def env(self) -> dict[str, str]:
        """Return the environment a server process of this side runs with."""
        env = {**os.environ, "COPYTRADE_DEMO_SEED": "false"}
        if self.src is not None:
            env["PYTHONPATH"] = os.pathsep.join(
                [str(self.src), *filter(None, [os.environ.get("PYTHONPATH")])]
            )
        return env

    def check(self) -> str:
        """Return where this side imports ``copytrade`` from (raise if it is not ``src``)."""
        where = subprocess.run(
            [sys.executable, "-c", "import copytrade; print(copytrade.__file__)"],
            env=self.env(),
            capture_output=True,
            text=True,
            check=True,
            cwd=tempfile.gettempdir(),
        ).stdout.strip()
        if self.src is not None and not Path(where).resolve().is_relative_to(self.src.resolve()):
            raise RuntimeError(f"side {self.label}: copytrade imports from {where}, not {self.src}")
        return where


@contextmanager
def export_ref(ref: str) -> Iterator[Path]:
    """Export ``ref``'s ``src`` into a temporary directory; yield that ``src`` directory.

    ``git archive`` rather than ``git worktree add``: the repository's worktree list (shared
    with every other checkout) is never touched, and an interrupted run leaves only a temp dir.
    """
    with tempfile.TemporaryDirectory(prefix="copytrade-ref-") as tmp:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", "--format=tar", ref, "src"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        yield Path(tmp) / "src"


def _migrate(side: Side, url: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "copytrade.cli.main", "migrate", "--db", url],
        env=side.env(),
        check=True,
        stdout=subprocess.DEVNULL,
        cwd=tempfile.gettempdir(),
    )


@contextmanager
def database(side: Side, postgres: str | None) -> Iterator[str]:
    """Yield a fresh database URL for ``side``: a SQLite file, or ``postgres``'s sibling DB."""
    if postgres is None:
        with tempfile.TemporaryDirectory(prefix="copytrade-bench-") as tmp:
            yield f"sqlite:///{tmp}/bench.db"  # `serve` migrates SQLite itself
        return
    import psycopg

    name = f"copytrade_bench_{secrets.token_hex(4)}"
    with psycopg.connect(postgres, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = postgres.rsplit("/", 1)[0] + "/" + name
    try:
        _migrate(side, url)
        yield url
    finally:
        with psycopg.connect(postgres, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Server:
    """``copytrade serve`` of one :class:`Side` in a subprocess, over ``db_url``."""

    def __init__(
        self,
        side: Side,
        db_url: str,
        *,
        workers: int = 1,
        env: dict[str, str] | None = None,
        log_level: str = "warning",
    ) -> None:
        """Start the server and wait until ``/_sim/ping`` answers (``info`` logs each request)."""
        self.side = side
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.is_postgres = db_url.startswith("postgresql")
        self.db_name = db_url.rsplit("/", 1)[-1]
        full_env = {**side.env(), "COPYTRADE_SERVER_KEY": "bench-" + "0" * 58, **(env or {})}
        args = [sys.executable, "-m", "copytrade.cli.main", "serve", "--db", db_url]
        args += ["--port", str(self.port), "--workers", str(workers), "--log-level", log_level]
        # stderr to a file, not a pipe: a full pipe nobody reads would stall the server
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            args,
            env=full_env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            cwd=tempfile.gettempdir(),
        )
        self.http = httpx.Client(base_url=f"http://{self.host}", timeout=600)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server ({side.label}) exited: {self.stderr()}")
            try:
                if self.http.get(PING).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("server did not start")
            time.sleep(0.1)
        time.sleep(0.5 * (workers - 1))  # let every worker finish its startup

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the server (and its workers)."""
        self.http.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def stderr(self) -> str:
        """Return what the server wrote to stderr so far."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def pids(self) -> list[int]:
        """Return the server's process and its workers."""
        return cpu.tree(self.proc.pid)

    def cpu_seconds(self) -> float:
        """Return the user+system CPU seconds the server's processes have used so far."""
        return cpu.cpu_seconds(self.pids())

    def rss_mib(self) -> float:
        """Return the resident memory of the server's processes (VmRSS summed), in MiB."""
        return cpu.rss_kib(self.pids()) / 1024

    def admin(self, path: str, body: dict[str, Any]) -> Any:
        """POST to an admin route; return its JSON."""
        reply = self.http.post(path, json=body)
        reply.raise_for_status()
        return reply.json()

    def user(self, uid: int) -> Any:
        """Return ``/_sim/users/<uid>`` (balance, positions, open orders)."""
        reply = self.http.get(f"/_sim/users/{uid}")
        reply.raise_for_status()
        return reply.json()

    def trader(self, balance: str = "1000000000") -> Creds:
        """Create a funded trader; return its credentials (``uid``, keys)."""
        return self.admin("/_sim/users", {"role": "trader", "balance": balance})  # type: ignore[no-any-return]

    def signed(self, creds: Creds, path: str, body: dict[str, Any]) -> bytes:
        """Return the raw bytes of a signed POST (timestamp now: valid for 300 s)."""
        return signed_request(creds, self.host, path, body)


def signed_request(creds: Creds, host: str, path: str, body: dict[str, Any]) -> bytes:
    """Return the raw bytes of a signed HTX POST for ``host``."""
    signer = Signer(str(creds["access_key"]), secret_key=str(creds["secret_key"]))
    stamp = format_timestamp(datetime.now(UTC))
    pairs = signer.signed_params("POST", host, path, None, timestamp=stamp)
    return loadgen.http_request(
        "POST", f"{path}?{encode_query(pairs)}", host, json.dumps(body).encode()
    )


def median(values: Sequence[float]) -> float:
    """Return the median (nan when empty)."""
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """Return the q-quantile of ``values`` (nearest rank; nan when empty)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
