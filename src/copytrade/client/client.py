"""``Client`` (sync) and ``AsyncClient`` (async) for HTX's copy-trading API.

Design: every endpoint is one pure builder in :mod:`copytrade.client.builders`; both clients
expose each builder as a method through a small descriptor, so a method has the builder's
typed keyword arguments and docstring and its body is written once. The two classes differ
only in :meth:`Client.send` / :meth:`AsyncClient.send`, which drive the shared sans-I/O
:func:`copytrade.client._core.exchange` with blocking or awaiting I/O.

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
from typing import Any, Generic, ParamSpec, Protocol, Self, TypeVar, overload

import httpx

from copytrade.client import _core
from copytrade.client import builders as b
from copytrade.client.auth import Credentials
from copytrade.client.builders import PreparedRequest
from copytrade.client.models import ApiResponse
from copytrade.client.ratelimit import TokenBucket

__all__ = ["DEFAULT_BASE_URL", "AsyncClient", "Client"]

DEFAULT_BASE_URL = _core.DEFAULT_BASE_URL
"""HTX's production host. ``https://api.hbdm.vn`` serves the same API through AWS."""

P = ParamSpec("P")
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class _SyncSender(Protocol):
    def send(self, prepared: PreparedRequest[T]) -> ApiResponse[T]: ...


class _AsyncSender(Protocol):
    def send(self, prepared: PreparedRequest[T]) -> Coroutine[Any, Any, ApiResponse[T]]: ...


class _SyncMethod(Generic[P, T_co]):
    """Expose a builder as a blocking method returning the typed ``data``."""

    def __init__(self, builder: Callable[P, PreparedRequest[T_co]]) -> None:
        self._builder = builder
        self.__doc__ = builder.__doc__
        self.__name__ = builder.__name__

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, obj: _SyncSender, owner: type[Any]) -> Callable[P, T_co]: ...
    def __get__(self, obj: _SyncSender | None, owner: type[Any]) -> Self | Callable[P, T_co]:
        if obj is None:
            return self
        builder = self._builder

        @functools.wraps(builder)
        def call(*args: P.args, **kwargs: P.kwargs) -> T_co:
            return obj.send(builder(*args, **kwargs)).data

        return call


class _AsyncMethod(Generic[P, T_co]):
    """Expose a builder as a coroutine method returning the typed ``data``."""

    def __init__(self, builder: Callable[P, PreparedRequest[T_co]]) -> None:
        self._builder = builder
        self.__doc__ = builder.__doc__
        self.__name__ = builder.__name__

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(
        self, obj: _AsyncSender, owner: type[Any]
    ) -> Callable[P, Coroutine[Any, Any, T_co]]: ...
    def __get__(
        self, obj: _AsyncSender | None, owner: type[Any]
    ) -> Self | Callable[P, Coroutine[Any, Any, T_co]]:
        if obj is None:
            return self
        builder = self._builder

        @functools.wraps(builder)
        async def call(*args: P.args, **kwargs: P.kwargs) -> T_co:
            return (await obj.send(builder(*args, **kwargs))).data

        return call


class _Base:
    """Configuration shared by both clients (no I/O here)."""

    def __init__(
        self,
        base_url: str,
        auth: Credentials | None,
        *,
        sign_host: str | None,
        clock: Callable[[], datetime] | None,
        rate_limiter: TokenBucket | None,
        retry_rate_limited_gets: int,
    ) -> None:
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

    @property
    def base_url(self) -> str:
        """Return the server's origin plus path prefix."""
        return self._endpoint.origin + self._endpoint.prefix

    def __repr__(self) -> str:
        """Show the server and the access key, never a secret."""
        return f"{type(self).__name__}(base_url={self.base_url!r}, access_key={self._access_key!r})"


def _timeout(timeout: httpx.Timeout | int) -> httpx.Timeout:
    return timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)


def _blocking_sleep(ms: int) -> None:
    time.sleep(ms / 1000)


async def _async_sleep(ms: int) -> None:
    await asyncio.sleep(ms / 1000)


class Client(_Base):
    """Blocking client for the 19 copy-trading endpoints.

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

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        auth: Credentials | None = None,
        *,
        sign_host: str | None = None,
        timeout: httpx.Timeout | int = 10,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], datetime] | None = None,
        rate_limiter: TokenBucket | None = None,
        retry_rate_limited_gets: int = 0,
        sleep: Callable[[int], None] | None = None,
    ) -> None:
        """Create the client; no connection is opened yet."""
        super().__init__(
            base_url,
            auth,
            sign_host=sign_host,
            clock=clock,
            rate_limiter=rate_limiter,
            retry_rate_limited_gets=retry_rate_limited_gets,
        )
        self._sleep = sleep or _blocking_sleep
        self._http = httpx.Client(transport=transport, timeout=_timeout(timeout))

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
            reply: ApiResponse[T] = done.value
            self.last_response = reply
            return reply

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

    place_order = _SyncMethod(b.place_order)
    close_order = _SyncMethod(b.close_order)
    close_all_position = _SyncMethod(b.close_all_position)
    tpsl_order = _SyncMethod(b.tpsl_order)
    add_margin = _SyncMethod(b.add_margin)
    account_transfer = _SyncMethod(b.account_transfer)
    updated_contract_lever = _SyncMethod(b.updated_contract_lever)
    query_contract_lever = _SyncMethod(b.query_contract_lever)
    query_contract = _SyncMethod(b.query_contract)
    position_list = _SyncMethod(b.position_list)
    current_positions = _SyncMethod(b.current_positions)
    position_positions = _SyncMethod(b.position_positions)
    open_orders = _SyncMethod(b.open_orders)
    tpsl_open_orders = _SyncMethod(b.tpsl_open_orders)
    order_total_detail = _SyncMethod(b.order_total_detail)
    profit_history_details = _SyncMethod(b.profit_history_details)
    total_profit_history = _SyncMethod(b.total_profit_history)
    query_followers = _SyncMethod(b.query_followers)
    remove_follower = _SyncMethod(b.remove_follower)


class AsyncClient(_Base):
    """Asynchronous client for the 19 copy-trading endpoints; same arguments as :class:`Client`.

    ``transport`` is an ``httpx.AsyncBaseTransport`` and ``sleep`` a coroutine function.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        auth: Credentials | None = None,
        *,
        sign_host: str | None = None,
        timeout: httpx.Timeout | int = 10,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] | None = None,
        rate_limiter: TokenBucket | None = None,
        retry_rate_limited_gets: int = 0,
        sleep: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        """Create the client; no connection is opened yet."""
        super().__init__(
            base_url,
            auth,
            sign_host=sign_host,
            clock=clock,
            rate_limiter=rate_limiter,
            retry_rate_limited_gets=retry_rate_limited_gets,
        )
        self._sleep = sleep or _async_sleep
        self._http = httpx.AsyncClient(transport=transport, timeout=_timeout(timeout))

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
            reply: ApiResponse[T] = done.value
            self.last_response = reply
            return reply

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

    place_order = _AsyncMethod(b.place_order)
    close_order = _AsyncMethod(b.close_order)
    close_all_position = _AsyncMethod(b.close_all_position)
    tpsl_order = _AsyncMethod(b.tpsl_order)
    add_margin = _AsyncMethod(b.add_margin)
    account_transfer = _AsyncMethod(b.account_transfer)
    updated_contract_lever = _AsyncMethod(b.updated_contract_lever)
    query_contract_lever = _AsyncMethod(b.query_contract_lever)
    query_contract = _AsyncMethod(b.query_contract)
    position_list = _AsyncMethod(b.position_list)
    current_positions = _AsyncMethod(b.current_positions)
    position_positions = _AsyncMethod(b.position_positions)
    open_orders = _AsyncMethod(b.open_orders)
    tpsl_open_orders = _AsyncMethod(b.tpsl_open_orders)
    order_total_detail = _AsyncMethod(b.order_total_detail)
    profit_history_details = _AsyncMethod(b.profit_history_details)
    total_profit_history = _AsyncMethod(b.total_profit_history)
    query_followers = _AsyncMethod(b.query_followers)
    remove_follower = _AsyncMethod(b.remove_follower)
