"""``Client`` (sync) and ``AsyncClient`` (async) for HTX's copy-trading API.

Design: every endpoint is one pure builder (:mod:`copytrade.client.builders`, ``builders_v5``,
``builders_v6``, ``builders_market``). Each family of endpoints is declared once, as a class of
:class:`_Method` descriptors over its builders, generic in the kind of client
(:class:`Blocking` or :class:`Awaiting`): a method has the builder's typed keyword arguments and
docstring, and type checkers see it return the result or a coroutine of it. Both clients share
that table and their configuration (:class:`_Base`); they differ only in :meth:`Client.send` /
:meth:`AsyncClient.send`, which drive the shared sans-I/O :func:`copytrade.client._core.exchange`
with blocking or awaiting I/O, and in ``_invoke``, which builds a request and sends it.

Families: the v1 copy-trading endpoints are the clients' own methods; ``client.v5`` (v5 USDT-M
trading), ``client.v6`` (v6 copy trading) and ``client.market`` (public market data) hold the
others.

Results: an endpoint method returns the typed ``data`` (``client.position_list()`` →
``tuple[AggregatePosition, ...]``). The full reply with ``tid`` and the ``ratelimit-*``
headers is :class:`~copytrade.client.models.ApiResponse`: read ``client.last_response``
after a call, or call ``client.send(builders.position_list())`` to get it directly (the
race-free way when one ``AsyncClient`` serves concurrent tasks).

Example::

    from decimal import Decimal
    from copytrade.client import Client, HmacAuth, MarginMode, PositionSide

    with Client("http://127.0.0.1:8080", HmacAuth("ak", "sk")) as client:
        client.close_all_position(
            contract_code="BTC-USDT", margin_mode=MarginMode.CROSS, position_side=PositionSide.LONG
        )
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from types import TracebackType
from typing import Any, Generic, ParamSpec, Self, TypeVar, overload

import httpx

from copytrade.client import _core
from copytrade.client import builders as b
from copytrade.client import builders_market as bm
from copytrade.client import builders_v5 as b5
from copytrade.client import builders_v6 as b6
from copytrade.client.auth import Credentials
from copytrade.client.builders import PreparedRequest
from copytrade.client.models import ApiResponse
from copytrade.client.ratelimit import TokenBucket

__all__ = [
    "DEFAULT_BASE_URL",
    "AsyncClient",
    "Awaiting",
    "Blocking",
    "Client",
    "MarketMethods",
    "V1Methods",
    "V5Methods",
    "V6Methods",
]

DEFAULT_BASE_URL = _core.DEFAULT_BASE_URL
"""HTX's production host. ``https://api.hbdm.vn`` serves the same API through AWS."""

P = ParamSpec("P")
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Blocking:
    """Marker: the methods of a :class:`Client` return their results."""


class Awaiting:
    """Marker: the methods of an :class:`AsyncClient` return coroutines of their results."""


K = TypeVar("K", Blocking, Awaiting)
TransportT = TypeVar("TransportT")
SleepT = TypeVar("SleepT")


class Methods(Generic[K]):
    """A family of endpoint methods; ``_invoke(builder, *args, **kwargs)`` sends one call."""

    _invoke: Callable[..., Any]


class _Method(Generic[P, T_co]):
    """Expose a builder as a method: blocking on a ``Methods[Blocking]``, else awaitable."""

    def __init__(self, builder: Callable[P, PreparedRequest[T_co]]) -> None:
        self._builder = builder
        self.__doc__ = builder.__doc__
        self.__name__ = builder.__name__

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, obj: Methods[Blocking], owner: type[Any]) -> Callable[P, T_co]: ...
    @overload
    def __get__(
        self, obj: Methods[Awaiting], owner: type[Any]
    ) -> Callable[P, Coroutine[Any, Any, T_co]]: ...
    def __get__(self, obj: Methods[Any] | None, owner: type[Any]) -> Any:
        if obj is None:
            return self
        builder, invoke = self._builder, obj._invoke

        @functools.wraps(builder)
        def call(*args: P.args, **kwargs: P.kwargs) -> Any:
            return invoke(builder, *args, **kwargs)

        return call


class _Family(Methods[K]):
    """Methods reached through an attribute of a client (``client.v5``)."""

    def __init__(self, client: Methods[K]) -> None:
        """Send through ``client``."""
        self._invoke = client._invoke


class V1Methods(Methods[K]):
    """HTX's 19 v1 copy-trading endpoints, ``/copytrading/trader/*``: the clients' own methods."""

    place_order = _Method(b.place_order)
    close_order = _Method(b.close_order)
    close_all_position = _Method(b.close_all_position)
    tpsl_order = _Method(b.tpsl_order)
    add_margin = _Method(b.add_margin)
    account_transfer = _Method(b.account_transfer)
    updated_contract_lever = _Method(b.updated_contract_lever)
    query_contract_lever = _Method(b.query_contract_lever)
    query_contract = _Method(b.query_contract)
    position_list = _Method(b.position_list)
    current_positions = _Method(b.current_positions)
    position_positions = _Method(b.position_positions)
    open_orders = _Method(b.open_orders)
    tpsl_open_orders = _Method(b.tpsl_open_orders)
    order_total_detail = _Method(b.order_total_detail)
    profit_history_details = _Method(b.profit_history_details)
    total_profit_history = _Method(b.total_profit_history)
    query_followers = _Method(b.query_followers)
    remove_follower = _Method(b.remove_follower)


class V5Methods(_Family[K]):
    """The v5 USDT-M trading family (``/v5/*``): ``client.v5.place_order(...)``."""

    balance = _Method(b5.balance)
    place_order = _Method(b5.place_order)
    cancel_order = _Method(b5.cancel_order)
    cancel_all_orders = _Method(b5.cancel_all_orders)
    order = _Method(b5.order)
    open_orders = _Method(b5.open_orders)
    order_history = _Method(b5.order_history)
    fills = _Method(b5.fills)
    positions = _Method(b5.positions)
    close_position = _Method(b5.close_position)
    set_lever = _Method(b5.set_lever)
    get_lever = _Method(b5.get_lever)
    set_position_mode = _Method(b5.set_position_mode)
    get_position_mode = _Method(b5.get_position_mode)
    place_algo_order = _Method(b5.place_algo_order)
    place_trigger_order = _Method(b5.place_trigger_order)
    place_trailing_order = _Method(b5.place_trailing_order)
    cancel_algo_orders = _Method(b5.cancel_algo_orders)
    algo_order = _Method(b5.algo_order)
    algo_open_orders = _Method(b5.algo_open_orders)
    algo_order_history = _Method(b5.algo_order_history)
    batch_orders = _Method(b5.batch_orders)
    cancel_batch_orders = _Method(b5.cancel_batch_orders)
    close_all_positions = _Method(b5.close_all_positions)
    position_history = _Method(b5.position_history)
    position_margin = _Method(b5.position_margin)
    bills = _Method(b5.bills)
    cancel_after = _Method(b5.cancel_after)


class V6Methods(_Family[K]):
    """The v6 copy-trading family (``/api/v6/copyTrading/trader/*``): ``client.v6.followers()``."""

    instruments = _Method(b6.instruments)
    statistics = _Method(b6.statistics)
    profit_sharing_history = _Method(b6.profit_sharing_history)
    profit_sharing_summary = _Method(b6.profit_sharing_summary)
    unrealized_profit_sharing_summary = _Method(b6.unrealized_profit_sharing_summary)
    followers = _Method(b6.followers)
    remove_followers = _Method(b6.remove_followers)
    transfer = _Method(b6.transfer)
    follower_settings = _Method(b6.follower_settings)
    config = _Method(b6.config)
    create_apikey = _Method(b6.create_apikey)


class MarketMethods(_Family[K]):
    """Public market data: ``client.market.ticker(...)``."""

    contracts = _Method(bm.contracts)
    server_time = _Method(bm.server_time)
    status = _Method(bm.status)
    ticker = _Method(bm.ticker)
    tickers = _Method(bm.tickers)
    depth = _Method(bm.depth)
    trades = _Method(bm.trades)
    candles = _Method(bm.candles)
    funding_rate = _Method(bm.funding_rate)


def _timeout(timeout: httpx.Timeout | int) -> httpx.Timeout:
    return timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)


class _Base(V1Methods[K], Generic[K, TransportT, SleepT]):
    """Configuration shared by both clients (no I/O here)."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        auth: Credentials | None = None,
        *,
        sign_host: str | None = None,
        timeout: httpx.Timeout | int = 10,
        transport: TransportT | None = None,
        clock: Callable[[], datetime] | None = None,
        rate_limiter: TokenBucket | None = None,
        retry_rate_limited_gets: int = 0,
        sleep: SleepT | None = None,
    ) -> None:
        """Create the client; no connection is opened yet."""
        if auth is None:
            raise TypeError("auth is required: HmacAuth(...) or Ed25519Auth(...)")
        self._endpoint = _core.Endpoint.from_base_url(base_url, sign_host)
        self._settings = _core.Settings(
            endpoint=self._endpoint,
            signer=auth.signer(),
            clock=clock or _core.utc_now,
            limiter=rate_limiter,
            retry_rate_limited_gets=retry_rate_limited_gets,
        )
        self._access_key = auth.access_key
        self.last_response: ApiResponse[Any] | None = None
        """The last successful reply (``tid``, ``rate_limit``); ``None`` before any."""
        self._connect(transport, _timeout(timeout), sleep)
        self.v5: V5Methods[K] = V5Methods(self)
        """The v5 USDT-M trading family (``/v5/*``)."""
        self.v6: V6Methods[K] = V6Methods(self)
        """The v6 copy-trading family (``/api/v6/copyTrading/trader/*``)."""
        self.market: MarketMethods[K] = MarketMethods(self)
        """Public market data (tickers, book, trades, candles, funding)."""

    def _connect(
        self, transport: TransportT | None, timeout: httpx.Timeout, sleep: SleepT | None
    ) -> None:
        raise NotImplementedError

    def _finish(self, stop: StopIteration) -> ApiResponse[T]:
        """Keep the reply a finished exchange returned as ``last_response``."""
        reply: ApiResponse[T] = stop.value
        self.last_response = reply
        return reply

    @property
    def base_url(self) -> str:
        """Return the server's origin plus path prefix."""
        return self._endpoint.origin + self._endpoint.prefix

    def __repr__(self) -> str:
        """Show the server and the access key, never a secret."""
        return f"{type(self).__name__}(base_url={self.base_url!r}, access_key={self._access_key!r})"


def _blocking_sleep(ms: int) -> None:
    time.sleep(ms / 1000)


async def _async_sleep(ms: int) -> None:
    await asyncio.sleep(ms / 1000)


class Client(_Base[Blocking, httpx.BaseTransport, Callable[[int], None]]):
    """Blocking client for HTX's copy-trading API: v1 methods, ``v5``, ``v6`` and ``market``.

    Args:
        base_url: server origin, e.g. ``"http://127.0.0.1:8080"``; any http(s) URL and port.
        auth: :class:`~copytrade.client.auth.HmacAuth` or
            :class:`~copytrade.client.auth.Ed25519Auth`.
        sign_host: host to sign instead of the URL's (colocation: ``"api.hbdm.com"``).
        timeout: seconds, or an ``httpx.Timeout``.
        transport: an ``httpx.BaseTransport`` (``httpx.MockTransport`` in tests).
        clock: returns the aware UTC time used for ``Timestamp`` (tests pin it).
        rate_limiter: a :class:`~copytrade.client.ratelimit.TokenBucket` to stay under 18/s.
        retry_rate_limited_gets: how many times a GET answered 1032 is retried after the
            window resets (default 0). POSTs are never retried.
        sleep: waits the given milliseconds (tests replace it).
    """

    _http: httpx.Client
    _sleep: Callable[[int], None]

    def _connect(
        self,
        transport: httpx.BaseTransport | None,
        timeout: httpx.Timeout,
        sleep: Callable[[int], None] | None,
    ) -> None:
        self._sleep = sleep or _blocking_sleep
        self._http = httpx.Client(transport=transport, timeout=timeout)

    def send(self, prepared: PreparedRequest[T]) -> ApiResponse[T]:
        """Send a prepared request and return the full reply.

        Raises:
            ExchangeError: the server answered with an error (see :mod:`.errors`).
            TransportError: the HTTP exchange failed.
        """
        flow = _core.exchange(prepared, self._settings)
        result: httpx.Response | None = None
        try:
            while True:
                action = flow.send(result)
                if isinstance(action, _core.Sleep):
                    self._sleep(action.ms)
                    result = None
                else:
                    result = self._transmit(action.request)
        except StopIteration as done:
            return self._finish(done)
        finally:
            flow.close()  # a failed or cancelled send gives its limiter place back now

    def _invoke(self, builder: Callable[..., PreparedRequest[T]], *args: Any, **kwargs: Any) -> T:
        return self.send(builder(*args, **kwargs)).data

    def _transmit(self, request: httpx.Request) -> httpx.Response:
        try:
            return self._http.send(request)
        except httpx.HTTPError as exc:
            raise _core.transport_failure(exc, request) from exc

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        """Return the client for a ``with`` block."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the client."""
        self.close()


class AsyncClient(_Base[Awaiting, httpx.AsyncBaseTransport, Callable[[int], Awaitable[None]]]):
    """Asynchronous client; same arguments as :class:`Client`, methods are awaited.

    ``transport`` is an ``httpx.AsyncBaseTransport`` and ``sleep`` a coroutine function.
    """

    _http: httpx.AsyncClient
    _sleep: Callable[[int], Awaitable[None]]

    def _connect(
        self,
        transport: httpx.AsyncBaseTransport | None,
        timeout: httpx.Timeout,
        sleep: Callable[[int], Awaitable[None]] | None,
    ) -> None:
        self._sleep = sleep or _async_sleep
        self._http = httpx.AsyncClient(transport=transport, timeout=timeout)

    async def send(self, prepared: PreparedRequest[T]) -> ApiResponse[T]:
        """Send a prepared request and return the full reply.

        Raises:
            ExchangeError: the server answered with an error (see :mod:`.errors`).
            TransportError: the HTTP exchange failed.
        """
        flow = _core.exchange(prepared, self._settings)
        result: httpx.Response | None = None
        try:
            while True:
                action = flow.send(result)
                if isinstance(action, _core.Sleep):
                    await self._sleep(action.ms)
                    result = None
                else:
                    result = await self._transmit(action.request)
        except StopIteration as done:
            return self._finish(done)
        finally:
            flow.close()  # a failed or cancelled send gives its limiter place back now

    async def _invoke(
        self, builder: Callable[..., PreparedRequest[T]], *args: Any, **kwargs: Any
    ) -> T:
        return (await self.send(builder(*args, **kwargs))).data

    async def _transmit(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._http.send(request)
        except httpx.HTTPError as exc:
            raise _core.transport_failure(exc, request) from exc

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        """Return the client for an ``async with`` block."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the client."""
        await self.aclose()
