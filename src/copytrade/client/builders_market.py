"""Request builders for HTX's public market data (spec ``htx-v5-v6.md`` §6.1-§6.7).

Exposed as ``client.market.<name>(...)``; the replies parse into the structures of
:mod:`copytrade.protocol.market`. The requests are public (the server ignores the signature the
client adds).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from copytrade.client.builders import PreparedRequest
from copytrade.protocol import market as mk

__all__ = [
    "candles",
    "contracts",
    "depth",
    "funding_rate",
    "server_time",
    "status",
    "ticker",
    "tickers",
    "trades",
]

BY_NAME = {e.name: e for e in (*mk.ENDPOINTS, *mk.V5_ENDPOINTS, *mk.SPOT_ENDPOINTS)}
Period = Literal["1min", "5min", "15min", "30min", "60min", "4hour", "1day", "1week", "1mon"]


def _get(
    name: str, params: Mapping[str, str | int | None], parse: Any, *, whole_body: bool = True
) -> PreparedRequest[Any]:
    pairs = tuple((k, str(v)) for k, v in params.items() if v is not None)
    return PreparedRequest(BY_NAME[name], pairs, None, parse, whole_body)


def contracts() -> PreparedRequest[tuple[mk.ContractInfo, ...]]:
    """List the contracts: ``GET /linear-swap-api/v1/swap_contract_info``."""
    return _get("swap_contract_info", {"business_type": "all"}, _value(mk.CONTRACT_INFO))


def server_time() -> PreparedRequest[int]:
    """Return the server's time in epoch ms: ``GET /api/v1/timestamp``."""
    return _get("timestamp", {}, lambda body: int(body["ts"]))


def status() -> PreparedRequest[mk.Heartbeat]:
    """Return the service status: ``GET /heartbeat/``."""
    return _get("heartbeat", {}, _value(mk.HEARTBEAT))


def ticker(*, contract_code: str) -> PreparedRequest[mk.Ticker]:
    """One contract's ticker: ``GET /linear-swap-ex/market/detail/merged``."""
    return _get("detail_merged", {"contract_code": contract_code}, _value(mk.TICKER))


def tickers() -> PreparedRequest[tuple[mk.Ticker, ...]]:
    """Every contract's ticker: ``GET /linear-swap-ex/market/detail/batch_merged``."""
    return _get("detail_batch_merged", {"business_type": "swap"}, _value(mk.TICKERS))


def depth(*, contract_code: str) -> PreparedRequest[mk.Depth]:
    """The order book: ``GET /linear-swap-ex/market/depth`` (``type=step0``)."""
    return _get("depth", {"contract_code": contract_code, "type": "step0"}, _value(mk.DEPTH))


def trades(*, contract_code: str, size: int = 1) -> PreparedRequest[tuple[mk.TradeBatch, ...]]:
    """Recent public trades, newest first: ``GET /linear-swap-ex/market/history/trade``."""
    return _get("history_trade", {"contract_code": contract_code, "size": size}, _value(mk.TRADES))


def candles(
    *,
    contract_code: str,
    period: Period,
    size: int | None = None,
    start: int | None = None,
    end: int | None = None,
) -> PreparedRequest[tuple[mk.Candle, ...]]:
    """Candles, ascending: ``GET /linear-swap-ex/market/history/kline``.

    Give ``size`` (the newest candles) or ``start`` and ``end`` (epoch seconds).
    """
    params: dict[str, str | int | None] = {
        "contract_code": contract_code,
        "period": period,
        "size": size,
        "from": start,
        "to": end,
    }
    return _get("history_kline", params, _value(mk.CANDLES))


def funding_rate(*, contract_code: str) -> PreparedRequest[tuple[mk.FundingRate, ...]]:
    """The funding rate: ``GET /v5/market/funding_rate`` (v5 envelope)."""
    return _get(
        "funding_rate", {"contract_code": contract_code}, mk.FUNDING_RATES.parse, whole_body=False
    )


def _value(reply: mk.Keyed[Any]) -> Any:
    return lambda body: reply.parse(body).value
