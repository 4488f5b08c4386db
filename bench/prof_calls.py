"""Which Python functions a request path change added: calls and own CPU per request, old vs new.

callgrind (``prof_callgrind.py``) says *how much* a request costs in instructions, but Python
code shows there only as CPython's eval loop. This script gives the Python-level side of the
same A/B: each side (a subprocess with ``PYTHONPATH`` at its ``src``) serves the signed SQLite
cycle in process (``bench/inproc.py``) under cProfile, with ``--concurrency`` clients at once
(32: commit groups as under ``cycle.py``'s HTTP load), and the functions are listed by the
change of their own time per request, with their calls per request on each side. Calls per
request are exact and noise-free; the times are cProfile's (inflated, only for ranking).

Usage::

    .venv/bin/python bench/prof_calls.py --ab OLD_SRC NEW_SRC [--concurrency 32] [--top 40]

Time: ~20 s.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def inner(cycles: int, concurrency: int) -> dict[str, list[float]]:
    """Serve the cycles under cProfile; return {function: [calls, own s]} per request."""
    sys.path.insert(0, str(HERE))
    import inproc

    async def go() -> dict[str, list[float]]:
        with tempfile.TemporaryDirectory() as db_dir:
            server = inproc.InProcess(f"sqlite:///{db_dir}/bench.db")
            await server.start()
            try:
                work = inproc.cycles(await server.traders(concurrency))
                await inproc.run_cycles(server, work, len(work))
                await inproc.run_concurrent(server, work, concurrency, concurrency)
                profile = cProfile.Profile(time.process_time)
                profile.enable()
                await inproc.run_concurrent(server, work, cycles, concurrency)
                profile.disable()
            finally:
                await server.stop()
        stats = pstats.Stats(profile)
        requests = 2 * (cycles // concurrency) * concurrency
        out: dict[str, list[float]] = {}
        for (file, _line, func), row in stats.stats.items():  # type: ignore[attr-defined]
            where = file.split("/copytrade/")[-1] if "/copytrade/" in file else Path(file).name
            # no line number: code that moved within its file still pairs with its old self
            key = f"{where}:{func}"
            calls, own = out.get(key, (0.0, 0.0))
            out[key] = [calls + row[1] / requests, own + row[2] / requests]
        return out

    return asyncio.run(go())


def side(src: Path, cycles: int, concurrency: int) -> dict[str, list[float]]:
    """Run :func:`inner` on ``src``'s code in a subprocess."""
    out = subprocess.run(
        [sys.executable, __file__, "--inner", str(cycles), "--concurrency", str(concurrency)],
        env={**__import__("os").environ, "PYTHONPATH": str(src)},
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        cwd=tempfile.gettempdir(),
    )
    result: dict[str, list[float]] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Parse the options; profile both sides; print the functions by change of own time."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ab", nargs=2, metavar=("OLD_SRC", "NEW_SRC"))
    p.add_argument("--cycles", type=int, default=640)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--top", type=int, default=40)
    p.add_argument("--inner", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.inner is not None:
        print(json.dumps(inner(args.inner, args.concurrency)))
        return
    if not args.ab:
        p.error("--ab OLD_SRC NEW_SRC is required")
    old = side(Path(args.ab[0]).resolve(), args.cycles, args.concurrency)
    new = side(Path(args.ab[1]).resolve(), args.cycles, args.concurrency)
    zero = [0.0, 0.0]
    total = [sum(v[1] for v in x.values()) * 1e6 for x in (old, new)]
    print(f"own µs/request (cProfile): old {total[0]:.1f}  new {total[1]:.1f}")
    names = set(old) | set(new)
    rows: list[tuple[float, str, Any, Any]] = [
        (new.get(n, zero)[1] - old.get(n, zero)[1], n, old.get(n, zero), new.get(n, zero))
        for n in names
    ]
    rows.sort(key=lambda r: -abs(r[0]))
    print(
        f"{'Δ own µs':>9} {'old µs':>8} {'new µs':>8} {'old calls':>9} {'new calls':>9}  function"
    )
    for delta, name, o, n in rows[: args.top]:
        print(
            f"{delta * 1e6:>9.2f} {o[1] * 1e6:>8.2f} {n[1] * 1e6:>8.2f}"
            f" {o[0]:>9.2f} {n[0]:>9.2f}  {name}"
        )


if __name__ == "__main__":
    main()
