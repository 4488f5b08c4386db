"""Typed Python SDK for HTX's copy-trading API (real HTX or a copytrade server).

Start with :class:`Client` (blocking) or :class:`AsyncClient`, an :class:`HmacAuth` or
:class:`Ed25519Auth` key, and call one method per endpoint: v1 copy trading on the client,
``client.v5`` (v5 USDT-M trading), ``client.v6`` (v6 copy trading), ``client.market``.
Errors are described in :mod:`copytrade.client.errors`.
"""

from __future__ import annotations

from copytrade.client import builders
from copytrade.client.auth import Credentials, Ed25519Auth, HmacAuth, load_ed25519_private_key
from copytrade.client.builders import PreparedRequest
from copytrade.client.builders_v6 import TransferAccount
from copytrade.client.client import DEFAULT_BASE_URL, AsyncClient, Client
from copytrade.client.errors import (
    AuthenticationError,
    BadRequest,
    CopytradeClientError,
    ExchangeError,
    InsufficientFunds,
    InvalidOrder,
    InvalidResponse,
    OrderNotFound,
    PermissionDenied,
    PositionNotFound,
    RateLimitExceeded,
    TransportError,
)
from copytrade.client.models import (
    AggregatePosition,
    ApiResponse,
    ClosedPosition,
    CloseType,
    ContractLever,
    Direct,
    Follower,
    LeverageSetting,
    MarginAdjustment,
    MarginAdjustType,
    MarginMode,
    OpenOrder,
    OrderDirection,
    OrderPriceType,
    Page,
    PositionSide,
    ProfitItem,
    ProfitPoint,
    ProfitTotal,
    RateLimit,
    SubPosition,
    TpslOrder,
    TpslOrderType,
    TraderStats,
    TransferType,
    TriggerType,
    v5,
    v6,
)
from copytrade.client.ratelimit import TokenBucket

__all__ = [
    "DEFAULT_BASE_URL",
    "AggregatePosition",
    "ApiResponse",
    "AsyncClient",
    "AuthenticationError",
    "BadRequest",
    "Client",
    "CloseType",
    "ClosedPosition",
    "ContractLever",
    "CopytradeClientError",
    "Credentials",
    "Direct",
    "Ed25519Auth",
    "ExchangeError",
    "Follower",
    "HmacAuth",
    "InsufficientFunds",
    "InvalidOrder",
    "InvalidResponse",
    "LeverageSetting",
    "MarginAdjustType",
    "MarginAdjustment",
    "MarginMode",
    "OpenOrder",
    "OrderDirection",
    "OrderNotFound",
    "OrderPriceType",
    "Page",
    "PermissionDenied",
    "PositionNotFound",
    "PositionSide",
    "PreparedRequest",
    "ProfitItem",
    "ProfitPoint",
    "ProfitTotal",
    "RateLimit",
    "RateLimitExceeded",
    "SubPosition",
    "TokenBucket",
    "TpslOrder",
    "TpslOrderType",
    "TraderStats",
    "TransferAccount",
    "TransferType",
    "TransportError",
    "TriggerType",
    "builders",
    "load_ed25519_private_key",
    "v5",
    "v6",
]
