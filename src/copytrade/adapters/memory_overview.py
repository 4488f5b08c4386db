"""The dashboard's reads over the in-memory store: the same rows the SQL reader returns."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from copytrade.adapters.memory import MemoryStore
from copytrade.domain.model import SubPosition
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


def _row(p: SubPosition) -> PositionRow:
    return PositionRow(
        p.sub_position_id,
        p.uid,
        p.contract_code,
        p.side,
        p.volume,
        p.open_avg_price,
        p.lever,
        p.lead_uid,
        p.open_time,
    )


class MemoryOverviewReader:
    """:class:`~copytrade.service.overview.OverviewReader` over a memory store's state."""

    def __init__(self, store: MemoryStore) -> None:
        """Read ``store``'s committed state."""
        self._store = store

    def close(self) -> None:
        """Nothing to release."""

    def trader_counts(self) -> list[tuple[int, int, int]]:
        """Return ``(uid, open positions, active followers)`` of every trader, by uid."""
        with self._store.lock:
            state = self._store.state
            traders = sorted(u.uid for u in state.users.values() if u.role == "trader")
            followers = Counter(f.trader_uid for f in state.follows.values() if f.active)
            return [
                (uid, len(state.open_positions.get(uid, {})), followers[uid]) for uid in traders
            ]

    def read(self, limit: int) -> OverviewRows:
        """Return at most ``limit`` rows of each kind, newest first."""
        with self._store.lock:
            state = self._store.state
            open_all = [p for book in state.open_positions.values() for p in book.values()]
            everything = {p.sub_position_id: p for p in (*open_all, *state.closed.values())}
            follows = sorted(
                (f for f in state.follows.values() if f.active), key=lambda f: f.follow_id
            )
            leads = [p for p in open_all if p.lead_uid is None]
            trader_uids = sorted(
                (u.uid for u in state.users.values() if u.role == "trader"), reverse=True
            )[:limit]
            traders = [
                TraderRow(
                    uid,
                    state.balances[uid],
                    sum(1 for f in follows if f.trader_uid == uid),
                    sum(1 for p in leads if p.uid == uid),
                    first_followers=tuple(f.follower_uid for f in follows if f.trader_uid == uid)[
                        :FIRST_FOLLOWERS
                    ],
                )
                for uid in trader_uids
            ]
            chosen = set(trader_uids)
            copies = [
                CopyRow(
                    p.sub_position_id,
                    p.uid,
                    p.lead_uid,
                    p.contract_code,
                    p.side,
                    p.volume,
                    p.open_avg_price,
                    lead.open_avg_price,
                    lead.volume,
                    p.is_open,
                    p.open_time,
                )
                for p in sorted(everything.values(), key=lambda p: -p.sub_position_id)
                if p.lead_uid is not None
                and p.lead_sub_position_id is not None
                and (lead := everything.get(p.lead_sub_position_id)) is not None
            ][:limit]
            fills = [
                FillRow(
                    f.trade_id,
                    f.uid,
                    f.contract_code,
                    f.side.value,
                    f.offset,
                    f.price,
                    f.volume,
                    f.fee,
                    f.ts,
                )
                for f in sorted(state.fills, key=lambda f: -f.trade_id)[:limit]
            ]
            skips = [
                SkipRow(
                    s.skip_id,
                    s.trader_uid,
                    s.follower_uid,
                    s.contract_code,
                    s.side.value,
                    s.wanted_volume,
                    s.reason.value,
                    s.detail,
                    s.ts,
                )
                for s in sorted(state.skips, key=lambda s: -s.skip_id)[:limit]
            ]
            shown = [p for p in leads if p.uid in chosen]
            shown_ids = {p.sub_position_id for p in shown}
            copy_prices: dict[int, list[Decimal]] = {}
            for p in open_all:
                if p.lead_sub_position_id in shown_ids:
                    copy_prices.setdefault(p.lead_sub_position_id, []).append(p.open_avg_price)
            for prices in copy_prices.values():
                prices.sort()
            return OverviewRows(
                traders,
                [_row(p) for p in sorted(open_all, key=lambda p: -p.sub_position_id)[:limit]],
                fills,
                copies,
                skips,
                [_row(p) for p in shown],
                len(state.users),
                len(open_all),
                copy_prices,
            )
