"""Every built route, by profile name and endpoint name: what the dispatcher serves."""

from __future__ import annotations

from copytrade.api.routes import ROUTES, Route
from copytrade.api.routes_market import MARKET_ROUTES, SPOT_ROUTES, V5_MARKET_ROUTES
from copytrade.api.routes_v5 import V5_ROUTES
from copytrade.api.routes_v5_others import OTHER_ROUTES
from copytrade.api.routes_v6 import V6_ROUTES
from copytrade.protocol import profiles

SERVED: dict[str, dict[str, Route]] = {
    profiles.COPYTRADING.name: ROUTES,
    profiles.V5.name: {**V5_ROUTES, **OTHER_ROUTES},
    profiles.V6.name: V6_ROUTES,
    profiles.MARKET.name: MARKET_ROUTES,
    profiles.V5_MARKET.name: V5_MARKET_ROUTES,
    profiles.SPOT.name: SPOT_ROUTES,
}
"""Profile name -> endpoint name -> route (endpoints absent here answer "not implemented")."""
