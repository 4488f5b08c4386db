"""Instructions per request of the signed SQLite cycle, counted by valgrind's callgrind.

Instruction counts (``Ir``) do not drift with the load of a shared machine the way req/s does
(repeat runs agree within ~1 %), so they show a request-path change of a few percent that wall
time on this host hides. The app runs in process (``bench/inproc.py``: no HTTP, no client).

How: this script runs itself twice under ``valgrind --tool=callgrind --instr-atstart=no``,
serving N1 and then N2 signed place_order + close_all_position cycles after the same start-up and
warm-up; counting is switched on just before the measured cycles and off after them
(``callgrind_control -i on|off`` on its own pid). It prints

    Ir per request = (Ir(N2) - Ir(N1)) / (2 × (N2 - N1))

so what the switching itself costs cancels out too. ``--ping`` does the same
for the raw-ASGI ``/_sim/ping`` (the floor every request pays in this driver).

Usage::

    .venv/bin/python bench/prof_callgrind.py [--cycles 50,250] [--keys 20] [--ping]
    .venv/bin/python bench/prof_callgrind.py --ab OLD_SRC NEW_SRC   # both, same sitting
    .venv/bin/python bench/prof_callgrind.py --concurrency 32 --cycles 64,320 --ab OLD NEW
        # 32 clients at once: commit groups of several calls, as under the HTTP load
    .venv/bin/python bench/prof_callgrind.py --concurrency 32 --cycles 64,320 --ab OLD NEW \
        --repeat 3   # old and new alternate 3 times; the medians are compared

Time: ~1-2 min per side and mode (python under callgrind runs ~50× slower).

Reading it: ``Ir/request`` is the figure to compare (old vs new: their ratio). The N2 run's output
file is kept (path printed) and holds only the measured cycles:
``callgrind_annotate FILE | head -40`` lists the C functions by own instructions,
``--inclusive=yes`` with callees (CPython's eval loop, ``sqlite3VdbeExec``, ``_PyObject_Malloc``,
``HMAC``…). Python-level attribution is better read from ``bench/prof_pg.py``'s yappi output
(same request path; use ``--sqlite``) or a py-spy profile (``bench/prof_pyspy.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
UNDER_CALLGRIND = "COPYTRADE_BENCH_CALLGRIND"


def _instrument(on: bool) -> None:
    """Switch callgrind's counting on or off for this very process (no-op outside valgrind)."""
    if os.environ.get(UNDER_CALLGRIND):
        state = "on" if on else "off"
        subprocess.run(
            ["callgrind_control", "-i", state, str(os.getpid())],
            check=True,
            stdout=subprocess.DEVNULL,
        )


def inner(
    count: int, keys: int, mode: str, db_dir: str, concurrency: int = 1, gc_mode: str = "default"
) -> None:
    """Serve ``count`` cycles (or 2×``count`` pings) after start-up and a warm-up; exit.

    Under callgrind only the served requests are counted (``callgrind_control -i on/off``).
    ``gc_mode`` ``serve`` freezes the startup heap and sets the collector's thresholds as
    ``copytrade serve`` does before serving; ``default`` leaves CPython's (700, 10, 10).
    """
    sys.path.insert(0, str(HERE))
    import inproc

    async def go() -> None:
        server = inproc.InProcess(f"sqlite:///{db_dir}/bench.db")
        await server.start()
        try:
            work = inproc.cycles(await server.traders(keys))
            await inproc.run_cycles(server, work, len(work))  # warm-up: every key once
            if concurrency > 1:  # and the concurrent path once (groups of several calls)
                await inproc.run_concurrent(server, work, concurrency, concurrency)
            if gc_mode == "serve":
                from copytrade.cli.serving import freeze_startup_heap

                freeze_startup_heap()
            _instrument(True)
            if mode == "ping":
                for _ in range(2 * count):
                    await server.call(inproc.ping())
            elif concurrency > 1:
                await inproc.run_concurrent(server, work, count, concurrency)
            else:
                await inproc.run_cycles(server, work, count)
            _instrument(False)
        finally:
            await server.stop()

    asyncio.run(go())


def _total_ir(path: Path) -> int:
    text = path.read_text(errors="replace")
    found = re.findall(r"^(?:summary|totals):\s*(\d+)", text, re.MULTILINE)
    if not found:
        raise RuntimeError(f"no instruction total in {path}")
    return int(found[-1])


def measure(
    src: Path | None,
    counts: tuple[int, int],
    keys: int,
    mode: str,
    out: Path,
    concurrency: int = 1,
    gc_mode: str = "serve",
) -> float:
    """Return Ir per request of ``mode`` for the code in ``src`` (None: installed)."""
    env = {**os.environ, UNDER_CALLGRIND: "1"}
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
                    "--instr-atstart=no",  # start-up runs uncounted (and ~4× faster)
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
                    "--concurrency",
                    str(concurrency),
                    "--gc",
                    gc_mode,
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
    p.add_argument(
        "--concurrency",
        type=int,
        default=1,
        help="clients at once (32: commit groups as under cycle.py's load; keys raised to match)",
    )
    p.add_argument(
        "--gc",
        choices=("serve", "default"),
        default="serve",
        help="serve: startup heap frozen, thresholds as `copytrade serve` sets them (default); "
        "default: CPython's own collector settings",
    )
    p.add_argument("--ab", nargs=2, metavar=("OLD_SRC", "NEW_SRC"))
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds per side (old and new alternate); medians are compared",
    )
    p.add_argument("--out", default=tempfile.gettempdir() + "/copytrade-callgrind")
    p.add_argument("--inner", type=int, help=argparse.SUPPRESS)
    p.add_argument("--mode", default="cycle", help=argparse.SUPPRESS)
    p.add_argument("--db-dir", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.inner is not None:
        inner(args.inner, args.keys, args.mode, args.db_dir, args.concurrency, args.gc)
        return
    n1, n2 = (int(x) for x in args.cycles.split(","))
    args.keys = max(args.keys, args.concurrency)
    sides: list[tuple[str, Path | None]] = [("installed", None)]
    if args.ab:
        sides = [("old", Path(args.ab[0]).resolve()), ("new", Path(args.ab[1]).resolve())]
    modes = ["cycle", "ping"] if args.ping else ["cycle"]
    sys.path.insert(0, str(HERE))
    import harness

    for label, src in sides:
        print(f"{label:>9}: copytrade from {harness.Side(label, src).check()}", flush=True)
    runs: dict[tuple[str, str], list[float]] = {}
    for r in range(args.repeat):
        # old and new alternate, each going first in every other round
        for label, src in sides if r % 2 == 0 else sides[::-1]:
            out = Path(args.out) / label
            out.mkdir(parents=True, exist_ok=True)
            for mode in modes:
                ir = measure(src, (n1, n2), args.keys, mode, out, args.concurrency, args.gc)
                runs.setdefault((label, mode), []).append(ir)
                print(
                    f"{label:>9} {mode:>5}: {ir:>10,.0f} Ir/request"
                    f"   (profile: {out}/callgrind.{mode}.{n2}.out)",
                    flush=True,
                )
    results = {key: statistics.median(irs) for key, irs in runs.items()}
    if args.repeat > 1:
        for (label, mode), irs in runs.items():
            print(
                f"{label:>9} {mode:>5}: median {results[label, mode]:>10,.0f} Ir/request"
                f" (min {min(irs):,.0f}, max {max(irs):,.0f}, {len(irs)} runs)"
            )
    if args.ab:
        for mode in modes:
            ratio = results["new", mode] / results["old", mode]
            pairs = [n / o for o, n in zip(runs["old", mode], runs["new", mode], strict=True)]
            each = ", ".join(f"{x:.3f}" for x in pairs)
            print(f"new/old {mode}: {ratio:.3f} (medians; round by round: {each})")


if __name__ == "__main__":
    main()
