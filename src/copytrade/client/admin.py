"""A small client for a copytrade server's own admin API (``/_sim/``), not part of HTX.

Replies are the server's JSON (decimals as strings), described at ``/_sim/openapi.json``. A
refused call raises :class:`AdminApiError` with the HTTP status, the server's message and the
field at fault; a server that cannot be reached raises :class:`AdminUnreachable`.

Example::

    with AdminClient("http://127.0.0.1:8080") as admin:
        trader = admin.create_user("trader", balance="10000")
        follower = admin.create_user("follower")
        admin.follow(follower["uid"], trader["uid"], ratio="0.5")
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from types import TracebackType
from typing import Any, Self

import httpx

from copytrade.client.errors import CopytradeClientError

DEFAULT_ADMIN_URL = "http://127.0.0.1:8080"
Number = str | int | Decimal


class AdminApiError(CopytradeClientError):
    """The admin API refused a call."""

    def __init__(self, status: int, error: str, field: str | None = None) -> None:
        """Keep the HTTP status, the server's message and the field it names."""
        super().__init__(f"{status}: {error}")
        self.status = status
        self.error = error
        self.field = field


class AdminUnreachable(CopytradeClientError):
    """No answer from the server (not running, wrong URL, network)."""


class Unset:
    """The type of :data:`UNSET`: a setting left as it is (``None`` clears one)."""

    def __repr__(self) -> str:
        """Name the marker."""
        return "UNSET"


UNSET = Unset()
"""Leave a follower setting unchanged (the default of :meth:`AdminClient.follower_settings`)."""


def _text(value: Number) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def _decimals_as_text(body: dict[str, Any]) -> dict[str, Any]:
    """Return ``body`` with every Decimal (nested in dicts too) as its exact text."""
    return {
        k: _decimals_as_text(v)
        if isinstance(v, dict)
        else (_text(v) if isinstance(v, Decimal) else v)
        for k, v in body.items()
    }


def _settings_body(
    fixed_amount: Number | None,
    tp_ratio: Number | None,
    sl_ratio: Number | None,
    total_stop_loss: Number | None,
    contracts: Sequence[str] | None,
    max_slippage: Number | None = None,
) -> dict[str, Any]:
    """Return the copy settings given, as a follow call's body takes them."""
    body: dict[str, Any] = {}
    if fixed_amount is not None:
        body["mode"] = "fixed_amount"
        body["fixed_amount"] = _text(fixed_amount)
    for name, value in (
        ("tp_ratio", tp_ratio),
        ("sl_ratio", sl_ratio),
        ("total_stop_loss", total_stop_loss),
        ("max_slippage", max_slippage),
    ):
        if value is not None:
            body[name] = _text(value)
    if contracts is not None:
        body["contracts"] = list(contracts)
    return body


class AdminClient:
    """Blocking client of ``/_sim/``; ``token`` is the server's admin token (if it has one)."""

    def __init__(
        self,
        base_url: str = DEFAULT_ADMIN_URL,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """Connect to ``base_url``; ``transport`` lets tests route requests in-process."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=transport
        )

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        """Use as a context manager."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close."""
        self.close()

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None, also: int = 0
    ) -> Any:
        """Make one call; return its JSON (a 4xx/5xx raises, but ``also``, a status to return)."""
        try:
            reply = self._http.request(method, path, json=body)
        except httpx.TransportError as exc:
            raise AdminUnreachable(
                f"cannot reach {self.base_url}{path} ({type(exc).__name__}): is the copytrade "
                "server running there? (start one with `copytrade serve`)"
            ) from exc
        try:
            data = reply.json()
        except ValueError:
            data = None
        if reply.status_code >= 400 and reply.status_code != also:
            if isinstance(data, dict) and "error" in data:
                raise AdminApiError(reply.status_code, str(data["error"]), data.get("field"))
            raise AdminApiError(reply.status_code, reply.text[:200] or reply.reason_phrase)
        if data is None:
            raise AdminApiError(reply.status_code, "the reply is not JSON")
        return data

    def health(self) -> dict[str, Any]:
        """Return liveness: ``status``, ``version``, ``worker``, ``store``, schema, ``redis``."""
        return dict(self._call("GET", "/_sim/health"))

    def ready(self) -> dict[str, Any]:
        """Return readiness: ``ready`` and ``problems`` (a 503 is returned, not raised)."""
        return dict(self._call("GET", "/_sim/ready", also=503))

    def create_user(
        self,
        role: str = "trader",
        *,
        balance: Number = "10000",
        permissions: str = "trade",
        ed25519_public_key: str | None = None,
        profit_share_ratio: Number | None = None,
        spot: Number | None = None,
        futures: Number | None = None,
    ) -> dict[str, Any]:
        """Create a user; return ``{"uid", "access_key", "secret_key"}``.

        ``balance`` funds the copy-trading account (the one trading keys see); ``spot`` and
        ``futures`` the UID's other two USDT balances, reached by transfers.
        """
        body: dict[str, Any] = {"role": role, "balance": _text(balance), "permissions": permissions}
        for name, value in (("spot", spot), ("futures", futures)):
            if value is not None:
                body[name] = _text(value)
        if ed25519_public_key is not None:
            body["ed25519_public_key"] = ed25519_public_key
        if profit_share_ratio is not None:
            body["profit_share_ratio"] = _text(profit_share_ratio)
        return dict(self._call("POST", "/_sim/users", body))

    def user(self, uid: int) -> dict[str, Any]:
        """Return a user's balance, positions, orders, follow and history."""
        return dict(self._call("GET", f"/_sim/users/{uid}"))

    def set_funds(
        self,
        uid: int,
        *,
        balance: Number | None = None,
        spot: Number | None = None,
        futures: Number | None = None,
    ) -> dict[str, Any]:
        """Set any of a UID's three USDT balances; return ``{"uid", "balance", "spot", "futures"}``.

        ``balance`` is the copy-trading account; balances left out keep their value.
        """
        body = {
            name: _text(value)
            for name, value in (("balance", balance), ("spot", spot), ("futures", futures))
            if value is not None
        }
        return dict(self._call("POST", f"/_sim/users/{uid}/funds", body))

    def follow(
        self,
        follower_uid: int,
        trader_uid: int,
        ratio: Number = "1",
        *,
        fixed_amount: Number | None = None,
        tp_ratio: Number | None = None,
        sl_ratio: Number | None = None,
        total_stop_loss: Number | None = None,
        contracts: Sequence[str] | None = None,
        max_slippage: Number | None = None,
    ) -> dict[str, Any]:
        """Make a follower copy a trader, with the follower's settings (spec §8.1).

        Args:
            follower_uid: The follower.
            trader_uid: The trader.
            ratio: Copy ratio (``ratio`` mode): copy = floor(ratio × lead change).
            fixed_amount: USDT of margin per copied lead open; selects ``fixed_amount`` mode.
            tp_ratio: A copy closes on its own at PnL / margin ≥ this.
            sl_ratio: A copy closes on its own at PnL / margin ≤ −this.
            total_stop_loss: USDT of copy loss after which the follow stops, copies closed.
            contracts: Copy only these contracts.
            max_slippage: Skip a market copy expected worse than the lead by more than this
                fraction (reason ``slippage``).

        Returns:
            The follow made, with its settings.
        """
        body: dict[str, Any] = {
            "follower_uid": follower_uid,
            "trader_uid": trader_uid,
            "ratio": _text(ratio),
        }
        body.update(
            _settings_body(
                fixed_amount, tp_ratio, sl_ratio, total_stop_loss, contracts, max_slippage
            )
        )
        return dict(self._call("POST", "/_sim/follow", body))

    def follow_of(self, follower_uid: int) -> dict[str, Any]:
        """Return whom a follower copies, with its settings (404 when it follows no one)."""
        return dict(self._call("GET", f"/_sim/users/{follower_uid}/follow"))

    def follower_settings(
        self,
        follower_uid: int,
        *,
        trader_uid: int | None = None,
        ratio: Number | None = None,
        mode: str | None = None,
        fixed_amount: Number | Unset | None = UNSET,
        tp_ratio: Number | Unset | None = UNSET,
        sl_ratio: Number | Unset | None = UNSET,
        total_stop_loss: Number | Unset | None = UNSET,
        contracts: Sequence[str] | Unset | None = UNSET,
        max_slippage: Number | Unset | None = UNSET,
    ) -> dict[str, Any]:
        """Change a follower's settings (``PATCH /_sim/users/{uid}/follow``).

        Only the settings given change; ``None`` clears an optional one (TP/SL ratio, total
        stop-loss, contracts). A ``fixed_amount`` without ``mode`` selects ``fixed_amount``
        mode. The new rules apply at once at the current marks.

        Args:
            follower_uid: The follower.
            trader_uid: Refuse (409) unless the follower follows this trader.
            ratio: Copy ratio (``ratio`` mode).
            mode: ``ratio`` or ``fixed_amount``.
            fixed_amount: USDT of margin per copied lead open.
            tp_ratio: A copy closes on its own at PnL / margin ≥ this (``None``: off).
            sl_ratio: A copy closes on its own at PnL / margin ≤ −this (``None``: off).
            total_stop_loss: USDT of copy loss that ends the follow (``None``: off).
            contracts: Copy only these contracts (``None``: every contract).
            max_slippage: Skip copies worse than the lead by more than this fraction
                (``None``: off).

        Returns:
            The follow with its new settings, ``copy_exits`` and ``copies_stopped`` (copies
            the new rules closed at once) and ``stopped`` (the total stop-loss was reached).
        """
        body: dict[str, Any] = {}
        if trader_uid is not None:
            body["trader_uid"] = trader_uid
        if ratio is not None:
            body["ratio"] = _text(ratio)
        if mode is None and fixed_amount is not None and not isinstance(fixed_amount, Unset):
            mode = "fixed_amount"
        if mode is not None:
            body["mode"] = mode
        for name, value in (
            ("fixed_amount", fixed_amount),
            ("tp_ratio", tp_ratio),
            ("sl_ratio", sl_ratio),
            ("total_stop_loss", total_stop_loss),
            ("max_slippage", max_slippage),
        ):
            if not isinstance(value, Unset):
                body[name] = None if value is None else _text(value)
        if not isinstance(contracts, Unset):
            body["contracts"] = None if contracts is None else list(contracts)
        return dict(self._call("PATCH", f"/_sim/users/{follower_uid}/follow", body))

    def bulk_followers(
        self,
        trader_uid: int,
        count: int,
        *,
        balance: Number = "10000",
        ratio: Number = "1",
        fixed_amount: Number | None = None,
        tp_ratio: Number | None = None,
        sl_ratio: Number | None = None,
        total_stop_loss: Number | None = None,
        contracts: Sequence[str] | None = None,
        max_slippage: Number | None = None,
    ) -> list[int]:
        """Create ``count`` funded followers of a trader, alike; return their UIDs.

        The settings are those :meth:`follow` takes, given to every new follower.
        """
        body: dict[str, Any] = {
            "trader_uid": trader_uid,
            "count": count,
            "balance": _text(balance),
            "ratio": _text(ratio),
        }
        body.update(
            _settings_body(
                fixed_amount, tp_ratio, sl_ratio, total_stop_loss, contracts, max_slippage
            )
        )
        return list(self._call("POST", "/_sim/followers/bulk", body)["uids"])

    def markets(self) -> dict[str, Any]:
        """Return every contract's mark and best quotes."""
        return dict(self._call("GET", "/_sim/markets"))

    def set_price(self, contract_code: str, price: Number) -> dict[str, Any]:
        """Move a mark price; return the new mark and what it set off."""
        return dict(
            self._call("POST", f"/_sim/markets/{contract_code}/price", {"price": _text(price)})
        )

    def path(self, contract_code: str) -> dict[str, Any]:
        """Return a market's price path: parameters, start, ticks applied, next tick."""
        return dict(self._call("GET", f"/_sim/markets/{contract_code}/path"))

    def set_path(
        self,
        contract_code: str,
        kind: str,
        *,
        seed: int = 0,
        volatility: Number = "0",
        drift: Number = "0",
        tick_ms: int = 1000,
        csv: str | None = None,
    ) -> dict[str, Any]:
        """Give a market a price path (``fixed``, ``gbm``, ``walk``, or ``replay`` of ``csv``)."""
        body: dict[str, Any] = {"kind": kind}
        if kind in ("gbm", "walk"):
            body.update(
                seed=seed, volatility=_text(volatility), drift=_text(drift), tick_ms=tick_ms
            )
        if csv is not None:
            body["csv"] = csv
        return dict(self._call("POST", f"/_sim/markets/{contract_code}/path", body))

    def slippage(self, trader_uid: int) -> dict[str, Any]:
        """Return each open lead position of a trader with its copies' slippage (bps)."""
        return dict(self._call("GET", f"/_sim/traders/{trader_uid}/slippage"))

    def funding(self, **changes: Any) -> dict[str, Any]:
        """Return the funding settings and recent settlements; with ``changes``, change them first.

        ``changes``: ``mode`` (``off``/``rate``/``premium``), ``interval_hours``,
        ``default_rate``, ``rates`` (``{"ETH-USDT": "0.0003"}``), ``impact_volume``.
        """
        if not changes:
            return dict(self._call("GET", "/_sim/funding"))
        return dict(self._call("POST", "/_sim/funding", _decimals_as_text(changes)))

    def impact(self, **changes: Any) -> dict[str, Any]:
        """Return the market impact settings; with ``changes``, change them first.

        ``changes``: ``half_life_ms`` (0: off), ``copy_order`` (``follow_time``/``shuffle``),
        ``seed``, ``copy_latency_ms``, ``max_slippage`` (``None``: no venue guard).
        """
        if not changes:
            return dict(self._call("GET", "/_sim/impact"))
        return dict(self._call("POST", "/_sim/impact", _decimals_as_text(changes)))

    def clock(self) -> int:
        """Return the simulation clock (epoch ms)."""
        return int(self._call("GET", "/_sim/clock")["now_ms"])

    def advance_clock(self, ms: int) -> int:
        """Move the clock by ``ms`` (negative moves back); return the new time."""
        return int(self._call("POST", "/_sim/clock", {"advance_ms": ms})["now_ms"])

    def freeze_clock(self, now_ms: int) -> int:
        """Freeze the clock at ``now_ms``."""
        return int(self._call("POST", "/_sim/clock", {"now_ms": now_ms})["now_ms"])

    def resume_clock(self) -> int:
        """Let a frozen clock run again."""
        return int(self._call("POST", "/_sim/clock", {"now_ms": None})["now_ms"])

    def reset(self) -> None:
        """Delete every user, position and record; markets are seeded again."""
        self._call("POST", "/_sim/reset")
