"""The read side in SQL: pages of positions and followers, a user's history (both stores).

Plain ``SELECT`` statements: no row locks, nothing taken out of any store's memory.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, desc, distinct, func, select

from copytrade.adapters.db import schema as t
from copytrade.adapters.db.rows import algo_from_row, order_from_row, position_from_row
from copytrade.adapters.db.sql import query
from copytrade.domain.algo import AlgoOrder
from copytrade.domain.enums import Liquidity, MarginMode, PositionSide, SkipReason
from copytrade.domain.model import CopySkipped, FillRecord, OrderTag, ProfitShare, SubPosition
from copytrade.service.ports import (
    AlgoQuery,
    FollowerRow,
    OrderQuery,
    Page,
    TaggedOrder,
    Trade,
    UserReport,
)


def positions_page(
    conn: Connection, uid: int, contract_code: str, is_open: bool, page: Page
) -> list[SubPosition]:
    """Return a page of open or closed sub positions, by id (spec §6.11 paging)."""
    p = t.positions
    conds = [
        p.c.uid == uid,
        p.c.contract_code == contract_code,
        p.c.is_open.is_(is_open),
        p.c.open_time >= page.start_time,
        p.c.open_time <= page.end_time,
    ]
    if page.from_id is not None:
        conds.append(
            p.c.sub_position_id > page.from_id
            if page.ascending
            else p.c.sub_position_id < page.from_id
        )
    order = p.c.sub_position_id.asc() if page.ascending else p.c.sub_position_id.desc()
    rows = conn.execute(select(p).where(and_(*conds)).order_by(order).limit(page.limit))
    return [position_from_row(r) for r in rows]


def followers_page(conn: Connection, trader_uid: int, page: Page) -> list[FollowerRow]:
    """Return a page of current followers with committed funds and realised copy PnL."""
    f, u, a, p = t.follows, t.users, t.accounts, t.positions
    conds = [
        f.c.trader_uid == trader_uid,
        f.c.active.is_(True),
        f.c.started_at >= page.start_time,
        f.c.started_at <= page.end_time,
    ]
    if page.from_id is not None:
        conds.append(
            f.c.follow_id > page.from_id if page.ascending else f.c.follow_id < page.from_id
        )
    order = f.c.follow_id.asc() if page.ascending else f.c.follow_id.desc()
    rows = conn.execute(
        select(f.c.follow_id, f.c.follower_uid, f.c.started_at, u.c.name, a.c.balance)
        .join(u, u.c.uid == f.c.follower_uid)
        .join(a, a.c.uid == f.c.follower_uid)
        .where(and_(*conds))
        .order_by(order)
        .limit(page.limit)
    ).all()
    # realised copy PnL of the whole page in one query (decimals are summed exactly here)
    totals: dict[int, Decimal] = {r.follower_uid: Decimal(0) for r in rows}
    if totals:
        closed = conn.execute(
            select(p.c.uid, p.c.profit).where(
                and_(
                    p.c.uid.in_(list(totals)),
                    p.c.lead_uid == trader_uid,
                    p.c.is_open.is_(False),
                )
            )
        )
        for uid, profit in closed:
            if profit is not None:
                totals[uid] += profit
    return [
        FollowerRow(
            r.follow_id, r.follower_uid, r.name, r.started_at, r.balance, totals[r.follower_uid]
        )
        for r in rows
    ]


def followers_ever(conn: Connection, trader_uid: int) -> int:
    """Return how many distinct followers have ever followed the trader (ended follows too)."""
    f = t.follows
    counted = select(func.count(distinct(f.c.follower_uid))).where(f.c.trader_uid == trader_uid)
    return int(conn.execute(counted).scalar_one())


def _fill(r: Any) -> FillRecord:
    return FillRecord(
        r.trade_id,
        r.uid,
        r.order_id,
        r.sub_position_id,
        r.contract_code,
        PositionSide(r.side),
        r.offset,
        r.price,
        r.volume,
        r.fee,
        Liquidity(r.liquidity),
        r.ts,
    )


def _skip(r: Any) -> CopySkipped:
    return CopySkipped(
        r.skip_id,
        r.trader_uid,
        r.follower_uid,
        r.lead_sub_position_id,
        r.contract_code,
        MarginMode(r.margin_mode),
        PositionSide(r.side),
        r.wanted_volume,
        SkipReason(r.reason),
        r.detail,
        r.ts,
    )


def _share(r: Any) -> ProfitShare:
    return ProfitShare(
        r.item_id, r.trader_uid, r.follower_uid, r.lead_sub_position_id, r.amount, r.currency, r.ts
    )


def user_report(conn: Connection, uid: int) -> UserReport:
    """Return fills, skipped copies, closed positions and profit shares of a UID."""

    def rows(stmt: Any, build: Callable[[Any], Any]) -> list[Any]:
        return [build(r) for r in conn.execute(stmt)]

    shares = t.profit_shares
    return UserReport(
        fills=rows(
            # every fill belongs to a sub position of its UID (fills are indexed by sub
            # position, positions by UID)
            select(t.fills)
            .where(
                t.fills.c.sub_position_id.in_(
                    select(t.positions.c.sub_position_id).where(t.positions.c.uid == uid)
                ),
                t.fills.c.uid == uid,
            )
            .order_by(t.fills.c.trade_id),
            _fill,
        ),
        skipped_copies=rows(
            select(t.copy_skips)
            .where(t.copy_skips.c.follower_uid == uid)
            .order_by(t.copy_skips.c.skip_id),
            _skip,
        ),
        closed_positions=rows(
            select(t.positions)
            .where(and_(t.positions.c.uid == uid, t.positions.c.is_open.is_(False)))
            .order_by(t.positions.c.sub_position_id),
            position_from_row,
        ),
        profit_shares_received=rows(
            select(shares).where(shares.c.trader_uid == uid).order_by(shares.c.item_id), _share
        ),
        profit_shares_paid=rows(
            select(shares).where(shares.c.follower_uid == uid).order_by(shares.c.item_id), _share
        ),
    )


def v5_orders(conn: Connection, uid: int, q: OrderQuery) -> list[TaggedOrder]:
    """Return a UID's v5 orders (its ``v5_orders`` rows, keyed by UID) with their state."""
    o, g = t.orders, t.v5_orders
    conds = [g.c.uid == uid, o.c.created_at >= q.start, o.c.created_at <= q.end]
    if q.order_ids is not None:
        conds.append(g.c.order_id.in_(list(q.order_ids)))
    if q.client_order_id is not None:
        conds.append(g.c.client_order_id == q.client_order_id)
    if q.contract_code is not None:
        conds.append(o.c.contract_code == q.contract_code)
    if q.margin_mode is not None:
        conds.append(o.c.margin_mode == q.margin_mode.value)
    if q.finished_only:
        conds.append(o.c.status != "open")
    rows = conn.execute(
        select(
            o,
            g.c.direction,
            g.c.position_side,
            g.c.reduce_only,
            g.c.kind,
            g.c.tif,
            g.c.client_order_id,
        )
        .join(o, o.c.order_id == g.c.order_id)
        .where(and_(*conds))
        .order_by(desc(g.c.order_id))
        .limit(q.limit)
    )
    width = len(o.columns)
    found = []
    for r in rows:
        order = order_from_row(r)
        d, side, reduce_only, kind, tif, client = r[width:]
        tag = OrderTag(order.order_id, uid, d, side, bool(reduce_only), kind, tif, client)
        found.append(TaggedOrder(order, tag))
    return found


def algo_orders(conn: Connection, uid: int, q: AlgoQuery) -> list[AlgoOrder]:
    """Return a UID's trigger and trailing orders that ``q`` selects, newest first."""
    a = t.algo_orders
    conds = [a.c.uid == uid]
    if q.algo_id is not None:
        conds.append(a.c.algo_id == q.algo_id)
    if q.finished_only:
        conds += [a.c.state != "active", a.c.updated_time >= q.start, a.c.updated_time <= q.end]
    rows = conn.execute(select(a).where(and_(*conds)).order_by(desc(a.c.algo_id)))
    found = [algo_from_row(r) for r in rows]
    if q.client_order_id is not None:  # kept in the body: few orders per UID
        found = [x for x in found if x.client_order_id == q.client_order_id]
    return found


def recent_trades(conn: Connection, contract_code: str, limit: int) -> list[Trade]:
    """Return a contract's newest trades (``ix_fills_contract_trade``, read backwards).

    On the driver's cursor: thousands of rows per market-data request.
    """
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    sql = (
        'SELECT trade_id, ts, price, volume, side, "offset" FROM fills '  # noqa: S608
        f"WHERE contract_code = {mark} AND \"offset\" IN ('open', 'close') "
        f"ORDER BY contract_code DESC, trade_id DESC LIMIT {mark}"
    )
    rows = query(conn, sql, [contract_code, limit])
    return [
        Trade(trade_id, ts, Decimal(price), Decimal(volume), (side == "long") == (off == "open"))
        for trade_id, ts, price, volume, side, off in rows
    ]


def recent_marks(conn: Connection, contract_code: str, limit: int) -> list[tuple[int, Decimal]]:
    """Return a contract's newest mark moves ``(ts, price)``."""
    m = t.mark_moves
    stmt = (
        select(m.c.ts, m.c.mark_price)
        .where(m.c.contract_code == contract_code)
        .order_by(desc(m.c.move_id))
        .limit(limit)
    )
    return [(int(ts), Decimal(price)) for ts, price in conn.execute(stmt)]
