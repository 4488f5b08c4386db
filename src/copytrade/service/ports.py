"""Ports the service layer needs; adapters implement them, tests fake them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import NamedTuple, Protocol, Self

from copytrade.domain.algo import AlgoOrder
from copytrade.domain.copytrading import Follow
from copytrade.domain.enums import MarginMode, Wallet
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


class Clock(Protocol):
    """The simulation clock (controllable through the admin API)."""

    def now_ms(self) -> int:
        """Return the current time in epoch milliseconds."""
        ...


class IdGenerator(Protocol):
    """Unique, increasing 64-bit ids for orders, positions, fills and records."""

    def next_id(self) -> int:
        """Return a fresh id."""
        ...

    def next_ids(self, count: int) -> int:
        """Return the first of ``count`` fresh consecutive ids (a fan-out takes them in blocks)."""
        ...


DEFAULT_MAX_FOLLOWERS = 100
"""A lead trader's follower cap until it sets another (v6 ``follower-settings``)."""


@dataclass(frozen=True, slots=True)
class User:
    """A UID known to the emulator.

    Attributes:
        lead_enabled: Whether the UID leads (v6 ``follower-settings``); ``None``: as its role
            says (traders lead, followers do not).
        max_followers: How many current followers a lead accepts; a follow past it is refused.
    """

    uid: int
    role: str
    name: str
    profit_share_ratio: Decimal
    created_at: int
    max_followers: int = DEFAULT_MAX_FOLLOWERS
    lead_enabled: bool | None = None

    @property
    def leads(self) -> bool:
        """Return whether the UID is leading (followers may follow it)."""
        return self.role == "trader" if self.lead_enabled is None else self.lead_enabled


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key with its permission and its user's role.

    An API key: HMAC secret (decrypted) or Ed25519 public key, its permission, and the
    role of its user (``"trader"`` or ``"follower"``), so a request needs no user lookup.
    """

    access_key: str
    uid: int
    method: str
    secret: str | None
    public_key_hex: str | None
    can_trade: bool
    role: str = "trader"


@dataclass(frozen=True, slots=True)
class Page:
    """Paging of the history endpoints (spec §6.11)."""

    ascending: bool
    from_id: int | None
    limit: int
    start_time: int
    end_time: int


@dataclass(frozen=True, slots=True)
class FollowerRow:
    """A current follower with its figures for ``query_followers``."""

    follow_id: int
    follower_uid: int
    name: str
    started_at: int
    trade_amount: Decimal
    profit_amount: Decimal


@dataclass(frozen=True, slots=True)
class UserReport:
    """A UID's history for the admin API: fills, skipped copies, closed positions, shares."""

    fills: list[FillRecord]
    skipped_copies: list[CopySkipped]
    closed_positions: list[SubPosition]
    profit_shares_received: list[ProfitShare]
    profit_shares_paid: list[ProfitShare]


@dataclass(frozen=True, slots=True)
class OrderQuery:
    """Which of a UID's v5 orders to read (every filter optional), newest first.

    Attributes:
        finished_only: Only filled or cancelled orders (``/v5/trade/order/history``).
        start: Earliest creation time (ms); ``end``: latest.
        limit: At most this many.
    """

    order_ids: tuple[int, ...] | None = None
    client_order_id: str | None = None
    contract_code: str | None = None
    margin_mode: MarginMode | None = None
    finished_only: bool = False
    start: int = 0
    end: int = 2**62
    limit: int = 1000


@dataclass(frozen=True, slots=True)
class AlgoQuery:
    """Which of a UID's trigger and trailing orders to read, newest first.

    Attributes:
        algo_id: Only this one; ``client_order_id``: only the one with this client id.
        finished_only: Only fired or cancelled ones (``/v5/algo/order/history``), whose last
            change (``updated``) lies in ``[start, end]``.
    """

    algo_id: int | None = None
    client_order_id: str | None = None
    finished_only: bool = False
    start: int = 0
    end: int = 2**62


def algo_selected(algo: AlgoOrder, q: AlgoQuery) -> bool:
    """Return whether an order passes ``q`` (the memory store's filter; SQL does the same)."""
    if q.algo_id is not None and algo.algo_id != q.algo_id:
        return False
    if q.client_order_id is not None and algo.client_order_id != q.client_order_id:
        return False
    if q.finished_only:
        return not algo.is_active and q.start <= algo.updated <= q.end
    return True


@dataclass(frozen=True, slots=True)
class TaggedOrder:
    """A v5 order: the core's order (its current state) with what v5 says beyond it."""

    order: Order
    tag: OrderTag


TAPE_DEPTH = 5000
"""How many of a contract's newest trades and mark moves the public market data reads."""

MARK_MOVES_KEPT = TAPE_DEPTH
"""How many of a contract's newest mark moves a store keeps: what the candles read, no more.

Unlike fills (the ledger), a mark move is only candle material: older ones are never read.
"""
MARK_MOVES_PRUNE_EVERY = 500
"""Stores prune mark moves once per this many moves (all contracts at once), not per move; a
contract holds at most ``MARK_MOVES_KEPT + MARK_MOVES_PRUNE_EVERY`` of them."""


class Trade(NamedTuple):
    """One public trade: a fill (an open or a close), with the taker's direction.

    A named tuple: the market data reads thousands per request.
    """

    trade_id: int
    ts: int
    price: Decimal
    volume: Decimal
    buy: bool


class AccountRepository(Protocol):
    """Accounts as the trading core mutates them (locked for the unit of work's duration)."""

    def get(self, uid: int) -> Account | None:
        """Load a UID's account with open positions, resting orders and leverage."""
        ...

    def get_many(self, uids: Sequence[int]) -> dict[int, Account]:
        """Load several accounts (in uid order, for one lock order)."""
        ...

    def followers_of(self, trader_uid: int) -> tuple[list[Follow], dict[int, Account]]:
        """Return a trader's active follows and the followers' accounts."""
        ...

    def exposed_to(self, contract_code: str) -> list[int]:
        """Return the UIDs holding positions or resting orders in a contract."""
        ...

    def save(self, changes: ChangeSet) -> None:
        """Record a change set, written when the unit of work commits."""
        ...


class UserRepository(Protocol):
    """Users and their API keys."""

    def get(self, uid: int) -> User | None:
        """Return a user."""
        ...

    def add_many(self, users: Sequence[User], balance: Decimal) -> None:
        """Create users, each with an account holding ``balance``."""
        ...

    def key(self, access_key: str) -> ApiKey | None:
        """Return an API key with its secret decrypted."""
        ...

    def add_key(self, key: ApiKey) -> None:
        """Store an API key (its secret encrypted at rest)."""
        ...

    def set_lead(self, uid: int, enabled: bool, ratio: Decimal, max_followers: int) -> None:
        """Store a UID's lead-trading settings (v6 ``follower-settings``)."""
        ...


class FollowRepository(Protocol):
    """Who copies whom."""

    def active_of(self, follower_uid: int) -> Follow | None:
        """Return the follower's current follow."""
        ...

    def start_many(self, rows: Sequence[tuple[int, Follow]], now: int) -> None:
        """Start follows ``(follow_id, follow)``; each follower's previous one has ended."""
        ...

    def end(self, follower_uid: int, now: int) -> None:
        """End the follower's current follow."""
        ...

    def count_active(self, trader_uid: int) -> int:
        """Return how many followers the trader has now."""
        ...

    def change(self, follow: Follow) -> None:
        """Replace the settings (ratio included) of the follower's current follow of its trader.

        The follow keeps its id and start time, so the copy PnL counted towards its total
        stop-loss runs on.
        """
        ...

    def realised(self, follower_uids: Sequence[int]) -> dict[int, Decimal]:
        """Return the realised copy PnL of each follower's current follow, as committed.

        Per follower: the profit (net of fees) of its copies of its trader closed since the
        current follow started, plus the funding its copies of the trader received (less what
        they paid) since then, open or closed; 0 for one with no such copy or following no one.
        """
        ...


class MarketRepository(Protocol):
    """Mark prices."""

    def marks(self) -> dict[str, Decimal]:
        """Return every contract's mark price (callers never mutate the mapping)."""
        ...

    def set_mark(self, contract_code: str, price: Decimal, now: int) -> None:
        """Store a contract's mark price."""
        ...


class UnitOfWork(Protocol):
    """One atomic transaction over the repositories; rolls back unless committed."""

    @property
    def accounts(self) -> AccountRepository:
        """Accounts (locked while this unit runs)."""
        ...

    @property
    def users(self) -> UserRepository:
        """Users and API keys."""
        ...

    @property
    def follows(self) -> FollowRepository:
        """Follows."""
        ...

    @property
    def markets(self) -> MarketRepository:
        """Mark prices."""
        ...

    def __enter__(self) -> Self:
        """Begin."""
        ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back unless committed."""
        ...

    def commit(self) -> None:
        """Commit everything this unit did."""
        ...

    def rollback(self) -> None:
        """Drop everything this unit did (also what ``__exit__`` does without a commit)."""
        ...


class AdminRepository(Protocol):
    """The emulator's own operations: not part of any HTX use case."""

    def allocate_uids(self, count: int) -> int:
        """Reserve ``count`` consecutive unused UIDs; return the first."""
        ...

    def set_balance(self, uid: int, balance: Decimal) -> None:
        """Overwrite a wallet balance."""
        ...

    def set_wallet(self, uid: int, wallet: Wallet, amount: Decimal) -> None:
        """Overwrite one of a UID's three USDT balances (spot, futures, copy trading)."""
        ...

    def meta(self, key: str, *, lock: bool = False) -> str | None:
        """Read an emulator setting; ``lock``: no other unit reads it locked until this ends."""
        ...

    def set_meta(self, key: str, value: str) -> None:
        """Write an emulator setting."""
        ...

    def reset(self) -> None:
        """Delete all state (markets included: the caller seeds them again)."""
        ...


class AdminUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that may also run admin operations."""

    @property
    def admin(self) -> AdminRepository:
        """Admin operations, in this unit's transaction."""
        ...


class ReadModel(Protocol):
    """The read side: committed state, never locked, never disturbing a writer's copies."""

    def __enter__(self) -> Self:
        """Open a read."""
        ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the read."""
        ...

    def account(self, uid: int) -> Account | None:
        """Return a UID's account as committed (the caller must not mutate it)."""
        ...

    def marks(self) -> dict[str, Decimal]:
        """Return every contract's mark price."""
        ...

    def accounts(self, uids: Sequence[int]) -> dict[int, Account]:
        """Return the committed accounts of ``uids`` (those that exist), in one read."""
        ...

    def user(self, uid: int) -> User | None:
        """Return a user."""
        ...

    def key(self, access_key: str) -> ApiKey | None:
        """Return an API key with its secret decrypted."""
        ...

    def active_follow_of(self, follower_uid: int) -> Follow | None:
        """Return the follower's current follow."""
        ...

    def positions_page(
        self, uid: int, contract_code: str, is_open: bool, page: Page
    ) -> list[SubPosition]:
        """Return a page of a UID's open or closed sub positions of one contract."""
        ...

    def followers_page(self, trader_uid: int, page: Page) -> list[FollowerRow]:
        """Return a page of a trader's current followers."""
        ...

    def followers_ever(self, trader_uid: int) -> int:
        """Return how many distinct followers have ever followed the trader.

        Current and ended follows both count (``order_total_detail.total_follower_num``).
        """
        ...

    def user_report(self, uid: int) -> UserReport:
        """Return fills, skipped copies, closed positions and profit shares of a UID."""
        ...

    def v5_orders(self, uid: int, query: OrderQuery) -> list[TaggedOrder]:
        """Return a UID's orders placed through v5 that ``query`` selects, newest first."""
        ...

    def algo_orders(self, uid: int, query: AlgoQuery) -> list[AlgoOrder]:
        """Return a UID's trigger and trailing orders that ``query`` selects, newest first."""
        ...

    def recent_trades(self, contract_code: str, limit: int) -> list[Trade]:
        """Return a contract's newest ``limit`` trades (every account's fills), newest first.

        A close of a long is a sell, an open of a long a buy; bookings other than opens and
        closes are no trades.
        """
        ...

    def recent_marks(self, contract_code: str, limit: int) -> list[tuple[int, Decimal]]:
        """Return a contract's newest ``limit`` mark moves ``(ts, price)``, newest first."""
        ...


class RateDecision(NamedTuple):
    """Whether a request may proceed, and the ``ratelimit-*`` header values.

    A named tuple: one is made per request, and a frozen dataclass costs several times more
    to build.
    """

    allowed: bool
    limit: int
    interval_ms: int
    remaining: int
    reset_ms: int

    @classmethod
    def counted(cls, used: int, limit: int, interval_ms: int, window: int) -> RateDecision:
        """Decide for the ``used``-th request (this one included) of fixed window ``window``."""
        reset = (window + 1) * interval_ms
        return cls(used <= limit, limit, interval_ms, max(0, limit - used), reset)

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """Return the response headers as ASGI wants them (bytes, no text round trip)."""
        return [
            (b"ratelimit-limit", b"%d" % self.limit),
            (b"ratelimit-interval", b"%d" % self.interval_ms),
            (b"ratelimit-remaining", b"%d" % self.remaining),
            (b"ratelimit-reset", b"%d" % self.reset_ms),
        ]

    def headers(self) -> dict[str, str]:
        """Return the response headers."""
        return {
            "ratelimit-limit": str(self.limit),
            "ratelimit-interval": str(self.interval_ms),
            "ratelimit-remaining": str(self.remaining),
            "ratelimit-reset": str(self.reset_ms),
        }


class ServiceBusy(RuntimeError):
    """A backing store is unreachable or contended right now; the caller may retry later.

    The API answers it with HTX's 1004 "System busy", never with an HTTP 500.
    """


class LimiterUnavailable(ServiceBusy):
    """The shared rate-limit store could not be reached."""


class WriteConflict(ServiceBusy):
    """The database aborted a transaction (deadlock, serialisation failure); it can be rerun."""


class RateLimiter(Protocol):
    """Counts requests per UID across every copy-trading path.

    ``hit`` raises :class:`LimiterUnavailable` when a shared store cannot be reached.
    """

    def hit(self, uid: int, now_ms: int) -> RateDecision:
        """Count one request and decide."""
        ...

    def reset(self) -> None:
        """Forget every counter."""
        ...


class UnitOfWorkFactory(Protocol):
    """Makes a fresh unit of work."""

    def __call__(self) -> UnitOfWork:
        """Return a new unit of work."""
        ...


class AdminUnitOfWorkFactory(Protocol):
    """Makes a fresh unit of work with admin operations."""

    def __call__(self) -> AdminUnitOfWork:
        """Return a new unit of work."""
        ...


class ReadModelFactory(Protocol):
    """Opens a read of committed state."""

    def __call__(self) -> ReadModel:
        """Return a new read."""
        ...


class Metrics(Protocol):
    """Observations the service layer reports (the API layer exports them to Prometheus)."""

    def fan_out(self, kind: str, followers: int, seconds: float) -> None:
        """Report one copy fan-out (``open`` or ``close``) over ``followers`` followers."""
        ...

    def copies_skipped(self, reasons: Sequence[str]) -> None:
        """Report committed copies that were skipped, one reason each."""
        ...


class NoMetrics:
    """The default :class:`Metrics`: observes nothing."""

    def fan_out(self, kind: str, followers: int, seconds: float) -> None:
        """Ignore a fan-out."""

    def copies_skipped(self, reasons: Sequence[str]) -> None:
        """Ignore skips."""
