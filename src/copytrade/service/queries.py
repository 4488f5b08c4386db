"""The read side: positions, history and followers as the HTX endpoints show them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal

from copytrade.domain.enums import MarginMode, PositionSide
from copytrade.domain.funds import copy_equity
from copytrade.domain.model import SubPosition
from copytrade.domain.risk import (
    AggregatePosition,
    aggregate_positions,
    isolated_liquidation_prices,
)
from copytrade.domain.trading import Market
from copytrade.service.context import ServiceContext
from copytrade.service.errors import UnknownUser
from copytrade.service.ports import ApiKey, FollowerRow, Page, ReadModel


@dataclass(frozen=True, slots=True)
class OpenPositionsView:
    """Open sub positions of one contract with their isolated liquidation prices."""

    positions: list[SubPosition]
    liquidation: dict[tuple[str, PositionSide], Decimal]


def position_list(ctx: ServiceContext, uid: int) -> list[AggregatePosition]:
    """Return the trader's aggregate positions with risk figures (spec §6.10)."""
    with ctx.reads() as reads:
        account = reads.account(uid)
        if account is None:
            raise UnknownUser(uid)
        markets = ctx.markets(reads.marks())
        return aggregate_positions(account, markets, ctx.fees)


def current_positions(
    ctx: ServiceContext, uid: int, contract_code: str, page: Page
) -> OpenPositionsView:
    """Return a page of open sub positions of one contract (spec §6.11)."""
    ctx.spec(contract_code)
    with ctx.reads() as reads:
        rows = reads.positions_page(uid, contract_code, True, page)
        liquidation: dict[tuple[str, PositionSide], Decimal] = {}
        if any(p.margin_mode is MarginMode.ISOLATED for p in rows):
            account = reads.account(uid)
            if account is not None:
                liquidation = isolated_liquidation_prices(
                    account, ctx.markets(reads.marks()), ctx.fees
                )
    return OpenPositionsView(rows, liquidation)


def position_history(
    ctx: ServiceContext, uid: int, contract_code: str, page: Page
) -> list[SubPosition]:
    """Return a page of closed sub positions of one contract (spec §6.12)."""
    ctx.spec(contract_code)
    with ctx.reads() as reads:
        return reads.positions_page(uid, contract_code, False, page)


def followers(ctx: ServiceContext, uid: int, page: Page) -> list[FollowerRow]:
    """Return a page of the trader's current followers (spec §6.18)."""
    with ctx.reads() as reads:
        return with_copy_equity(ctx, reads, reads.followers_page(uid, page))


def with_copy_equity(
    ctx: ServiceContext, reads: ReadModel, rows: list[FollowerRow]
) -> list[FollowerRow]:
    """Return ``rows`` with ``trade_amount`` = each follower's copy-account equity (issue 13).

    What a follower has committed to copying: its copy-trading wallet plus isolated margins and
    unrealised PnL at the marks (:func:`copytrade.domain.funds.copy_equity`); its spot and
    futures balances are not part of it. One read of the page's accounts.
    """
    if not rows:
        return rows
    accounts = reads.accounts([r.follower_uid for r in rows])
    markets = ctx.markets(reads.marks())
    out = []
    for r in rows:
        account = accounts.get(r.follower_uid)
        equity = copy_equity(account, markets) if account is not None else r.trade_amount
        out.append(dataclasses.replace(r, trade_amount=equity))
    return out


def api_key(ctx: ServiceContext, access_key: str) -> ApiKey | None:
    """Return an API key (secret decrypted) for request authentication."""
    with ctx.reads() as reads:
        return reads.key(access_key)


def marks(ctx: ServiceContext) -> dict[str, Decimal]:
    """Return every contract's mark price (no book)."""
    with ctx.reads() as reads:
        return reads.marks()


def markets(ctx: ServiceContext) -> dict[str, Market]:
    """Return every contract's market (mark price and quoted book)."""
    with ctx.reads() as reads:
        return ctx.markets(reads.marks())
