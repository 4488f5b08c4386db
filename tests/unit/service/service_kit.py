"""A service context over the in-memory store, with a fixed clock and counting ids."""

from __future__ import annotations

import itertools
from decimal import Decimal

from copytrade.adapters.memory import MemoryStore
from copytrade.domain.enums import MarginMode, OrderDirection, OrderPriceType
from copytrade.domain.instruments import DEFAULT_CONTRACTS, DEFAULT_MARKS
from copytrade.domain.trading import OpenRequest
from copytrade.service import sim
from copytrade.service.context import ServiceContext
from copytrade.service.ports import Page

NOW = 1_719_304_200_000
D = Decimal


class FixedClock:
    """A clock the test moves by hand."""

    def __init__(self, now: int = NOW) -> None:
        self.now = now

    def now_ms(self) -> int:
        return self.now


class CountingIds:
    """Ids 1, 2, 3, …"""

    def __init__(self) -> None:
        self._next = itertools.count(1).__next__

    def next_id(self) -> int:
        return self._next()

    def next_ids(self, count: int) -> int:
        first = self._next()
        for _ in range(count - 1):
            self._next()
        return first


def make_ctx(store: MemoryStore | None = None) -> ServiceContext:
    """Return a context over ``store`` (a fresh one by default), markets seeded."""
    store = store or MemoryStore()
    ctx = ServiceContext(
        uow=store.uow,
        admin=store.admin,
        reads=store.reads,
        clock=FixedClock(),
        ids=CountingIds(),
        contracts={c.contract_code: c for c in DEFAULT_CONTRACTS},
    )
    sim.seed_markets(ctx, dict(DEFAULT_MARKS))
    return ctx


def buy(
    volume: str = "1",
    *,
    code: str = "BTC-USDT",
    mode: MarginMode = MarginMode.CROSS,
    lever: int = 10,
    price: str | None = None,
    tp: str | None = None,
    sl: str | None = None,
    direction: OrderDirection = OrderDirection.BUY,
) -> OpenRequest:
    """Return an opening order (market unless ``price`` is given)."""
    return OpenRequest(
        code,
        direction,
        D(volume),
        mode,
        OrderPriceType.LIMIT if price is not None else OrderPriceType.MARKET,
        D(price) if price is not None else None,
        lever,
        tp_trigger_price=D(tp) if tp is not None else None,
        sl_trigger_price=D(sl) if sl is not None else None,
    )


def page(ascending: bool = False, from_id: int | None = None, limit: int = 100) -> Page:
    """Return paging over the last 90 days."""
    return Page(ascending, from_id, limit, NOW - 90 * 86_400_000, NOW)
