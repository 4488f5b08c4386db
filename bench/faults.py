"""The fault harness at full size: crash rounds on SQLite and PostgreSQL (2 workers), then the
fuzzer on both, with every figure and finding printed (issue 12).

    COPYTRADE_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test \\
    COPYTRADE_TEST_REDIS_URL=redis://127.0.0.1:6379/0 \\
    .venv/bin/python bench/faults.py            # 20 + 10 rounds, 10,000 cases per store

Exit status 1 when anything was lost, inconsistent, or answered badly. Everything runs on
loopback; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from faults.crash import CrashFigures, run_crash
from faults.fuzz import FuzzFigures, run_fuzz
from faults.stores import Store, postgres_store, sqlite_store


def _store(name: str, workdir: Path) -> AbstractContextManager[Store]:
    if name == "sqlite":
        return sqlite_store(workdir)
    url = os.environ.get("COPYTRADE_TEST_POSTGRES_URL")
    if not url:
        raise SystemExit("postgres needs COPYTRADE_TEST_POSTGRES_URL (or --stores sqlite)")
    return postgres_store(url)


def _runs(args: argparse.Namespace, workdir: Path) -> Iterator[CrashFigures | FuzzFigures]:
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    for name in stores:
        rounds = args.sqlite_rounds if name == "sqlite" else args.postgres_rounds
        if rounds:
            with _store(name, workdir) as store:
                yield run_crash(
                    store,
                    workdir,
                    rounds=rounds,
                    max_load_seconds=args.load_seconds,
                    seed=args.seed,
                )
    for name in stores:
        if args.fuzz_cases:
            with _store(name, workdir) as store:
                yield run_fuzz(store, workdir, cases=args.fuzz_cases, seed=args.seed)


def main() -> int:
    """Run the harness; print the figures; return 1 on any finding."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sqlite-rounds", type=int, default=20)
    parser.add_argument("--postgres-rounds", type=int, default=10)
    parser.add_argument("--fuzz-cases", type=int, default=10_000)
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--load-seconds", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    failed = False
    summaries = []
    with tempfile.TemporaryDirectory(prefix="copytrade-faults-") as tmp:
        for figures in _runs(args, Path(tmp)):
            print(f"--- {time.strftime('%H:%M:%S')}\n{figures.report()}", flush=True)
            summaries.append(figures.summary())
            if isinstance(figures, CrashFigures):
                failed |= bool(figures.lost or figures.inconsistent or figures.orphans)
                failed |= bool(figures.http_500 or figures.code_1000 or figures.tracebacks)
            else:
                failed |= figures.failures > 0
    print("\n=== fault harness figures")
    for line in summaries:
        print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
