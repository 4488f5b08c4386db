"""Where the machine's CPU went during a run, per process group (Linux ``/proc``).

Benchmarks print it beside their rates: on a small machine that also runs the database and the
load generator, whether a second server process can add anything depends on the cores the rest
already takes. Outside Linux the figures are simply absent.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _fields(pid: int) -> list[str] | None:
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces


def cpu_seconds(pids: list[int]) -> float:
    """Return the user plus system CPU seconds of ``pids`` (those still running)."""
    total = 0
    for pid in pids:
        fields = _fields(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


def rss_kib(pids: list[int]) -> int:
    """Return the resident memory (``VmRSS``) of ``pids`` summed, in KiB (0 when unknown)."""
    total = 0
    for pid in pids:
        try:
            text = (PROC / str(pid) / "status").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def tree(root: int) -> list[int]:
    """Return ``root`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            fields = _fields(int(entry.name))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def named(command: str) -> list[int]:
    """Return the processes whose command name is ``command`` (e.g. ``postgres``)."""
    out = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == command:
                    out.append(int(entry.name))
            except OSError:
                continue
    return out


def cmdline_has(text: str) -> list[int]:
    """Return the processes whose command line holds ``text``.

    PostgreSQL names each backend after its database (``postgres: user db 127.0.0.1(port)``),
    so this finds the backends that serve one benchmark's database and no one else's.
    """
    out = []
    needle = text.encode()
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "cmdline").read_bytes():
                    out.append(int(entry.name))
            except OSError:
                continue
    return out


def _machine() -> tuple[int, int]:
    """Return (busy, idle) jiffies of the whole machine."""
    values = [int(v) for v in (PROC / "stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values[:8]) - idle, idle


class CpuMeter:
    """Cores each process group used between :meth:`start` and :meth:`stop`, and idle cores.

    ``groups`` maps a label to a function returning that group's pids, called at the start (so
    processes that start later are missed: measure a steady state).
    """

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        """Name the groups; nothing is read yet."""
        self.available = (PROC / "stat").exists()
        self._groups = groups
        self._pids: dict[str, list[int]] = {}
        self._start: dict[str, float] = {}
        self._machine: tuple[int, int] = (0, 0)
        self.cores: dict[str, float] = {}

    def start(self) -> None:
        """Take the first reading."""
        if not self.available:
            return
        self._pids = {label: find() for label, find in self._groups.items()}
        self._start = {label: cpu_seconds(pids) for label, pids in self._pids.items()}
        self._machine = _machine()

    def stop(self, seconds: float) -> None:
        """Take the second reading; ``seconds`` is the wall time between the two."""
        if not self.available or seconds <= 0:
            return
        self.cores = {
            label: (cpu_seconds(pids) - self._start[label]) / seconds
            for label, pids in self._pids.items()
        }
        busy0, idle0 = self._machine
        busy1, idle1 = _machine()
        span = (busy1 - busy0) + (idle1 - idle0)
        if span:
            self.cores["idle"] = (idle1 - idle0) / span * (os.cpu_count() or 1)

    def summary(self) -> str:
        """Return e.g. ``server 1.01, postgres 0.46, idle 0.43 cores`` (empty when unknown)."""
        if not self.cores:
            return ""
        return ", ".join(f"{label} {value:.2f}" for label, value in self.cores.items()) + " cores"
