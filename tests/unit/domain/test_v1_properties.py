"""Random v1 sessions: money is conserved across every UID's three balances; no copy outlives
its lead.

On top of the trading sessions of ``test_trading_properties`` (opens of every type, closes,
copies, mark moves filling resting orders), a session here also sets TP/SL on lead positions
(fired by mark moves, closing the copies with the lead), changes leverage, adds and reduces
isolated margin, transfers between spot, USDT-M futures and copy trading, lets followers' own
TP/SL ratios and total stop-loss close their copies, and removes followers.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, replace
from decimal import Decimal

from domain_builders import SPECS, D
from hypothesis import given, settings
from hypothesis import strategies as st
from test_trading_properties import (
    MARKS,
    PROFIT_SHARE,
    START_BALANCES,
    TRADER,
    CloseOp,
    MoveOp,
    OpenOp,
    Session,
    close_ops,
    move_ops,
    open_ops,
)

from copytrade.domain.adjustments import adjust_margin, change_lever
from copytrade.domain.copytrading import Follow, close_copies, copy_open
from copytrade.domain.enums import (
    CloseType,
    CopyMode,
    MarginAdjust,
    MarginMode,
    OrderPriceType,
    PositionSide,
    Wallet,
)
from copytrade.domain.errors import DomainError
from copytrade.domain.following import apply_own_exits, copies_of, end_follow, total_stop_hit
from copytrade.domain.funds import apply_transfer, check_move, check_transfer
from copytrade.domain.margin import pnl, to_money
from copytrade.domain.model import Account, SubPosition
from copytrade.domain.tpsl import fire_triggers, set_tpsl
from copytrade.domain.trading import Market, close_at_market

START_SPOT = D(1_000)
START_FUTURES = D(2_000)
FOLLOWS = {
    2: Follow(2, TRADER, D("0.5"), tp_ratio=D("0.03"), sl_ratio=D("0.03")),
    3: Follow(3, TRADER, D("1.5"), contracts=frozenset({"BTC-USDT", "ETH-USDT"})),
    4: Follow(4, TRADER, D(1), CopyMode.FIXED_AMOUNT, fixed_amount=D(300), total_stop_loss=D(12)),
}
BALANCES = {**START_BALANCES, 4: D(5_000)}


@dataclass(frozen=True)
class TpslOp:
    position_index: int
    tp_basis_points: int | None
    sl_basis_points: int | None


@dataclass(frozen=True)
class LeverOp:
    position_index: int  # re-levers the scope of one of the trader's positions
    lever: int


@dataclass(frozen=True)
class MarginOp:
    uid: int
    position_index: int  # one of the account's isolated positions
    amount: Decimal
    kind: MarginAdjust


@dataclass(frozen=True)
class TransferOp:
    uid: int
    kind: int
    amount: Decimal


@dataclass(frozen=True)
class RemoveOp:
    follower_uid: int


UIDS = st.sampled_from(sorted(BALANCES))
CODES = st.sampled_from(sorted(MARKS))
tpsl_ops = st.builds(
    TpslOp,
    position_index=st.integers(0, 9),
    tp_basis_points=st.none() | st.integers(5, 80),
    sl_basis_points=st.none() | st.integers(5, 80),
)
lever_ops = st.builds(
    LeverOp, position_index=st.integers(0, 9), lever=st.sampled_from([1, 2, 5, 10, 20])
)
margin_ops = st.builds(
    MarginOp,
    uid=UIDS,
    position_index=st.integers(0, 9),
    amount=st.decimals("0.01", "200", places=2),
    kind=st.sampled_from(MarginAdjust),
)
transfer_ops = st.builds(
    TransferOp,
    uid=UIDS,
    kind=st.integers(0, 7),  # 1-4: v1's types; 6, 7: spot <-> futures (v6, /v2)
    amount=st.decimals("0.00000001", "3000", places=8),
)
# mostly UID 0 (no follower, a no-op): a session should copy for a while before removals
remove_ops = st.builds(RemoveOp, follower_uid=st.sampled_from([2, 3, 4, *[0] * 9]))
# every session starts with the trader opening at market, so that there is something to copy,
# protect, re-lever and top up
trader_opens = open_ops.map(lambda op: replace(op, uid=TRADER, price_type=OrderPriceType.MARKET))
v1_sessions = st.tuples(
    st.lists(trader_opens, min_size=2, max_size=5),
    st.lists(
        st.one_of(
            open_ops.filter(lambda op: op.uid in BALANCES),
            close_ops,
            move_ops,
            tpsl_ops,
            lever_ops,
            margin_ops,
            transfer_ops,
            remove_ops,
        ),
        min_size=10,
        max_size=40,
    ),
).map(lambda parts: [*parts[0], *parts[1]])
SETTINGS = settings(max_examples=80, deadline=None)
V1Op = OpenOp | CloseOp | MoveOp | TpslOp | LeverOp | MarginOp | TransferOp | RemoveOp


@dataclass
class V1Session(Session):
    """A trading session with followers' settings, their removal, TP/SL, leverage and funds."""

    follows: dict[int, Follow] = field(default_factory=lambda: dict(FOLLOWS))

    def __post_init__(self) -> None:
        self.accounts = {
            uid: Account(uid, balance, spot=START_SPOT, futures=START_FUTURES)
            for uid, balance in BALANCES.items()
        }

    @property
    def active(self) -> dict[int, Account]:
        return {uid: self.accounts[uid] for uid in self.follows}

    def run(self, op: V1Op) -> None:  # type: ignore[override]
        handlers = {
            TpslOp: self.tpsl,
            LeverOp: self.lever,
            MarginOp: self.margin,
            TransferOp: self.transfer,
            RemoveOp: self.remove,
        }
        handler = handlers.get(type(op))
        if handler is None:
            super().run(op)  # type: ignore[arg-type]
            return
        with contextlib.suppress(DomainError):
            handler(op)  # type: ignore[operator]

    def copy(self, lead: SubPosition, change: Decimal, market: Market) -> None:
        follows = list(self.follows.values())
        copy_open(lead, change, follows, self.active, market, self.markets, self.env)

    def close(self, op: CloseOp) -> None:
        account = self.accounts[op.uid]
        keys = sorted({p.key for p in account.positions.values()}, key=str)
        if not keys:
            return
        key = keys[op.key_index % len(keys)]
        closed = close_at_market(
            account,
            account.open_positions(key),
            self.markets[key[0]],
            CloseType.CLOSE_ALL,
            self.env,
        )
        if op.uid == TRADER:
            self.close_copies(closed, CloseType.CLOSE_ALL)

    def close_copies(self, leads: list[SubPosition], close_type: CloseType) -> None:
        close_copies(
            leads, self.trader, PROFIT_SHARE, self.active, self.markets, close_type, self.env
        )

    def move(self, op: MoveOp) -> None:
        super().move(op)
        market = self.markets[op.contract_code]
        for lead, kind in fire_triggers(self.trader, market, self.env):
            self.close_copies([lead], kind)
        for uid, follow in list(self.follows.items()):
            follower = self.accounts[uid]
            apply_own_exits(follow, follower, self.trader, PROFIT_SHARE, self.markets, self.env)
            if total_stop_hit(
                follow, copies_of(follower, TRADER), self.realised(uid), self.markets
            ):
                self.end(uid, CloseType.COPY_TOTAL_STOP)

    def realised(self, uid: int) -> Decimal:
        return sum(
            (
                p.profit
                for p in self.env.changes.positions.values()
                if p.uid == uid and not p.is_open and p.profit is not None
            ),
            D(0),
        )

    def tpsl(self, op: TpslOp) -> None:
        leads = sorted(self.trader.positions.values(), key=lambda p: p.sub_position_id)
        if not leads:
            return
        lead = leads[op.position_index % len(leads)]
        mark = self.markets[lead.contract_code].mark
        up = 1 if lead.side is PositionSide.LONG else -1

        def price(basis_points: int | None, sign: int) -> Decimal | None:
            if basis_points is None:
                return None
            return _tick(lead.contract_code, mark * (1 + Decimal(sign * basis_points) / 10_000))

        set_tpsl(
            self.trader,
            lead.sub_position_id,
            price(op.tp_basis_points, up),
            price(op.sl_basis_points, -up),
            mark,
            self.env,
        )

    def lever(self, op: LeverOp) -> None:
        positions = sorted(self.trader.positions.values(), key=lambda p: p.sub_position_id)
        if positions:
            picked = positions[op.position_index % len(positions)]
            spec = SPECS[picked.contract_code]
            change_lever(self.trader, spec, picked.margin_mode, op.lever, self.markets, self.env)

    def margin(self, op: MarginOp) -> None:
        account = self.accounts[op.uid]
        isolated = sorted(
            (p for p in account.positions.values() if p.margin_mode is MarginMode.ISOLATED),
            key=lambda p: p.sub_position_id,
        )
        if isolated:
            picked = isolated[op.position_index % len(isolated)]
            adjust_margin(
                account,
                picked.contract_code,
                picked.side,
                op.amount,
                op.kind,
                self.markets,
                self.env,
            )

    def transfer(self, op: TransferOp) -> None:
        if op.kind in _SPOT_FUTURES:
            checked = check_move(op.amount, *_SPOT_FUTURES[op.kind], "USDT")
        else:
            checked = check_transfer(op.amount, op.kind, "USDT")
        apply_transfer(self.accounts[op.uid], checked, self.markets, self.env)

    def remove(self, op: RemoveOp) -> None:
        if op.follower_uid in self.follows:
            self.end(op.follower_uid, CloseType.UNFOLLOW)

    def end(self, uid: int, close_type: CloseType) -> None:
        end_follow(
            self.accounts[uid], self.trader, PROFIT_SHARE, self.markets, close_type, self.env
        )
        del self.follows[uid]


_SPOT_FUTURES = {6: (Wallet.SPOT, Wallet.FUTURES), 7: (Wallet.FUTURES, Wallet.SPOT)}


def _tick(contract_code: str, price: Decimal) -> Decimal:
    tick = SPECS[contract_code].price_tick
    return (price / tick).to_integral_value() * tick


def uid_total(account: Account) -> Decimal:
    """Spot + futures + copy-trading wallet W + the isolated margins that left W."""
    isolated = sum(
        (
            p.position_margin
            for p in account.positions.values()
            if p.margin_mode is MarginMode.ISOLATED
        ),
        D(0),
    )
    return account.spot + account.futures + account.balance + isolated


def money_in_system(session: V1Session) -> Decimal:
    """Σ every UID's three balances (isolated margins included) + fees − users' gross PnL."""
    fees = sum((f.fee for f in session.env.changes.fills), D(0))
    users_gross = sum(
        (
            to_money(  # the core realises gross PnL truncated at 18 decimals
                pnl(
                    p.side,
                    p.open_avg_price,
                    p.close_avg_price,
                    p.volume,
                    SPECS[p.contract_code].contract_size,
                )
            )
            for p in session.env.changes.positions.values()
            if not p.is_open and p.close_avg_price is not None
        ),
        D(0),
    )
    wallets = sum((uid_total(a) for a in session.accounts.values()), D(0))
    return wallets + fees - users_gross


def orphans(session: V1Session) -> list[SubPosition]:
    """Return the follower copies whose lead sub position is no longer open."""
    open_leads = {p.sub_position_id for p in session.trader.positions.values() if p.is_open}
    return [
        p
        for uid, account in session.accounts.items()
        if uid != TRADER
        for p in account.positions.values()
        if p.lead_uid == TRADER and p.lead_sub_position_id not in open_leads
    ]


@SETTINGS
@given(ops=v1_sessions)
def test_money_is_conserved_and_no_copy_outlives_its_lead(ops: list[V1Op]) -> None:
    """After every operation: Σ over UIDs of (spot + futures + W + isolated margins) + Σ fees
    − users' realised gross PnL equals the start (see ``test_trading_properties``); transfers,
    margin moves and leverage changes leave each UID's own total unchanged; every open copy's
    lead is open; a removed or stopped follower holds no copy and gets none later.
    """
    session = V1Session()
    start = money_in_system(session)

    for op in ops:
        before = {uid: uid_total(a) for uid, a in session.accounts.items()}
        session.run(op)
        assert money_in_system(session) == start
        if isinstance(op, TransferOp | MarginOp | LeverOp | TpslOp):
            assert {uid: uid_total(a) for uid, a in session.accounts.items()} == before
        assert orphans(session) == []
        for uid in set(FOLLOWS) - set(session.follows):
            assert copies_of(session.accounts[uid], TRADER) == []
        for account in session.accounts.values():
            assert account.spot >= 0
            assert account.futures >= 0
            assert all(p.position_margin >= 0 for p in account.positions.values())
