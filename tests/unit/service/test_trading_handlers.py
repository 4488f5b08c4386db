"""Trading use cases (service.handlers) over the in-memory store: every path, no I/O."""

from __future__ import annotations

import pytest
from service_kit import D, buy, make_ctx

from copytrade.adapters.memory import MemoryStore
from copytrade.domain.enums import MarginMode, OrderStatus, PositionSide, SkipReason
from copytrade.domain.errors import (
    InsufficientMargin,
    InvalidLever,
    InvalidStopLoss,
    PositionNotFound,
    UnknownContract,
)
from copytrade.service import handlers, retry, sim
from copytrade.service.context import ServiceContext
from copytrade.service.errors import UnknownUser
from copytrade.service.ports import WriteConflict

LONG = PositionSide.LONG


def trader(ctx: ServiceContext, balance: str = "100000") -> int:
    return sim.create_user(ctx, "trader", D(balance)).uid


def follower_of(ctx: ServiceContext, trader_uid: int, balance: str = "10000") -> int:
    uid = sim.create_user(ctx, "follower", D(balance)).uid
    sim.follow(ctx, uid, trader_uid, D(1))
    return uid


def account(ctx: ServiceContext, uid: int) -> object:
    with ctx.reads() as reads:
        return reads.account(uid)


def test_a_market_order_fills_and_opens_a_sub_position() -> None:
    ctx = make_ctx()
    uid = trader(ctx)
    result = handlers.place_order(ctx, uid, buy("2"))
    assert result.filled == "2"
    assert result.sub_position_id is not None
    with ctx.reads() as reads:
        held = reads.account(uid)
        report = reads.user_report(uid)
    assert held is not None
    assert held.positions[result.sub_position_id].volume == D(2)
    assert held.balance < D(100000)  # the taker fee
    assert [f.volume for f in report.fills] == [D(2)]


def test_a_lead_fill_is_copied_to_every_follower_or_skipped_with_a_reason() -> None:
    ctx = make_ctx()
    uid = trader(ctx)
    rich = follower_of(ctx, uid)
    poor = follower_of(ctx, uid, balance="0.01")
    result = handlers.place_order(ctx, uid, buy("2"))
    assert (result.copies, result.skipped) == (1, 1)
    with ctx.reads() as reads:
        copied = reads.account(rich)
        skipped = reads.user_report(poor).skipped_copies
    assert copied is not None
    [copy] = copied.positions.values()
    assert (copy.lead_uid, copy.lead_sub_position_id) == (uid, result.sub_position_id)
    assert [s.reason for s in skipped] == [SkipReason.INSUFFICIENT_MARGIN]


def test_a_limit_order_below_the_book_rests() -> None:
    ctx = make_ctx()
    uid = trader(ctx)
    result = handlers.place_order(ctx, uid, buy("1", price="50000"))
    assert result.filled == "0"
    with ctx.uow() as uow:
        held = uow.accounts.get(uid)
    assert held is not None
    [order] = held.orders.values()
    assert order.status is OrderStatus.OPEN


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        (buy("1", code="NOPE-USDT"), UnknownContract),
        (buy("1", lever=1000), InvalidLever),
        (buy("100000", lever=1), InsufficientMargin),
        (buy("1", sl="70000"), InvalidStopLoss),
    ],
)
def test_a_refused_order_changes_nothing(request_: object, error: type[Exception]) -> None:
    ctx = make_ctx()
    uid = trader(ctx)
    before = account(ctx, uid)
    with pytest.raises(error):
        handlers.place_order(ctx, uid, request_)  # type: ignore[arg-type]
    assert account(ctx, uid) == before


def test_an_unknown_trader_is_refused() -> None:
    ctx = make_ctx()
    with pytest.raises(UnknownUser):
        handlers.place_order(ctx, 42, buy())
    with pytest.raises(UnknownUser):
        handlers.close_order(ctx, 42, 1)
    with pytest.raises(UnknownUser):
        handlers.close_all_position(ctx, 42, "BTC-USDT", MarginMode.CROSS, LONG)


def test_close_order_closes_the_lead_and_its_copies() -> None:
    ctx = make_ctx()
    uid = trader(ctx)
    copier = follower_of(ctx, uid)
    opened = handlers.place_order(ctx, uid, buy("3"))
    assert opened.sub_position_id is not None
    result = handlers.close_order(ctx, uid, opened.sub_position_id)
    assert result.closed == [opened.sub_position_id]
    assert result.copies_closed == 1
    with ctx.reads() as reads:
        lead, copy = reads.account(uid), reads.account(copier)
        history = reads.user_report(uid).closed_positions
    assert lead is not None
    assert copy is not None
    assert lead.positions == {}
    assert copy.positions == {}
    assert [p.sub_position_id for p in history] == [opened.sub_position_id]


def test_close_order_refuses_an_unknown_or_copied_sub_position() -> None:
    ctx = make_ctx()
    uid = trader(ctx)
    copier = follower_of(ctx, uid)
    handlers.place_order(ctx, uid, buy())
    with pytest.raises(PositionNotFound):
        handlers.close_order(ctx, uid, 999_999)
    held = account(ctx, copier)
    [copy_id] = held.positions  # type: ignore[attr-defined]
    with pytest.raises(PositionNotFound):  # a follower's copy is closed by its lead only
        handlers.close_order(ctx, copier, copy_id)


def test_close_all_position_closes_every_lead_sub_position_of_the_key_once() -> None:
    ctx = make_ctx()
    uid = trader(ctx)
    handlers.place_order(ctx, uid, buy("1"))
    handlers.place_order(ctx, uid, buy("2"))
    handlers.place_order(ctx, uid, buy("1", mode=MarginMode.ISOLATED))
    result = handlers.close_all_position(ctx, uid, "BTC-USDT", MarginMode.CROSS, LONG)
    assert len(result.closed) == 2
    with pytest.raises(PositionNotFound):
        handlers.close_all_position(ctx, uid, "BTC-USDT", MarginMode.CROSS, LONG)
    held = account(ctx, uid)
    assert [p.margin_mode for p in held.positions.values()] == [MarginMode.ISOLATED]  # type: ignore[attr-defined]
    with pytest.raises(UnknownContract):
        handlers.close_all_position(ctx, uid, "NOPE-USDT", MarginMode.CROSS, LONG)


class ConflictingStore(MemoryStore):
    """A store whose first ``conflicts`` commits are aborted as write conflicts."""

    def __init__(self, conflicts: int) -> None:
        super().__init__()
        self.conflicts = conflicts

    def uow(self):  # type: ignore[no-untyped-def]
        unit = super().uow()
        original = unit.commit

        def commit() -> None:
            if self.conflicts > 0:
                self.conflicts -= 1
                raise WriteConflict("deadlock")
            original()

        unit.commit = commit  # type: ignore[method-assign]
        return unit


def test_a_write_conflict_reruns_the_use_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry, "BACKOFF_SECONDS", 0)
    store = ConflictingStore(conflicts=0)
    ctx = make_ctx(store)
    uid = trader(ctx)
    store.conflicts = 2
    result = handlers.place_order(ctx, uid, buy())
    assert store.conflicts == 0
    held = account(ctx, uid)
    assert list(held.positions) == [result.sub_position_id]  # type: ignore[attr-defined]


def test_write_conflicts_past_the_attempts_reach_the_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(retry, "BACKOFF_SECONDS", 0)
    store = ConflictingStore(conflicts=0)
    ctx = make_ctx(store)
    uid = trader(ctx)
    store.conflicts = retry.ATTEMPTS
    with pytest.raises(WriteConflict):
        handlers.place_order(ctx, uid, buy())
    assert account(ctx, uid).positions == {}  # type: ignore[attr-defined]
