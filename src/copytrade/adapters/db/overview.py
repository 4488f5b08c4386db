"""The dashboard's reads: recent rows of the whole sandbox, on a connection of their own.

Read-only and bounded (``limit`` rows per kind, newest first by id: ids grow with time), so a
dashboard polling every second costs a few indexed range scans. It sees committed rows only.

On SQLite the server's engine opens every transaction with ``BEGIN IMMEDIATE`` (the write
lock), so the reader keeps an engine of its own over the same file, whose plain ``SELECT``s
read a WAL snapshot and never wait for, nor hold up, the writer.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Connection, Engine, and_, create_engine, func, select
from sqlalchemy.orm import aliased

from copytrade.adapters.db import schema as t
from copytrade.domain.enums import PositionSide
from copytrade.service.overview import (
    CopyRow,
    FillRow,
    OverviewRows,
    PositionRow,
    SkipRow,
    TraderRow,
)

FIRST_FOLLOWERS = 5
"""How many follower UIDs the dashboard lists beside each trader."""

_POSITION_COLUMNS = (
    t.positions.c.sub_position_id,
    t.positions.c.uid,
    t.positions.c.contract_code,
    t.positions.c.side,
    t.positions.c.volume,
    t.positions.c.open_avg_price,
    t.positions.c.lever,
    t.positions.c.lead_uid,
    t.positions.c.open_time,
)


def _position(r: tuple[object, ...]) -> PositionRow:
    return PositionRow(
        r[0],  # type: ignore[arg-type]
        r[1],  # type: ignore[arg-type]
        r[2],  # type: ignore[arg-type]
        PositionSide(str(r[3])),
        r[4],  # type: ignore[arg-type]
        r[5],  # type: ignore[arg-type]
        r[6],  # type: ignore[arg-type]
        r[7],  # type: ignore[arg-type]
        r[8],  # type: ignore[arg-type]
    )


class SqlOverviewReader:
    """:class:`~copytrade.service.overview.OverviewReader` over the SQL schema."""

    def __init__(self, engine: Engine) -> None:
        """Read the database of ``engine`` (SQLite file: through a read engine of its own)."""
        self._own = engine.dialect.name == "sqlite" and engine.url.database not in (
            None,
            "",
            ":memory:",
        )
        self._engine = (
            create_engine(engine.url, connect_args={"check_same_thread": False})
            if self._own
            else engine
        )

    def close(self) -> None:
        """Release the read engine's connections (the server's engine is left alone)."""
        if self._own:
            self._engine.dispose()

    @staticmethod
    def _first_followers(c: Connection, uids: list[int]) -> dict[int, tuple[int, ...]]:
        """Return the first few current followers of each trader (a window, not all rows)."""
        rank = (
            func.row_number()
            .over(partition_by=t.follows.c.trader_uid, order_by=t.follows.c.follow_id)
            .label("rank")
        )
        ranked = (
            select(t.follows.c.trader_uid, t.follows.c.follower_uid, rank)
            .where(t.follows.c.active.is_(True), t.follows.c.trader_uid.in_(uids))
            .subquery()
        )
        found: dict[int, list[int]] = {}
        for trader, follower in c.execute(
            select(ranked.c.trader_uid, ranked.c.follower_uid)
            .where(ranked.c.rank <= FIRST_FOLLOWERS)
            .order_by(ranked.c.trader_uid, ranked.c.rank)
        ):
            found.setdefault(trader, []).append(follower)
        return {trader: tuple(followers) for trader, followers in found.items()}

    def trader_counts(self) -> list[tuple[int, int, int]]:
        """Return ``(uid, open positions, active followers)`` of every trader, by uid."""
        open_counts = (
            select(t.positions.c.uid, func.count().label("n"))
            .where(t.positions.c.is_open.is_(True))
            .group_by(t.positions.c.uid)
            .subquery()
        )
        follower_counts = (
            select(t.follows.c.trader_uid.label("uid"), func.count().label("n"))
            .where(t.follows.c.active.is_(True))
            .group_by(t.follows.c.trader_uid)
            .subquery()
        )
        query = (
            select(
                t.users.c.uid,
                func.coalesce(open_counts.c.n, 0),
                func.coalesce(follower_counts.c.n, 0),
            )
            .select_from(
                t.users.outerjoin(open_counts, open_counts.c.uid == t.users.c.uid).outerjoin(
                    follower_counts, follower_counts.c.uid == t.users.c.uid
                )
            )
            .where(t.users.c.role == "trader")
            .order_by(t.users.c.uid)
        )
        with self._engine.connect() as c:
            return [(int(a), int(b), int(n)) for a, b, n in c.execute(query)]

    def read(self, limit: int) -> OverviewRows:
        """Return at most ``limit`` rows of each kind, newest first."""
        with self._engine.connect() as c:
            followers = (
                select(t.follows.c.trader_uid, func.count().label("n"))
                .where(t.follows.c.active.is_(True))
                .group_by(t.follows.c.trader_uid)
                .subquery()
            )
            open_lead = (
                select(t.positions.c.uid, func.count().label("n"))
                .where(t.positions.c.is_open.is_(True), t.positions.c.lead_uid.is_(None))
                .group_by(t.positions.c.uid)
                .subquery()
            )
            trader_rows = c.execute(
                select(
                    t.users.c.uid,
                    t.accounts.c.balance,
                    func.coalesce(followers.c.n, 0),
                    func.coalesce(open_lead.c.n, 0),
                )
                .join(t.accounts, t.accounts.c.uid == t.users.c.uid)
                .outerjoin(followers, followers.c.trader_uid == t.users.c.uid)
                .outerjoin(open_lead, open_lead.c.uid == t.users.c.uid)
                .where(t.users.c.role == "trader")
                .order_by(t.users.c.uid.desc())
                .limit(limit)
            ).all()
            uids = [r[0] for r in trader_rows]
            first = self._first_followers(c, uids)
            traders = [
                TraderRow(r[0], r[1], int(r[2]), int(r[3]), first_followers=first.get(r[0], ()))
                for r in trader_rows
            ]
            lead_positions = [
                _position(tuple(r))
                for r in c.execute(
                    select(*_POSITION_COLUMNS).where(
                        t.positions.c.uid.in_(uids),
                        t.positions.c.is_open.is_(True),
                        t.positions.c.lead_uid.is_(None),
                    )
                )
            ]
            positions = [
                _position(tuple(r))
                for r in c.execute(
                    select(*_POSITION_COLUMNS)
                    .where(t.positions.c.is_open.is_(True))
                    .order_by(t.positions.c.sub_position_id.desc())
                    .limit(limit)
                )
            ]
            lead = aliased(t.positions)
            copy = t.positions
            copies = [
                CopyRow(
                    r[0],
                    r[1],
                    r[2],
                    r[3],
                    PositionSide(r[4]),
                    r[5],
                    r[6],
                    r[7],
                    r[8],
                    bool(r[9]),
                    r[10],
                )
                for r in c.execute(
                    select(
                        copy.c.sub_position_id,
                        copy.c.uid,
                        copy.c.lead_uid,
                        copy.c.contract_code,
                        copy.c.side,
                        copy.c.volume,
                        copy.c.open_avg_price,
                        lead.c.open_avg_price,
                        lead.c.volume,
                        copy.c.is_open,
                        copy.c.open_time,
                    )
                    .join(lead, lead.c.sub_position_id == copy.c.lead_sub_position_id)
                    .where(copy.c.lead_sub_position_id.is_not(None))
                    .order_by(copy.c.sub_position_id.desc())
                    .limit(limit)
                )
            ]
            fills = [
                FillRow(*r)
                for r in c.execute(
                    select(
                        t.fills.c.trade_id,
                        t.fills.c.uid,
                        t.fills.c.contract_code,
                        t.fills.c.side,
                        t.fills.c.offset,
                        t.fills.c.price,
                        t.fills.c.volume,
                        t.fills.c.fee,
                        t.fills.c.ts,
                    )
                    .order_by(t.fills.c.trade_id.desc())
                    .limit(limit)
                )
            ]
            skips = [
                SkipRow(*r)
                for r in c.execute(
                    select(
                        t.copy_skips.c.skip_id,
                        t.copy_skips.c.trader_uid,
                        t.copy_skips.c.follower_uid,
                        t.copy_skips.c.contract_code,
                        t.copy_skips.c.side,
                        t.copy_skips.c.wanted_volume,
                        t.copy_skips.c.reason,
                        t.copy_skips.c.detail,
                        t.copy_skips.c.ts,
                    )
                    .order_by(t.copy_skips.c.skip_id.desc())
                    .limit(limit)
                )
            ]
            copy_prices: dict[int, list[Decimal]] = {}
            lead_ids = [p.sub_position_id for p in lead_positions]
            if lead_ids:
                for lead_id, price in c.execute(
                    select(copy.c.lead_sub_position_id, copy.c.open_avg_price).where(
                        copy.c.lead_sub_position_id.in_(lead_ids), copy.c.is_open.is_(True)
                    )
                ):
                    copy_prices.setdefault(lead_id, []).append(Decimal(price))
            for prices in copy_prices.values():
                prices.sort()
            users = c.execute(select(func.count()).select_from(t.users)).scalar_one()
            open_count = c.execute(
                select(func.count())
                .select_from(t.positions)
                .where(and_(t.positions.c.is_open.is_(True)))
            ).scalar_one()
        return OverviewRows(
            traders,
            positions,
            fills,
            copies,
            skips,
            lead_positions,
            int(users),
            int(open_count),
            copy_prices,
        )
