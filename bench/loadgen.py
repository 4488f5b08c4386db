"""A small HTTP/1.1 load generator: keep-alive connections sending pre-built requests.

Each connection runs *scripts*: lists of raw requests sent one after another (a request is sent
when the previous reply has been read), so a signed ``place_order`` is always followed by its
``close_all_position`` on the same key. Per-request cost on the client is a few microseconds of
socket I/O, so the server is what is measured.

With ``cpu_pid`` (the server's event-loop thread), each request also records the nanoseconds that
thread spent on a CPU while the request was in flight (``/proc/<pid>/schedstat``, read before
sending and after the reply, ~1.5 µs a read): ``Result.cpu_latencies``, the request's latency
without the time the server was descheduled by the host's other processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field


def http_request(method: str, target: str, host: str, body: bytes = b"") -> bytes:
    """Return the bytes of one HTTP/1.1 keep-alive request."""
    head = [f"{method} {target} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
    if method == "POST":
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


@dataclass
class Result:
    """Requests completed, wall time, per-request latencies (s) and non-200 envelope codes."""

    requests: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: dict[int, int] = field(default_factory=dict)
    cpu_latencies: list[float] = field(default_factory=list)  # s on CPU (``cpu_pid`` given)

    @property
    def rate(self) -> float:
        """Return requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        """Return the q-quantile latency in milliseconds."""
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def read_reply(reader: asyncio.StreamReader) -> bytes:
    """Read one HTTP/1.1 reply (head and Content-Length body); return its body."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    return await reader.readexactly(length)


async def _connection(
    host: str,
    port: int,
    scripts: Sequence[Sequence[bytes]],
    deadline: float,
    result: Result,
    check: bool,
    passes: int | None = None,
    cpu_fd: int | None = None,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        i = 0
        end = None if passes is None else passes * len(scripts)
        while (i < end) if end is not None else (time.perf_counter() < deadline):
            for request in scripts[i % len(scripts)]:
                if cpu_fd is not None:
                    on_cpu = int(os.pread(cpu_fd, 64, 0).split()[0])
                start = time.perf_counter()
                writer.write(request)
                body = await read_reply(reader)
                result.latencies.append(time.perf_counter() - start)
                if cpu_fd is not None:
                    on_cpu = int(os.pread(cpu_fd, 64, 0).split()[0]) - on_cpu
                    result.cpu_latencies.append(on_cpu / 1e9)
                result.requests += 1
                if check and not body.startswith(b'{"code":200'):
                    code = json.loads(body).get("code", -1)
                    result.errors[code] = result.errors.get(code, 0) + 1
            i += 1
    finally:
        writer.close()


async def _run(
    host: str,
    port: int,
    per_connection: Sequence[Sequence[Sequence[bytes]]],
    seconds: float,
    check: bool,
    cpu_pid: int | None = None,
) -> Result:
    result = Result()
    fd = None if cpu_pid is None else os.open(f"/proc/{cpu_pid}/schedstat", os.O_RDONLY)
    try:
        start = time.perf_counter()
        deadline = start + seconds
        await asyncio.gather(
            *(
                _connection(host, port, scripts, deadline, result, check, cpu_fd=fd)
                for scripts in per_connection
            )
        )
        result.seconds = time.perf_counter() - start
    finally:
        if fd is not None:
            os.close(fd)
    return result


def run(
    host: str,
    port: int,
    per_connection: Sequence[Sequence[Sequence[bytes]]],
    seconds: float,
    *,
    check: bool = True,
    cpu_pid: int | None = None,
) -> Result:
    """Drive ``len(per_connection)`` connections for ``seconds``; return the result."""
    try:
        import uvloop

        return uvloop.run(_run(host, port, per_connection, seconds, check, cpu_pid))
    except ImportError:  # pragma: no cover
        return asyncio.run(_run(host, port, per_connection, seconds, check, cpu_pid))


def warm(host: str, port: int, per_connection: Sequence[Sequence[Sequence[bytes]]]) -> Result:
    """Run every script of every connection once (a server's caches then hold every key)."""

    async def go() -> Result:
        result = Result()
        start = time.perf_counter()
        await asyncio.gather(
            *(
                _connection(host, port, scripts, 0.0, result, True, passes=1)
                for scripts in per_connection
            )
        )
        result.seconds = time.perf_counter() - start
        return result

    return asyncio.run(go())


def one(host: str, port: int, request: bytes) -> tuple[float, bytes]:
    """Send one request on a fresh connection; return (seconds, reply body)."""

    async def go() -> tuple[float, bytes]:
        reader, writer = await asyncio.open_connection(host, port)
        start = time.perf_counter()
        writer.write(request)
        body = await read_reply(reader)
        elapsed = time.perf_counter() - start
        writer.close()
        return elapsed, body

    return asyncio.run(go())
