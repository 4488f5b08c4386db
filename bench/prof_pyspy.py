"""py-spy sampling profile of a real server (subprocess, HTTP) under the signed-cycle load.

Unlike the in-process profilers this sees everything the server process does per request,
uvicorn's HTTP handling included, at almost no overhead (py-spy samples from outside the
process). It starts ``copytrade serve`` (``bench/harness.py``), warms it with ``bench/cycle.py``'s
load, then samples the server for ``--seconds`` while that load runs, and prints the functions
holding the CPU: ``self %`` (the sampled frame was this function) and ``incl %`` (this function was
on the stack), as shares of the samples that held the GIL (``--gil``: a thread waiting in epoll or
on the database is not counted). Time inside C code called from Python (sqlite3, hashlib, orjson,
uvloop) shows as the Python function that called it.

Usage (py-spy comes with ``pip install -e '.[bench]'``; it needs ptrace rights: root, or
``kernel.yama.ptrace_scope=0``)::

    .venv/bin/python bench/prof_pyspy.py [--seconds 10] [--top 35]
    .venv/bin/python bench/prof_pyspy.py --postgres postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/prof_pyspy.py --svg /tmp/flame.svg    # a flame graph instead

Time: ~``--seconds`` + 15 s. The raw collapsed stacks are kept (path printed) for
``flamegraph.pl`` or speedscope.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness
import loadgen
from cycle import CycleLoad


def top_functions(collapsed: str, top: int) -> str:
    """Return the ``top`` functions by self and inclusive share of py-spy's collapsed stacks."""
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [f for f in stack.split(";") if not f.startswith("process ")]
        if not frames:
            continue
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            incl[frame] += n
    if not total:
        return "no samples (is py-spy allowed to attach?)"
    lines = [f"{total} samples; {'self %':>7} {'incl %':>7}  function (file:line)"]
    for frame, n in own.most_common(top):
        lines.append(
            f"{'':>{len(str(total)) + 9}}{n / total:>7.1%} {incl[frame] / total:>7.1%}  {frame}"
        )
    return "\n".join(lines)


def main() -> None:
    """Sample the server under load and print (or draw) where its CPU went."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--postgres", metavar="URL", help="PostgreSQL server (default: SQLite)")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--keys", type=int, default=500)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--rate", type=int, default=250, help="samples per second")
    p.add_argument("--top", type=int, default=35)
    p.add_argument(
        "--nonblocking",
        action="store_true",
        help="never pause the server (less overhead, but stacks may be torn: misattributions)",
    )
    p.add_argument("--svg", metavar="FILE", help="write a flame graph instead of the table")
    args = p.parse_args()
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    side = harness.Side("this")
    with (
        harness.database(side, args.postgres) as url,
        harness.Server(side, url, workers=args.workers) as server,
    ):
        load = CycleLoad(server, args.keys, args.connections)
        out = Path(args.svg) if args.svg else Path(tempfile.mkstemp(suffix=".collapsed")[1])
        spy = subprocess.Popen(
            [
                pyspy,
                "record",
                "--pid",
                str(server.proc.pid),
                "--subprocesses",
                *(["--nonblocking"] if args.nonblocking else []),
                "--gil",  # only samples holding the GIL: the CPU the server spends in Python
                "--function",  # one line per function, not per line of it
                "--rate",
                str(args.rate),
                "--duration",
                str(int(args.seconds)),
                "--format",
                "flamegraph" if args.svg else "raw",
                "--output",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        # signed cycles only, outlasting py-spy's window
        run = loadgen.run("127.0.0.1", server.port, load.scripts(), args.seconds + 2)
        _, err = spy.communicate()
        if spy.returncode:
            raise SystemExit(f"py-spy failed: {err.decode().strip()}")
        print(f"signed cycles under the profiler: {run.rate:.0f} req/s; samples in {out}")
        if not args.svg:
            print(top_functions(out.read_text(), args.top))


if __name__ == "__main__":
    main()
