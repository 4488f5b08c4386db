"""Exceptions raised by the copy-trading SDK.

The hierarchy (spec §4.3)::

    CopytradeClientError            base of everything the SDK raises
    ├── TransportError              no usable HTTP exchange (timeout, refused, TLS, ...);
    │                               always raised ``from`` the httpx exception
    └── ExchangeError               the server answered with an error (code, msg, tid,
        │                           http_status, body); also any code not listed below
        ├── AuthenticationError     403, 12001-12009 (bad key, signature, timestamp, IP)
        ├── PermissionDenied        1205 (the key lacks the Trade permission)
        ├── RateLimitExceeded       1032 (over 18 requests/s); carries ``rate_limit``
        ├── InsufficientFunds       1047, 1048, 1301
        ├── InvalidOrder            1034-1041, 1349, 1405, 1407
        ├── BadRequest              1030, 1066, 1067, 1014, 1505
        ├── OrderNotFound           1017 (v5)
        ├── PositionNotFound        1046 (also ``close_all_position`` answering ``data:false``)
        └── InvalidResponse         the reply was not the JSON the endpoint documents

``code`` is HTX's business code (``code``/``err_code``), ``http_status`` the HTTP status: one
number never stands in for the other. ``code`` is ``None`` when the reply carried none.
Messages never contain the secret key, the signature or the request URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from copytrade.protocol.error_codes import ErrorCode

if TYPE_CHECKING:
    from copytrade.client.models import RateLimit

__all__ = [
    "AuthenticationError",
    "BadRequest",
    "CopytradeClientError",
    "ExchangeError",
    "InsufficientFunds",
    "InvalidOrder",
    "InvalidResponse",
    "OrderNotFound",
    "PermissionDenied",
    "PositionNotFound",
    "RateLimitExceeded",
    "TransportError",
    "error_class_for",
]


class CopytradeClientError(Exception):
    """Base class of every exception the SDK raises."""


class TransportError(CopytradeClientError):
    """The HTTP exchange failed (timeout, connection refused, protocol error).

    A POST that fails this way may still have been executed by the server: reconcile with
    ``open_orders``/``current_positions`` rather than resending (spec §8.6 Q17).
    """


class ExchangeError(CopytradeClientError):
    """The server answered with an error envelope.

    Attributes:
        code: HTX business code (``code``, ``err_code`` or ``err-code``), ``None`` if absent.
        msg: HTX message (``msg``, ``message``, ``err_msg`` or ``err-msg``), ``None`` if absent.
        tid: request id of the reply, ``None`` if absent (legacy envelopes carry none).
        http_status: the HTTP status code of the reply.
        body: the raw reply text.
        rate_limit: the ``ratelimit-*`` headers of the reply, when present.
    """

    def __init__(
        self,
        code: int | None,
        msg: str | None,
        *,
        tid: str | None = None,
        http_status: int = 200,
        body: str = "",
        rate_limit: RateLimit | None = None,
    ) -> None:
        """Create the error from the fields of a parsed reply."""
        self.code = code
        self.msg = msg
        self.tid = tid
        self.http_status = http_status
        self.body = body
        self.rate_limit = rate_limit
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = [f"code={self.code}" if self.code is not None else "code=?"]
        if self.msg:
            parts.append(self.msg)
        parts.append(f"http={self.http_status}")
        if self.tid:
            parts.append(f"tid={self.tid}")
        return " ".join(parts)


class AuthenticationError(ExchangeError):
    """The request was not authenticated (403, 12001-12009)."""


class PermissionDenied(ExchangeError):
    """The API key lacks the permission the endpoint needs (1205)."""


class RateLimitExceeded(ExchangeError):
    """More than 18 requests/s for this UID (1032). POSTs are never retried."""


class InsufficientFunds(ExchangeError):
    """Not enough margin, position or transferable balance (1047, 1048, 1301)."""


class InvalidOrder(ExchangeError):
    """The order's type, side, price, amount, leverage or TP/SL was refused."""


class BadRequest(ExchangeError):
    """A parameter was missing, malformed, unknown or not allowed (1030, 1066, 1067, 1014, 1505)."""


class OrderNotFound(ExchangeError):
    """No open order has that id (v5: 1017)."""


class PositionNotFound(ExchangeError):
    """No such (open) position: error 1046, or ``close_all_position`` with ``data:false``."""


class InvalidResponse(ExchangeError):
    """The reply could not be decoded into the documented shape."""


E = ErrorCode
# spec §4.3; the ranges also cover HTX codes this server never sends (1036, 12004, ...)
_AUTH_CODES = frozenset({E.VERIFICATION, *range(E.TIMESTAMP_INVALID, E.USER_LOCKED + 1)})
_BY_CODE: dict[int, type[ExchangeError]] = {
    E.NO_PERMISSION: PermissionDenied,
    E.RATE_LIMITED: RateLimitExceeded,
    **dict.fromkeys(
        (E.INSUFFICIENT_MARGIN, E.INSUFFICIENT_CLOSE, E.INSUFFICIENT_TRANSFER), InsufficientFunds
    ),
    **dict.fromkeys(
        (*range(E.ORDER_PRICE_TYPE, E.AMOUNT_LIMIT + 1), E.LEVER_MISMATCH, E.TP_PRICE, E.SL_PRICE),
        InvalidOrder,
    ),
    **dict.fromkeys(
        (
            E.INPUT_ERROR,
            E.EMPTY_PARAM,
            E.ILLEGAL_PARAM,
            E.CONTRACT_NOT_EXIST,
            E.SYMBOL_NOT_EXIST,
            E.PAIR_NOT_ALLOWED,
            E.TWO_WAY_ONLY,
        ),
        BadRequest,
    ),
    E.POSITION_NOT_EXIST: PositionNotFound,
    E.ORDER_NOT_EXIST: OrderNotFound,
    E.ACCOUNT_NOT_OPENED: PermissionDenied,
}


def error_class_for(code: int | None, http_status: int = 200) -> type[ExchangeError]:
    """Return the exception class for an HTX error code (spec §4.3).

    Without a code, HTTP 401/403 map to :class:`AuthenticationError` and 429 to
    :class:`RateLimitExceeded`; anything else is a plain :class:`ExchangeError`.
    """
    if code is None:
        if http_status in (401, 403):
            return AuthenticationError
        if http_status == 429:
            return RateLimitExceeded
        return ExchangeError
    if code in _AUTH_CODES:
        return AuthenticationError
    return _BY_CODE.get(code, ExchangeError)
