"""Typed values of the copy-trading API: request enums, result dataclasses, ``ApiResponse``.

The enums and the result classes are the wire contract's own (:mod:`copytrade.protocol.enums`,
:mod:`copytrade.protocol.copytrading`), declared once there and re-exported here: results are
frozen dataclasses holding :class:`~decimal.Decimal` for every price, amount and ratio and enums
for every HTX vocabulary field. Each parses with ``from_wire``, which tolerates the quirks of
spec §9.2: numbers sent as strings or as JSON numbers, the ``*_amont`` spellings, ``"null"``
volumes, ``query_contract`` as strings or objects, ``order_direction`` as ``"open"`` or
``1``/``2`` and ``query_id`` as a string or an integer.

The v5 and v6 families' results are the structures of :mod:`copytrade.protocol.v5` and
:mod:`copytrade.protocol.v6`, re-exported here as the namespaces ``v5`` and ``v6``
(``models.v5.Order``, ``models.v6.Statistics``: several names repeat v1's, ``Follower`` for one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from copytrade.protocol import v5, v6
from copytrade.protocol.copytrading import (
    AggregatePosition,
    ClosedPosition,
    ContractLever,
    Follower,
    LeverageSetting,
    MarginAdjustment,
    OpenOrder,
    ProfitItem,
    ProfitPoint,
    ProfitTotal,
    SubPosition,
    TpslOrder,
    TraderStats,
)
from copytrade.protocol.enums import (
    CloseType,
    Direct,
    MarginAdjustType,
    MarginMode,
    OrderDirection,
    OrderPriceType,
    PositionSide,
    TpslOrderType,
    TransferType,
    TriggerType,
)
from copytrade.protocol.replies import Page
from copytrade.protocol.schema import WireFormatError, to_decimal, to_int

__all__ = [
    "AggregatePosition",
    "ApiResponse",
    "CloseType",
    "ClosedPosition",
    "ContractLever",
    "Direct",
    "Follower",
    "LeverageSetting",
    "MarginAdjustType",
    "MarginAdjustment",
    "MarginMode",
    "OpenOrder",
    "OrderDirection",
    "OrderPriceType",
    "Page",
    "PositionSide",
    "ProfitItem",
    "ProfitPoint",
    "ProfitTotal",
    "RateLimit",
    "SubPosition",
    "TpslOrder",
    "TpslOrderType",
    "TraderStats",
    "TransferType",
    "TriggerType",
    "WireFormatError",
    "to_decimal",
    "to_int",
    "v5",
    "v6",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RateLimit:
    """The ``ratelimit-*`` headers of a reply (spec §5.2).

    Attributes:
        limit: requests allowed per window.
        interval: window length in milliseconds.
        remaining: requests left in the current window.
        reset: epoch milliseconds at which the window ends.
    """

    limit: int | None
    interval: int | None
    remaining: int | None
    reset: int | None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimit | None:
        """Read the headers; ``None`` when the reply carried none of them."""
        values = [
            _header_int(headers, f"ratelimit-{n}")
            for n in ("limit", "interval", "remaining", "reset")
        ]
        if all(v is None for v in values):
            return None
        return cls(*values)


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    raw = raw.strip()
    return int(raw) if raw.isdigit() else None


@dataclass(frozen=True, slots=True)
class ApiResponse(Generic[T]):
    """One successful reply: typed ``data`` plus envelope and rate-limit details.

    Attributes:
        data: the endpoint's typed result.
        tid: the request id (32 hex characters) for support and logs.
        rate_limit: the ``ratelimit-*`` headers, ``None`` when absent.
        http_status: the HTTP status code.
        raw: the decoded JSON ``data`` before conversion.
    """

    data: T
    tid: str | None
    rate_limit: RateLimit | None
    http_status: int
    raw: Any
