"""Bounded reruns of a use case whose transaction the database aborted.

PostgreSQL may abort one of two transactions that wait on each other's row locks (deadlock,
SQLSTATE 40P01) or, at stricter isolation levels, one that cannot be serialised (40001). The unit
of work reports both as :class:`~copytrade.service.ports.WriteConflict`; the whole use case
(load, decide, persist) then runs again from the start on fresh state.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from copytrade.service.ports import WriteConflict

ATTEMPTS = 4
BACKOFF_SECONDS = 0.005

P = ParamSpec("P")
R = TypeVar("R")

WITHOUT_RERUNS = "without_reruns"
"""Attribute of a :func:`retry_conflicts` use case holding the undecorated function: a store
that never raises :class:`WriteConflict` (the embedded SQLite one: one writer, no row locks)
calls that directly, one frame and one ``try`` fewer per command."""


def retry_conflicts(fn: Callable[P, R]) -> Callable[P, R]:
    """Rerun ``fn`` up to :data:`ATTEMPTS` times while it raises :class:`WriteConflict`.

    The last conflict propagates (the API answers 1004 "System busy").
    """

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(1, ATTEMPTS):
            try:
                return fn(*args, **kwargs)
            except WriteConflict:
                time.sleep(BACKOFF_SECONDS * attempt)
        return fn(*args, **kwargs)

    setattr(run, WITHOUT_RERUNS, fn)
    return run
