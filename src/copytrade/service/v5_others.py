"""The other v5 endpoints (spec ``htx-v5-v6.md`` §7) over the same core as ``service.v5``.

Batches, close-all, closed positions, margin, bills and the cancel-after dead-man switch.

A batch is a series of single requests: each item runs as ``/v5/trade/order`` (or
``cancel_order``) would, in a transaction of its own, and a refused item leaves the others
alone. ``position_all`` closes every position of the account and every copy of it in one
transaction. The cancel-after deadlines live in one emulator setting (``meta``), so every
store keeps them and every server process sees them; the market ticker fires them on the
simulation clock, in time order with the price ticks (:func:`fire_cancel_after`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from copytrade.domain.enums import MarginAdjust, MarginMode, PositionSide
from copytrade.domain.errors import IllegalParameter, OrderNotFound
from copytrade.domain.model import Order, SubPosition
from copytrade.service import v1, v5
from copytrade.service.context import ServiceContext
from copytrade.service.errors import UnknownUser
from copytrade.service.follow_rules import rules_after_close
from copytrade.service.retry import retry_conflicts

_ZERO = Decimal(0)

BATCH_LIMIT = 10
"""Items per ``batch_orders`` / ``cancel_batch_orders`` request.

HTX's USDT-M batch order endpoint (``swap_batchorder``, which v5 ``batch_orders`` replaces)
takes at most 10 orders, and spec §7 caps ``cancel_batch_orders`` at 10 ids: one cap for both.
"""

CANCEL_AFTER_KEY = "v5_cancel_after"
"""The emulator setting holding every armed deadline: JSON ``{uid: trigger_time_ms}``."""

MIN_TIME_OUT_MS = 5000
"""Spec §7 [3P]: ``time_out`` is at least 5000 ms."""


def batch_order(ctx: ServiceContext, uid: int, item: v5.V5Order) -> v5.Placed:
    """Place one item of a batch as ``/v5/trade/order`` does (a lead's open is copied).

    The dispatcher runs it once per item, each in a runner call of its own
    (``Route.per_item``), so a refused item is undone alone and the others stand.
    """
    return v5.place_order(ctx, uid, item)


def check_cancel_batch(
    ctx: ServiceContext, uid: int, refs: tuple[tuple[str, str], ...], contract_code: str
) -> None:
    """Refuse a whole ``cancel_batch_orders`` naming an unknown contract (1013)."""
    ctx.spec(contract_code)


def cancel_batch_item(
    ctx: ServiceContext, uid: int, ref: tuple[str, str], contract_code: str
) -> str:
    """Cancel one order of a batch, ``ref`` ``("order_id" | "client_order_id", id)``.

    Returns the order id. An id that cannot exist is an unknown order (1017), like one that
    does not.
    """
    ctx.spec(contract_code)
    kind, text = ref
    if kind == "order_id":
        if not (text.isascii() and text.isdigit() and len(text) <= 19):
            raise OrderNotFound(text)
        v5.cancel_orders(ctx, uid, contract_code, int(text))
        return text
    if not (text.isascii() and text.isdigit() and 1 <= int(text) < 2**63):
        raise OrderNotFound(text)
    (order,) = v5.cancel_orders(ctx, uid, contract_code, None, text)
    return str(order.order_id)


@retry_conflicts
def position_all(ctx: ServiceContext, uid: int) -> list[int]:
    """Close every position of the account at market, the copies with them, atomically.

    One closing order per (contract, margin mode, side); returns their ids (none: nothing held).
    """
    with ctx.uow() as uow:
        trader = uow.accounts.get(uid)
        if trader is None:
            raise UnknownUser(uid)
        markets = ctx.markets(uow.markets.marks())
        env = ctx.env()
        keys = sorted(
            {p.key for p in trader.positions.values() if p.lead_uid is None},
            key=lambda k: (k[0], k[1].value, k[2].value),
        )
        ids: list[int] = []
        follows = None
        for key in keys:
            closed = v5.close_as_order(ctx, uow, trader, key, markets, env)
            if closed is not None:
                ids.append(closed[0].order_id)
                follows = closed[1]
        if follows is not None:
            # as v1 close_all_position: a loss realised with the lead (its close fee
            # included) may reach a follower's total stop-loss (spec §8.1)
            rules_after_close(ctx, uow, trader.uid, follows, markets, env)
        if ids:
            uow.accounts.save(env.changes)
            uow.commit()
    if ids:
        ctx.committed(env.changes)
    return ids


@dataclass(frozen=True, slots=True)
class PageQuery:
    """The filters and paging ``position/history`` and ``account/bills`` share.

    Attributes:
        from_id: The page starts after this id (``None``: at the newest, or the oldest with
            ``forward``).
        forward: ``direct=next``: older to newer from ``from_id``; else newer to older.
    """

    contract_code: str | None
    margin_mode: MarginMode | None
    start: int
    end: int
    from_id: int | None
    forward: bool
    limit: int
    kind: str | None = None


def _page(rows: list[Any], query: PageQuery, key: Callable[[Any], tuple[int, int]]) -> list[Any]:
    """Return one page of ``rows``, newest first either way.

    ``key`` is a row's ``(time, id)``: rows are ordered by the time they happened (a closed
    position's close, not its open, whose id it keeps), so a poller asking for what is newer
    than the newest row it saw (``direct=next``) misses none. ``from_id`` names a row of
    ``rows``; an id not among them pages by id alone.
    """
    rows.sort(key=key, reverse=True)
    if query.from_id is None:
        return rows[: query.limit] if not query.forward else rows[-query.limit :]
    from_id = query.from_id
    anchor = next((key(r) for r in rows if key(r)[1] == from_id), None)

    def newer(r: Any) -> bool:
        return key(r) > anchor if anchor is not None else key(r)[1] > from_id

    if query.forward:
        after = [r for r in rows if newer(r)]
        return after[-query.limit :]  # the ``limit`` just newer than ``from_id``, newest first
    return [r for r in rows if not newer(r) and key(r)[1] != from_id][: query.limit]


def position_history(ctx: ServiceContext, uid: int, query: PageQuery) -> list[SubPosition]:
    """Return the account's closed positions by close time and filters, newest closed first."""
    if query.contract_code is not None:
        ctx.spec(query.contract_code)
    with ctx.reads() as reads:
        if reads.user(uid) is None:
            raise UnknownUser(uid)
        report = reads.user_report(uid)
    rows = [
        p
        for p in v5.report_part(report, "closed_positions")
        if query.contract_code in (None, p.contract_code)
        and query.margin_mode in (None, p.margin_mode)
        and p.close_time is not None
        and query.start <= p.close_time <= query.end
    ]
    return list(_page(rows, query, lambda p: (p.close_time, p.sub_position_id)))


def position_margin(
    ctx: ServiceContext,
    uid: int,
    contract_code: str,
    side: PositionSide | None,
    amount: Decimal,
    kind: MarginAdjust,
) -> None:
    """Add margin to, or reduce it from, an isolated position: v1 ``add_margin``'s use case.

    Without a side (absent, or ``both`` in one-way mode) the isolated side held decides; with
    both sides held the side is required (1067).
    """
    if side is None:
        with ctx.reads() as reads:
            account = reads.account(uid)
        if account is None:
            raise UnknownUser(uid)
        held = {
            p.side
            for p in account.positions.values()
            if p.contract_code == contract_code and p.margin_mode is MarginMode.ISOLATED
        }
        if len(held) > 1:
            raise IllegalParameter("position_side", "")
        side = held.pop() if held else PositionSide.LONG  # none held: add_margin says 1048
    v1.add_margin(ctx, uid, contract_code, side, amount, kind)


@dataclass(frozen=True, slots=True)
class BillRow:
    """One change of the account's USDT: ``amount`` positive credits, negative debits."""

    bill_id: int
    contract_code: str | None
    margin_mode: MarginMode | None
    kind: str
    amount: Decimal
    ts: int


BILL_TYPES = frozenset(
    {"trade_fee", "funding_fee", "realized_pnl", "profit_share_income", "profit_share_expense"}
)
"""The bill types [INF]: HTX's v5 page names a ``type`` filter but no list of values here."""


def bills(ctx: ServiceContext, uid: int, query: PageQuery) -> list[BillRow]:
    """Return the account's bills from the records the engine keeps, newest first.

    A trade's fee (``trade_fee``), a funding payment (``funding_fee``), a closed position's
    gross profit (``realized_pnl``: its fees are their own bills) and a profit share received
    or paid. Ids are the records' own (one id sequence: they never collide).
    """
    if query.contract_code is not None:
        ctx.spec(query.contract_code)
    with ctx.reads() as reads:
        account = reads.account(uid)
        if account is None:
            raise UnknownUser(uid)
        report = reads.user_report(uid)
    modes = {p.sub_position_id: p.margin_mode for p in account.positions.values()}
    for closed in v5.report_part(report, "closed_positions"):
        modes[closed.sub_position_id] = closed.margin_mode
    rows: list[BillRow] = []
    for fill in map(v5.fill_record, v5.report_part(report, "fills")):
        kind = "funding_fee" if fill.offset == "funding" else "trade_fee"
        mode = modes.get(fill.sub_position_id, MarginMode.CROSS)
        rows.append(BillRow(fill.trade_id, fill.contract_code, mode, kind, -fill.fee, fill.ts))
    for pos in v5.report_part(report, "closed_positions"):
        if pos.profit is not None and pos.close_time is not None:
            gross = pos.profit + pos.open_fee + pos.close_fee
            rows.append(
                BillRow(
                    pos.sub_position_id,
                    pos.contract_code,
                    pos.margin_mode,
                    "realized_pnl",
                    gross,
                    pos.close_time,
                )
            )
    for share in v5.report_part(report, "profit_shares_received"):
        rows.append(
            BillRow(share.item_id, None, None, "profit_share_income", share.amount, share.ts)
        )
    for share in v5.report_part(report, "profit_shares_paid"):
        rows.append(
            BillRow(share.item_id, None, None, "profit_share_expense", -share.amount, share.ts)
        )
    chosen = [
        r
        for r in rows
        if query.contract_code in (None, r.contract_code)
        and query.margin_mode in (None, r.margin_mode)
        and query.kind in (None, r.kind)
        and query.start <= r.ts <= query.end
    ]
    return list(_page(chosen, query, lambda r: (r.ts, r.bill_id)))


# --- cancel-after -------------------------------------------------------------------------------


def _deadlines(text: str | None) -> dict[int, int]:
    return {int(k): int(v) for k, v in json.loads(text).items()} if text else {}


def _dump(deadlines: dict[int, int]) -> str:
    return json.dumps({str(k): v for k, v in sorted(deadlines.items())})


@retry_conflicts
def cancel_after(ctx: ServiceContext, uid: int, on: bool, time_out: int) -> tuple[int, int]:
    """Arm (or renew) the dead-man switch for ``time_out`` ms, or turn it off.

    Returns ``(current_time, trigger_time)``; ``trigger_time`` 0 when off.
    """
    now = ctx.clock.now_ms()
    with ctx.admin() as uow:
        if uow.accounts.get(uid) is None:
            raise UnknownUser(uid)
        deadlines = _deadlines(uow.admin.meta(CANCEL_AFTER_KEY, lock=True))
        trigger = now + time_out if on else 0
        if on:
            deadlines[uid] = trigger
        else:
            deadlines.pop(uid, None)
        uow.admin.set_meta(CANCEL_AFTER_KEY, _dump(deadlines))
        uow.commit()
    return now, trigger


def armed_cancel_after(ctx: ServiceContext) -> dict[int, int]:
    """Return every armed deadline: UID -> trigger time (ms)."""
    with ctx.admin() as uow:
        return _deadlines(uow.admin.meta(CANCEL_AFTER_KEY))


def next_cancel_after(ctx: ServiceContext) -> int | None:
    """Return the earliest armed deadline (``None``: none armed)."""
    deadlines = armed_cancel_after(ctx)
    return min(deadlines.values()) if deadlines else None


@retry_conflicts
def fire_cancel_after(ctx: ServiceContext, at_ms: int) -> list[Order]:
    """Cancel the open orders of every account whose deadline is ``at_ms`` or earlier.

    Runs at the deadline's own simulation time (the ticker calls it in time order with the
    price ticks), in one transaction; the deadlines fired are disarmed.
    """
    with ctx.admin() as uow:
        deadlines = _deadlines(uow.admin.meta(CANCEL_AFTER_KEY, lock=True))
        due = sorted(u for u, t in deadlines.items() if t <= at_ms)
        if not due:
            return []
        env = ctx.env(at_ms)
        cancelled: list[Order] = []
        accounts = uow.accounts.get_many(due)
        for uid in due:
            del deadlines[uid]
            account = accounts.get(uid)
            if account is None:
                continue
            for order in sorted(account.orders.values(), key=lambda o: o.order_id):
                order.apply("cancel")
                del account.orders[order.order_id]
                env.changes.save_order(order)
                cancelled.append(order)
        uow.admin.set_meta(CANCEL_AFTER_KEY, _dump(deadlines))
        uow.accounts.save(env.changes)
        uow.commit()
    ctx.committed(env.changes)
    return cancelled
