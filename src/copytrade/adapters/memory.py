"""The in-memory store: the reference implementation of the storage ports.

Used by the service unit tests and servable as ``copytrade serve --db memory://`` (a throw-away
sandbox that starts in milliseconds). Units of work run one at a time under one lock. A unit
reads the committed state; its first write makes it a private copy of the state, which commit
publishes and rollback drops. Accounts are handed out as copies, and a change set is applied to
the state the way the database stores apply it (open positions and resting orders stay with the
account, closed ones move to history), so that what the trading core forgot to record in a
change set is lost here as it would be there.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from decimal import Decimal
from types import TracebackType
from typing import Any, Self

from copytrade.domain.algo import AlgoOrder
from copytrade.domain.copytrading import Follow, follow_settings, follow_with_settings
from copytrade.domain.enums import MarginMode, OrderStatus, PositionSide, Wallet
from copytrade.domain.model import (
    Account,
    ChangeSet,
    CopySkipped,
    FillRecord,
    Order,
    OrderTag,
    ProfitShare,
    SubPosition,
)
from copytrade.service import ports
from copytrade.service.overview import OverviewReader
from copytrade.service.ports import (
    AlgoQuery,
    ApiKey,
    FollowerRow,
    OrderQuery,
    Page,
    TaggedOrder,
    Trade,
    User,
    UserReport,
    algo_selected,
)

UID_START = 10_000_000


@dataclass(frozen=True, slots=True)
class FollowRow:
    """A follow as stored: active until ended.

    ``settings`` are kept as the database stores keep them (:func:`follow_settings`'s text), so
    that a setting they would not round-trip is lost here too.
    """

    follow_id: int
    follower_uid: int
    trader_uid: int
    ratio: Decimal
    started_at: int
    ended_at: int | None = None
    active: bool = True
    settings: Mapping[str, str] | None = None

    def follow(self) -> Follow:
        """Return the follow with its settings."""
        return follow_with_settings(self.follower_uid, self.trader_uid, self.ratio, self.settings)


@dataclass(slots=True)
class MemoryState:
    """Everything the store holds. Stored objects are never mutated, only replaced."""

    users: dict[int, User] = field(default_factory=dict)
    keys: dict[str, ApiKey] = field(default_factory=dict)
    balances: dict[int, Decimal] = field(default_factory=dict)
    spot: dict[int, Decimal] = field(default_factory=dict)
    futures: dict[int, Decimal] = field(default_factory=dict)
    open_positions: dict[int, dict[int, SubPosition]] = field(default_factory=dict)
    open_orders: dict[int, dict[int, Order]] = field(default_factory=dict)
    levers: dict[int, dict[tuple[str, MarginMode], int]] = field(default_factory=dict)
    closed: dict[int, SubPosition] = field(default_factory=dict)
    follows: dict[int, FollowRow] = field(default_factory=dict)
    marks: dict[str, Decimal] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)
    next_uid: int | None = None
    fills: list[FillRecord] = field(default_factory=list)
    skips: list[CopySkipped] = field(default_factory=list)
    shares: list[ProfitShare] = field(default_factory=list)
    finished_orders: dict[int, Order] = field(default_factory=dict)
    tags: dict[int, OrderTag] = field(default_factory=dict)
    one_way: set[int] = field(default_factory=set)
    mark_moves: list[tuple[str, int, Decimal]] = field(default_factory=list)
    algos: dict[int, AlgoOrder] = field(default_factory=dict)
    """Every trigger and trailing order, resting or finished, by id."""

    def copy(self) -> MemoryState:
        """Return a copy that can change without touching this state."""
        return MemoryState(
            dict(self.users),
            dict(self.keys),
            dict(self.balances),
            dict(self.spot),
            dict(self.futures),
            {uid: dict(p) for uid, p in self.open_positions.items()},
            {uid: dict(o) for uid, o in self.open_orders.items()},
            {uid: dict(lv) for uid, lv in self.levers.items()},
            dict(self.closed),
            dict(self.follows),
            dict(self.marks),
            dict(self.meta),
            self.next_uid,
            list(self.fills),
            list(self.skips),
            list(self.shares),
            dict(self.finished_orders),
            dict(self.tags),
            set(self.one_way),
            list(self.mark_moves),
            dict(self.algos),
        )

    def account(self, uid: int) -> Account | None:
        """Return a copy of a UID's account."""
        balance = self.balances.get(uid)
        if balance is None:
            return None
        return Account(
            uid,
            balance,
            {i: dataclasses.replace(p) for i, p in self.open_positions.get(uid, {}).items()},
            {i: dataclasses.replace(o) for i, o in self.open_orders.get(uid, {}).items()},
            dict(self.levers.get(uid, {})),
            self.spot.get(uid, Decimal(0)),
            self.futures.get(uid, Decimal(0)),
            one_way=uid in self.one_way,
            algos={
                i: dataclasses.replace(a)
                for i, a in self.algos.items()
                if a.uid == uid and a.is_active
            },
        )

    def key(self, access_key: str) -> ApiKey | None:
        """Return an API key with its user's role (as the database stores join them)."""
        key = self.keys.get(access_key)
        user = self.users.get(key.uid) if key is not None else None
        if key is None or user is None:
            return None
        return dataclasses.replace(key, role=user.role)

    def active_follow_of(self, follower_uid: int) -> Follow | None:
        """Return the follower's current follow."""
        for row in self.follows.values():
            if row.follower_uid == follower_uid and row.active:
                return row.follow()
        return None

    def apply(self, changes: ChangeSet) -> None:
        """Apply a change set (copies of its objects: the caller keeps mutating its own)."""
        for uid, account in changes.accounts.items():
            if uid in self.balances:
                self.balances[uid] = account.balance
                self.spot[uid] = account.spot
                self.futures[uid] = account.futures
        for pid, pos in changes.positions.items():
            kept = dataclasses.replace(pos)
            book = self.open_positions.setdefault(pos.uid, {})
            if pos.is_open:
                book[pid] = kept
            else:
                book.pop(pid, None)
                self.closed[pid] = kept
        for oid, order in changes.orders.items():
            kept_order = dataclasses.replace(order)
            orders = self.open_orders.setdefault(order.uid, {})
            if order.status is OrderStatus.OPEN:
                orders[oid] = kept_order
            else:
                orders.pop(oid, None)
                self.finished_orders[oid] = kept_order
        for (uid, code, mode), lever in changes.levers.items():
            self.levers.setdefault(uid, {})[(code, mode)] = lever
        self.fills.extend(changes.fills)
        self.skips.extend(changes.skips)
        self.shares.extend(changes.profit_shares)
        for tag in changes.order_tags:
            self.tags[tag.order_id] = tag
        for aid, algo in changes.algos.items():
            self.algos[aid] = dataclasses.replace(algo)
        for uid, one_way in changes.modes.items():
            if one_way:
                self.one_way.add(uid)
            else:
                self.one_way.discard(uid)


def _page(
    rows: list[Any], ident: Callable[[Any], int], when: Callable[[Any], int], page: Page
) -> list[Any]:
    """Apply HTX paging (spec §6.11): time window, ``from_id``, direction, limit."""
    rows = [r for r in rows if page.start_time <= when(r) <= page.end_time]
    if page.from_id is not None:
        start = page.from_id
        rows = [r for r in rows if (ident(r) > start if page.ascending else ident(r) < start)]
    rows.sort(key=ident, reverse=not page.ascending)
    return rows[: page.limit]


class MemoryStore:
    """The in-memory store: units of work, admin units, reads; one at a time."""

    kind = "memory"

    worker = 0

    def __init__(self) -> None:
        """Start empty."""
        self.state = MemoryState()
        self.lock = threading.RLock()
        self.executor = InlineExecutor()

    def uow(self) -> MemoryUnitOfWork:
        """Return a unit of work."""
        return MemoryUnitOfWork(self)

    admin = uow

    def reads(self) -> MemoryReadModel:
        """Return a read of committed state."""
        return MemoryReadModel(self)

    def overview(self) -> OverviewReader:
        """Return the dashboard's reader of this store's state."""
        from copytrade.adapters.memory_overview import MemoryOverviewReader

        return MemoryOverviewReader(self)

    def runner(self) -> Callable[..., Awaitable[Any]]:
        """Return a coroutine function running a use case at once (memory never waits)."""

        async def run(fn: Callable[..., Any], /, *args: Any) -> Any:
            return fn(*args)

        return run

    def describe(self) -> str:
        """Return the store's URL."""
        return "memory://"

    def schema_revisions(self) -> tuple[str | None, str | None]:
        """Return no revisions: nothing is migrated."""
        return None, None

    def observe_commits(self, listener: Callable[[int, float], None]) -> None:
        """Nothing to observe: units commit one at a time, with no groups."""

    def close(self) -> None:
        """Nothing to release."""


class InlineExecutor(Executor):
    """Runs a submitted call at once on the caller's thread."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Run ``fn`` now; return its settled future."""
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:
            future.set_exception(exc)
        return future


class _Unit:
    """What the repositories of one unit of work share: the state they read and write."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.work: MemoryState | None = None

    @property
    def state(self) -> MemoryState:
        """Return the state to read: this unit's copy once it wrote, else the committed one."""
        return self.work if self.work is not None else self.store.state

    def writable(self) -> MemoryState:
        """Return this unit's private copy of the state."""
        if self.work is None:
            self.work = self.store.state.copy()
        return self.work


class MemoryAccounts:
    """Accounts, handed out as copies."""

    def __init__(self, unit: _Unit) -> None:
        """Belong to ``unit``."""
        self._unit = unit
        self._identity: dict[int, Account] = {}
        self._saved: list[ChangeSet] = []

    def get(self, uid: int) -> Account | None:
        """Return an account (the same object when asked twice in one unit)."""
        account = self._identity.get(uid)
        if account is None:
            account = self._unit.state.account(uid)
            if account is not None:
                self._identity[uid] = account
        return account

    def get_many(self, uids: Sequence[int]) -> dict[int, Account]:
        """Return several accounts."""
        found = {}
        for uid in sorted(set(uids)):
            account = self.get(uid)
            if account is not None:
                found[uid] = account
        return found

    def followers_of(self, trader_uid: int) -> tuple[list[Follow], dict[int, Account]]:
        """Return a trader's active follows (oldest first) and its followers' accounts."""
        rows = sorted(
            (
                r
                for r in self._unit.state.follows.values()
                if r.trader_uid == trader_uid and r.active
            ),
            key=lambda r: r.follow_id,
        )
        follows = [r.follow() for r in rows]
        if not follows:
            return [], {}
        return follows, self.get_many([f.follower_uid for f in follows])

    def exposed_to(self, contract_code: str) -> list[int]:
        """Return the UIDs holding positions or resting orders in a contract."""
        state = self._unit.state
        uids = {
            uid
            for uid, book in state.open_positions.items()
            if any(p.contract_code == contract_code for p in book.values())
        }
        uids |= {
            uid
            for uid, orders in state.open_orders.items()
            if any(o.contract_code == contract_code for o in orders.values())
        }
        uids |= {
            a.uid for a in state.algos.values() if a.contract_code == contract_code and a.is_active
        }
        return sorted(uids)

    def save(self, changes: ChangeSet) -> None:
        """Apply a change set to this unit's copy of the state."""
        self._unit.writable().apply(changes)

    def forget(self) -> None:
        """Drop the accounts handed out (after a write behind them)."""
        self._identity.clear()


class MemoryUsers:
    """Users and API keys."""

    def __init__(self, unit: _Unit) -> None:
        """Belong to ``unit``."""
        self._unit = unit

    def get(self, uid: int) -> User | None:
        """Return a user."""
        return self._unit.state.users.get(uid)

    def add_many(self, users: Sequence[User], balance: Decimal) -> None:
        """Create users with funded accounts; an existing UID is refused."""
        state = self._unit.writable()
        for user in users:
            if user.uid in state.users:
                raise ValueError(f"uid {user.uid} exists")
            state.users[user.uid] = user
            state.balances[user.uid] = balance

    def key(self, access_key: str) -> ApiKey | None:
        """Return an API key."""
        return self._unit.state.key(access_key)

    def add_key(self, key: ApiKey) -> None:
        """Store an API key; an existing access key is refused."""
        state = self._unit.writable()
        if key.access_key in state.keys:
            raise ValueError("access key exists")
        state.keys[key.access_key] = key

    def set_lead(self, uid: int, enabled: bool, ratio: Decimal, max_followers: int) -> None:
        """Store a UID's lead-trading settings."""
        state = self._unit.writable()
        state.users[uid] = dataclasses.replace(
            state.users[uid],
            lead_enabled=enabled,
            profit_share_ratio=ratio,
            max_followers=max_followers,
        )


class MemoryFollows:
    """Follows."""

    def __init__(self, unit: _Unit) -> None:
        """Belong to ``unit``."""
        self._unit = unit

    def active_of(self, follower_uid: int) -> Follow | None:
        """Return the follower's current follow."""
        return self._unit.state.active_follow_of(follower_uid)

    def start_many(self, rows: Sequence[tuple[int, Follow]], now: int) -> None:
        """Start follows."""
        state = self._unit.writable()
        for follow_id, f in rows:
            state.follows[follow_id] = FollowRow(
                follow_id,
                f.follower_uid,
                f.trader_uid,
                f.ratio,
                now,
                settings=follow_settings(f) or None,
            )

    def end(self, follower_uid: int, now: int) -> None:
        """End the follower's current follow."""
        state = self._unit.writable()
        for fid, row in list(state.follows.items()):
            if row.follower_uid == follower_uid and row.active:
                state.follows[fid] = dataclasses.replace(row, active=False, ended_at=now)

    def count_active(self, trader_uid: int) -> int:
        """Return how many followers the trader has now."""
        return sum(
            1 for r in self._unit.state.follows.values() if r.trader_uid == trader_uid and r.active
        )

    def change(self, follow: Follow) -> None:
        """Replace the ratio and settings of the follower's current follow of its trader."""
        state = self._unit.writable()
        for fid, row in list(state.follows.items()):
            if (row.follower_uid, row.trader_uid) == (
                follow.follower_uid,
                follow.trader_uid,
            ) and row.active:
                state.follows[fid] = dataclasses.replace(
                    row, ratio=follow.ratio, settings=follow_settings(follow) or None
                )

    def realised(self, follower_uids: Sequence[int]) -> dict[int, Decimal]:
        """Return the realised copy PnL of each follower's current follow (funding included)."""
        state = self._unit.state
        wanted = set(follower_uids)
        since = {
            r.follower_uid: (r.trader_uid, r.started_at)
            for r in state.follows.values()
            if r.active and r.follower_uid in wanted
        }
        out = dict.fromkeys(follower_uids, Decimal(0))
        for p in state.closed.values():
            follow = since.get(p.uid)
            if (
                follow is not None
                and p.lead_uid == follow[0]
                and p.profit is not None
                and p.close_time is not None
                and p.close_time >= follow[1]
            ):
                out[p.uid] += p.profit
        for f in state.fills:  # funding paid (fee > 0) or received on the follow's copies
            follow = since.get(f.uid)
            if follow is None or f.offset != "funding" or f.ts < follow[1]:
                continue
            pos = state.closed.get(f.sub_position_id) or state.open_positions.get(f.uid, {}).get(
                f.sub_position_id
            )
            if pos is not None and pos.lead_uid == follow[0]:
                out[f.uid] -= f.fee
        return out


class MemoryMarkets:
    """Mark prices."""

    def __init__(self, unit: _Unit) -> None:
        """Belong to ``unit``."""
        self._unit = unit

    def marks(self) -> dict[str, Decimal]:
        """Return every contract's mark price."""
        return dict(self._unit.state.marks)

    def set_mark(self, contract_code: str, price: Decimal, now: int) -> None:
        """Store a mark price (and remember the move, for the candles)."""
        state = self._unit.writable()
        state.marks[contract_code] = price
        state.mark_moves.append((contract_code, now, price))
        if len(state.mark_moves) % ports.MARK_MOVES_PRUNE_EVERY == 0:
            state.mark_moves = _newest_moves(state.mark_moves, ports.MARK_MOVES_KEPT)


def _newest_moves(
    moves: list[tuple[str, int, Decimal]], kept: int
) -> list[tuple[str, int, Decimal]]:
    """Return ``moves`` without what is older than each contract's newest ``kept``.

    The database stores' rule (``records.prune_mark_moves``), run in batches as there.
    """
    seen: dict[str, int] = {}
    newest: list[tuple[str, int, Decimal]] = []
    for move in reversed(moves):
        count = seen.get(move[0], 0)
        if count < kept:
            seen[move[0]] = count + 1
            newest.append(move)
    newest.reverse()
    return newest


class MemoryAdmin:
    """The emulator's own operations."""

    def __init__(self, unit: _Unit, accounts: MemoryAccounts) -> None:
        """Belong to ``unit``."""
        self._unit = unit
        self._accounts = accounts

    def allocate_uids(self, count: int) -> int:
        """Reserve ``count`` consecutive new UIDs; return the first."""
        state = self._unit.writable()
        last = state.next_uid
        if last is None:
            last = max(state.users, default=UID_START)
        state.next_uid = last + count
        return last + 1

    def set_balance(self, uid: int, balance: Decimal) -> None:
        """Overwrite a wallet balance."""
        state = self._unit.writable()
        if uid in state.balances:
            state.balances[uid] = balance
        self._accounts.forget()

    def set_wallet(self, uid: int, wallet: Wallet, amount: Decimal) -> None:
        """Overwrite one of a UID's three USDT balances."""
        state = self._unit.writable()
        if uid in state.balances:
            books = {
                Wallet.COPY_TRADING: state.balances,
                Wallet.SPOT: state.spot,
                Wallet.FUTURES: state.futures,
            }
            books[wallet][uid] = amount
        self._accounts.forget()

    def meta(self, key: str, *, lock: bool = False) -> str | None:
        """Read an emulator setting (units run one at a time: ``lock`` changes nothing)."""
        return self._unit.state.meta.get(key)

    def set_meta(self, key: str, value: str) -> None:
        """Write an emulator setting."""
        self._unit.writable().meta[key] = value

    def reset(self) -> None:
        """Delete all state."""
        self._unit.work = MemoryState()
        self._accounts.forget()


class MemoryUnitOfWork:
    """One unit of work over the in-memory state; rolls back unless committed."""

    def __init__(self, store: MemoryStore) -> None:
        """Bind to the store; nothing happens until ``__enter__``."""
        self._store = store
        self._unit = _Unit(store)
        self.accounts = MemoryAccounts(self._unit)
        self.users = MemoryUsers(self._unit)
        self.follows = MemoryFollows(self._unit)
        self.markets = MemoryMarkets(self._unit)
        self.admin = MemoryAdmin(self._unit, self.accounts)

    def __enter__(self) -> Self:
        """Begin: take the store's lock."""
        self._store.lock.acquire()
        self._unit.work = None
        self.accounts.forget()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Drop what was not committed; release the lock."""
        self._unit.work = None
        self._store.lock.release()

    def commit(self) -> None:
        """Publish this unit's state."""
        if self._unit.work is not None:
            self._store.state = self._unit.work
            self._unit.work = None

    def rollback(self) -> None:
        """Drop this unit's writes."""
        self._unit.work = None
        self.accounts.forget()


class MemoryReadModel:
    """Reads of the committed state (under the store's lock)."""

    def __init__(self, store: MemoryStore) -> None:
        """Bind to the store."""
        self._store = store

    def __enter__(self) -> Self:
        """Take the store's lock."""
        self._store.lock.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Release the lock."""
        self._store.lock.release()

    @property
    def _state(self) -> MemoryState:
        return self._store.state

    def account(self, uid: int) -> Account | None:
        """Return a copy of an account."""
        return self._state.account(uid)

    def marks(self) -> dict[str, Decimal]:
        """Return every mark price."""
        return dict(self._state.marks)

    def accounts(self, uids: Sequence[int]) -> dict[int, Account]:
        """Return copies of the accounts of ``uids``."""
        found = {}
        for uid in uids:
            account = self._state.account(uid)
            if account is not None:
                found[uid] = account
        return found

    def user(self, uid: int) -> User | None:
        """Return a user."""
        return self._state.users.get(uid)

    def key(self, access_key: str) -> ApiKey | None:
        """Return an API key."""
        return self._state.key(access_key)

    def active_follow_of(self, follower_uid: int) -> Follow | None:
        """Return the follower's current follow."""
        return self._state.active_follow_of(follower_uid)

    def positions_page(
        self, uid: int, contract_code: str, is_open: bool, page: Page
    ) -> list[SubPosition]:
        """Return a page of open or closed sub positions."""
        state = self._state
        source = state.open_positions.get(uid, {}).values() if is_open else state.closed.values()
        rows = [p for p in source if p.uid == uid and p.contract_code == contract_code]
        found = _page(rows, lambda p: p.sub_position_id, lambda p: p.open_time, page)
        return [dataclasses.replace(p) for p in found]

    def followers_ever(self, trader_uid: int) -> int:
        """Return how many distinct followers have ever followed the trader."""
        follows = self._state.follows.values()
        return len({r.follower_uid for r in follows if r.trader_uid == trader_uid})

    def followers_page(self, trader_uid: int, page: Page) -> list[FollowerRow]:
        """Return a page of current followers with funds and realised copy PnL."""
        state = self._state
        rows = [r for r in state.follows.values() if r.trader_uid == trader_uid and r.active]
        found = _page(rows, lambda r: r.follow_id, lambda r: r.started_at, page)
        out = []
        for r in found:
            profit = sum(
                (
                    p.profit
                    for p in state.closed.values()
                    if p.uid == r.follower_uid and p.lead_uid == trader_uid and p.profit is not None
                ),
                Decimal(0),
            )
            out.append(
                FollowerRow(
                    r.follow_id,
                    r.follower_uid,
                    state.users[r.follower_uid].name,
                    r.started_at,
                    state.balances[r.follower_uid],
                    profit,
                )
            )
        return out

    def user_report(self, uid: int) -> UserReport:
        """Return a user's history."""
        state = self._state
        return UserReport(
            fills=sorted((f for f in state.fills if f.uid == uid), key=lambda f: f.trade_id),
            skipped_copies=sorted(
                (s for s in state.skips if s.follower_uid == uid), key=lambda s: s.skip_id
            ),
            closed_positions=[
                dataclasses.replace(p)
                for p in sorted(state.closed.values(), key=lambda p: p.sub_position_id)
                if p.uid == uid
            ],
            profit_shares_received=sorted(
                (s for s in state.shares if s.trader_uid == uid), key=lambda s: s.item_id
            ),
            profit_shares_paid=sorted(
                (s for s in state.shares if s.follower_uid == uid), key=lambda s: s.item_id
            ),
        )

    def v5_orders(self, uid: int, query: OrderQuery) -> list[TaggedOrder]:
        """Return a UID's v5 orders, newest first."""
        state, q = self._state, query
        found: list[TaggedOrder] = []
        for oid in sorted(state.tags, reverse=True):
            tag = state.tags[oid]
            order = state.open_orders.get(tag.uid, {}).get(oid) or state.finished_orders.get(oid)
            if tag.uid != uid or order is None or not _selected(order, tag, q):
                continue
            found.append(TaggedOrder(dataclasses.replace(order), tag))
            if len(found) >= q.limit:
                break
        return found

    def algo_orders(self, uid: int, query: AlgoQuery) -> list[AlgoOrder]:
        """Return a UID's trigger and trailing orders, newest first."""
        found = [
            dataclasses.replace(a)
            for a in self._state.algos.values()
            if a.uid == uid and algo_selected(a, query)
        ]
        found.sort(key=lambda a: a.algo_id, reverse=True)
        return found

    def recent_trades(self, contract_code: str, limit: int) -> list[Trade]:
        """Return a contract's newest trades (opens and closes)."""
        rows = [
            f
            for f in self._state.fills
            if f.contract_code == contract_code and f.offset in ("open", "close")
        ]
        rows.sort(key=lambda f: f.trade_id, reverse=True)
        return [
            Trade(
                f.trade_id,
                f.ts,
                f.price,
                f.volume,
                (f.side is PositionSide.LONG) == (f.offset == "open"),
            )
            for f in rows[:limit]
        ]

    def recent_marks(self, contract_code: str, limit: int) -> list[tuple[int, Decimal]]:
        """Return a contract's newest mark moves."""
        moves = [(ts, p) for code, ts, p in self._state.mark_moves if code == contract_code]
        return moves[::-1][:limit]


def _selected(order: Order, tag: OrderTag, q: OrderQuery) -> bool:
    """Return whether an order passes a v5 order query's filters."""
    return (
        (q.order_ids is None or order.order_id in q.order_ids)
        and (q.client_order_id is None or tag.client_order_id == q.client_order_id)
        and (q.contract_code is None or order.contract_code == q.contract_code)
        and (q.margin_mode is None or order.margin_mode is q.margin_mode)
        and not (q.finished_only and order.status is OrderStatus.OPEN)
        and q.start <= order.created_at <= q.end
    )
