"""Emulator use cases behind the admin API: users, keys, follows, prices, reset, demo seed."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from copytrade.domain.algo import CANCELED
from copytrade.domain.algo import finish as finish_algo
from copytrade.domain.copytrading import Follow, check_follow, copy_open
from copytrade.domain.enums import CloseType, MarginMode, Wallet
from copytrade.domain.model import Account, PositionKey
from copytrade.domain.risk import liquidation_scopes
from copytrade.domain.tpsl import fired
from copytrade.domain.trading import Env, Market, fill_resting_orders
from copytrade.service import algo
from copytrade.service.context import ServiceContext
from copytrade.service.errors import InvalidFollow, InvalidMark, UnknownUser
from copytrade.service.follow_rules import check_contracts, rules_after_move
from copytrade.service.handlers import close_with_copies, open_wave
from copytrade.service.ports import ApiKey, UnitOfWork, User, UserReport
from copytrade.service.retry import retry_conflicts

DEMO_ACCESS_KEY = "demo-access-key"
DEMO_SECRET_KEY = "demo-secret-key"  # noqa: S105 - published demo credentials, loopback only
DEMO_MARKER = "demo_seeded"


@dataclass(frozen=True, slots=True)
class Credentials:
    """A new user's UID and API key (the secret is shown once, here)."""

    uid: int
    access_key: str
    secret_key: str | None


def _new_access_key() -> str:
    h = secrets.token_hex(14)
    return f"{h[:8]}-{h[8:16]}-{h[16:24]}-{h[24:]}"


def create_user(
    ctx: ServiceContext,
    role: str,
    balance: Decimal,
    can_trade: bool = True,
    ed25519_public_key: str | None = None,
    *,
    access_key: str | None = None,
    secret_key: str | None = None,
    profit_share_ratio: Decimal | None = None,
    spot: Decimal = Decimal(0),
    futures: Decimal = Decimal(0),
) -> Credentials:
    """Create a trader or follower with a funded account and one API key.

    ``balance`` funds the copy-trading account (the wallet the copy engine trades from);
    ``spot`` and ``futures`` the UID's two other USDT balances (spec §6.6).
    """
    with ctx.admin() as uow:
        uid = uow.admin.allocate_uids(1)
        uow.users.add_many(
            [
                User(
                    uid,
                    role,
                    f"user{uid}@example.com",
                    profit_share_ratio
                    if profit_share_ratio is not None
                    else ctx.default_profit_share_ratio,
                    ctx.clock.now_ms(),
                )
            ],
            balance,
        )
        for wallet, amount in ((Wallet.SPOT, spot), (Wallet.FUTURES, futures)):
            if amount:
                uow.admin.set_wallet(uid, wallet, amount)
        key = access_key or _new_access_key()
        secret = None if ed25519_public_key else (secret_key or secrets.token_hex(16))
        uow.users.add_key(
            ApiKey(
                key,
                uid,
                "Ed25519" if ed25519_public_key else "HmacSHA256",
                secret,
                ed25519_public_key,
                can_trade,
            )
        )
        uow.commit()
    return Credentials(uid, key, secret)


def follow(ctx: ServiceContext, follower_uid: int, trader_uid: int, ratio: Decimal) -> None:
    """Make ``follower_uid`` copy ``trader_uid`` (one trader at a time) at ``ratio``."""
    follow_with(ctx, Follow(follower_uid, trader_uid, ratio))


def follow_with(ctx: ServiceContext, settings: Follow) -> None:
    """Start a follow with the follower's settings (spec §8.1: mode, TP/SL, stop, contracts)."""
    follower_uid, trader_uid, ratio = settings.follower_uid, settings.trader_uid, settings.ratio
    if ratio <= 0:
        raise InvalidFollow("ratio must be positive")
    check_contracts(ctx, check_follow(settings))
    with ctx.admin() as uow:
        trader, follower = uow.users.get(trader_uid), uow.users.get(follower_uid)
        if trader is None or follower is None:
            raise UnknownUser(trader_uid if trader is None else follower_uid)
        if trader.role != "trader" or follower.role == "trader" or follower_uid == trader_uid:
            raise InvalidFollow("a follower follows a trader; a trader follows no one")
        if uow.follows.active_of(follower_uid) is not None:
            raise InvalidFollow(f"{follower_uid} already follows a trader")
        _check_capacity(uow, trader)
        uow.follows.start_many([(ctx.ids.next_id(), settings)], ctx.clock.now_ms())
        uow.commit()


def _check_capacity(uow: UnitOfWork, trader: User) -> None:
    """Refuse a follow of a trader that does not lead or has its maximum of followers (§8.9)."""
    if not trader.leads:
        raise InvalidFollow(f"{trader.uid} does not lead (lead trading is disabled)")
    current = uow.follows.count_active(trader.uid)
    if current >= trader.max_followers:
        raise InvalidFollow(
            f"{trader.uid} has {current} followers, its maximum ({trader.max_followers})"
        )


def bulk_followers(
    ctx: ServiceContext,
    trader_uid: int,
    count: int,
    balance: Decimal,
    ratio: Decimal,
    settings: Follow | None = None,
) -> list[int]:
    """Create ``count`` funded followers of a trader in one transaction.

    The emulator's load tool (benchmarks follow one trader with 10,000 followers): it is not
    held to the trader's ``maxFollowers``, which every other follow respects. ``settings``: a
    follow whose copy settings every new follower takes (its uids are ignored).
    """
    if ratio <= 0 or count < 0:
        raise InvalidFollow("count must be >= 0 and ratio positive")
    template = replace(settings or Follow(0, trader_uid, ratio), trader_uid=trader_uid, ratio=ratio)
    check_contracts(ctx, check_follow(template))
    now = ctx.clock.now_ms()
    with ctx.admin() as uow:
        trader = uow.users.get(trader_uid)
        if trader is None or trader.role != "trader" or not trader.leads:
            raise InvalidFollow(f"{trader_uid} is not a leading trader")
        first = uow.admin.allocate_uids(count) if count else 0
        users = [
            User(
                first + i,
                "follower",
                f"follower{first + i}@example.com",
                ctx.default_profit_share_ratio,
                now,
            )
            for i in range(count)
        ]
        uow.users.add_many(users, balance)
        uow.follows.start_many(
            [(ctx.ids.next_id(), replace(template, follower_uid=u.uid)) for u in users], now
        )
        uow.commit()
    return [u.uid for u in users]


def _move_account(
    ctx: ServiceContext,
    uow: UnitOfWork,
    account: Account,
    market: Market,
    markets: dict[str, Market],
    env: Env,
    summary: dict[str, int],
) -> list[int]:
    """Apply a mark move to one account: resting fills (copied), TP/SL, then liquidation.

    Returns the trigger and trailing orders the move fires (:func:`copytrade.service.algo.
    due`): the caller fires them once this move is committed.
    """
    before = {p.sub_position_id: p.volume for p in account.positions.values()}
    first = len(env.changes.fills)
    grown = fill_resting_orders(account, market, env)
    summary["orders_filled"] += len(grown)
    follows, followers = uow.accounts.followers_of(account.uid) if grown else ([], {})
    # a resting order fills as maker at its limit (no depth taken); its copies are market
    # orders: with impact on they walk the book, and the slippage guards hold them to the
    # lead's limit price. They are placed at once at the mark that filled the lead (inside a
    # mark move the clock may be a catch-up's target, not the tick's time: no path peek).
    lead_prices = {f.sub_position_id: f.price for f in env.changes.fills[first:]}
    at = env.now + ctx.impact.copy_latency_ms
    for pos in grown:
        change = pos.volume - before.get(pos.sub_position_id, Decimal(0))
        if follows and pos.lead_uid is None:
            wave = open_wave(ctx, env, follows, lead_prices.get(pos.sub_position_id), at)
            copy_open(pos, change, follows, followers, market, markets, env, wave)
    for pos in sorted(account.positions.values(), key=lambda p: p.sub_position_id):
        kind = fired(pos, market.mark) if pos.contract_code == market.spec.contract_code else None
        if kind is not None:
            close_with_copies(
                ctx, uow, account, [pos], market, markets, kind, env, paths_move=False
            )
            summary["tpsl_triggered"] += 1
    summary["liquidated"] += liquidate(ctx, uow, account, markets, env)
    return algo.due(account, market, env)


def liquidate(
    ctx: ServiceContext,
    uow: UnitOfWork,
    account: Account,
    markets: dict[str, Market],
    env: Env,
) -> int:
    """Liquidate every scope of ``account`` past its maintenance margin, with the copies.

    Returns the positions closed (the account's and its followers' copies).
    """
    closed = 0
    for key in liquidation_scopes(account, markets, ctx.fees):
        _cancel_orders(account, key, env)
        positions = account.open_positions(key)
        result = close_with_copies(
            ctx,
            uow,
            account,
            positions,
            markets[key[0]],
            markets,
            CloseType.LIQUIDATION,
            env,
            paths_move=False,
        )
        closed += len(result.closed) + result.copies_closed
    return closed


def _cancel_orders(account: Account, key: PositionKey, env: Env) -> None:
    """Cancel the resting orders a liquidation scope holds (spec §7.10), conditional ones too.

    A cross scope holds every cross order of the account; an isolated one the orders of its
    contract and side. A v5 trigger or trailing order of the scope (one sent without a side,
    in one-way mode, counts for its contract's scope) is cancelled with the reason
    ``liquidation``: left resting, a stop meant for the liquidated position would fire later
    on nothing, or open a position the owner meant to close [INF: HTX cancels a liquidated
    position's open orders].
    """
    code, mode, side = key
    for order in list(account.orders.values()):
        same_scope = order.margin_mode is mode and (
            mode is MarginMode.CROSS or (order.contract_code == code and order.side is side)
        )
        if same_scope:
            order.apply("cancel")
            del account.orders[order.order_id]
            env.changes.save_order(order)
    for algo_id in sorted(account.algos):
        conditional = account.algos[algo_id]
        same_scope = conditional.margin_mode is mode and (
            mode is MarginMode.CROSS
            or (conditional.contract_code == code and conditional.position_side in (side, None))
        )
        if same_scope:
            del account.algos[algo_id]
            finish_algo(conditional, CANCELED, env.now, reason="liquidation")
            env.changes.save_algo(conditional)


def set_price(
    ctx: ServiceContext, contract_code: str, price: Decimal, at_ms: int | None = None
) -> dict[str, Any]:
    """Move a mark price: the book re-centres, resting orders and TP/SL triggers fire.

    Then the followers' own rules (copy TP/SL ratios, total stop-loss) are applied to the
    followers the move touched (:mod:`copytrade.service.follow_rules`). The trigger and
    trailing orders the move fires are fired after it, each in its own transaction, oldest
    first (:func:`copytrade.service.algo.fire`). ``at_ms``: the time of a price-path tick
    (a clock jump applies each tick it passed at that tick's time); ``None``: now.
    """
    moved, due = _set_price(ctx, contract_code, price, at_ms)
    moved["algo_triggered"] = sum(algo.fire(ctx, uid, algo_id, at_ms) for uid, algo_id in due)
    return moved


@retry_conflicts
def _set_price(
    ctx: ServiceContext, contract_code: str, price: Decimal, at_ms: int | None
) -> tuple[dict[str, Any], list[tuple[int, int]]]:
    spec = ctx.spec(contract_code)
    if price <= 0:
        raise InvalidMark("must be positive")
    if price < spec.price_tick:  # would round to 0: a mark of 0 fills buys for nothing
        raise InvalidMark(f"must be at least one tick ({spec.price_tick}) for {contract_code}")
    price = (price / spec.price_tick).to_integral_value() * spec.price_tick
    summary = {
        "orders_filled": 0,
        "tpsl_triggered": 0,
        "liquidated": 0,
        "copy_exits": 0,
        "follows_stopped": 0,
    }
    due: list[tuple[int, int]] = []
    with ctx.admin() as uow:
        now = ctx.clock.now_ms()
        uow.markets.set_mark(contract_code, price, now)
        markets = ctx.markets(uow.markets.marks())
        env = ctx.env(at_ms)
        exposed = uow.accounts.get_many(uow.accounts.exposed_to(contract_code))
        for uid in sorted(exposed):
            fired_here = _move_account(
                ctx, uow, exposed[uid], markets[contract_code], markets, env, summary
            )
            due += [(uid, algo_id) for algo_id in fired_here]
        rules = rules_after_move(ctx, uow, exposed, markets, env)
        summary["copy_exits"] = rules.copy_exits
        summary["follows_stopped"] = rules.follows_stopped
        uow.accounts.save(env.changes)
        uow.commit()
    ctx.committed(env.changes)
    due.sort(key=lambda item: item[1])  # oldest order first, across accounts
    return {"contract_code": contract_code, "mark_price": str(price), **summary}, due


def seed_markets(ctx: ServiceContext, marks: dict[str, Decimal]) -> None:
    """Give every configured contract a mark price if it has none."""
    with ctx.admin() as uow:
        existing = dict(uow.markets.marks())
        for code, mark in marks.items():
            if code not in existing:
                uow.markets.set_mark(code, mark, ctx.clock.now_ms())
        uow.commit()


def seed_demo(ctx: ServiceContext) -> bool:
    """Create the demo trader (well-known key) and three followers once; return if created."""
    with ctx.admin() as uow:
        if uow.admin.meta(DEMO_MARKER) is not None:
            return False
        uow.admin.set_meta(DEMO_MARKER, "1")
        uow.commit()
    trader = create_user(
        ctx, "trader", Decimal(100_000), access_key=DEMO_ACCESS_KEY, secret_key=DEMO_SECRET_KEY
    )
    for ratio in (Decimal(1), Decimal("0.5"), Decimal(2)):
        follower = create_user(ctx, "follower", Decimal(100_000))
        follow(ctx, follower.uid, trader.uid, ratio)
    return True


def reset(ctx: ServiceContext) -> None:
    """Delete every user, position and record; markets are seeded again by the caller."""
    with ctx.admin() as uow:
        uow.admin.reset()
        uow.commit()


@dataclass(frozen=True, slots=True)
class UserView:
    """A user with its account, current follow and history (admin API)."""

    user: User
    account: Account
    follow: Follow | None
    report: UserReport


def user_view(ctx: ServiceContext, uid: int) -> UserView:
    """Return a user's balance, open positions, orders and history for the admin API."""
    with ctx.reads() as reads:
        user = reads.user(uid)
        account = reads.account(uid)
        if user is None or account is None:
            raise UnknownUser(uid)
        return UserView(user, account, reads.active_follow_of(uid), reads.user_report(uid))


def set_funds(
    ctx: ServiceContext,
    uid: int,
    *,
    balance: Decimal | None = None,
    spot: Decimal | None = None,
    futures: Decimal | None = None,
) -> Account:
    """Overwrite any of a UID's three USDT balances (admin); return the account after.

    ``balance`` is the copy-trading account; balances left ``None`` keep their value.
    """
    with ctx.admin() as uow:
        if uow.users.get(uid) is None:
            raise UnknownUser(uid)
        for wallet, amount in (
            (Wallet.COPY_TRADING, balance),
            (Wallet.SPOT, spot),
            (Wallet.FUTURES, futures),
        ):
            if amount is not None:
                uow.admin.set_wallet(uid, wallet, amount)
        uow.commit()
    with ctx.reads() as reads:
        account = reads.account(uid)
    if account is None:
        raise UnknownUser(uid)
    return account


def set_balance(ctx: ServiceContext, uid: int, balance: Decimal) -> None:
    """Overwrite a wallet balance (admin; the account must exist)."""
    with ctx.admin() as uow:
        if uow.users.get(uid) is None:
            raise UnknownUser(uid)
        uow.admin.set_balance(uid, balance)
        uow.commit()
