"""CPU time of one copy wave (open) and its close_all, in process, split by stage and table.

The app runs in process (``bench/inproc.py``: no HTTP); a trader gets N followers
(``/_sim/followers/bulk``), then its signed ``place_order`` (open) and ``close_all_position``
(close) are served. For each wave it prints CPU milliseconds (``time.process_time``: another
process's load on the shared host does not count) of the whole request and of its stages,
measured by wrapping a few functions with a timer (called a handful of times per wave, so the
timing costs nothing measurable, unlike cProfile, which inflated these waves ~5x):

* the domain's fan-out (``copy_open`` / ``close_copies``) and the accounts loaded,
* rendering the change set to rows (``ChangeRows.of``, SQLite) and writing them
  (``write_rows``: the ``executemany`` of each table, named by its statement, and the commit),
* PostgreSQL: ``write_change_set`` and its statements.

Usage::

    .venv/bin/python bench/prof_fanout.py [--followers 10000] [--repeat 3]
    .venv/bin/python bench/prof_fanout.py --ab OLD_SRC NEW_SRC [--repeat 3]
    .venv/bin/python bench/prof_fanout.py --store postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/prof_fanout.py --top 30      # also cProfile's top functions (stderr)

``--ab`` runs the old and the new code alternately (each in a subprocess with ``PYTHONPATH`` at
its ``src``, over a fresh database), ``--repeat`` times each, and prints the medians side by
side with new/old. A stage a side does not have prints ``nan``.

Time: ~5-10 s per wave pair at 10k followers.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import importlib
import json
import os
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

Figures = dict[str, dict[str, float]]

# (label, module, attribute): the attribute is replaced by a timed wrapper in every module
# that imported it by name (listed after the defining module)
TIMED: list[tuple[str, str, str, tuple[str, ...]]] = [
    (
        "domain fan-out",
        "copytrade.domain.copytrading",
        "copy_open",
        ("copytrade.service.handlers",),
    ),
    (
        "domain fan-out",
        "copytrade.domain.copytrading",
        "close_copies",
        ("copytrade.service.handlers",),
    ),
    (
        "load accounts",
        "copytrade.adapters.db.loader",
        "load_accounts",
        (
            "copytrade.adapters.db.sqlite_uow",
            "copytrade.adapters.db.pg_uow",
        ),
    ),
    ("render rows", "copytrade.adapters.db.sqlite_writer", "ChangeRows.of", ()),
    ("followers_of", "copytrade.adapters.db.sqlite_uow", "EmbeddedAccounts.followers_of", ()),
    ("followers_of", "copytrade.adapters.db.pg_uow", "PgAccounts.followers_of", ()),
    ("journal + tape", "copytrade.service.context", "ServiceContext.committed", ()),
    ("lead order", "copytrade.domain.trading", "open_order", ("copytrade.service.handlers",)),
    ("lead close", "copytrade.domain.trading", "close_at_market", ("copytrade.service.handlers",)),
    ("group: settle", "copytrade.adapters.db.batching", "Batch.settle", ()),
    # the group's write and commit, in the loop iteration that holds the wave's last rows
    ("group: write + commit", "copytrade.adapters.db.batching", "InlineGroupExecutor._commit", ()),
    ("  shared columns", "copytrade.adapters.db.sqlite_writer", "_split_shared", ()),
    ("  project rows", "copytrade.adapters.db.sqlite_writer", "_project", ()),
    (
        "write rows",
        "copytrade.adapters.db.sqlite_writer",
        "write_rows",
        ("copytrade.adapters.db.batching",),
    ),
    (
        "write change set (PG)",
        "copytrade.adapters.db.pg_writer",
        "write_change_set",
        ("copytrade.adapters.db.pg_uow",),
    ),
]

_TABLE = re.compile(r"^\s*(?:WITH\s+\w+\s+AS\s*\(\s*)?(INSERT INTO|UPDATE|COPY)\s+\"?(\w+)", re.I)


class Clock:
    """CPU seconds spent per label while a wave runs (nested labels each count in full)."""

    def __init__(self) -> None:
        """Start empty."""
        self.spent: dict[str, float] = defaultdict(float)

    def wrap(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Return ``fn`` timed under ``label``."""

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spent[label] += time.process_time() - started

        return timed

    def install(self) -> None:
        """Wrap the stages of :data:`TIMED` and the driver calls that write rows."""
        for label, module_name, attr, users in TIMED:
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                continue
            owner: Any = module
            *path, name = attr.split(".")
            for part in path:
                owner = getattr(owner, part, None)
            if owner is None or not hasattr(owner, name):
                continue
            original = getattr(owner, name)
            if isinstance(owner, type):  # a method: wrap the function in the class
                raw = owner.__dict__[name]
                if isinstance(raw, classmethod):
                    setattr(owner, name, classmethod(self.wrap(label, raw.__func__)))
                else:
                    setattr(owner, name, self.wrap(label, raw))
                continue
            timed = self.wrap(label, original)
            setattr(owner, name, timed)
            for user in users:
                try:
                    mod = importlib.import_module(user)
                except ImportError:
                    continue
                if getattr(mod, name, None) is original:
                    setattr(mod, name, timed)
        self._install_sql()
        self._install_gc()

    def _install_gc(self) -> None:
        """Time the garbage collector's passes (they land inside whatever stage allocates)."""
        import gc

        started: list[float] = []

        def callback(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                started.append(time.process_time())
            elif started:
                self.spent[f"gc gen{info['generation']}"] += time.process_time() - started.pop()

        gc.callbacks.append(callback)

    def _install_sql(self) -> None:
        """Time each ``executemany`` by its table, and every commit, in the db helpers."""
        try:
            sql = importlib.import_module("copytrade.adapters.db.sql")
        except ImportError:
            return
        original = sql.executemany

        def executemany(conn: Any, statement: str, rows: Any) -> Any:
            match = _TABLE.match(statement)
            what = f"{match.group(1).split()[0].lower()} {match.group(2)}" if match else "other"
            started = time.process_time()
            try:
                return original(conn, statement, rows)
            finally:
                self.spent[f"  sql {what}"] += time.process_time() - started

        for module_name in (
            "copytrade.adapters.db.sql",
            "copytrade.adapters.db.sqlite_writer",
            "copytrade.adapters.db.pg_writer",
            "copytrade.adapters.db.pgwrite",
        ):
            try:
                mod = importlib.import_module(module_name)
            except ImportError:
                continue
            if getattr(mod, "executemany", None) is original:
                mod.executemany = executemany


def inner(followers: int, store: str, top: int) -> Figures:
    """Serve untimed-warm-up-free waves over ``store``; return {wave: {stage: ms}}."""
    sys.path.insert(0, str(HERE))
    import inproc

    async def go() -> Figures:
        with tempfile.TemporaryDirectory() as db_dir:
            url = store if store != "sqlite" else f"sqlite:///{db_dir}/bench.db"
            server = inproc.InProcess(url)
            await server.start()
            # as `copytrade serve` does (cli/serving.freeze_startup_heap: freeze, thresholds) on
            # both sides, so a full collection walking the startup heap does not land in a
            # random stage and the collector runs as often as in the server;
            # PROF_FANOUT_GC=off keeps the collector as a plain process has it
            if os.environ.get("PROF_FANOUT_GC") != "off":
                try:  # the server's own (freeze, then raised thresholds)
                    from copytrade.cli.serving import freeze_startup_heap
                except ImportError:
                    gc.collect()
                    gc.freeze()
                else:
                    freeze_startup_heap()
            try:
                return await waves(server, inproc, followers, top)
            finally:
                await server.stop()

    return asyncio.run(go())


async def waves(server: Any, inproc: Any, followers: int, top: int) -> Figures:
    """A small warm-up wave pair, then the measured one (and a cProfile'd one with ``top``)."""
    clock = Clock()
    clock.install()
    result: Figures = {}
    for size, mode in ((10, "warm-up"), (followers, "timed"), (followers, "profiled")):
        if mode == "profiled" and not top:
            break
        lead = (await server.traders(1))[0]
        await server.admin(
            "/_sim/followers/bulk",
            {"trader_uid": lead["uid"], "count": size, "balance": "1000000", "ratio": "1"},
        )
        for wave, request in (
            ("open", inproc.signed(lead, inproc.PLACE, inproc.ORDER)),
            ("close", inproc.signed(lead, inproc.CLOSE_ALL, inproc.CLOSE)),
        ):
            clock.spent.clear()
            profile = cProfile.Profile(time.process_time) if mode == "profiled" else None
            started = time.process_time()
            if profile is not None:
                profile.enable()
            status, body = await server.call(request)
            if profile is not None:
                profile.disable()
            spent = time.process_time() - started
            if status != 200 or not body.startswith(b'{"code":200'):
                raise RuntimeError(f"{wave} refused: {body[:200]!r}")
            if mode == "timed":
                figures = result.setdefault(wave, {"wave (request)": spent * 1000})
                figures.update({k: v * 1000 for k, v in sorted(clock.spent.items())})
            elif profile is not None:
                print(f"--- {wave}, {size} followers: top {top} by own time", file=sys.stderr)
                stats = pstats.Stats(profile, stream=sys.stderr)
                stats.sort_stats("tottime").print_stats(top)
    return result


def run_side(src: Path | None, args: argparse.Namespace, top: int) -> Figures:
    """Run the waves in a subprocess on ``src``'s code over a fresh database; return figures."""
    sys.path.insert(0, str(HERE))
    import harness

    side = harness.Side("side", src)
    postgres = None if args.store == "sqlite" else args.store
    with harness.database(side, postgres) as url:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--inner",
                "--followers",
                str(args.followers),
                "--store",
                "sqlite" if postgres is None else url,
                "--top",
                str(top),
            ],
            env=side.env(),
            check=True,
            stdout=subprocess.PIPE,
            text=True,
            cwd=tempfile.gettempdir(),
        )
    figures: Figures = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    """Parse the options; run one side, or the old/new sides alternately."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--followers", type=int, default=10_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--top", type=int, default=0, help="also cProfile's top N functions (stderr)")
    p.add_argument("--store", default="sqlite", help="sqlite, or a PostgreSQL server URL")
    p.add_argument("--ab", nargs=2, metavar=("OLD_SRC", "NEW_SRC"))
    p.add_argument(
        "--stat",
        choices=("median", "min"),
        default="median",
        help="per stage over the repeats; min resists a loaded host's bursts (an A/A run here "
        "gave medians of 5 apart by up to 1.3x)",
    )
    p.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.inner:
        print(json.dumps(inner(args.followers, args.store, args.top)))
        return
    sides: list[tuple[str, Path | None]] = [("this", None)]
    if args.ab:
        sides = [("old", Path(args.ab[0]).resolve()), ("new", Path(args.ab[1]).resolve())]
    runs: dict[str, list[Figures]] = {label: [] for label, _ in sides}
    for i in range(args.repeat):
        for label, src in sides if i % 2 == 0 else sides[::-1]:
            top = args.top if i == 0 else 0
            runs[label].append(run_side(src, args, top))
            print(f"run {i + 1} {label}: {json.dumps(runs[label][-1])}", file=sys.stderr)
    _print_table(args, [label for label, _ in sides], runs)


def _print_table(
    args: argparse.Namespace, labels: list[str], runs: dict[str, list[Figures]]
) -> None:
    store = args.store.split(":")[0]
    print(f"CPU ms per wave, {args.followers} followers, {store}, {args.stat} of {args.repeat}")
    header = f"{'wave':<6} {'stage':<28}" + "".join(f"{x:>10}" for x in labels)
    print(header + ("    new/old" if args.ab else ""))
    for wave in ("open", "close"):
        names: list[str] = []
        for label in labels:
            for figures in runs[label]:
                names += [n for n in figures.get(wave, {}) if n not in names]
        for name in names:
            meds = []
            for label in labels:
                values = [f[wave][name] for f in runs[label] if name in f.get(wave, {})]
                stat = min if args.stat == "min" else statistics.median
                meds.append(stat(values) if values else float("nan"))
            line = f"{wave:<6} {name:<28}" + "".join(f"{m:>10.1f}" for m in meds)
            if args.ab and meds[0] > 0 and meds[1] == meds[1]:
                line += f"    {meds[1] / meds[0]:.3f}"
            print(line)


if __name__ == "__main__":
    main()
