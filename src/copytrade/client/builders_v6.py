"""Request builders for HTX's v6 copy-trading family (spec ``htx-v5-v6.md`` §8).

``/api/v6/copyTrading/trader/*``: camelCase parameters, ``instType`` ``PERP`` on every request,
the envelope ``{code: "0", msg, data: [...]}`` (an error keeps the shape with another code, read
into the SDK's exceptions like every family's). ``data`` is always an array; where HTX sends
exactly one item (statistics, config, follower settings, a minted key) the method returns it.
Times are epoch **microseconds**; ``begin``/``end`` also take milliseconds. The clients expose
these as ``client.v6.<name>(...)``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from copytrade.client.builders import JsonValue, PreparedRequest, _decimal_text, single
from copytrade.protocol import v6 as p6

__all__ = [
    "MAX_REMOVALS",
    "TransferAccount",
    "config",
    "create_apikey",
    "follower_settings",
    "followers",
    "instruments",
    "profit_sharing_history",
    "profit_sharing_summary",
    "remove_followers",
    "statistics",
    "transfer",
    "unrealized_profit_sharing_summary",
]

BY_NAME = {e.name: e for e in p6.ENDPOINTS}
MAX_REMOVALS = 10
"""``follower`` removes at most this many followers per call (spec §8.7)."""


class TransferAccount(enum.IntEnum):
    """Account codes of ``transfer`` (spec §8.8); 3 and 5 are reserved by HTX."""

    SPOT = p6.ACCOUNT_SPOT
    FUTURES = p6.ACCOUNT_FUTURES
    TRADING = 3
    COPY_TRADING = p6.ACCOUNT_COPY_TRADING
    SPOT_COPY_TRADING = 5


def _get(name: str, params: Mapping[str, str | int | None], parse: Any) -> PreparedRequest[Any]:
    given = {"instType": p6.INST_TYPE, **params}
    pairs = tuple((k, str(v)) for k, v in given.items() if v is not None)
    return PreparedRequest(BY_NAME[name], pairs, None, parse)


def _post(name: str, body: Mapping[str, JsonValue], parse: Any) -> PreparedRequest[Any]:
    return PreparedRequest(BY_NAME[name], (), {"instType": p6.INST_TYPE, **body}, parse)


def _done(data: Any) -> bool:
    """``transfer``: ``data`` is ``[]``; the envelope's code ``"0"`` already said success."""
    p6.EMPTY.parse(data)
    return True


def _window(
    begin: int | None, end: int | None, after: str | None, before: str | None, limit: int | None
) -> dict[str, str | int | None]:
    return {"begin": begin, "end": end, "after": after, "before": before, "limit": limit}


def instruments() -> PreparedRequest[tuple[p6.Instrument, ...]]:
    """List the contracts open to lead trading: ``GET /api/v6/copyTrading/trader/instruments``.

    ``inst_id`` is the contract with ``-PERP`` (``BTC-USDT-PERP``).
    """
    return _get("instruments", {}, p6.INSTRUMENTS.parse)


def statistics() -> PreparedRequest[p6.Statistics]:
    """Read the lead trader's statistics: ``GET /api/v6/copyTrading/trader/statistics``.

    Follower counts, the trader's and its followers' PnL, win rate, and 90 days of daily PnL.
    """
    return _get("statistics", {}, single(p6.STATISTICS))


def profit_sharing_history(
    *,
    inst_id: str | None = None,
    begin: int | None = None,
    end: int | None = None,
    after: str | None = None,
    before: str | None = None,
    limit: int | None = None,
) -> PreparedRequest[tuple[p6.ProfitSharing, ...]]:
    """List profit shares received, newest first.

    ``GET /api/v6/copyTrading/trader/profit-sharing-history``.

    Args:
        inst_id: only this contract (``BTC-USDT-PERP``).
        begin: epoch ms or µs lower bound.
        end: epoch ms or µs upper bound.
        after: records older than this record ``id`` (the next page).
        before: records newer than this record ``id``.
        limit: at most this many (1-100, default 100).
    """
    params = {"instId": inst_id, **_window(begin, end, after, before, limit)}
    return _get("profit_sharing_history", params, p6.PROFIT_SHARING.parse)


def profit_sharing_summary() -> PreparedRequest[tuple[p6.Total, ...]]:
    """Total profit share received, per currency.

    ``GET /api/v6/copyTrading/trader/profit-sharing-history-summary``.
    """
    return _get("profit_sharing_summary", {}, p6.TOTALS.parse)


def unrealized_profit_sharing_summary(
    *, ccy: str | None = None
) -> PreparedRequest[tuple[p6.Total, ...]]:
    """Profit share pending on the followers' open copies, per currency.

    ``GET /api/v6/copyTrading/trader/unrealized-profit-sharing-summary``.
    """
    return _get("unrealized_summary", {"ccy": ccy}, p6.TOTALS.parse)


def followers(
    *,
    begin: int | None = None,
    end: int | None = None,
    after: str | None = None,
    before: str | None = None,
    limit: int | None = None,
) -> PreparedRequest[tuple[p6.Follower, ...]]:
    """List current followers, newest first: ``GET /api/v6/copyTrading/trader/followers``.

    Args:
        begin: epoch ms or µs lower bound of the follow time.
        end: epoch ms or µs upper bound.
        after: records older than this record ``id`` (the next page).
        before: records newer than this record ``id``.
        limit: at most this many (1-100, default 100).
    """
    return _get("followers", _window(begin, end, after, before, limit), p6.FOLLOWERS.parse)


def remove_followers(*, follower_uids: Sequence[str]) -> PreparedRequest[tuple[p6.Removal, ...]]:
    """Remove followers (at most 10): ``POST /api/v6/copyTrading/trader/follower``.

    Their open copies are closed at market. The call succeeds as a whole; each item says
    whether that follower was removed (``s_code == "0"``) or why not.

    Args:
        follower_uids: the ``follower_uid`` values of :func:`followers`, unchanged.
    """
    if isinstance(follower_uids, str) or not 1 <= len(follower_uids) <= MAX_REMOVALS:
        raise ValueError(f"follower_uids must list 1 to {MAX_REMOVALS} follower ids")
    body = {"followerUids": tuple(str(u) for u in follower_uids)}
    return _post("remove_followers", body, p6.REMOVALS.parse)


def transfer(
    *,
    amount: Decimal,
    from_account: TransferAccount,
    to_account: TransferAccount,
    ccy: str = "USDT",
) -> PreparedRequest[bool]:
    """Move USDT between accounts: ``POST /api/v6/copyTrading/trader/transfer``.

    Args:
        amount: how much (more than 0).
        from_account: e.g. ``TransferAccount.FUTURES``.
        to_account: e.g. ``TransferAccount.COPY_TRADING``.
        ccy: ``"USDT"``.

    Returns:
        ``True`` once moved (HTX answers ``data: []``).
    """
    body: dict[str, JsonValue] = {
        "amt": _decimal_text(amount, "amount"),
        "from": str(int(TransferAccount(from_account))),
        "to": str(int(TransferAccount(to_account))),
        "ccy": ccy,
    }
    return _post("transfer", body, _done)


def follower_settings(
    *,
    enable: bool,
    profit_sharing_ratio: Decimal | None = None,
    max_followers: int | None = None,
) -> PreparedRequest[p6.Config]:
    """Turn lead trading on or off: ``POST /api/v6/copyTrading/trader/follower-settings``.

    Args:
        enable: lead trading on (fills of the copy-trading account are copied) or off.
        profit_sharing_ratio: share of the followers' profits, ``0.1``, ``0.15``, ``0.2`` or
            ``0.25``.
        max_followers: follower cap, ``100``, ``200``, ``500`` or ``1000``; a follow beyond it
            is refused.

    Returns:
        The configuration now in force.
    """
    body: dict[str, JsonValue] = {"enable": bool(enable)}
    if profit_sharing_ratio is not None:
        body["profitSharingRatio"] = _decimal_text(profit_sharing_ratio, "profit_sharing_ratio")
    if max_followers is not None:
        body["maxFollowers"] = str(int(max_followers))
    return _post("follower_settings", body, single(p6.CONFIG))


def config() -> PreparedRequest[p6.Config]:
    """Read the lead-trading configuration: ``GET /api/v6/copyTrading/trader/config``.

    The ratio and the cap are ``None`` while lead trading is off.
    """
    return _get("config", {}, single(p6.CONFIG))


def create_apikey() -> PreparedRequest[p6.MintedKey]:
    """Create a lead-trading API key: ``POST /api/v6/copyTrading/trader/apikey``.

    The key trades the copy-trading account; its secret is returned only here.
    """
    return _post("apikey", {}, single(p6.MINTED))
