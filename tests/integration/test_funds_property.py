"""Random sessions through the use cases, on the in-memory store, a SQLite file and PostgreSQL:
money is conserved across every UID's three balances, and no copy outlives its lead.

The domain's own property (``tests/unit/domain/test_v1_properties.py``) drives the trading core
directly; this one drives what the API drives (the service layer over a store: lead opens and
closes, TP/SL set on lead positions and fired by mark moves (closing the copies with the lead),
leverage changes, margin moves, v1 transfers, transfers between any two balances,
follower removals, mark moves) and reads every figure back from the store after each step, so a
balance a store forgot to write, or wrote half of, breaks it.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copytrade.bootstrap import Services, bootstrap
from copytrade.config import Settings
from copytrade.domain.enums import (
    MarginAdjust,
    MarginMode,
    OrderDirection,
    OrderPriceType,
    PositionSide,
    Wallet,
)
from copytrade.domain.errors import DomainError
from copytrade.domain.margin import pnl, to_money
from copytrade.domain.model import Account, SubPosition
from copytrade.domain.trading import OpenRequest
from copytrade.service import handlers, sim, v1
from copytrade.service.ports import UserReport

D = Decimal
NOW = 1_719_304_200_000
CONTRACTS = ("BTC-USDT", "ETH-USDT")
MARKS = {"BTC-USDT": D(60500), "ETH-USDT": D(3000)}


@dataclass(frozen=True)
class Open:
    contract: str
    direction: OrderDirection
    mode: MarginMode
    volume: int
    lever: int


@dataclass(frozen=True)
class CloseOne:
    index: int


@dataclass(frozen=True)
class CloseAll:
    contract: str
    mode: MarginMode
    side: PositionSide


@dataclass(frozen=True)
class Lever:
    contract: str
    mode: MarginMode
    lever: int


@dataclass(frozen=True)
class Margin:
    who: int
    index: int
    amount: Decimal
    kind: MarginAdjust


@dataclass(frozen=True)
class TransferV1:
    who: int
    kind: int
    amount: Decimal


@dataclass(frozen=True)
class Move:
    who: int
    source: Wallet
    target: Wallet
    amount: Decimal


@dataclass(frozen=True)
class Tpsl:
    index: int
    tp_basis_points: int | None
    sl_basis_points: int | None


@dataclass(frozen=True)
class Fire:
    """Move a lead's mark onto one of its triggers (TP or SL), so that it fires."""

    index: int
    take_profit: bool


@dataclass(frozen=True)
class Remove:
    follower: int


@dataclass(frozen=True)
class Price:
    contract: str
    basis_points: int


Op = Open | CloseOne | CloseAll | Tpsl | Fire | Lever | Margin | TransferV1 | Move | Remove | Price

WHO = st.integers(0, 3)  # 0: the trader, 1-3: its followers
AMOUNTS = st.decimals("0.00000001", "3000", places=8)
opens = st.builds(
    Open,
    st.sampled_from(CONTRACTS),
    st.sampled_from(OrderDirection),
    st.sampled_from(MarginMode),
    st.integers(1, 40),
    st.sampled_from([5, 10, 20]),
)
tpsl_ops = st.builds(
    Tpsl,
    st.integers(0, 9),
    st.none() | st.integers(5, 150),
    st.none() | st.integers(5, 150),
)
ops = st.one_of(
    opens,
    st.builds(CloseOne, st.integers(0, 9)),
    st.builds(
        CloseAll,
        st.sampled_from(CONTRACTS),
        st.sampled_from(MarginMode),
        st.sampled_from(PositionSide),
    ),
    tpsl_ops,
    st.builds(Fire, st.integers(0, 9), st.booleans()),
    st.builds(
        Lever, st.sampled_from(CONTRACTS), st.sampled_from(MarginMode), st.sampled_from([2, 10])
    ),
    st.builds(
        Margin,
        WHO,
        st.integers(0, 9),
        st.decimals("0.01", "300", places=2),
        st.sampled_from(MarginAdjust),
    ),
    st.builds(TransferV1, WHO, st.integers(0, 5), AMOUNTS),
    st.builds(Move, WHO, st.sampled_from(Wallet), st.sampled_from(Wallet), AMOUNTS),
    st.builds(Remove, st.sampled_from([1, 2, 3, 9, 9, 9])),  # 9: nobody (removals stay rare)
    st.builds(Price, st.sampled_from(CONTRACTS), st.integers(-400, 400)),
)
sessions = st.tuples(st.lists(opens, min_size=1, max_size=3), st.lists(ops, max_size=25)).map(
    lambda parts: [*parts[0], *parts[1]]
)


def absorbed_shortfall(p: SubPosition, moved: Decimal) -> Decimal:
    """What the venue absorbed when ``p`` closed: an isolated position never loses more than its
    margin (spec §7.10, insurance fund not modelled), so a close past its bankruptcy price books
    less loss than the price move. The realised figures must show exactly that and nothing else."""
    assert p.profit is not None
    realised = p.profit + p.open_fee + p.close_fee
    shortfall = D(0)
    if p.margin_mode is MarginMode.ISOLATED:
        shortfall = max(D(0), -(p.position_margin + moved - p.close_fee))
    assert realised - moved == shortfall, (p.sub_position_id, moved, realised, shortfall)
    return shortfall


class World:
    """One store with a trader and three followers (one of them poor), all funded thrice."""

    def __init__(self, url: str) -> None:
        self.services: Services = bootstrap(
            Settings(db_url=url, demo_seed=False, server_key=secrets.token_hex(32))
        )
        self.run(self.services.seed)
        self.services.clock.freeze(NOW)
        ctx = self.ctx = self.services.ctx
        for code, mark in MARKS.items():
            self.run(sim.set_price, ctx, code, mark)
        self.marks = dict(MARKS)
        self.uids = [self._user("trader", "100000")]
        for ratio, balance in (("1", "20000"), ("0.5", "20000"), ("2", "300")):
            uid = self._user("follower", balance)
            self.run(sim.follow, ctx, uid, self.trader, D(ratio))
            self.uids.append(uid)

    def _user(self, role: str, balance: str) -> int:
        creds = sim.create_user(self.ctx, role, D(balance), spot=D(1000), futures=D(2000))
        return int(creds.uid)

    @property
    def trader(self) -> int:
        return self.uids[0]

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.services.executor.submit(fn, *args).result(timeout=60)

    def view(self, uid: int) -> tuple[Account, UserReport]:
        view = self.run(sim.user_view, self.ctx, uid)
        return view.account, view.report

    def step(self, op: Op) -> None:
        with contextlib.suppress(DomainError):
            self._step(op)

    def _step(self, op: Op) -> None:
        ctx, trader = self.ctx, self.trader
        if isinstance(op, Open):
            request = OpenRequest(
                op.contract,
                op.direction,
                D(op.volume),
                op.mode,
                OrderPriceType.MARKET,
                None,
                op.lever,
            )
            self.run(handlers.place_order, ctx, trader, request)
        elif isinstance(op, CloseOne):
            leads = sorted(self.view(trader)[0].positions)
            if leads:
                self.run(handlers.close_order, ctx, trader, leads[op.index % len(leads)])
        elif isinstance(op, CloseAll):
            self.run(handlers.close_all_position, ctx, trader, op.contract, op.mode, op.side)
        elif isinstance(op, Tpsl):
            self._tpsl(op)
        elif isinstance(op, Fire):
            self._fire(op)
        elif isinstance(op, Lever):
            self.run(v1.updated_contract_lever, ctx, trader, op.contract, op.mode, op.lever)
        elif isinstance(op, Margin):
            uid = self.uids[op.who]
            isolated = sorted(
                (
                    p
                    for p in self.view(uid)[0].positions.values()
                    if p.margin_mode is MarginMode.ISOLATED
                ),
                key=lambda p: p.sub_position_id,
            )
            if isolated:
                p = isolated[op.index % len(isolated)]
                self.run(v1.add_margin, ctx, uid, p.contract_code, p.side, op.amount, op.kind)
        elif isinstance(op, TransferV1):
            self.run(v1.account_transfer, ctx, self.uids[op.who], op.amount, op.kind, "USDT")
        elif isinstance(op, Move):
            uid = self.uids[op.who]
            self.run(v1.move_funds, ctx, uid, op.source, op.target, op.amount, "USDT")
        elif isinstance(op, Remove):
            if op.follower < len(self.uids):
                self.run(v1.remove_follower, ctx, trader, self.uids[op.follower])
        else:
            self.marks[op.contract] = _moved(op.contract, op.basis_points)
            self.run(sim.set_price, ctx, op.contract, self.marks[op.contract])

    def _tpsl(self, op: Tpsl) -> None:
        """Set TP and/or SL a few basis points either side of the mark; later moves fire them."""
        leads = sorted(
            self.view(self.trader)[0].positions.values(), key=lambda p: p.sub_position_id
        )
        if not leads:
            return
        lead = leads[op.index % len(leads)]
        mark = self.marks[lead.contract_code]
        up = 1 if lead.side is PositionSide.LONG else -1

        def price(basis_points: int | None, sign: int) -> Decimal | None:
            if basis_points is None:
                return None
            return _ticked(lead.contract_code, mark * (1 + D(sign * basis_points) / 10_000))

        tp, sl = price(op.tp_basis_points, up), price(op.sl_basis_points, -up)
        self.run(v1.tpsl_order, self.ctx, self.trader, lead.sub_position_id, tp, sl)

    def _fire(self, op: Fire) -> None:
        armed = [
            p
            for p in sorted(
                self.view(self.trader)[0].positions.values(), key=lambda p: p.sub_position_id
            )
            if p.tp_trigger_price is not None or p.sl_trigger_price is not None
        ]
        if not armed:
            return
        lead = armed[op.index % len(armed)]
        trigger = lead.tp_trigger_price if op.take_profit else lead.sl_trigger_price
        trigger = trigger or lead.sl_trigger_price or lead.tp_trigger_price
        assert trigger is not None
        self.marks[lead.contract_code] = trigger
        self.run(sim.set_price, self.ctx, lead.contract_code, trigger)

    def views(self) -> dict[int, tuple[Account, UserReport]]:
        """Every UID's account and report, read back from the store once."""
        return {uid: self.view(uid) for uid in self.uids}

    def money(
        self, views: dict[int, tuple[Account, UserReport]]
    ) -> tuple[Decimal, dict[int, Decimal]]:
        """Σ (spot + futures + W + isolated margins) + Σ fees − users' realised gross PnL (the price
        moves, plus the shortfalls the venue absorbed: :func:`absorbed_shortfall`), from
        ``views`` (:meth:`views`); and each UID's own total."""
        totals: dict[int, Decimal] = {}
        fees = gross = D(0)
        for uid in self.uids:
            account, report = views[uid]
            totals[uid] = uid_total(account)
            fees += sum((f.fee for f in report.fills), D(0))
            for p in report.closed_positions:
                if p.close_avg_price is not None:
                    cs = self.ctx.spec(p.contract_code).contract_size
                    moved = to_money(pnl(p.side, p.open_avg_price, p.close_avg_price, p.volume, cs))
                    gross += moved + absorbed_shortfall(p, moved)
        return sum(totals.values(), D(0)) + fees - gross, totals

    def orphans(self, views: dict[int, tuple[Account, UserReport]]) -> list[int]:
        """The followers' open copies whose lead sub position is not open."""
        leads = set(views[self.trader][0].positions)
        return [
            p.sub_position_id
            for uid in self.uids[1:]
            for p in views[uid][0].positions.values()
            if p.lead_uid == self.trader and p.lead_sub_position_id not in leads
        ]

    def following(self) -> set[int]:
        def read() -> set[int]:
            with self.ctx.reads() as reads:
                return {uid for uid in self.uids[1:] if reads.active_follow_of(uid) is not None}

        return set(self.run(read))


def _ticked(contract: str, raw: Decimal) -> Decimal:
    tick = D("0.1") if contract == "BTC-USDT" else D("0.01")
    return (raw / tick).to_integral_value() * tick


def _moved(contract: str, basis_points: int) -> Decimal:
    return _ticked(contract, MARKS[contract] * (1 + D(basis_points) / 10_000))


def uid_total(account: Account) -> Decimal:
    isolated = sum(
        (
            p.position_margin
            for p in account.positions.values()
            if p.margin_mode is MarginMode.ISOLATED
        ),
        D(0),
    )
    return account.spot + account.futures + account.balance + isolated


def check_session(url: str, session: list[Op]) -> None:
    """Run ``session`` on a fresh world over ``url``, checking the books after every step.

    The store is read once before the session and once after each step (:meth:`World.views`);
    each step's "before" is the previous step's "after" (no command runs in between).
    """
    world = World(url)
    try:
        start, totals = world.money(world.views())
        for op in session:
            world.step(op)
            views = world.views()
            now, after = world.money(views)
            assert now == start, op
            if isinstance(op, TransferV1 | Move | Margin | Lever | Tpsl):
                assert after == totals, op  # a UID's own total never moves with these
            totals = after
            assert world.orphans(views) == [], op
            for uid in set(world.uids[1:]) - world.following():
                assert not [
                    p for p in views[uid][0].positions.values() if p.lead_uid == world.trader
                ], op
            for uid in world.uids:
                account = views[uid][0]
                assert account.spot >= 0
                assert account.futures >= 0
    finally:
        world.services.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(session=sessions)
def test_money_is_conserved_through_the_use_cases_on_the_memory_store(session: list[Op]) -> None:
    check_session("memory://", session)


@pytest.fixture(scope="module")
def sqlite_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("funds_property")


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(session=sessions)
def test_money_is_conserved_through_the_use_cases_on_sqlite(
    session: list[Op], sqlite_dir: Path
) -> None:
    check_session(f"sqlite:///{sqlite_dir / f'{secrets.token_hex(6)}.db'}", session)


@pytest.mark.postgres
@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(session=sessions)
def test_money_is_conserved_through_the_use_cases_on_postgres(
    session: list[Op], postgres_databases: Callable[[], AbstractContextManager[str]]
) -> None:
    """Each example on a fresh database: a balance PostgreSQL's writer forgot breaks it."""
    with postgres_databases() as url:
        check_session(url, session)


def test_an_isolated_liquidation_past_its_margin_is_absorbed_by_the_venue() -> None:
    # found by the property with longer sessions: the jump takes the short past its bankruptcy
    # price; its loss is capped at its margin and the venue takes exactly the rest
    btc, isolated = "BTC-USDT", MarginMode.ISOLATED
    session: list[Op] = [
        Open(btc, OrderDirection.BUY, isolated, 1, 5),
        *[CloseOne(0)] * 5,
        Price(btc, -360),
        Open(btc, OrderDirection.SELL, isolated, 1, 20),
        Price(btc, 109),
    ]
    check_session("memory://", session)
