"""v6 copy-trading endpoints (spec ``htx-v5-v6.md`` §8): parse, use case, render."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from copytrade.api import wire
from copytrade.api.routes import Params, Route, encode_follower_uid, route
from copytrade.api.v1_wire import decode_follower_uid
from copytrade.api.wire import WireError
from copytrade.domain.enums import Wallet
from copytrade.domain.errors import UnknownFollower
from copytrade.protocol import v6 as p6
from copytrade.protocol.error_codes import ErrorCode
from copytrade.service import v1, v6
from copytrade.service.context import ServiceContext

MICROS = 1000
_MICRO_THRESHOLD = 10**14  # a 16-digit time is microseconds, a 13-digit one milliseconds


def _inst_type(p: Params) -> None:
    value = p.get("instType")
    if value not in (None, "", p6.INST_TYPE):
        raise WireError(ErrorCode.ILLEGAL_PARAM, "instType")


def only_inst_type(p: Params, now_ms: int) -> tuple[()]:
    """``instType`` (``PERP``, optional); other parameters are ignored."""
    _inst_type(p)
    return ()


def _ms(p: Params, name: str, default: int) -> int:
    raw = p.get(name)
    if raw in (None, ""):
        return default
    value = wire.int_field(raw, name)
    if not 0 <= value < 2**63:  # times are 64-bit in storage
        raise WireError(ErrorCode.ILLEGAL_PARAM, name)
    return value // MICROS if value >= _MICRO_THRESHOLD else value


def _id(p: Params, name: str) -> int | None:
    raw = p.get(name)
    if raw in (None, ""):
        return None
    text = wire.id_field(raw, name)
    if not text.isdigit() or len(text) > 19:
        raise WireError(ErrorCode.ILLEGAL_PARAM, name)
    return int(text)


def parse_cursor(p: Params, now_ms: int) -> tuple[v6.Cursor]:
    """``instType``, ``after``/``before`` (record ids), ``limit`` (1-100), ``begin``/``end``."""
    _inst_type(p)
    limit = wire.int_field(p["limit"], "limit") if p.get("limit") not in (None, "") else 100
    if not 1 <= limit <= 100:
        raise WireError(ErrorCode.ILLEGAL_PARAM, "limit")
    begin, end = _ms(p, "begin", 0), _ms(p, "end", now_ms)
    return (v6.Cursor(_id(p, "after"), _id(p, "before"), limit, begin, end),)


_RATIOS = frozenset(Decimal(r) for r in ("0.1", "0.15", "0.2", "0.25"))
_CAPS = frozenset({100, 200, 500, 1000})


def _illegal(name: str) -> WireError:
    return WireError(ErrorCode.ILLEGAL_PARAM, name)


def _follower_uid(raw: str) -> int | None:
    """Return the UID behind a follower id (``followers``' opaque id, or a plain UID)."""
    try:
        return decode_follower_uid(raw)
    except UnknownFollower:
        return int(raw) if raw.isdigit() and len(raw) <= 19 else None


def parse_remove(p: Params, now_ms: int) -> tuple[tuple[tuple[str, int | None], ...]]:
    """``POST follower``: ``followerUids`` an array or a comma-separated string (spec §8.7).

    At most 10; an id that is no current follower fails alone (its ``sCode``).
    """
    _inst_type(p)
    raw = p.get("followerUids")
    if isinstance(raw, str):
        items: list[Any] = [i.strip() for i in raw.split(",") if i.strip()]
    elif isinstance(raw, list):
        items = raw
    else:
        raise _illegal("followerUids")
    if not 1 <= len(items) <= v6.MAX_REMOVALS:
        raise _illegal("followerUids")
    ids = [wire.id_field(i, "followerUids") for i in items]
    return (tuple((i, _follower_uid(i)) for i in ids),)


def _enable(p: Params) -> bool:
    value = p.get("enable")  # a JSON boolean, or its text (HTX's Java SDK); not 0 or 1
    if value is True or value == "true":
        return True
    if value is False or value == "false":
        return False
    raise _illegal("enable")


def parse_settings(p: Params, now_ms: int) -> tuple[v6.LeadSettings]:
    """``POST follower-settings``: ``enable``, ratio and cap tiers (spec §8.9)."""
    _inst_type(p)
    enable = _enable(p)
    ratio = wire.optional_decimal(p, "profitSharingRatio")
    if ratio is not None and ratio not in _RATIOS:
        raise _illegal("profitSharingRatio")
    cap = None
    if p.get("maxFollowers") not in (None, ""):
        cap = wire.int_field(p["maxFollowers"], "maxFollowers")
        if cap not in _CAPS:
            raise _illegal("maxFollowers")
    return (v6.LeadSettings(enable, ratio, cap),)


def render_statistics(ctx: ServiceContext, arguments: tuple[()], stats: v6.LeadStats) -> Any:
    """``statistics``: one item; days as µs."""
    days = tuple(p6.DayProfit(d.rate, d.amount, d.ts * MICROS) for d in stats.days)
    return p6.STATISTICS.render(
        (
            p6.Statistics(
                inst_type=p6.INST_TYPE,
                total_follower_num=stats.total_followers,
                cur_follower_num=stats.current_followers,
                total_pnl=stats.total_pnl,
                follower_total_pnl=stats.follower_total_pnl,
                win_rate=stats.win_rate,
                win_num=stats.wins,
                loss_num=stats.losses,
                profit_details_90d=days,
            ),
        )
    )


_NOT_FOLLOWING = "Illegal parameter followerUids: not a current follower."


def render_removals(
    ctx: ServiceContext, arguments: tuple[Any, ...], done: list[tuple[str, bool]]
) -> Any:
    """``follower``: per id ``sCode`` ``"0"`` (removed) or ``"1067"`` (spec §8.7)."""
    return p6.REMOVALS.render(
        tuple(
            p6.Removal(raw, "0", "") if ok else p6.Removal(raw, "1067", _NOT_FOLLOWING)
            for raw, ok in done
        )
    )


def render_instruments(ctx: ServiceContext, arguments: tuple[()], codes: tuple[str, ...]) -> Any:
    """``instruments``: ``BTC-USDT`` is ``BTC-USDT-PERP``."""
    return p6.INSTRUMENTS.render(tuple(p6.Instrument(f"{c}-PERP", p6.INST_TYPE) for c in codes))


def render_followers(ctx: ServiceContext, arguments: tuple[Any], view: v6.FollowersView) -> Any:
    """``followers``: masked names, opaque uids (as v1's ``query_followers``)."""
    total = sum(view.shared.values(), Decimal(0))
    return p6.FOLLOWERS.render(
        tuple(
            p6.Follower(
                id=str(r.follow_id),
                inst_type=p6.INST_TYPE,
                follower_avatar_link=f"https://static.example.invalid/avatar/{r.follower_uid}.png",
                follower_name=_mask(r.name),
                follower_uid=encode_follower_uid(r.follower_uid),
                follow_time=r.started_at * MICROS,
                follower_asset_amt=r.trade_amount,
                follower_profit_sharing_amt=view.shared.get(r.follower_uid, Decimal(0)),
                follower_trade_amt=r.trade_amount,
                total_profit_sharing_amt=total,
            )
            for r in view.rows
        )
    )


def _mask(name: str) -> str:
    local, at, domain = name.partition("@")
    return f"{local[:1]}***{at}{domain}" if local else "***"


def render_history(ctx: ServiceContext, arguments: tuple[Any], rows: list[v6.ShareRow]) -> Any:
    """``profit-sharing-history``."""
    return p6.PROFIT_SHARING.render(
        tuple(
            p6.ProfitSharing(
                str(r.item_id),
                p6.INST_TYPE,
                _mask(r.follower_name),
                "USDT",
                r.amount,
                r.ts * MICROS,
            )
            for r in rows
        )
    )


def render_total(ctx: ServiceContext, arguments: tuple[()], total: Decimal) -> Any:
    """A summary: one item."""
    return p6.TOTALS.render((p6.Total(p6.INST_TYPE, "USDT", total),))


def render_config(ctx: ServiceContext, arguments: tuple[Any, ...], config: v6.LeadConfig) -> Any:
    """``config``: ratio and cap only while lead trading is enabled."""
    return p6.CONFIG.render(
        (p6.Config(p6.INST_TYPE, config.enabled, config.ratio, config.max_followers),)
    )


def render_minted(ctx: ServiceContext, arguments: tuple[()], minted: tuple[str, str, int]) -> Any:
    """``apikey``: the new key and its secret (shown once)."""
    access, secret, now = minted
    return p6.MINTED.render((p6.MintedKey("copytrading", access, secret, now * MICROS),))


_ACCOUNTS = {
    p6.ACCOUNT_SPOT: Wallet.SPOT,
    p6.ACCOUNT_FUTURES: Wallet.FUTURES,
    p6.ACCOUNT_COPY_TRADING: Wallet.COPY_TRADING,
}


def _account(p: Params, name: str) -> Wallet:
    """``from``/``to``: 1 spot, 2 USDT-M futures, 4 futures copy trading (3, 5: reserved)."""
    wallet = _ACCOUNTS.get(wire.int_field(wire.required(p, name), name))
    if wallet is None:
        raise WireError(ErrorCode.ILLEGAL_PARAM, name)
    return wallet


def parse_transfer(p: Params, now_ms: int) -> tuple[Wallet, Wallet, Decimal, str]:
    """``POST transfer`` (spec §8.8): ``amt``, ``from``, ``to``, ``ccy`` (default ``USDT``).

    The same account twice, a reserved account, a bad ``amt`` or ``ccy`` ≠ USDT answer 1067
    naming the parameter (v1 would say 1315/1322/1331/10000); short funds 1047.
    """
    amount, currency = wire.transfer_fields(p, "amt", "ccy", "USDT")
    source, target = _account(p, "from"), _account(p, "to")
    if source is target:
        raise WireError(ErrorCode.ILLEGAL_PARAM, "to")
    return source, target, amount, currency


def render_transfer(ctx: ServiceContext, arguments: object, transfer_id: int) -> Any:
    """``transfer``: ``data`` is ``[]``, success is the code ``"0"``."""
    return p6.EMPTY.render(None)


V6_ROUTES: dict[str, Route] = {
    "instruments": route(only_inst_type, v6.instruments, render_instruments),
    "followers": route(parse_cursor, v6.followers, render_followers),
    "profit_sharing_history": route(parse_cursor, v6.profit_history, render_history),
    "profit_sharing_summary": route(only_inst_type, v6.profit_total, render_total),
    "unrealized_summary": route(only_inst_type, v6.unrealized_total, render_total),
    "config": route(only_inst_type, v6.config, render_config),
    "config_post": route(only_inst_type, v6.config, render_config),
    "apikey": route(only_inst_type, v6.mint_key, render_minted),
    "statistics": route(only_inst_type, v6.statistics, render_statistics),
    "remove_followers": route(parse_remove, v6.remove_followers, render_removals),
    "follower_settings": route(parse_settings, v6.follower_settings, render_config),
    "transfer": route(parse_transfer, v1.move_funds, render_transfer),
}
"""The v6 endpoints served: all eleven (``config`` answers GET and POST)."""
