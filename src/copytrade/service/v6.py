"""v6 copy-trading reads and key minting (spec ``htx-v5-v6.md`` §8) over v1's follows.

The followers and profit shares are the ones v1's ``query_followers`` and
``profit_history_details`` show; a minted key trades the same account as the trader's others.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from copytrade.domain.margin import pnl
from copytrade.domain.model import ProfitShare
from copytrade.service.context import ServiceContext
from copytrade.service.errors import UnknownUser
from copytrade.service.ports import ApiKey, FollowerRow, Page
from copytrade.service.queries import with_copy_equity

_ZERO = Decimal(0)
DEFAULT_MAX_FOLLOWERS = 100


@dataclass(frozen=True, slots=True)
class FollowersView:
    """A page of followers with the profit share each has paid the trader."""

    rows: list[FollowerRow]
    shared: dict[int, Decimal]


@dataclass(frozen=True, slots=True)
class ShareRow:
    """One profit share received: record id, follower name, amount, time (ms)."""

    item_id: int
    follower_name: str
    amount: Decimal
    ts: int


@dataclass(frozen=True, slots=True)
class LeadConfig:
    """Whether the UID leads, its profit-share ratio and follower cap."""

    enabled: bool
    ratio: Decimal | None
    max_followers: int | None


@dataclass(frozen=True, slots=True)
class Cursor:
    """v6 paging: ``after`` (older ids) / ``before`` (newer ids), ``limit``, time bounds (ms)."""

    after: int | None
    before: int | None
    limit: int
    begin: int
    end: int


def _share(row: Any) -> ProfitShare:
    """Return a report row (a stored row's mapping, or already a record) as a record."""
    if isinstance(row, ProfitShare):
        return row
    return ProfitShare(
        row["item_id"],
        row["trader_uid"],
        row["follower_uid"],
        row["lead_sub_position_id"],
        Decimal(row["amount"]),
        row["currency"],
        int(row["ts"]),
    )


def _shares(ctx: ServiceContext, uid: int) -> list[ProfitShare]:
    with ctx.reads() as reads:
        if reads.user(uid) is None:
            raise UnknownUser(uid)
        report: Any = reads.user_report(uid)
    part = (
        report["profit_shares_received"]
        if isinstance(report, dict)
        else report.profit_shares_received
    )
    return [_share(row) for row in part]


def instruments(ctx: ServiceContext, uid: int) -> tuple[str, ...]:
    """Return the contracts open to lead trading."""
    return ctx.copy_contracts()


def followers(ctx: ServiceContext, uid: int, cursor: Cursor) -> FollowersView:
    """Return current followers, newest first (``before``: the ones newer than the id)."""
    page = Page(
        cursor.before is not None,
        cursor.before if cursor.before is not None else cursor.after,
        cursor.limit,
        cursor.begin,
        cursor.end,
    )
    with ctx.reads() as reads:
        rows = with_copy_equity(ctx, reads, reads.followers_page(uid, page))
    if page.ascending:
        rows = rows[::-1]
    shared: dict[int, Decimal] = {}
    for share in _shares(ctx, uid):
        shared[share.follower_uid] = shared.get(share.follower_uid, _ZERO) + share.amount
    return FollowersView(rows, shared)


def profit_history(ctx: ServiceContext, uid: int, cursor: Cursor) -> list[ShareRow]:
    """Return profit shares received, newest first, paged by record id."""
    rows = [
        s
        for s in _shares(ctx, uid)
        if cursor.begin <= s.ts <= cursor.end
        and (cursor.after is None or s.item_id < cursor.after)
        and (cursor.before is None or s.item_id > cursor.before)
    ]
    rows.sort(key=lambda s: s.item_id, reverse=cursor.before is None)
    rows = rows[: cursor.limit]
    if cursor.before is not None:
        rows.reverse()
    with ctx.reads() as reads:
        names = {s.follower_uid: reads.user(s.follower_uid) for s in rows}
    return [
        ShareRow(s.item_id, (user.name if (user := names[s.follower_uid]) else ""), s.amount, s.ts)
        for s in rows
    ]


def profit_total(ctx: ServiceContext, uid: int) -> Decimal:
    """Return the total profit share received."""
    return sum((s.amount for s in _shares(ctx, uid)), _ZERO)


def unrealized_total(ctx: ServiceContext, uid: int) -> Decimal:
    """Return Σ over open copies of max(0, unrealised PnL net of open fees) × ratio."""
    with ctx.uow() as uow:
        user = uow.users.get(uid)
        if user is None:
            raise UnknownUser(uid)
        _follows, accounts = uow.accounts.followers_of(uid)
        markets = ctx.markets(uow.markets.marks())
    total = _ZERO
    for account in accounts.values():
        for pos in account.positions.values():
            if pos.lead_uid != uid:
                continue
            market = markets[pos.contract_code]
            gain = pnl(
                pos.side, pos.open_avg_price, market.mark, pos.volume, market.spec.contract_size
            )
            total += max(_ZERO, gain - pos.open_fee)
    return total * user.profit_share_ratio


def config(ctx: ServiceContext, uid: int) -> LeadConfig:
    """Return the UID's lead-trading configuration (traders lead; followers do not)."""
    with ctx.reads() as reads:
        user = reads.user(uid)
    if user is None:
        raise UnknownUser(uid)
    if user.role != "trader":
        return LeadConfig(False, None, None)
    return LeadConfig(True, user.profit_share_ratio, DEFAULT_MAX_FOLLOWERS)


def mint_key(ctx: ServiceContext, uid: int) -> tuple[str, str, int]:
    """Create a lead-trading HMAC key (read + trade) for the UID; return key, secret, time."""
    access = secrets.token_hex(16)
    secret = secrets.token_hex(16)
    with ctx.uow() as uow:
        if uow.users.get(uid) is None:
            raise UnknownUser(uid)
        uow.users.add_key(ApiKey(access, uid, "HmacSHA256", secret, None, True))
        uow.commit()
    return access, secret, ctx.clock.now_ms()
