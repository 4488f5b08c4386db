"""Builders for domain tests: accounts, sub positions, markets and environments."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from decimal import Decimal

from copytrade.domain.enums import MarginMode, OrderDirection, OrderPriceType, PositionSide
from copytrade.domain.instruments import DEFAULT_CONTRACTS, ContractSpec, FeeSchedule
from copytrade.domain.model import Account, ChangeSet, SubPosition
from copytrade.domain.trading import Env, Market, OpenRequest

SPECS: dict[str, ContractSpec] = {spec.contract_code: spec for spec in DEFAULT_CONTRACTS}
BTC = SPECS["BTC-USDT"]
ETH = SPECS["ETH-USDT"]
DOT = SPECS["DOT-USDT"]
NOW = 1_719_304_200_000

D = Decimal


def make_env(fees: FeeSchedule | None = None, now: int = NOW, first_id: int = 1) -> Env:
    """Return an environment with fresh ids and an empty change set."""
    return Env(
        fees=fees if fees is not None else FeeSchedule(),
        now=now,
        next_id=itertools.count(first_id).__next__,
        changes=ChangeSet(),
    )


def make_markets(**marks: str) -> dict[str, Market]:
    """Return markets keyed by contract code; ``BTC="60500"`` names BTC-USDT."""
    return {
        f"{name}-USDT": Market.at(SPECS[f"{name}-USDT"], D(mark)) for name, mark in marks.items()
    }


def add_position(
    account: Account,
    sub_position_id: int,
    contract_code: str,
    margin_mode: MarginMode,
    side: PositionSide,
    *,
    lever: int,
    volume: str,
    open_price: str,
    open_fee: str = "0",
    position_margin: str | None = None,
) -> SubPosition:
    """Put an open sub position straight into ``account`` (margin defaults to IM [− fee])."""
    spec = SPECS[contract_code]
    im = D(volume) * spec.contract_size * D(open_price) / lever
    if position_margin is None:
        margin = im - D(open_fee) if margin_mode is MarginMode.ISOLATED else im
    else:
        margin = D(position_margin)
    position = SubPosition(
        sub_position_id=sub_position_id,
        uid=account.uid,
        contract_code=contract_code,
        margin_mode=margin_mode,
        side=side,
        lever=lever,
        volume=D(volume),
        open_avg_price=D(open_price),
        open_fee=D(open_fee),
        position_margin=margin,
        open_order_id=sub_position_id + 1_000,
        open_time=NOW,
    )
    account.positions[sub_position_id] = position
    return position


def open_request(
    contract_code: str = "BTC-USDT",
    direction: OrderDirection = OrderDirection.BUY,
    volume: str = "10",
    margin_mode: MarginMode = MarginMode.ISOLATED,
    price_type: OrderPriceType = OrderPriceType.MARKET,
    price: str | None = None,
    lever: int = 5,
) -> OpenRequest:
    """Return an opening request with test-friendly defaults."""
    return OpenRequest(
        contract_code,
        direction,
        D(volume),
        margin_mode,
        price_type,
        D(price) if price is not None else None,
        lever,
    )


def total_money(accounts: Mapping[int, Account] | list[Account]) -> Decimal:
    """Return Σ wallets + Σ isolated position margins of open sub positions."""
    values = accounts.values() if isinstance(accounts, Mapping) else accounts
    return sum(
        (
            account.balance
            + sum(
                (
                    p.position_margin
                    for p in account.positions.values()
                    if p.margin_mode is MarginMode.ISOLATED
                ),
                D(0),
            )
            for account in values
        ),
        D(0),
    )
