"""Where a request's CPU goes, by stage of the request path, from py-spy's collapsed stacks.

``prof_pyspy.py`` lists functions; this sums them into the stages of the signed request path
(HTTP server, signature, rate limit, parsing, dispatcher, use case, SQLite writes, reply,
metrics/logging), so "what remains" can be quoted per group rather than as a long flat list.
Each sample is given to the innermost frame whose file belongs to a group (library code such
as ``json``, ``urllib`` or ``hmac`` counts for the copytrade function that called it; C code
already shows as its Python caller).

Usage::

    .venv/bin/python bench/prof_pyspy.py --seconds 15      # prints "samples in FILE"
    .venv/bin/python bench/prof_groups.py FILE [--functions 5]

``--functions N`` lists each group's N heaviest functions under it.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter, defaultdict
from pathlib import Path

# (group, file pattern): first match wins, so specific patterns come first
GROUPS: list[tuple[str, str]] = [
    ("metrics/logging", r"copytrade/api/(observe|metrics|logs)\.py"),
    ("signature (auth, query, HMAC)", r"copytrade/(api/auth|protocol/signing)\.py"),
    ("rate limit", r"copytrade/adapters/ratelimit\.py|RateDecision"),
    ("parse (body, params)", r"copytrade/(api/wire|api/routes[_a-z0-9]*|protocol/strict)\.py"),
    ("reply (render, envelope)", r"copytrade/(protocol/envelope|protocol/profiles|api/render)"),
    ("HTX dispatch (htx.py)", r"copytrade/api/(htx|app)\.py"),
    (
        "SQLite writes (rows, executemany, commit)",
        r"copytrade/adapters/db/(sqlite_writer|sql|rows|records|checkpoint)\.py|sqlalchemy/",
    ),
    (
        "dispatcher (group commit, unit of work, env)",
        r"copytrade/adapters/db/(batching|sqlite_uow|engine)\.py|copytrade/service/"
        r"(retry|context|ports)\.py|greenlet",
    ),
    ("use case (handlers, domain)", r"copytrade/(service|domain|adapters)/"),
    ("HTTP server (uvicorn, loop)", r"uvicorn/|copytrade/cli/serving\.py|asyncio/|selectors"),
]
_FILE = re.compile(r"\(([^():]+):\d+\)$")


def group_of(frame: str) -> str | None:
    """Return the group of one frame (``func (file:line)``), ``None`` if it has none."""
    match = _FILE.search(frame)
    where = match.group(1) if match else frame
    for name, pattern in GROUPS:
        if re.search(pattern, where) or re.search(pattern, frame):
            return name
    return None


def groups(collapsed: str, functions: int) -> str:
    """Return the groups' shares of the samples (and their heaviest functions)."""
    own: Counter[str] = Counter()
    by_fn: dict[str, Counter[str]] = defaultdict(Counter)
    total = 0
    cache: dict[str, str | None] = {}
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [f for f in stack.split(";") if not f.startswith("process ")]
        total += n
        name, fn = "other", frames[-1] if frames else "?"
        for frame in reversed(frames):
            if frame not in cache:
                cache[frame] = group_of(frame)
            found = cache[frame]
            if found is not None:
                name, fn = found, frame
                break
        own[name] += n
        by_fn[name][fn] += n
    if not total:
        return "no samples"
    lines = [f"{total} samples (GIL held)", f"{'share':>7}  group"]
    for name, n in own.most_common():
        lines.append(f"{n / total:>7.1%}  {name}")
        for fn, m in by_fn[name].most_common(functions):
            lines.append(f"{'':>9}{m / total:>6.1%}  {fn}")
    return "\n".join(lines)


def main() -> None:
    """Print the groups of a collapsed-stack file."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("collapsed", type=Path)
    p.add_argument("--functions", type=int, default=5)
    args = p.parse_args()
    print(groups(args.collapsed.read_text(), args.functions))


if __name__ == "__main__":
    main()
