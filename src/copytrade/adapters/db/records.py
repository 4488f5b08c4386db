"""Users, API keys, follows, marks and admin rows in SQL: shared by both database stores.

Each repository runs on the connection of the unit of work that owns it, and tells that unit
what it changed through a :class:`Changes` listener, so that each store can expire what it keeps
in memory (the embedded store's cache, the shared store's version-vouched copies).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import Connection, and_, delete, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from copytrade.adapters.db import schema as t
from copytrade.adapters.db.sql import UID_START, Flavour, executemany, query
from copytrade.adapters.secrets import SecretBox
from copytrade.domain.copytrading import Follow, follow_settings, follow_with_settings
from copytrade.domain.enums import Wallet
from copytrade.service import ports
from copytrade.service.ports import ApiKey, User

_REALISED_CHUNK = 500  # followers per realised-PnL query (SQLite bounds a statement's parameters)
_RANDOM = random.Random()  # not a secret: versions only have to differ across resets

Conn = Callable[[], Connection]
"""Returns the owning unit of work's open connection."""


class Changes(Protocol):
    """What a unit of work is told about direct writes, to expire what its store keeps."""

    def follows_changed(self, trader_uids: Sequence[int]) -> None:
        """The active follows of these traders changed."""
        ...

    def balance_set(self, uid: int) -> None:
        """An account's balance was overwritten."""
        ...

    def marks_changed(self) -> None:
        """A mark price changed."""
        ...

    def was_reset(self) -> None:
        """Everything was deleted."""
        ...


def first_version() -> int:
    """Return a random starting version for a new account.

    Return the version a new account starts at: random, so that after an admin reset a copy
    of a reused UID kept by some process cannot match (one chance in 2**62).
    """
    return _RANDOM.getrandbits(62)


def upsert(conn: Connection, table: Any, values: dict[str, Any], keys: list[str]) -> None:
    """Insert a row or update the existing one with the same ``keys``."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=keys, set_={k: v for k, v in values.items() if k not in keys}
    )
    conn.execute(stmt)


def user_of(conn: Connection, uid: int) -> User | None:
    """Return a user."""
    r = conn.execute(select(t.users).where(t.users.c.uid == uid)).first()
    if r is None:
        return None
    return User(
        r.uid,
        r.role,
        r.name,
        r.profit_share_ratio,
        r.created_at,
        r.max_followers,
        r.lead_enabled,
    )


def key_of(conn: Connection, secrets: SecretBox, access_key: str) -> ApiKey | None:
    """Return an API key with its secret decrypted and its user's role."""
    keys, users = t.api_keys, t.users
    r = conn.execute(
        select(keys, users.c.role)
        .join(users, users.c.uid == keys.c.uid)
        .where(keys.c.access_key == access_key)
    ).first()
    if r is None:
        return None
    secret = secrets.decrypt(r.secret_enc) if r.secret_enc is not None else None
    return ApiKey(
        r.access_key,
        r.uid,
        r.method,
        secret,
        r.public_key_hex,
        r.permissions == "trade",
        r.role,
    )


def settings_text(follow: Follow) -> str | None:
    """Return the ``follows.settings`` text of a follow (``None`` for a plain ratio follow)."""
    settings = follow_settings(follow)
    return json.dumps(settings, sort_keys=True, separators=(",", ":")) if settings else None


def follow_of(follower_uid: int, trader_uid: int, ratio: Any, settings: str | None) -> Follow:
    """Return the follow a ``follows`` row describes, its settings included."""
    return follow_with_settings(
        follower_uid, trader_uid, Decimal(ratio), json.loads(settings) if settings else None
    )


def active_follow_of(conn: Connection, follower_uid: int) -> Follow | None:
    """Return the follower's current follow."""
    f = t.follows
    r = conn.execute(
        select(f).where(and_(f.c.follower_uid == follower_uid, f.c.active.is_(True)))
    ).first()
    return follow_of(r.follower_uid, r.trader_uid, r.ratio, r.settings) if r else None


def follows_of(conn: Connection, flavour: Flavour, trader_uid: int) -> list[Follow]:
    """Return a trader's active follows, oldest first."""
    rows = query(
        conn,
        "SELECT follower_uid, ratio, settings FROM follows "  # noqa: S608 - our own names
        f"WHERE trader_uid = {flavour.mark} AND active ORDER BY follow_id",
        [trader_uid],
    )
    # a trader's followers mostly share their settings: each (ratio, settings) text is parsed
    # once, and the follows made of it share its decimals (a fan-out formats them once)
    made: dict[tuple[str, str | None], Follow] = {}
    follows: list[Follow] = []
    for uid, ratio, settings in rows:
        like = made.get((ratio, settings))
        if like is None:
            like = made[(ratio, settings)] = follow_of(uid, trader_uid, ratio, settings)
            follows.append(like)
        else:
            follows.append(like.of_follower(uid))
    return follows


def marks_of(conn: Connection) -> dict[str, Decimal]:
    """Return every contract's mark price."""
    rows = query(conn, "SELECT contract_code, mark_price FROM markets", [])
    return {code: Decimal(price) for code, price in rows}


def exposed_to(conn: Connection, contract_code: str) -> list[int]:
    """Return the UIDs holding positions, resting orders or algo orders in a contract."""
    p, o = t.positions, t.orders
    held = select(p.c.uid).where(and_(p.c.contract_code == contract_code, p.c.is_open.is_(True)))
    # a literal status, so that the planner may scan the open-orders index
    resting = select(o.c.uid).where(
        and_(o.c.contract_code == contract_code, text("orders.status = 'open'"))
    )
    a = t.algo_orders
    waiting = select(a.c.uid).where(
        and_(a.c.contract_code == contract_code, text("algo_orders.state = 'active'"))
    )
    return sorted({r[0] for r in conn.execute(held.union(resting, waiting))})


class SqlUsers:
    """Users and API keys (secrets encrypted at rest)."""

    def __init__(self, conn: Conn, secrets: SecretBox, write: Conn | None = None) -> None:
        """Read on ``conn`` and write on ``write`` (default: the same) of the owning unit."""
        self._conn = conn
        self._write = write or conn
        self._secrets = secrets

    def get(self, uid: int) -> User | None:
        """Return a user."""
        return user_of(self._conn(), uid)

    def add_many(self, users: Sequence[User], balance: Decimal) -> None:
        """Create users, each with an account holding ``balance``."""
        if not users:
            return
        conn = self._write()
        conn.execute(
            insert(t.users),
            [
                {
                    "uid": u.uid,
                    "role": u.role,
                    "name": u.name,
                    "profit_share_ratio": u.profit_share_ratio,
                    "created_at": u.created_at,
                    "max_followers": u.max_followers,
                    "lead_enabled": u.lead_enabled,
                }
                for u in users
            ],
        )
        conn.execute(
            insert(t.accounts),
            [{"uid": u.uid, "balance": balance, "version": first_version()} for u in users],
        )

    def key(self, access_key: str) -> ApiKey | None:
        """Return an API key with its secret decrypted."""
        return key_of(self._conn(), self._secrets, access_key)

    def add_key(self, key: ApiKey) -> None:
        """Store an API key; the HMAC secret is encrypted at rest."""
        self._write().execute(
            insert(t.api_keys).values(
                access_key=key.access_key,
                uid=key.uid,
                method=key.method,
                secret_enc=self._secrets.encrypt(key.secret) if key.secret is not None else None,
                public_key_hex=key.public_key_hex,
                permissions="trade" if key.can_trade else "read",
                created_at=0,
            )
        )

    def set_lead(self, uid: int, enabled: bool, ratio: Decimal, max_followers: int) -> None:
        """Store a UID's lead-trading settings."""
        u = t.users
        self._write().execute(
            update(u)
            .where(u.c.uid == uid)
            .values(lead_enabled=enabled, profit_share_ratio=ratio, max_followers=max_followers)
        )


class SqlFollows:
    """Follows; every write moves the traders' account versions on."""

    def __init__(
        self, conn: Conn, flavour: Flavour, changes: Changes, write: Conn | None = None
    ) -> None:
        """Read on ``conn``, write on ``write`` (default: the same); report to ``changes``."""
        self._conn = conn
        self._write = write or conn
        self._flavour = flavour
        self._changes = changes

    def active_of(self, follower_uid: int) -> Follow | None:
        """Return the follower's current follow."""
        return active_follow_of(self._conn(), follower_uid)

    def start_many(self, rows: Sequence[tuple[int, Follow]], now: int) -> None:
        """Start follows."""
        if not rows:
            return
        self._bump(sorted({f.trader_uid for _fid, f in rows}))
        self._write().execute(
            insert(t.follows),
            [
                {
                    "follow_id": fid,
                    "follower_uid": f.follower_uid,
                    "trader_uid": f.trader_uid,
                    "ratio": f.ratio,
                    "started_at": now,
                    "ended_at": None,
                    "active": True,
                    "settings": settings_text(f),
                }
                for fid, f in rows
            ],
        )

    def end(self, follower_uid: int, now: int) -> None:
        """End the follower's current follow."""
        conn, f = self._write(), t.follows
        traders = query(
            conn,
            "SELECT trader_uid FROM follows "  # noqa: S608 - our own names
            f"WHERE follower_uid = {self._flavour.mark} AND active",
            [follower_uid],
        )
        self._bump(sorted(uid for (uid,) in traders))
        conn.execute(
            update(f)
            .where(and_(f.c.follower_uid == follower_uid, f.c.active.is_(True)))
            .values(active=False, ended_at=now)
        )

    def count_active(self, trader_uid: int) -> int:
        """Return how many followers the trader has now."""
        rows = query(
            self._conn(),
            "SELECT COUNT(*) FROM follows "  # noqa: S608 - our own names
            f"WHERE trader_uid = {self._flavour.mark} AND active",
            [trader_uid],
        )
        return int(rows[0][0])

    def change(self, follow: Follow) -> None:
        """Replace the ratio and settings of the follower's current follow of its trader."""
        f = t.follows
        self._bump([follow.trader_uid])
        self._write().execute(
            update(f)
            .where(
                and_(
                    f.c.follower_uid == follow.follower_uid,
                    f.c.trader_uid == follow.trader_uid,
                    f.c.active.is_(True),
                )
            )
            .values(ratio=follow.ratio, settings=settings_text(follow))
        )

    def realised(self, follower_uids: Sequence[int]) -> dict[int, Decimal]:
        """Return the realised copy PnL of each follower's current follow (two queries a chunk).

        Funding the follow's copies paid or received counts too (the fills ledger's
        ``funding`` rows), as it does for the total stop-loss.

        Read on the writing connection: on SQLite it writes the rows of the commit group's
        earlier calls first, so their closed copies count too.
        """
        f, p = t.follows, t.positions
        out = dict.fromkeys(follower_uids, Decimal(0))
        uids = sorted(out)
        for start in range(0, len(uids), _REALISED_CHUNK):
            rows = self._write().execute(
                select(p.c.uid, p.c.profit)
                .join(f, and_(f.c.follower_uid == p.c.uid, f.c.active.is_(True)))
                .where(
                    and_(
                        p.c.uid.in_(uids[start : start + _REALISED_CHUNK]),
                        p.c.lead_uid == f.c.trader_uid,
                        p.c.is_open.is_(False),
                        p.c.close_time >= f.c.started_at,
                    )
                )
            )
            for uid, profit in rows:
                if profit is not None:
                    out[uid] += Decimal(profit)
            self._add_funding(out, uids[start : start + _REALISED_CHUNK])
        return out

    def _add_funding(self, out: dict[int, Decimal], uids: Sequence[int]) -> None:
        """Add the funding the followers' copies of their trader paid (fee > 0) or received."""
        f, p, fl = t.follows, t.positions, t.fills
        rows = self._write().execute(
            select(fl.c.uid, fl.c.fee)
            .join(p, p.c.sub_position_id == fl.c.sub_position_id)
            .join(f, and_(f.c.follower_uid == fl.c.uid, f.c.active.is_(True)))
            .where(
                and_(
                    fl.c.uid.in_(uids),
                    fl.c.offset == "funding",
                    p.c.lead_uid == f.c.trader_uid,
                    fl.c.ts >= f.c.started_at,
                )
            )
        )
        for uid, fee in rows:
            out[uid] -= Decimal(fee)

    def _bump(self, trader_uids: Sequence[int]) -> None:
        """Move the traders' versions on: a copy of their follows kept anywhere expires."""
        executemany(
            self._write(),
            f"UPDATE accounts SET version = version + 1 WHERE uid = {self._flavour.mark}",  # noqa: S608
            [(uid,) for uid in trader_uids],
        )
        self._changes.follows_changed(trader_uids)


class SqlMarkets:
    """Mark prices; every write moves the ``marks`` version on."""

    def __init__(self, conn: Conn, changes: Changes, write: Conn | None = None) -> None:
        """Read on ``conn``, write on ``write`` (default: the same); report to ``changes``."""
        self._conn = conn
        self._write = write or conn
        self._changes = changes

    def marks(self) -> dict[str, Decimal]:
        """Return every contract's mark price."""
        return marks_of(self._conn())

    def set_mark(self, contract_code: str, price: Decimal, now: int) -> None:
        """Store a contract's mark price."""
        conn = self._write()
        upsert(
            conn,
            t.markets,
            {"contract_code": contract_code, "mark_price": price, "updated_at": now},
            ["contract_code"],
        )
        added = conn.execute(
            insert(t.mark_moves).values(contract_code=contract_code, mark_price=price, ts=now)
        )
        move_id = added.inserted_primary_key[0] if added.inserted_primary_key else None
        if move_id is not None and move_id % ports.MARK_MOVES_PRUNE_EVERY == 0:
            prune_mark_moves(conn, ports.MARK_MOVES_KEPT)
        bump_marks(conn)
        self._changes.marks_changed()


_PRUNE_MARK_MOVES = text(
    "DELETE FROM mark_moves WHERE move_id IN ("
    " SELECT move_id FROM ("
    "  SELECT move_id, ROW_NUMBER() OVER"
    "   (PARTITION BY contract_code ORDER BY move_id DESC) AS newer"
    "  FROM mark_moves) AS ranked"
    " WHERE newer > :kept)"
)


def prune_mark_moves(conn: Connection, kept: int) -> None:
    """Delete every contract's mark moves but its newest ``kept`` (the candles read no more).

    Run once per ``MARK_MOVES_PRUNE_EVERY`` moves (by the global move id, so all contracts
    together: pruning only the contract that moved could skip one whose moves always fall
    between the multiples); the table it scans is bounded by that rule itself.
    """
    conn.execute(_PRUNE_MARK_MOVES, {"kept": kept})


def bump_marks(conn: Connection) -> None:
    """Move the ``marks`` version on: every process's kept marks expire."""
    conn.execute(
        text(
            "INSERT INTO counters (name, value) VALUES ('marks', 1) "
            "ON CONFLICT (name) DO UPDATE SET value = counters.value + 1"
        )
    )


class SqlAdmin:
    """The emulator's own operations."""

    def __init__(self, conn: Conn, changes: Changes) -> None:
        """Run on the owning unit's connection; report writes to ``changes``."""
        self._conn = conn
        self._changes = changes

    def allocate_uids(self, count: int) -> int:
        """Reserve ``count`` consecutive new UIDs; return the first.

        One atomic upsert of the ``uid`` counter (a row lock on PostgreSQL), so server
        processes creating users at the same time never hand out the same UID. The counter
        starts above the largest UID already in use.
        """
        value = (
            self._conn()
            .execute(
                text(
                    "INSERT INTO counters (name, value) "
                    "SELECT 'uid', COALESCE(MAX(uid), :start) + :n FROM users WHERE true "
                    "ON CONFLICT (name) DO UPDATE SET value = counters.value + :n "
                    "RETURNING value"
                ),
                {"start": UID_START, "n": count},
            )
            .scalar_one()
        )
        return int(value) - count + 1

    def set_balance(self, uid: int, balance: Decimal) -> None:
        """Overwrite a wallet balance (and move its version on)."""
        a = t.accounts
        self._conn().execute(
            update(a).where(a.c.uid == uid).values(balance=balance, version=a.c.version + 1)
        )
        self._changes.balance_set(uid)

    def set_wallet(self, uid: int, wallet: Wallet, amount: Decimal) -> None:
        """Overwrite one of a UID's three USDT balances (and move its version on)."""
        a = t.accounts
        column = {Wallet.COPY_TRADING: "balance", Wallet.SPOT: "spot", Wallet.FUTURES: "futures"}
        self._conn().execute(
            update(a)
            .where(a.c.uid == uid)
            .values({column[wallet]: amount, "version": a.c.version + 1})
        )
        self._changes.balance_set(uid)

    def meta(self, key: str, *, lock: bool = False) -> str | None:
        """Read an emulator setting (``lock``: hold its row until the unit ends; PostgreSQL)."""
        query = select(t.meta.c.value).where(t.meta.c.key == key)
        if lock:
            query = query.with_for_update()  # SQLite (one writer) renders no FOR UPDATE
        value = self._conn().execute(query).scalar()
        return str(value) if value is not None else None

    def set_meta(self, key: str, value: str) -> None:
        """Write an emulator setting."""
        upsert(self._conn(), t.meta, {"key": key, "value": value}, ["key"])

    def reset(self) -> None:
        """Delete all state (markets included; the caller seeds them again).

        UIDs start again from the first; the snowflake worker numbers of running processes
        stay reserved.
        """
        conn = self._conn()
        for table in reversed(t.ALL_DATA_TABLES):
            conn.execute(delete(table))
        conn.execute(delete(t.counters).where(t.counters.c.name == "uid"))
        bump_marks(conn)  # the markets went with the rest
        self._changes.was_reset()
