"""A test's view of a copytrade server: reset it, make traders with followers, get SDK clients.

The server is any copytrade server reachable over HTTP: the in-process :class:`LiveServer`
the pytest plugin starts once per session, or an external one (``--copytrade-url``).
Everything goes through the admin API (``/_sim/``) and the SDK, never inside the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from copytrade.client import Client, HmacAuth
from copytrade.client.admin import AdminClient

Credentials = dict[str, Any]
"""``{"uid", "access_key", "secret_key"}`` as ``POST /_sim/users`` returns it."""


@dataclass(frozen=True, slots=True)
class Team:
    """A lead trader and its followers, each with an HMAC API key."""

    trader: Credentials
    followers: list[Credentials]

    @property
    def follower_uids(self) -> list[int]:
        """Return the followers' UIDs."""
        return [int(f["uid"]) for f in self.followers]


@dataclass
class Sandbox:
    """Helpers over one server's admin API; SDK clients it made are closed by :meth:`close`."""

    base_url: str
    admin: AdminClient
    _clients: list[Client] = field(default_factory=list)

    @classmethod
    def connect(cls, base_url: str, token: str | None = None) -> Sandbox:
        """Return a sandbox for the server at ``base_url`` (admin ``token`` if it has one)."""
        return cls(base_url.rstrip("/"), AdminClient(base_url, token))

    def reset(self) -> None:
        """Delete every user, position and record on the server (markets seeded again)."""
        self.admin.reset()

    def create_user(
        self,
        role: str = "trader",
        balance: str | Decimal = "10000",
        *,
        spot: str | Decimal | None = None,
        futures: str | Decimal | None = None,
        **extra: Any,
    ) -> Credentials:
        """Create a user with an HMAC key; return its credentials.

        ``balance`` funds the copy-trading account; ``spot`` and ``futures`` the other two.
        """
        return self.admin.create_user(role, balance=balance, spot=spot, futures=futures, **extra)

    def set_funds(
        self,
        uid: int,
        *,
        balance: str | Decimal | None = None,
        spot: str | Decimal | None = None,
        futures: str | Decimal | None = None,
    ) -> dict[str, Any]:
        """Set any of a UID's three USDT balances (``balance``: the copy-trading account)."""
        return self.admin.set_funds(uid, balance=balance, spot=spot, futures=futures)

    def trader_with_followers(
        self,
        followers: int = 3,
        *,
        trader_balance: str | Decimal = "100000",
        follower_balance: str | Decimal = "10000",
        ratio: str | Decimal = "1",
        settings: Mapping[str, Any] | None = None,
    ) -> Team:
        """Create a trader and ``followers`` followers copying it, all keyed.

        Args:
            followers: How many followers.
            trader_balance: The trader's USDT.
            follower_balance: Each follower's USDT.
            ratio: Copy ratio of each follower.
            settings: Each follower's settings, as :meth:`AdminClient.follow` takes them:
                ``fixed_amount``, ``tp_ratio``, ``sl_ratio``, ``total_stop_loss``,
                ``contracts`` (e.g. ``{"fixed_amount": "100", "sl_ratio": "0.5"}``).

        Returns:
            The trader and its followers with their credentials.
        """
        trader = self.create_user("trader", trader_balance)
        made = []
        for _ in range(followers):
            follower = self.create_user("follower", follower_balance)
            self.admin.follow(int(follower["uid"]), int(trader["uid"]), ratio, **(settings or {}))
            made.append(follower)
        return Team(trader, made)

    def follower_settings(self, follower: Credentials | int, **changes: Any) -> dict[str, Any]:
        """Change a follower's settings (see :meth:`AdminClient.follower_settings`)."""
        uid = follower if isinstance(follower, int) else int(follower["uid"])
        return self.admin.follower_settings(uid, **changes)

    def client_for(self, creds: Credentials, **options: Any) -> Client:
        """Return an SDK :class:`~copytrade.client.Client` signed with ``creds``' key."""
        client = Client(
            self.base_url, HmacAuth(creds["access_key"], creds["secret_key"]), **options
        )
        self._clients.append(client)
        return client

    def close(self) -> None:
        """Close every SDK client made here, and the admin client."""
        for client in self._clients:
            client.close()
        self._clients.clear()
        self.admin.close()
