"""Instructions per request of the signed SQLite cycle, counted by valgrind's callgrind.

Instruction counts (``Ir``) do not drift with the load of a shared machine the way req/s does
(repeat runs agree within ~1 %), so they show a request-path change of a few percent that wall
time on this host hides. The app runs in process (``bench/inproc.py``: no HTTP, no client).

How: this script runs itself twice under ``valgrind --tool=callgrind``, serving N1 and then N2
signed place_order + close_all_position cycles after the same start-up and warm-up, and prints

    Ir per request = (Ir(N2) - Ir(N1)) / (2 × (N2 - N1))

so interpreter start-up, imports, migrations and the warm-up cancel out. ``--ping`` does the same
for the raw-ASGI ``/_sim/ping`` (the floor every request pays in this driver).

Usage::

    .venv/bin/python bench/prof_callgrind.py [--cycles 50,250] [--keys 20] [--ping]
    .venv/bin/python bench/prof_callgrind.py --ab OLD_SRC NEW_SRC   # both, same sitting

Time: ~1-2 min per side (python under callgrind runs ~50× slower; most of it is start-up).

Reading it: ``Ir/request`` is the figure to compare (old vs new: their ratio). The N2 run's output
file is kept (path printed); ``callgrind_annotate --inclusive=yes FILE | head -50`` lists the C
functions that cost most (CPython's eval loop, ``sqlite3VdbeExec``, ``_PyObject_Malloc``,
``HMAC``…). Python-level attribution is better read from ``bench/prof_pg.py``'s yappi output
(same request path; use ``--sqlite``) or a py-spy profile (``bench/prof_pyspy.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def inner(count: int, keys: int, mode: str, db_dir: str) -> None:
    """Serve ``count`` cycles (or 2×``count`` pings) after start-up and a warm-up; exit."""
    sys.path.insert(0, str(HERE))
    import inproc

    async def go() -> None:
        server = inproc.InProcess(f"sqlite:///{db_dir}/bench.db")
        await server.start()
        try:
            work = inproc.cycles(await server.traders(keys))
            await inproc.run_cycles(server, work, len(work))  # warm-up: every key once
            if mode == "ping":
                for _ in range(2 * count):
                    await server.call(inproc.ping())
            else:
                await inproc.run_cycles(server, work, count)
        finally:
            await server.stop()

    asyncio.run(go())


def _total_ir(path: Path) -> int:
    text = path.read_text(errors="replace")
    found = re.findall(r"^(?:summary|totals):\s*(\d+)", text, re.MULTILINE)
    if not found:
        raise RuntimeError(f"no instruction total in {path}")
    return int(found[-1])


def measure(src: Path | None, counts: tuple[int, int], keys: int, mode: str, out: Path) -> float:
    """Return Ir per request of ``mode`` for the code in ``src`` (None: installed)."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    totals = []
    for n in counts:
        with tempfile.TemporaryDirectory() as db_dir:
            file = out / f"callgrind.{mode}.{n}.out"
            subprocess.run(
                [
                    "valgrind",
                    "--tool=callgrind",
                    f"--callgrind-out-file={file}",
                    sys.executable,
                    __file__,
                    "--inner",
                    str(n),
                    "--keys",
                    str(keys),
                    "--mode",
                    mode,
                    "--db-dir",
                    db_dir,
                ],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=tempfile.gettempdir(),
            )
            totals.append(_total_ir(file))
    return (totals[1] - totals[0]) / (2 * (counts[1] - counts[0]))


def main() -> None:
    """Parse the options; run the inner mode or the two callgrind runs per side."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cycles", default="50,250", help="N1,N2: cycles of the two runs")
    p.add_argument("--keys", type=int, default=20, help="traders the cycles rotate over")
    p.add_argument("--ping", action="store_true", help="also measure the raw-ASGI ping")
    p.add_argument("--ab", nargs=2, metavar=("OLD_SRC", "NEW_SRC"))
    p.add_argument("--out", default=tempfile.gettempdir() + "/copytrade-callgrind")
    p.add_argument("--inner", type=int, help=argparse.SUPPRESS)
    p.add_argument("--mode", default="cycle", help=argparse.SUPPRESS)
    p.add_argument("--db-dir", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.inner is not None:
        inner(args.inner, args.keys, args.mode, args.db_dir)
        return
    n1, n2 = (int(x) for x in args.cycles.split(","))
    sides: list[tuple[str, Path | None]] = [("installed", None)]
    if args.ab:
        sides = [("old", Path(args.ab[0])), ("new", Path(args.ab[1]))]
    modes = ["cycle", "ping"] if args.ping else ["cycle"]
    results: dict[tuple[str, str], float] = {}
    for label, src in sides:
        out = Path(args.out) / label
        out.mkdir(parents=True, exist_ok=True)
        for mode in modes:
            results[label, mode] = measure(src, (n1, n2), args.keys, mode, out)
            print(
                f"{label:>9} {mode:>5}: {results[label, mode]:>10,.0f} Ir/request"
                f"   (profile: {out}/callgrind.{mode}.{n2}.out)",
                flush=True,
            )
    if args.ab:
        for mode in modes:
            ratio = results["new", mode] / results["old", mode]
            print(f"new/old {mode}: {ratio:.3f}")


if __name__ == "__main__":
    main()
