"""Price paths: how a market's mark moves on the simulation clock (pure, deterministic).

A path is a recipe; a :class:`PathCursor` walks it from a start time and an origin price and
hands out the :class:`Tick` s that are due at a given simulation time, in order. Three kinds:

* :class:`FixedPath`: the mark moves only when someone sets it (the default).
* :class:`StochasticPath`: a seeded geometric Brownian motion (``gbm``) or arithmetic random
  walk (``walk``) with annualised volatility and drift, one tick every ``tick_ms``. The normal
  draws come from SHA-256 of ``(seed, tick number)``, so the same seed gives the same path on
  every machine, and no ``random`` module state is involved.
* :class:`ReplayPath`: user-supplied prices (or OHLC bars) at timestamps, replayed relative to
  the time the path starts (:func:`parse_price_csv`).

Prices are exact decimals; what a cursor hands out is rounded to the contract's tick and never
below one tick. The unrounded value carries on, so rounding does not bias the path.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext
from statistics import NormalDist
from typing import Literal

YEAR_MS = 365 * 24 * 3600 * 1000
"""Volatility and drift are annualised over a 365-day year of simulation time."""
_NORMAL = NormalDist()
_TWO_64 = 2**64
MAX_REPLAY_ROWS = 1_000_000
MAX_PEEK_TICKS = 100_000
"""A peek ahead (:meth:`PathCursor.ahead`) walks at most this many ticks (a long latency on a
fast path would otherwise cost seconds per order); past them the mark is the last one reached."""


class PathError(ValueError):
    """A path definition that cannot be used (bad parameters or an unreadable CSV)."""


@dataclass(frozen=True, slots=True)
class Tick:
    """A mark price due at a simulation time (epoch milliseconds)."""

    at_ms: int
    price: Decimal


@dataclass(frozen=True, slots=True)
class FixedPath:
    """The mark stays where it is until someone moves it."""

    kind: Literal["fixed"] = "fixed"


@dataclass(frozen=True, slots=True)
class StochasticPath:
    """A seeded random path: ``gbm`` (geometric) or ``walk`` (arithmetic, in origin units).

    ``volatility`` and ``drift`` are annualised (0.8 = 80 % a year); one tick every ``tick_ms``
    of simulation time.
    """

    model: Literal["gbm", "walk"]
    seed: int
    volatility: Decimal
    drift: Decimal = Decimal(0)
    tick_ms: int = 1000

    def __post_init__(self) -> None:
        """Refuse parameters that make no path."""
        if self.tick_ms <= 0:
            raise PathError("tick_ms must be positive")
        if self.volatility < 0:
            raise PathError("volatility must not be negative")

    @property
    def kind(self) -> str:
        """Return ``gbm`` or ``walk``."""
        return self.model

    @property
    def dt(self) -> Decimal:
        """Return one tick's length in years."""
        return Decimal(self.tick_ms) / YEAR_MS


@dataclass(frozen=True, slots=True)
class ReplayPath:
    """Prices at offsets (ms) from the path's start, in time order."""

    points: tuple[tuple[int, Decimal], ...]

    def __post_init__(self) -> None:
        """Refuse an empty replay, prices that are not positive, offsets that go back."""
        if not self.points:
            raise PathError("a replay needs at least one price")
        last = 0
        for offset, price in self.points:
            if offset < last:
                raise PathError("timestamps must not go back")
            if not price > 0:
                raise PathError("prices must be positive")
            last = offset

    @property
    def kind(self) -> str:
        """Return ``replay``."""
        return "replay"


PricePath = FixedPath | StochasticPath | ReplayPath


def normal_draw(seed: int, n: int) -> Decimal:
    """Return the standard normal draw number ``n`` of ``seed`` (deterministic everywhere)."""
    digest = hashlib.sha256(f"copytrade-path:{seed}:{n}".encode()).digest()
    u = (int.from_bytes(digest[:8], "big") + 0.5) / _TWO_64  # strictly inside (0, 1)
    return Decimal(_NORMAL.inv_cdf(u))


def next_price(path: StochasticPath, n: int, previous: Decimal, origin: Decimal) -> Decimal:
    """Return tick ``n``'s exact price after ``previous`` (``origin``: the path's first price)."""
    z = normal_draw(path.seed, n)
    dt = path.dt
    with localcontext() as ctx:
        ctx.prec = 34
        shock = path.volatility * dt.sqrt() * z
        if path.model == "gbm":
            log_step = (path.drift - path.volatility**2 / 2) * dt + shock
            return +(previous * log_step.exp())
        price = previous + origin * (path.drift * dt + shock)
        floor = origin / 1000  # an arithmetic walk may not reach zero: it rests on a floor
        return +(price if price > floor else floor)


class PathCursor:
    """A path walked from ``start_ms`` and ``origin``: hands out due ticks, in order."""

    def __init__(
        self, path: PricePath, start_ms: int, origin: Decimal, price_tick: Decimal
    ) -> None:
        """Start ``path`` at ``start_ms`` from the mark ``origin``; round to ``price_tick``."""
        if not origin > 0 or not price_tick > 0:
            raise PathError("origin and tick must be positive")
        self.path = path
        self.start_ms = start_ms
        self.origin = origin
        self.price_tick = price_tick
        self._state: tuple[int, Decimal] = (0, origin)
        # ticks handed out and the unrounded price of the last one, in one tuple: a reader on
        # another thread (a command peeking ahead, :meth:`ahead`) never sees one without the other

    @property
    def ticks(self) -> int:
        """Return how many ticks were handed out."""
        return self._state[0]

    @property
    def exact(self) -> Decimal:
        """Return the unrounded price of the last tick handed out."""
        return self._state[1]

    @exact.setter
    def exact(self, price: Decimal) -> None:
        self._state = (self._state[0], price)

    def next_at(self) -> int | None:
        """Return the simulation time of the next tick (``None``: the path has ended)."""
        return self._next_at(self.ticks)

    def _next_at(self, ticks: int) -> int | None:
        path = self.path
        if isinstance(path, StochasticPath):
            return self.start_ms + (ticks + 1) * path.tick_ms
        if isinstance(path, ReplayPath) and ticks < len(path.points):
            return self.start_ms + path.points[ticks][0]
        return None

    def ahead(self, at_ms: int, limit: int = MAX_PEEK_TICKS) -> Decimal | None:
        """Return the mark the path reaches by ``at_ms``, without moving the cursor.

        Walks the ticks not handed out yet up to ``at_ms`` (at most ``limit``, the rest are
        not looked at) on a snapshot of the cursor, so the answer is the price those ticks
        will set when they are applied: deterministic, whatever thread asks. ``None`` when no
        tick falls by ``at_ms`` (the mark stays where it is).
        """
        ticks, exact = self._state
        price: Decimal | None = None
        for _ in range(limit):
            at = self._next_at(ticks)
            if at is None or at > at_ms:
                break
            ticks, exact = self._advance(ticks, exact)
            price = exact
        return None if price is None else self.rounded(price)

    def _advance(self, ticks: int, exact: Decimal) -> tuple[int, Decimal]:
        path = self.path
        if isinstance(path, StochasticPath):
            exact = next_price(path, ticks + 1, exact, self.origin)
        elif isinstance(path, ReplayPath):
            exact = path.points[ticks][1]
        return ticks + 1, exact

    def due(self, now_ms: int, limit: int | None = None) -> list[Tick]:
        """Return (and move past) every tick at or before ``now_ms``, at most ``limit``."""
        out: list[Tick] = []
        while limit is None or len(out) < limit:
            at = self.next_at()
            if at is None or at > now_ms:
                break
            out.append(self._step(at))
        return out

    def _step(self, at_ms: int) -> Tick:
        self._state = self._advance(*self._state)
        return Tick(at_ms, self.rounded(self.exact))

    def rounded(self, price: Decimal) -> Decimal:
        """Return ``price`` on the tick grid, at least one tick."""
        steps = (price / self.price_tick).to_integral_value()
        return max(steps, Decimal(1)) * self.price_tick


def _decimal(text: str, row: int) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise PathError(f"row {row}: {text.strip()[:20]!r} is not a number") from None
    if not value.is_finite():
        raise PathError(f"row {row}: {text.strip()[:20]!r} is not a number")
    return value


def parse_price_csv(text: str) -> ReplayPath:
    """Read ``timestamp,price`` or ``timestamp,open,high,low,close`` rows into a replay.

    Timestamps are integers in milliseconds (any epoch: the replay starts at the first row).
    A header row is allowed. Each OHLC bar becomes four ticks spread over the bar: open, then
    low and high (high first when the bar closes below its open), then close.
    """
    rows: list[tuple[int, list[Decimal]]] = []
    for number, fields in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [f for f in fields if f.strip()]
        if not cells or cells[0].lstrip().startswith("#"):
            continue
        if not rows and not cells[0].strip().lstrip("-").isdigit():  # a header
            continue
        if len(cells) not in (2, 5):
            raise PathError(f"row {number}: expected timestamp,price or timestamp,o,h,l,c")
        if len(rows) >= MAX_REPLAY_ROWS:
            raise PathError(f"more than {MAX_REPLAY_ROWS} rows")
        stamp = cells[0].strip()
        if not (stamp.isascii() and stamp.lstrip("-").isdigit()):
            raise PathError(f"row {number}: timestamp {stamp[:20]!r} is not an integer")
        rows.append((int(stamp), [_decimal(c, number) for c in cells[1:]]))
    if not rows:
        raise PathError("no rows")
    first = rows[0][0]
    points: list[tuple[int, Decimal]] = []
    for i, (at, prices) in enumerate(rows):
        offset = at - first
        if len(prices) == 1:
            points.append((offset, prices[0]))
            continue
        o, h, low, c = prices
        nxt = rows[i + 1][0] - first if i + 1 < len(rows) else None
        prev = rows[i - 1][0] - first if i else None
        span = (nxt - offset) if nxt is not None else (offset - prev if prev is not None else 0)
        middle = (low, h) if c >= o else (h, low)
        quarter = max(span, 0) // 4
        points += [
            (offset, o),
            (offset + quarter, middle[0]),
            (offset + 2 * quarter, middle[1]),
            (offset + 3 * quarter, c),
        ]
    return ReplayPath(tuple(points))


def make_path(
    kind: str,
    *,
    seed: int = 0,
    volatility: Decimal = Decimal(0),
    drift: Decimal = Decimal(0),
    tick_ms: int = 1000,
    csv_text: str | None = None,
) -> PricePath:
    """Build a path from its settings (the TOML table and the admin call share them)."""
    if kind == "fixed":
        return FixedPath()
    if kind in ("gbm", "walk"):
        return StochasticPath(kind, seed, volatility, drift, tick_ms)  # type: ignore[arg-type]
    if kind == "replay":
        if csv_text is None:
            raise PathError("a replay path needs CSV rows")
        return parse_price_csv(csv_text)
    raise PathError(f"unknown path kind {kind!r} (fixed, gbm, walk, replay)")
