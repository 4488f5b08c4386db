"""Loading accounts (wallet, positions, resting orders and algo orders, levers): both stores.

The embedded store loads an account once and keeps it; the shared store locks the account rows
first (:func:`select_heads` with ``lock``) and loads in full only those its kept copies cannot
vouch for (:mod:`copytrade.adapters.db.versions`).
"""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from copytrade.adapters.db.rows import algo_from_row, order_from_row, position_from_row
from copytrade.adapters.db.sql import Flavour, query, whole_rows
from copytrade.domain.enums import MarginMode
from copytrade.domain.model import Account

MARKS_VERSION = "(SELECT value FROM counters WHERE name = 'marks')"
"""The version of every mark price, moved on by each write of one (a sub-query)."""


def select_heads(
    conn: Connection, scope: str, params: list[Any], *, lock: bool = False
) -> list[Any]:
    """Return ``(uid, balance, version, spot, futures)`` of the ``accounts`` rows in ``scope``.

    With ``lock`` (PostgreSQL) the rows are locked in uid order (``FOR UPDATE``) and each row
    also carries the marks version (one round trip for both).
    """
    if lock:
        return query(
            conn,
            f"SELECT uid, balance, version, spot, futures, {MARKS_VERSION} "  # noqa: S608
            f"FROM accounts "
            f"WHERE {scope} ORDER BY uid FOR UPDATE",
            params,
        )
    return query(
        conn,
        f"SELECT uid, balance, version, spot, futures FROM accounts WHERE {scope}",  # noqa: S608
        params,
    )


def account_of(head: Any) -> Account:
    """Return the empty account (no positions yet) of a row of :func:`select_heads`."""
    return Account(head[0], Decimal(head[1]), spot=Decimal(head[3]), futures=Decimal(head[4]))


def accounts_of(heads: list[Any]) -> dict[int, Account]:
    """Return :func:`account_of` of many rows, by uid.

    Equal spot and futures texts (most accounts' ``0``) give one shared decimal object (see
    :func:`_shared_decimal`), so that a fan-out's writer tells them alike by identity.
    """
    shared = _shared_decimal
    return {
        h[0]: Account(h[0], Decimal(h[1]), spot=shared(h[3]), futures=shared(h[4])) for h in heads
    }


@functools.lru_cache(maxsize=256)
def _shared_decimal(text: str) -> Decimal:
    """Return the decimal of ``text``, the same object for the same text.

    Decimals are immutable: sharing one is invisible but to ``is``.
    """
    return Decimal(text)


def fill_accounts(
    conn: Connection, flavour: Flavour, fresh: dict[int, Account], follower_of: int | None = None
) -> None:
    """Load the open positions, resting orders and levers of the (empty) accounts ``fresh``.

    ``follower_of``: ``fresh`` holds every active follower of that trader, selected by
    sub-query (no 10,000-long parameter list).
    """
    if not fresh:
        return
    m = flavour.mark
    if follower_of is not None:
        scope, params = flavour.followers_scope(), [follower_of]
    else:
        uids = list(fresh)
        scope, params = flavour.uid_scope(len(uids)), flavour.uid_params(uids)
    for row in whole_rows(conn, "positions", f"{scope} AND is_open = {m}", [*params, True]):
        fresh[row[1]].positions[row[0]] = position_from_row(row)
    # the literal, not a parameter: only then may the planner use the open-orders index
    for row in whole_rows(conn, "orders", f"{scope} AND status = 'open'", params):
        fresh[row[1]].orders[row[0]] = order_from_row(row)
    for uid, code, mode, lever in whole_rows(conn, "levers", scope, params):
        fresh[uid].levers[(code, MarginMode(mode))] = lever
    for uid, position_mode in whole_rows(conn, "position_modes", scope, params):
        fresh[uid].one_way = position_mode == "single_side"
    for row in whole_rows(conn, "algo_orders", f"{scope} AND state = 'active'", params):
        fresh[row[1]].algos[row[0]] = algo_from_row(row)


def load_accounts(conn: Connection, flavour: Flavour, uids: list[int]) -> dict[int, Account]:
    """Load accounts in full, without locking (the embedded store, and every read)."""
    if not uids:
        return {}
    heads = select_heads(conn, flavour.uid_scope(len(uids)), flavour.uid_params(uids))
    found = accounts_of(heads)
    fill_accounts(conn, flavour, found)
    return found


def load_followers(conn: Connection, flavour: Flavour, trader_uid: int) -> dict[int, Account]:
    """Load every active follower of a trader in full, without locking."""
    heads = select_heads(conn, flavour.followers_scope(), [trader_uid])
    found = accounts_of(heads)
    fill_accounts(conn, flavour, found, follower_of=trader_uid)
    return found
