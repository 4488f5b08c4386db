"""HTX's public market data (spec ``htx-v5-v6.md`` §6.1-§6.7): endpoints and structures.

The market family's replies put their payload beside ``status`` and ``ts`` under a key of their
own (``data``, ``tick``, ``ticks``), often with a channel name ``ch``: :class:`Keyed` renders
that top level; the envelope (:data:`copytrade.protocol.profiles.MARKET`) adds the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from copytrade.protocol.decimals import fmt
from copytrade.protocol.endpoints import Endpoint, HttpMethod, Permission
from copytrade.protocol.replies import Many, One, Reply
from copytrade.protocol.schema import (
    DEC,
    INT,
    INT_STR,
    STR,
    Kind,
    Struct,
    WireFormatError,
    as_list,
    structure,
    to_decimal,
    wire,
)

T = TypeVar("T")


def _parse_levels(value: Any, what: str) -> tuple[tuple[Decimal, Decimal], ...]:
    out = []
    for level in as_list(value, what):
        if not isinstance(level, list) or len(level) != 2:
            raise WireFormatError(f"{what}: expected [price, size], got {level!r}")
        price, size = (to_decimal(v, what) for v in level)
        if price is None or size is None:
            raise WireFormatError(f"{what}: missing price or size")
        out.append((price, size))
    return tuple(out)


LEVELS = Kind(
    "array of [price, size] (decimal strings)",
    lambda levels: [[fmt(p), fmt(v)] for p, v in levels],
    _parse_levels,
)
QUOTE = Kind(
    "[price, size] (decimal strings)",
    lambda level: [fmt(level[0]), fmt(level[1])],
    lambda value, what: _parse_levels([value], what)[0],
)


@structure
class ContractInfo(Struct):
    """One ``swap_contract_info`` item: what ccxt's ``load_markets`` reads (spec §6.1)."""

    label = "swap_contract_info"
    symbol: str = wire(STR)
    contract_code: str = wire(STR)
    contract_size: Decimal = wire(DEC)
    price_tick: Decimal = wire(DEC)
    delivery_date: str = wire(STR)
    delivery_time: str = wire(STR)
    create_date: str = wire(STR)
    contract_status: int = wire(INT)
    settlement_date: str = wire(STR)
    support_margin_mode: str = wire(STR)
    business_type: str = wire(STR)
    pair: str = wire(STR)
    contract_type: str = wire(STR)
    trade_partition: str = wire(STR)


@structure
class Currency(Struct):
    """One ``/v2/reference/currencies`` item (the list is empty: ccxt derives USDT itself)."""

    label = "currencies"
    currency: str = wire(STR)


@structure
class Ticker(Struct):
    """A ``detail/merged`` tick (one contract's 24 h summary and best quotes, spec §6.3)."""

    label = "detail.merged"
    id: int = wire(INT)
    ts: int = wire(INT)
    contract_code: str = wire(STR)
    open: Decimal = wire(DEC)
    close: Decimal = wire(DEC)
    high: Decimal = wire(DEC)
    low: Decimal = wire(DEC)
    amount: Decimal = wire(DEC)
    vol: Decimal = wire(DEC)
    trade_turnover: Decimal = wire(DEC)
    count: int = wire(INT)
    ask: tuple[Decimal, Decimal] = wire(QUOTE)
    bid: tuple[Decimal, Decimal] = wire(QUOTE)


@structure
class Depth(Struct):
    """A ``market/depth`` tick: the market maker's book, bids descending, asks ascending."""

    label = "depth"
    ch: str = wire(STR)
    id: int = wire(INT)
    mrid: int = wire(INT)
    ts: int = wire(INT)
    version: int = wire(INT)
    bids: tuple[tuple[Decimal, Decimal], ...] = wire(LEVELS)
    asks: tuple[tuple[Decimal, Decimal], ...] = wire(LEVELS)


@structure
class Trade(Struct):
    """One public trade (a real fill): ``amount`` in contracts, ``quantity`` in coin."""

    label = "trade"
    id: int = wire(INT)
    ts: int = wire(INT)
    price: Decimal = wire(DEC)
    amount: Decimal = wire(DEC)
    quantity: Decimal = wire(DEC)
    trade_turnover: Decimal = wire(DEC)
    direction: str = wire(STR)


@structure
class TradeBatch(Struct):
    """One ``history/trade`` item: the trades of one taker order."""

    label = "history/trade"
    id: int = wire(INT)
    ts: int = wire(INT)
    data: tuple[Trade, ...] = wire()


@structure
class Candle(Struct):
    """One ``history/kline`` candle: ``id`` is the bucket's start in epoch seconds."""

    label = "kline"
    id: int = wire(INT)
    open: Decimal = wire(DEC)
    close: Decimal = wire(DEC)
    high: Decimal = wire(DEC)
    low: Decimal = wire(DEC)
    amount: Decimal = wire(DEC)
    vol: Decimal = wire(DEC)
    count: int = wire(INT)
    trade_turnover: Decimal = wire(DEC)


@structure
class Heartbeat(Struct):
    """``/heartbeat/``: every service up (1), no recovery time."""

    label = "heartbeat"
    heartbeat: int = wire(INT)
    estimated_recovery_time: int | None = wire(INT)
    swap_heartbeat: int = wire(INT)
    swap_estimated_recovery_time: int | None = wire(INT)
    linear_swap_heartbeat: int = wire(INT)
    linear_swap_estimated_recovery_time: int | None = wire(INT)


@structure
class FundingRate(Struct):
    """One ``/v5/market/funding_rate`` item (times are epoch ms strings)."""

    label = "funding_rate"
    contract_code: str = wire(STR)
    funding_rate: Decimal = wire(DEC)
    min_funding_rate: Decimal = wire(DEC)
    max_funding_rate: Decimal = wire(DEC)
    funding_time: int = wire(INT_STR)
    next_funding_time: int = wire(INT_STR)


@dataclass(frozen=True, slots=True)
class Channel(Generic[T]):
    """A market reply's payload and its channel name (``market.BTC-USDT.depth.step0``)."""

    ch: str | None
    value: T


class Keyed(Reply[Channel[T]]):
    """The market family's top level: ``{ch?, key: payload}`` (``status``/``ts``: envelope)."""

    __slots__ = ("inner", "key")

    def __init__(self, inner: Reply[T], key: str) -> None:
        """Declare the payload's shape and its key (``data``, ``tick``, ``ticks``)."""
        self.inner, self.key = inner, key

    def render(self, value: Channel[T]) -> Any:
        """Return ``{"ch": ..., key: payload}`` (no ``ch`` when the channel is ``None``)."""
        out: dict[str, Any] = {} if value.ch is None else {"ch": value.ch}
        out[self.key] = self.inner.render(value.value)
        return out

    def parse(self, data: Any) -> Channel[T]:
        """Parse the top level of a decoded reply."""
        if not isinstance(data, Mapping):
            raise WireFormatError(f"expected an object, got {type(data).__name__}")
        return Channel(data.get("ch"), self.inner.parse(data.get(self.key)))


class Bare(Reply[None]):
    """No payload: ``{"status": "ok", "ts": ...}`` (``/api/v1/timestamp``)."""

    __slots__ = ()

    def render(self, value: None) -> Any:
        """Return an empty top level."""
        return {}

    def parse(self, data: Any) -> None:
        """Nothing to read."""
        return None


def _public(name: str, path: str, summary: str) -> Endpoint:
    return Endpoint(name, HttpMethod.GET, path, Permission.PUBLIC, summary)


class TransferId(Reply[int]):
    """``data`` is the transfer's id, a JSON integer (``/v2/account/transfer``, spec §4.5)."""

    __slots__ = ()

    def render(self, value: int) -> Any:
        """Return the id itself."""
        return value

    def parse(self, data: Any) -> int:
        """Accept a JSON integer or a string of digits."""
        if isinstance(data, bool) or not isinstance(data, int | str) or not str(data).isdigit():
            raise WireFormatError(f"expected a transfer id, got {data!r}")
        return int(data)


ENDPOINTS: tuple[Endpoint, ...] = (
    _public(
        "swap_contract_info",
        "/linear-swap-api/v1/swap_contract_info",
        "Contract list (ccxt load_markets)",
    ),
    _public("timestamp", "/api/v1/timestamp", "Server time (ccxt fetch_time)"),
    _public("heartbeat", "/heartbeat/", "Service status (ccxt fetch_status)"),
    _public(
        "detail_merged",
        "/linear-swap-ex/market/detail/merged",
        "One contract's ticker (ccxt fetch_ticker)",
    ),
    _public(
        "detail_batch_merged",
        "/linear-swap-ex/market/detail/batch_merged",
        "Every contract's ticker (ccxt fetch_tickers)",
    ),
    _public("depth", "/linear-swap-ex/market/depth", "Order book (ccxt fetch_order_book)"),
    _public(
        "history_trade",
        "/linear-swap-ex/market/history/trade",
        "Recent trades (ccxt fetch_trades)",
    ),
    _public("history_kline", "/linear-swap-ex/market/history/kline", "Candles (ccxt fetch_ohlcv)"),
)
"""The public market family (spec §6.1-§6.6)."""

V5_ENDPOINTS: tuple[Endpoint, ...] = (
    _public("funding_rate", "/v5/market/funding_rate", "Funding rate (ccxt fetch_funding_rate)"),
)
"""The public v5 market endpoints (v5 envelope, spec §6.7)."""

SPOT_ENDPOINTS: tuple[Endpoint, ...] = (
    _public("currencies", "/v2/reference/currencies", "Currency list (ccxt fetch_currencies)"),
    Endpoint(
        "account_transfer",
        HttpMethod.POST,
        "/v2/account/transfer",
        Permission.TRADE,
        "Move USDT between spot and USDT-M futures (ccxt transfer)",
    ),
)
"""The public spot-host endpoints ccxt's ``load_markets`` calls."""

CONTRACT_INFO = Keyed(Many(ContractInfo), "data")
TIMESTAMP = Bare()
HEARTBEAT = Keyed(One(Heartbeat), "data")
TICKER = Keyed(One(Ticker), "tick")
TICKERS = Keyed(Many(Ticker), "ticks")
DEPTH = Keyed(One(Depth), "tick")
TRADES = Keyed(Many(TradeBatch), "data")
CANDLES = Keyed(Many(Candle), "data")
FUNDING_RATES = Many(FundingRate)
CURRENCIES = Many(Currency)

REPLIES: dict[str, Reply[Any]] = {
    "swap_contract_info": CONTRACT_INFO,
    "timestamp": TIMESTAMP,
    "heartbeat": HEARTBEAT,
    "detail_merged": TICKER,
    "detail_batch_merged": TICKERS,
    "depth": DEPTH,
    "history_trade": TRADES,
    "history_kline": CANDLES,
    "funding_rate": FUNDING_RATES,
    "currencies": CURRENCIES,
    "account_transfer": TransferId(),
}
"""The shape of every public endpoint's reply, by endpoint name."""
