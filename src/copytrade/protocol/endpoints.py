"""The endpoint table of HTX's "Future Copy Trade" family: the one source of paths.

Server routes, SDK docstrings and the coverage document are driven from :data:`ENDPOINTS`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

DOC_BASE = "https://www.htx.com/en-us/opend/newApiPages/"


class Permission(enum.Enum):
    """API-key permission an endpoint needs (spec §3.7)."""

    READ = "read"
    TRADE = "trade"


class HttpMethod(enum.StrEnum):
    """The two HTTP methods the family uses (members are strings: compared per request)."""

    GET = "GET"
    POST = "POST"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One copy-trading endpoint: its name, method, path and permission."""

    name: str
    method: HttpMethod
    path: str
    permission: Permission
    summary: str


_P = "/copytrading/trader/"

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "place_order",
        HttpMethod.POST,
        _P + "place_order",
        Permission.TRADE,
        "Place an opening (lead) order",
    ),
    Endpoint(
        "close_order",
        HttpMethod.POST,
        _P + "close_order",
        Permission.TRADE,
        "Close one sub position at market",
    ),
    Endpoint(
        "close_all_position",
        HttpMethod.POST,
        _P + "close_all_position",
        Permission.TRADE,
        "Close all sub positions of contract+margin_mode+side at market",
    ),
    Endpoint(
        "tpsl_order",
        HttpMethod.POST,
        _P + "tpsl_order",
        Permission.TRADE,
        "Set TP/SL trigger prices on one sub position",
    ),
    Endpoint(
        "add_margin",
        HttpMethod.POST,
        _P + "add_margin",
        Permission.TRADE,
        "Add or reduce margin of an isolated position",
    ),
    Endpoint(
        "account_transfer",
        HttpMethod.POST,
        _P + "account_transfer",
        Permission.TRADE,
        "Move funds between the copy-trading account and the futures/spot accounts",
    ),
    Endpoint(
        "updated_contract_lever",
        HttpMethod.POST,
        _P + "updated_contract_lever",
        Permission.TRADE,
        "Change leverage of a contract+margin_mode",
    ),
    Endpoint(
        "query_contract_lever",
        HttpMethod.GET,
        _P + "query_contract_lever",
        Permission.READ,
        "Read leverage range and current leverage",
    ),
    Endpoint(
        "query_contract",
        HttpMethod.GET,
        _P + "query_contract",
        Permission.READ,
        "List contracts available for copy trading",
    ),
    Endpoint(
        "position_list",
        HttpMethod.GET,
        _P + "position_list",
        Permission.TRADE,
        "Aggregate open positions with risk metrics",
    ),
    Endpoint(
        "current_positions",
        HttpMethod.GET,
        _P + "current_positions",
        Permission.READ,
        "Open sub positions of one contract (paged)",
    ),
    Endpoint(
        "position_positions",
        HttpMethod.GET,
        _P + "position_positions",
        Permission.READ,
        "Closed sub positions of one contract (paged)",
    ),
    Endpoint(
        "open_orders",
        HttpMethod.GET,
        _P + "open_orders",
        Permission.READ,
        "Unfilled opening orders",
    ),
    Endpoint(
        "tpsl_open_orders",
        HttpMethod.GET,
        _P + "tpsl_open_orders",
        Permission.READ,
        "Untriggered TP/SL orders",
    ),
    Endpoint(
        "order_total_detail",
        HttpMethod.GET,
        _P + "order_total_detail",
        Permission.READ,
        "Trader statistics",
    ),
    Endpoint(
        "profit_history_details",
        HttpMethod.GET,
        _P + "profit_history_details",
        Permission.READ,
        "Profit-share items received from followers (paged)",
    ),
    Endpoint(
        "total_profit_history",
        HttpMethod.GET,
        _P + "total_profit_history",
        Permission.READ,
        "Profit-share totals per currency",
    ),
    Endpoint(
        "query_followers",
        HttpMethod.GET,
        _P + "query_followers",
        Permission.READ,
        "Current followers (paged)",
    ),
    Endpoint(
        "remove_follower",
        HttpMethod.POST,
        _P + "remove_follower",
        Permission.TRADE,
        "Remove one follower",
    ),
)

BY_NAME: dict[str, Endpoint] = {e.name: e for e in ENDPOINTS}
BY_PATH: dict[str, Endpoint] = {e.path: e for e in ENDPOINTS}
