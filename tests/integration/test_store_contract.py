"""One contract, three stores: the same scenarios give the same outcome on the in-memory store
(the reference), the embedded SQLite store and, when its URL is set, the shared PostgreSQL one.

Each scenario drives the service layer (as the API does) and returns what a client could
observe, with ids replaced by their rank (each store draws its own).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from copytrade.bootstrap import Services, bootstrap
from copytrade.config import Settings
from copytrade.domain.copytrading import Follow
from copytrade.domain.enums import (
    CopyMode,
    MarginMode,
    OrderDirection,
    OrderPriceType,
    PositionSide,
)
from copytrade.domain.funding import FundingConfig
from copytrade.domain.trading import OpenRequest
from copytrade.service import handlers, queries, sim, v5, v6
from copytrade.service.follow_rules import SettingsChange, change_settings
from copytrade.service.funding import settle_funding
from copytrade.service.ports import Page

NOW = 1_719_304_200_000
D = Decimal
LONG = PositionSide.LONG
Run = Callable[..., Any]


def order(
    volume: str,
    *,
    mode: MarginMode = MarginMode.CROSS,
    lever: int = 10,
    price: str | None = None,
    tp: str | None = None,
    sl: str | None = None,
) -> OpenRequest:
    return OpenRequest(
        "BTC-USDT",
        OrderDirection.BUY,
        D(volume),
        mode,
        OrderPriceType.LIMIT if price else OrderPriceType.MARKET,
        D(price) if price else None,
        lever,
        tp_trigger_price=D(tp) if tp else None,
        sl_trigger_price=D(sl) if sl else None,
    )


def page(ascending: bool = False, from_id: int | None = None, limit: int = 100) -> Page:
    return Page(ascending, from_id, limit, NOW - 86_400_000, NOW)


def outcome(run: Run, fn: Callable[..., Any], *args: Any) -> Any:
    """Run a use case; return its result, or the name of the error it raised."""
    try:
        return run(fn, *args)
    except Exception as exc:
        return type(exc).__name__


class World:
    """A scenario's view of one store: the use-case runner and id ranking."""

    def __init__(self, services: Services) -> None:
        self.ctx = services.ctx
        self.overview = services.overview
        executor = services.executor
        self.run: Run = lambda fn, *args: executor.submit(fn, *args).result(timeout=60)
        self._ranks: dict[int, int] = {}

    def rank(self, ident: int | None) -> int | None:
        """Return an id's rank in order of first sight."""
        if ident is None:
            return None
        return self._ranks.setdefault(ident, len(self._ranks))

    def user(self, role: str, balance: str) -> int:
        return int(self.run(sim.create_user, self.ctx, role, D(balance)).uid)

    def account(self, uid: int) -> tuple[Any, ...]:
        view = self.run(sim.user_view, self.ctx, uid)
        account, report = view.account, view.report
        return (
            account.balance,
            sorted((p.volume, p.margin_mode.value, p.is_open) for p in account.positions.values()),
            sorted((o.volume, o.price, o.status.value) for o in account.orders.values()),
            sorted((code, mode.value, lever) for (code, mode), lever in account.levers.items()),
            [(f.volume, f.fee, f.offset) for f in report.fills],
            [(s.reason, s.wanted_volume) for s in report.skipped_copies],
            [(p.volume, p.profit, p.close_type) for p in report.closed_positions],
            [s.amount for s in report.profit_shares_received],
            [s.amount for s in report.profit_shares_paid],
        )


def trade_copy_and_close(w: World) -> list[Any]:
    trader = w.user("trader", "100000")
    rich = w.user("follower", "50000")
    poor = w.user("follower", "0.5")
    w.run(sim.follow, w.ctx, rich, trader, D(2))
    w.run(sim.follow, w.ctx, poor, trader, D(1))
    placed = [w.run(handlers.place_order, w.ctx, trader, order(v)) for v in ("1", "3")]
    w.run(handlers.place_order, w.ctx, trader, order("2", mode=MarginMode.ISOLATED, lever=20))
    first = placed[0].sub_position_id
    closed_one = w.run(handlers.close_order, w.ctx, trader, first)
    # the close below happens at a higher mark: a profit, and a profit share
    w.run(sim.set_price, w.ctx, "BTC-USDT", D(61000))
    closed_all = w.run(
        handlers.close_all_position, w.ctx, trader, "BTC-USDT", MarginMode.CROSS, LONG
    )
    return [
        [(p.filled, p.copies, p.skipped) for p in placed],
        (len(closed_one.closed), closed_one.copies_closed),
        (len(closed_all.closed), closed_all.copies_closed),
        [
            (r.margin_mode, r.volume, r.lever, r.open_avg_price, r.position_margin)
            for r in w.run(queries.position_list, w.ctx, trader)
        ],
        w.account(trader),
        w.account(rich),
        w.account(poor),
    ]


def marks_move_orders_and_triggers(w: World) -> list[Any]:
    trader = w.user("trader", "100000")
    copier = w.user("follower", "100000")
    w.run(sim.follow, w.ctx, copier, trader, D(1))
    resting = w.run(handlers.place_order, w.ctx, trader, order("2", price="60000"))
    w.run(handlers.place_order, w.ctx, trader, order("1", tp="62000"))
    w.run(handlers.place_order, w.ctx, trader, order("1", sl="59500"))
    risky = w.user("trader", "1000")
    w.run(handlers.place_order, w.ctx, risky, order("1000", lever=100))
    return [
        resting.filled,
        w.run(sim.set_price, w.ctx, "BTC-USDT", D("59999.97")),
        w.run(sim.set_price, w.ctx, "BTC-USDT", D(59000)),
        w.run(sim.set_price, w.ctx, "BTC-USDT", D(63000)),
        w.account(trader),
        w.account(copier),
        w.account(risky),
    ]


def paging(w: World) -> list[Any]:
    trader = w.user("trader", "1000000")
    followers = w.run(sim.bulk_followers, w.ctx, trader, 5, D(10000), D(2))
    opened = [
        w.run(handlers.place_order, w.ctx, trader, order("1", mode=MarginMode.ISOLATED))
        for _ in range(4)
    ]
    for placed in opened[:2]:
        w.run(handlers.close_order, w.ctx, trader, placed.sub_position_id)
    for placed in opened:
        w.rank(placed.sub_position_id)
    current = w.run(queries.current_positions, w.ctx, trader, "BTC-USDT", page(limit=1))
    after = current.positions[-1].sub_position_id
    rest = w.run(queries.current_positions, w.ctx, trader, "BTC-USDT", page(from_id=after))
    history = w.run(queries.position_history, w.ctx, trader, "BTC-USDT", page(ascending=True))
    first = w.run(queries.followers, w.ctx, trader, page(ascending=True, limit=2))
    more = w.run(
        queries.followers, w.ctx, trader, page(ascending=True, from_id=first[-1].follow_id)
    )
    return [
        [w.rank(p.sub_position_id) for p in current.positions],
        sorted((code, side.value, price) for (code, side), price in current.liquidation.items()),
        [w.rank(p.sub_position_id) for p in rest.positions],
        [(w.rank(p.sub_position_id), p.profit, p.close_type) for p in history],
        [followers.index(r.follower_uid) for r in first + more],
        [(r.trade_amount, r.profit_amount) for r in first + more],
    ]


def refusals_and_admin(w: World) -> list[Any]:
    trader = w.user("trader", "1000")
    other = w.user("trader", "1000")
    follower = w.user("follower", "1000")
    before = w.account(trader)
    refused = [
        outcome(w.run, handlers.place_order, w.ctx, trader, order("1", lever=1000)),
        outcome(w.run, handlers.place_order, w.ctx, trader, order("100000")),
        outcome(w.run, handlers.place_order, w.ctx, 42, order("1")),
        outcome(w.run, handlers.close_order, w.ctx, trader, 12345),
        outcome(
            w.run, handlers.close_all_position, w.ctx, trader, "BTC-USDT", MarginMode.CROSS, LONG
        ),
        outcome(w.run, sim.follow, w.ctx, other, trader, D(1)),
        outcome(w.run, sim.follow, w.ctx, follower, 42, D(1)),
        outcome(w.run, sim.follow, w.ctx, follower, trader, D(0)),
        outcome(w.run, sim.bulk_followers, w.ctx, follower, 1, D(1), D(1)),
        outcome(w.run, sim.set_price, w.ctx, "NOPE-USDT", D(1)),
        outcome(w.run, sim.user_view, w.ctx, 42),
        outcome(w.run, sim.set_balance, w.ctx, 42, D(1)),
    ]
    unchanged = w.account(trader) == before
    w.run(sim.follow, w.ctx, follower, trader, D(1))
    again = outcome(w.run, sim.follow, w.ctx, follower, other, D(1))
    w.run(sim.set_balance, w.ctx, follower, D("77.7"))
    balance = w.account(follower)[0]
    key = w.run(sim.create_user, w.ctx, "follower", D(1), False)
    found = w.run(queries.api_key, w.ctx, key.access_key)
    w.run(sim.reset, w.ctx)
    gone = outcome(w.run, sim.user_view, w.ctx, trader)
    marks = w.run(queries.markets, w.ctx)
    w.run(sim.seed_markets, w.ctx, {"BTC-USDT": D(60500)})
    reused = w.user("trader", "1") == trader
    return [
        refused,
        unchanged,
        again,
        balance,
        (found.uid == key.uid, found.secret == key.secret_key, found.can_trade, found.role)
        if found
        else None,
        gone,
        marks,
        reused,
    ]


def dashboard(w: World) -> list[Any]:
    trader = w.user("trader", "100000")
    copier = w.user("follower", "50000")
    poor = w.user("follower", "0.5")
    for follower in (copier, poor):
        w.run(sim.follow, w.ctx, follower, trader, D(1))
    first = w.run(handlers.place_order, w.ctx, trader, order("2"))
    w.run(handlers.place_order, w.ctx, trader, order("1", mode=MarginMode.ISOLATED))
    w.run(handlers.close_order, w.ctx, trader, first.sub_position_id)
    w.user("trader", "5")
    assert w.overview is not None
    rows = w.overview.read(50)
    r = w.rank
    return [
        [
            (t.uid, t.balance, t.followers, t.open_positions, t.first_followers)
            for t in rows.traders
        ],
        [(r(p.sub_position_id), p.uid, p.volume, p.lead_uid, p.open_time) for p in rows.positions],
        [(r(f.trade_id), f.uid, f.side, f.offset, f.price, f.volume, f.fee) for f in rows.fills],
        [
            (r(c.sub_position_id), c.follower_uid, c.lead_uid, c.volume, c.lead_price, c.is_open)
            for c in rows.copies
        ],
        [(r(k.skip_id), k.follower_uid, k.side, k.wanted_volume, k.reason) for k in rows.skips],
        sorted((r(p.sub_position_id), p.uid) for p in rows.lead_positions),
        (rows.users, rows.open_positions),
    ]


def v5_order(volume: str, side: str = "buy", **extra: Any) -> v5.V5Order:
    fields: dict[str, Any] = {
        "contract_code": "BTC-USDT",
        "margin_mode": MarginMode.CROSS,
        "direction": OrderDirection.BUY if side == "buy" else OrderDirection.SELL,
        "position_side": None,
        "reduce_only": False,
        "kind": "market",
        "tif": "gtc",
        "volume": D(volume),
        "price": None,
        "tp_trigger_price": None,
        "sl_trigger_price": None,
        "client_order_id": None,
        **extra,
    }
    return v5.V5Order(**fields)


def v5_one_way_orders_and_tape(w: World) -> list[Any]:
    """One-way mode nets and flips with the copies; orders, trades and candles are stored."""
    trader = w.user("trader", "100000")
    follower = w.user("follower", "50000")
    w.run(sim.follow, w.ctx, follower, trader, D(2))
    modes = [w.run(v5.set_position_mode, w.ctx, trader, "single_side")]
    modes.append(w.run(v5.position_mode, w.ctx, trader))
    w.run(v5.place_order, w.ctx, trader, v5_order("4", client_order_id="11"))
    w.run(v5.place_order, w.ctx, trader, v5_order("1", "sell"))  # reduces the long to 3
    flip = w.run(v5.place_order, w.ctx, trader, v5_order("5", "sell"))  # closes 3, opens 2 short
    refused = [
        outcome(w.run, v5.set_position_mode, w.ctx, trader, "dual_side"),
        outcome(w.run, v5.place_order, w.ctx, trader, v5_order("9", reduce_only=True)),
        outcome(w.run, v5.place_order, w.ctx, trader, v5_order("1", position_side=LONG)),
    ]
    resting = w.run(
        v5.place_order, w.ctx, trader, v5_order("1", "sell", kind="limit", price=D(90000))
    )
    refused.append(outcome(w.run, v5.place_order, w.ctx, trader, v5_order("1")))  # a sell rests
    w.run(v5.cancel_orders, w.ctx, trader, "BTC-USDT", resting.order_id)
    positions = w.run(v5.positions, w.ctx, trader, None)
    history = w.run(
        v5.order_history,
        w.ctx,
        trader,
        v5.HistoryQuery("BTC-USDT", MarginMode.CROSS, None, NOW - 86_400_000, NOW, 100),
    )
    by_client = w.run(v5.order, w.ctx, trader, "BTC-USDT", None, "11")
    fetched_flip = w.run(v5.order, w.ctx, trader, "BTC-USDT", flip.order_id)
    w.run(sim.set_price, w.ctx, "BTC-USDT", D(60500))
    from copytrade.service import market

    trades = w.run(market.trades, w.ctx, 0, "BTC-USDT", 50)
    candles = w.run(market.candles, w.ctx, 0, "BTC-USDT", 60, 3, None, None)
    copies = w.account(follower)
    return [
        modes,
        refused,
        [(p.side, p.volume, positions.one_way) for p in positions.positions],
        [
            (e.side, e.position_side_shown, e.reduce_only, e.kind, e.order.volume, e.order.filled)
            for e in history
        ],
        [v5.state_of(e.order) for e in history],
        (by_client.client_order_id, by_client.order.filled),
        (fetched_flip.order.volume, fetched_flip.order.filled, fetched_flip.side),
        [(t.volume, t.buy) for t in trades],
        [(c.volume, c.close, c.count) for c in candles],
        copies[1],
        [(v, o) for v, _fee, o in copies[4]],
    ]


def v6_lead_settings_and_removal(w: World) -> list[Any]:
    """follower-settings caps follows; removing followers closes their copies; statistics."""
    trader = w.user("trader", "100000")
    first = w.user("follower", "50000")
    second = w.user("follower", "50000")
    third = w.user("follower", "50000")
    w.run(sim.follow, w.ctx, first, trader, D(1))
    w.run(sim.follow, w.ctx, second, trader, D(1))
    settings = w.run(v6.follower_settings, w.ctx, trader, v6.LeadSettings(True, D("0.25"), 200))
    config = w.run(v6.config, w.ctx, trader)
    refused_disable = outcome(
        w.run, v6.follower_settings, w.ctx, trader, v6.LeadSettings(False, None, None)
    )
    w.run(handlers.place_order, w.ctx, trader, order("4"))
    w.run(sim.set_price, w.ctx, "BTC-USDT", D(61000))
    removed = w.run(v6.remove_followers, w.ctx, trader, (("a", first), ("b", third), ("c", None)))
    w.run(handlers.place_order, w.ctx, trader, order("2"))  # not copied to the removed one
    w.run(handlers.close_all_position, w.ctx, trader, "BTC-USDT", MarginMode.CROSS, LONG)
    stats = w.run(v6.statistics, w.ctx, trader)
    return [
        (settings.enabled, settings.ratio, settings.max_followers),
        (config.enabled, config.ratio, config.max_followers),
        refused_disable,
        removed,
        w.account(first),
        w.account(second)[4],
        (stats.total_followers, stats.current_followers, stats.wins, stats.losses),
        (stats.total_pnl > 0, stats.follower_total_pnl > 0, stats.win_rate),
        sum(1 for d in stats.days if d.amount),
        w.run(v6.profit_total, w.ctx, trader) > 0,
    ]


def follower_cap(w: World) -> list[Any]:
    """A follow past the trader's maximum is refused; a disabled lead cannot be followed."""
    trader = w.user("trader", "100000")
    followers = [w.user("follower", "100") for _ in range(101)]
    got = [outcome(w.run, sim.follow, w.ctx, f, trader, D(1)) for f in followers]
    w.run(v6.follower_settings, w.ctx, trader, v6.LeadSettings(True, None, 200))
    after = outcome(w.run, sim.follow, w.ctx, followers[-1], trader, D(1))
    lone = w.user("trader", "100")
    w.run(v6.follower_settings, w.ctx, lone, v6.LeadSettings(False, None, None))
    disabled = outcome(w.run, sim.follow, w.ctx, w.user("follower", "1"), lone, D(1))
    return [got.count(None), got[-1], after, disabled, w.run(v6.config, w.ctx, lone)]


def follower_settings(w: World) -> list[Any]:
    trader = w.user("trader", "1000000")
    fixed, picky, stopper, changer = (w.user("follower", "10000") for _ in range(4))
    settings = {
        fixed: Follow(fixed, trader, D(1), CopyMode.FIXED_AMOUNT, D(100), tp_ratio=D("0.5")),
        picky: Follow(picky, trader, D(1), contracts=frozenset({"ETH-USDT"}), sl_ratio=D("0.2")),
        stopper: Follow(stopper, trader, D(1), total_stop_loss=D(30)),
        changer: Follow(changer, trader, D("0.5")),
    }
    for follow in settings.values():
        w.run(sim.follow_with, w.ctx, follow)
    isolated = order("10", mode=MarginMode.ISOLATED, lever=5)
    w.run(handlers.place_order, w.ctx, trader, isolated)
    w.run(sim.set_price, w.ctx, "BTC-USDT", D(58600))
    w.run(handlers.close_all_position, w.ctx, trader, "BTC-USDT", MarginMode.ISOLATED, LONG)
    realised = [w.run(_realised, w.ctx, uid) for uid in (fixed, stopper, changer)]
    w.run(sim.set_price, w.ctx, "BTC-USDT", D(60500))
    w.run(handlers.place_order, w.ctx, trader, isolated)
    changed = outcome(
        w.run, change_settings, w.ctx, changer, {"contracts": ["BTC-USDT"], "sl_ratio": D(1)}
    )
    moves = [w.run(sim.set_price, w.ctx, "BTC-USDT", D(p)) for p in ("59300", "67000")]
    refused = outcome(w.run, change_settings, w.ctx, stopper, {"tp_ratio": D(1)})
    following = [
        w.run(sim.user_view, w.ctx, uid).follow for uid in (fixed, picky, stopper, changer)
    ]
    return [
        realised,
        changed.follow if isinstance(changed, SettingsChange) else changed,
        moves,
        refused,
        following,
        *(w.account(uid) for uid in (trader, fixed, picky, stopper, changer)),
    ]


def funding_and_the_total_stop(w: World) -> list[Any]:
    """Funding paid by a follower's copies counts towards its total stop-loss on every store."""
    trader = w.user("trader", "1000000")
    stopper, keeper = w.user("follower", "10000"), w.user("follower", "10000")
    w.run(sim.follow_with, w.ctx, Follow(stopper, trader, D(1), total_stop_loss=D(20)))
    w.run(sim.follow_with, w.ctx, Follow(keeper, trader, D(1), total_stop_loss=D(200)))
    w.run(handlers.place_order, w.ctx, trader, order("10", lever=5))
    w.ctx.funding = FundingConfig(mode="rate", default_rate=D("0.02"))
    try:
        first = w.run(settle_funding, w.ctx, NOW + 1)
        realised = [w.run(_realised, w.ctx, uid) for uid in (stopper, keeper)]
        second = w.run(settle_funding, w.ctx, NOW + 2)
    finally:
        w.ctx.funding = FundingConfig()
    following = [w.run(sim.user_view, w.ctx, uid).follow for uid in (stopper, keeper)]
    return [
        first,
        realised,
        second,
        following,
        *(w.account(uid) for uid in (trader, stopper, keeper)),
    ]


def _realised(ctx: Any, uid: int) -> Decimal:
    with ctx.admin() as uow:
        return uow.follows.realised([uid])[uid]


SCENARIOS = [
    v5_one_way_orders_and_tape,
    v6_lead_settings_and_removal,
    follower_cap,
    follower_settings,
    funding_and_the_total_stop,
    trade_copy_and_close,
    marks_move_orders_and_triggers,
    paging,
    refusals_and_admin,
    dashboard,
]


def _services(url: str) -> Services:
    services = bootstrap(Settings(db_url=url, demo_seed=False, server_key=secrets.token_hex(32)))
    services.executor.submit(services.seed).result(timeout=60)
    services.clock.freeze(NOW)
    return services


def _store_url(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "memory":
        return "memory://"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'contract.db'}"
    return str(request.getfixturevalue("postgres_database"))  # one per module


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
@pytest.mark.parametrize(
    "kind", ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_every_store_gives_the_reference_outcome(
    kind: str,
    scenario: Callable[[World], list[Any]],
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    reference = _services("memory://")
    tested = _services(_store_url(kind, request, tmp_path))
    try:
        if kind == "postgres":  # one database for the module: start from nothing
            tested.executor.submit(sim.reset, tested.ctx).result(timeout=60)
            tested.executor.submit(tested.seed).result(timeout=60)
        expected = scenario(World(reference))
        got = scenario(World(tested))
    finally:
        reference.close()
        tested.close()
    assert got == expected
