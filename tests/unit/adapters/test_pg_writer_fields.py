"""The PostgreSQL writer defers a change set to COMMIT only when the one statement holds all of it:
every ``ChangeSet`` field must be known to be either in that statement or written after it."""

from __future__ import annotations

import dataclasses

from copytrade.adapters.db.pg_writer import ONE_STATEMENT_FIELDS, written_after
from copytrade.domain.enums import MarginMode
from copytrade.domain.model import ChangeSet

WRITTEN_AFTER = {"levers", "algos", "modes"}  # what written_after() checks


def test_every_change_set_field_is_classified() -> None:
    fields = {f.name for f in dataclasses.fields(ChangeSet)}
    assert fields == ONE_STATEMENT_FIELDS | WRITTEN_AFTER
    assert not ONE_STATEMENT_FIELDS & WRITTEN_AFTER


def test_a_change_set_with_later_writes_is_not_deferred() -> None:
    assert not written_after(ChangeSet())
    levers = ChangeSet()
    levers.levers[(1, "BTC-USDT", MarginMode.CROSS)] = 5
    modes = ChangeSet()
    modes.modes[1] = True
    assert written_after(levers)
    assert written_after(modes)
