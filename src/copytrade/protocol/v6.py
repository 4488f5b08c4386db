"""HTX's v6 copy-trading family, ``/api/v6/copyTrading/trader/*`` (spec ``htx-v5-v6.md`` §8).

camelCase keys (``name=``), amounts as decimal strings, counts as strings, times as epoch
**microsecond** strings; ``data`` is always an array (:data:`REPLIES`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from copytrade.protocol.endpoints import Endpoint, HttpMethod, Permission
from copytrade.protocol.replies import Many, Reply
from copytrade.protocol.schema import BOOL, DEC18, ID, INT_STR, STR, Struct, structure, wire

INST_TYPE = "PERP"


@structure
class Instrument(Struct):
    """One ``instruments`` item: a contract open to lead trading."""

    label = "instruments"
    inst_id: str = wire(STR, name="instId")
    inst_type: str = wire(STR, name="instType")


@structure
class Follower(Struct):
    """One ``followers`` item (``id`` is the record id, the paging cursor)."""

    label = "followers"
    id: str = wire(ID)
    inst_type: str = wire(STR, name="instType")
    follower_avatar_link: str = wire(STR, name="followerAvatarLink")
    follower_name: str = wire(STR, name="followerName")
    follower_uid: str = wire(ID, name="followerUid")
    follow_time: int = wire(INT_STR, name="followTime")
    follower_asset_amt: Decimal = wire(DEC18, name="followerAssetAmt")
    follower_profit_sharing_amt: Decimal = wire(DEC18, name="followerProfitSharingAmt")
    follower_trade_amt: Decimal = wire(DEC18, name="followerTradeAmt")
    total_profit_sharing_amt: Decimal = wire(DEC18, name="totalProfitSharingAmt")


@structure
class ProfitSharing(Struct):
    """One ``profit-sharing-history`` item: a profit share received from a follower."""

    label = "profit-sharing-history"
    id: str = wire(ID)
    inst_type: str = wire(STR, name="instType")
    follower_name: str = wire(STR, name="followerName")
    ccy: str = wire(STR)
    profit_sharing_amt: Decimal = wire(DEC18, name="profitSharingAmt")
    ts: int = wire(INT_STR)


@structure
class Total(Struct):
    """A profit-share total (received, or pending on open copies)."""

    label = "profit-sharing summary"
    inst_type: str = wire(STR, name="instType")
    ccy: str = wire(STR)
    total_amt: Decimal = wire(DEC18, name="totalAmt")


@structure
class Config(Struct):
    """``config``: whether lead trading is on, its profit-share ratio and follower cap."""

    label = "config"
    inst_type: str = wire(STR, name="instType")
    enable: bool = wire(BOOL)
    profit_sharing_ratio: Decimal | None = wire(DEC18, name="profitSharingRatio")
    max_followers: int | None = wire(INT_STR, name="maxFollowers")


@structure
class DayProfit(Struct):
    """One ``profitDetails90d`` point: a day's PnL, its rate, the day's start (µs, UTC+8)."""

    label = "profitDetails90d"
    pnl_rate: Decimal = wire(DEC18, name="pnlRate")
    pnl: Decimal = wire(DEC18)
    ts: int = wire(INT_STR)


@structure
class Statistics(Struct):
    """``statistics``: followers, lead and follower PnL, wins and losses, 90 daily points."""

    label = "statistics"
    inst_type: str = wire(STR, name="instType")
    total_follower_num: int = wire(INT_STR, name="totalFollowerNum")
    cur_follower_num: int = wire(INT_STR, name="curFollowerNum")
    total_pnl: Decimal = wire(DEC18, name="totalPnl")
    follower_total_pnl: Decimal = wire(DEC18, name="followerTotalPnl")
    win_rate: Decimal = wire(DEC18, name="winRate")
    win_num: int = wire(INT_STR, name="winNum")
    loss_num: int = wire(INT_STR, name="lossNum")
    profit_details_90d: tuple[DayProfit, ...] = wire(name="profitDetails90d")


@structure
class Removal(Struct):
    """One ``follower`` (remove) item: ``sCode`` ``"0"`` removed, else why not."""

    label = "follower"
    follower_uid: str = wire(STR, name="followerUid")
    s_code: str = wire(STR, "scode", name="sCode")
    s_msg: str = wire(STR, "smsg", name="sMsg")


@structure
class MintedKey(Struct):
    """``apikey``: a new lead-trading key; the secret is shown only here."""

    label = "apikey"
    key_label: str = wire(STR, name="label")  # `label` is the structure's own name
    access_key: str = wire(STR, name="accessKey")
    secret_key: str = wire(STR, name="secretKey")
    ts: int = wire(INT_STR)


_P = "/api/v6/copyTrading/trader/"
G, P = HttpMethod.GET, HttpMethod.POST
R, T = Permission.READ, Permission.TRADE

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("instruments", G, _P + "instruments", R, "Contracts open to lead trading"),
    Endpoint("statistics", G, _P + "statistics", R, "Lead-trading statistics"),
    Endpoint(
        "profit_sharing_history", G, _P + "profit-sharing-history", R, "Profit shares received"
    ),
    Endpoint(
        "profit_sharing_summary",
        G,
        _P + "profit-sharing-history-summary",
        R,
        "Profit-share total received",
    ),
    Endpoint(
        "unrealized_summary",
        G,
        _P + "unrealized-profit-sharing-summary",
        R,
        "Profit share pending on open copies",
    ),
    Endpoint("followers", G, _P + "followers", R, "Current followers"),
    Endpoint("remove_followers", P, _P + "follower", T, "Remove followers (at most 10)"),
    Endpoint("transfer", P, _P + "transfer", T, "Move USDT between accounts"),
    Endpoint(
        "follower_settings", P, _P + "follower-settings", T, "Enable lead trading, ratio, cap"
    ),
    Endpoint("config", G, _P + "config", R, "Lead-trading configuration"),
    Endpoint("config_post", P, _P + "config", R, "Lead-trading configuration (ccxt: POST)"),
    Endpoint("apikey", P, _P + "apikey", T, "Create a lead-trading API key"),
)
"""The 11 v6 paths (``config`` answers GET and POST)."""


class Empty(Reply[None]):
    """``data`` is an empty array (``transfer``: success is the code ``"0"`` alone)."""

    __slots__ = ()

    def render(self, value: None) -> Any:
        """Return ``[]``."""
        return []

    def parse(self, data: Any) -> None:
        """Nothing to read."""
        return None


ACCOUNT_SPOT, ACCOUNT_FUTURES, ACCOUNT_COPY_TRADING = 1, 2, 4
"""``transfer``'s account codes the emulator serves (3 and 5 are reserved by HTX, §8.8)."""

EMPTY = Empty()
INSTRUMENTS = Many(Instrument)
STATISTICS = Many(Statistics)
REMOVALS = Many(Removal)
FOLLOWERS = Many(Follower)
PROFIT_SHARING = Many(ProfitSharing)
TOTALS = Many(Total)
CONFIG = Many(Config)
MINTED = Many(MintedKey)

REPLIES: dict[str, Reply[Any]] = {
    "instruments": INSTRUMENTS,
    "statistics": STATISTICS,
    "remove_followers": REMOVALS,
    "follower_settings": CONFIG,
    "profit_sharing_history": PROFIT_SHARING,
    "profit_sharing_summary": TOTALS,
    "unrealized_summary": TOTALS,
    "followers": FOLLOWERS,
    "config": CONFIG,
    "config_post": CONFIG,
    "apikey": MINTED,
    "transfer": EMPTY,
}
"""The shape of ``data`` of the v6 endpoints served, by endpoint name (``transfer``: helper
v1funds)."""
