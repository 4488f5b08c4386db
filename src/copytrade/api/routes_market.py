"""Public market endpoints (spec ``htx-v5-v6.md`` §6.1-§6.7): parse, use case, render."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from copytrade.api import wire
from copytrade.api.routes import Params, Route, no_parameters, route
from copytrade.api.wire import WireError
from copytrade.domain.book import Book
from copytrade.domain.enums import Wallet
from copytrade.domain.funding import RATE_CAP
from copytrade.domain.instruments import ContractSpec
from copytrade.protocol import market as m
from copytrade.protocol.error_codes import ErrorCode
from copytrade.service import market, v1
from copytrade.service.context import ServiceContext

PERIODS: dict[str, int] = {
    "1min": 60,
    "5min": 300,
    "15min": 900,
    "30min": 1800,
    "60min": 3600,
    "1hour": 3600,
    "4hour": 14_400,
    "1day": 86_400,
    "1week": 604_800,
    "1mon": 2_592_000,
}
"""Kline periods in seconds (``1mon``: 30 days)."""
MAX_SIZE = 2000
DEPTH_LEVELS = 150


def _size(p: Params, default: int | None) -> int | None:
    raw = p.get("size")
    if raw in (None, ""):
        return default
    size = wire.int_field(raw, "size")
    if not 1 <= size <= MAX_SIZE:
        raise WireError(ErrorCode.ILLEGAL_PARAM, "size")
    return size


def parse_contract(p: Params, now_ms: int) -> tuple[str]:
    """``contract_code`` alone (merged, depth, funding_rate)."""
    return (wire.contract_code(p),)


def parse_trades(p: Params, now_ms: int) -> tuple[str, int]:
    """``contract_code`` and ``size`` (1-2000, default 1)."""
    size = _size(p, 1)
    assert size is not None
    return wire.contract_code(p), size


def parse_kline(p: Params, now_ms: int) -> tuple[str, int, int | None, int | None, int | None]:
    """``contract_code``, ``period``, and ``size`` or ``from`` + ``to`` (epoch seconds)."""
    code = wire.contract_code(p)
    period = PERIODS.get(str(p.get("period", "")))
    if period is None:
        raise WireError(ErrorCode.ILLEGAL_PARAM, "period")
    size = _size(p, None)
    if size is not None:
        return code, period, size, None, None  # HTX ignores from/to when size is given
    raw_from, raw_to = p.get("from"), p.get("to")
    if raw_from in (None, "") or raw_to in (None, ""):
        raise WireError(ErrorCode.ILLEGAL_PARAM, "size")
    start, end = wire.int_field(raw_from, "from"), wire.int_field(raw_to, "to")
    if start > end or end - start > period * (MAX_SIZE - 1):
        raise WireError(ErrorCode.ILLEGAL_PARAM, "from")
    return code, period, None, start, end


def render_contracts(ctx: ServiceContext, arguments: tuple[()], specs: list[ContractSpec]) -> Any:
    """``swap_contract_info``: perpetual swaps, ``business_type`` present, no delivery date."""
    items = tuple(
        m.ContractInfo(
            symbol=s.contract_code.split("-")[0],
            contract_code=s.contract_code,
            contract_size=s.contract_size,
            price_tick=s.price_tick,
            delivery_date="",
            delivery_time="",
            create_date="20201021",
            contract_status=1,
            settlement_date="",
            support_margin_mode="all" if s.cross_enabled else "isolated",
            business_type="swap",
            pair=s.contract_code,
            contract_type="swap",
            trade_partition="USDT",
        )
        for s in specs
    )
    return m.CONTRACT_INFO.render(m.Channel(None, items))


def _ticker(summary: market.Summary, now_ms: int) -> m.Ticker:
    best_ask, best_bid = summary.book.asks[0], summary.book.bids[0]
    return m.Ticker(
        id=now_ms // 1000,
        ts=now_ms,
        contract_code=summary.spec.contract_code,
        open=summary.open,
        close=summary.close,
        high=summary.high,
        low=summary.low,
        amount=summary.volume * summary.spec.contract_size,
        vol=summary.volume,
        trade_turnover=summary.turnover,
        count=summary.count,
        ask=(best_ask.price, best_ask.volume),
        bid=(best_bid.price, best_bid.volume),
    )


def render_ticker(ctx: ServiceContext, arguments: tuple[str], summary: market.Summary) -> Any:
    """``detail/merged``."""
    ch = f"market.{arguments[0]}.detail.merged"
    return m.TICKER.render(m.Channel(ch, _ticker(summary, ctx.clock.now_ms())))


def render_tickers(ctx: ServiceContext, arguments: tuple[()], rows: list[market.Summary]) -> Any:
    """``detail/batch_merged``."""
    now = ctx.clock.now_ms()
    return m.TICKERS.render(m.Channel(None, tuple(_ticker(s, now) for s in rows)))


def render_depth(ctx: ServiceContext, arguments: tuple[str], book: Book) -> Any:
    """``market/depth``: up to 150 levels per side."""
    now = ctx.clock.now_ms()
    ch = f"market.{arguments[0]}.depth.step0"
    tick = m.Depth(
        ch=ch,
        id=now // 1000,
        mrid=now,
        ts=now,
        version=now // 1000,
        bids=tuple((lv.price, lv.volume) for lv in book.bids[:DEPTH_LEVELS]),
        asks=tuple((lv.price, lv.volume) for lv in book.asks[:DEPTH_LEVELS]),
    )
    return m.DEPTH.render(m.Channel(ch, tick))


def render_trades(
    ctx: ServiceContext, arguments: tuple[str, int], prints: list[market.Print]
) -> Any:
    """``history/trade``: one batch per trade, newest first."""
    size = ctx.spec(arguments[0]).contract_size
    batches = tuple(
        m.TradeBatch(
            id=t.trade_id,
            ts=t.ts,
            data=(
                m.Trade(
                    id=t.trade_id,
                    ts=t.ts,
                    price=t.price,
                    amount=t.volume,
                    quantity=t.volume * size,
                    trade_turnover=t.volume * size * t.price,
                    direction="buy" if t.buy else "sell",
                ),
            ),
        )
        for t in prints
    )
    return m.TRADES.render(m.Channel(f"market.{arguments[0]}.trade.detail", batches))


def render_candles(
    ctx: ServiceContext,
    arguments: tuple[str, int, int | None, int | None, int | None],
    rows: list[market.CandleRow],
) -> Any:
    """``history/kline``: candles ascending by ``id``."""
    period = next(name for name, seconds in PERIODS.items() if seconds == arguments[1])
    candles = tuple(
        m.Candle(
            id=r.start_s,
            open=r.open,
            close=r.close,
            high=r.high,
            low=r.low,
            amount=r.amount,
            vol=r.volume,
            count=r.count,
            trade_turnover=r.turnover,
        )
        for r in rows
    )
    return m.CANDLES.render(m.Channel(f"market.{arguments[0]}.kline.{period}", candles))


def render_funding(ctx: ServiceContext, arguments: tuple[str], f: market.Funding) -> Any:
    """``/v5/market/funding_rate``: one item."""
    rate = f.rate
    return m.FUNDING_RATES.render(
        (
            m.FundingRate(
                contract_code=f.contract_code,
                funding_rate=rate,
                min_funding_rate=-RATE_CAP,
                max_funding_rate=RATE_CAP,
                funding_time=f.funding_time,
                next_funding_time=f.next_funding_time,
            ),
        )
    )


def render_timestamp(ctx: ServiceContext, arguments: tuple[()], result: None) -> Any:
    """``/api/v1/timestamp``: the envelope's ``ts`` is the answer."""
    return m.TIMESTAMP.render(None)


def render_heartbeat(ctx: ServiceContext, arguments: tuple[()], result: None) -> Any:
    """``/heartbeat/``: every service up."""
    beat = m.Heartbeat(
        heartbeat=1,
        estimated_recovery_time=None,
        swap_heartbeat=1,
        swap_estimated_recovery_time=None,
        linear_swap_heartbeat=1,
        linear_swap_estimated_recovery_time=None,
    )
    return m.HEARTBEAT.render(m.Channel(None, beat))


def render_currencies(ctx: ServiceContext, arguments: tuple[()], result: None) -> Any:
    """``/v2/reference/currencies``: empty (ccxt takes USDT from the markets, spec §2.1)."""
    return m.CURRENCIES.render(())


def nothing(ctx: ServiceContext, uid: int) -> None:
    """A use case with nothing to do (the reply is static)."""
    return None


_V2_ACCOUNTS = {"spot": Wallet.SPOT, "linear-swap": Wallet.FUTURES}


def _v2_account(p: Params, name: str) -> Wallet:
    wallet = _V2_ACCOUNTS.get(str(wire.required(p, name)).lower())
    if wallet is None:
        raise WireError(ErrorCode.ILLEGAL_PARAM, name)
    return wallet


def parse_v2_transfer(p: Params, now_ms: int) -> tuple[Wallet, Wallet, Decimal, str]:
    """``POST /v2/account/transfer`` as ccxt's ``transfer`` sends it (spec §6.16).

    ``from``/``to``: ``spot`` and ``linear-swap`` (the USDT-M futures balance); the
    copy-trading account is not reachable here (v6 ``transfer`` is). ``margin-account`` must
    be ``USDT`` when given: the emulator keeps one cross USDT-M balance, so ccxt's legacy
    isolated form (a contract code) is refused rather than silently pooled.
    """
    amount, currency = wire.transfer_fields(p, "amount", "currency")
    source, target = _v2_account(p, "from"), _v2_account(p, "to")
    if source is target:
        raise WireError(ErrorCode.ILLEGAL_PARAM, "to")
    margin = p.get("margin-account")
    if margin not in (None, "") and str(margin).upper() != "USDT":
        raise WireError(ErrorCode.ILLEGAL_PARAM, "margin-account")
    return source, target, amount, currency


def render_transfer_id(
    ctx: ServiceContext, arguments: tuple[Wallet, Wallet, Decimal, str], transfer_id: int
) -> Any:
    """``/v2/account/transfer``: ``data`` is the transfer's id (ccxt's ``id``)."""
    return m.REPLIES["account_transfer"].render(transfer_id)


MARKET_ROUTES: dict[str, Route] = {
    "swap_contract_info": route(no_parameters, market.contracts, render_contracts),
    "timestamp": route(no_parameters, nothing, render_timestamp),
    "heartbeat": route(no_parameters, nothing, render_heartbeat),
    "detail_merged": route(parse_contract, market.ticker, render_ticker),
    "detail_batch_merged": route(no_parameters, market.tickers, render_tickers),
    "depth": route(parse_contract, market.book, render_depth),
    "history_trade": route(parse_trades, market.trades, render_trades),
    "history_kline": route(parse_kline, market.candles, render_candles),
}
V5_MARKET_ROUTES: dict[str, Route] = {
    "funding_rate": route(parse_contract, market.funding, render_funding),
}
SPOT_ROUTES: dict[str, Route] = {
    "currencies": route(no_parameters, nothing, render_currencies),
    "account_transfer": route(parse_v2_transfer, v1.move_funds, render_transfer_id),
}
