"""Every call ``/_sim/openapi.json`` documents, answered as the document says (issue 15).

The replies are checked against the published document itself, strictly: ``$ref``, ``anyOf``,
``required``, ``const``/``enum`` and no key the document does not name. (Validating through
our own pydantic models would accept what they coerce, and extra keys.) Every documented
operation must be exercised here, with its 200 and at least one refusal of the call family,
so a call added without a matching reply fails this test.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from copytrade.client import Client, HmacAuth, MarginMode, OrderDirection, OrderPriceType
from copytrade.testing.server import LiveServer

JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


def problems(
    schema: dict[str, Any], value: Any, schemas: dict[str, Any], at: str = "$"
) -> list[str]:
    """Return how ``value`` departs from ``schema`` (empty: it matches)."""
    if "$ref" in schema:
        return problems(schemas[schema["$ref"].rsplit("/", 1)[-1]], value, schemas, at)
    if "anyOf" in schema:
        found = [problems(option, value, schemas, at) for option in schema["anyOf"]]
        return [] if [] in found else [f"{at}: {value!r} matches no alternative {found}"]
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        kinds = tuple(k for n in names for k in JSON_TYPES[n])
        if not isinstance(value, kinds) or (isinstance(value, bool) and "boolean" not in names):
            return [f"{at}: {value!r} is not {names}"]
    found = []
    if "const" in schema and value != schema["const"]:
        found.append(f"{at}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{at}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        found += [f"{at}: missing {k}" for k in schema.get("required", []) if k not in value]
        more = schema.get("additionalProperties", not props)
        for key, item in value.items():
            if key in props:
                found += problems(props[key], item, schemas, f"{at}.{key}")
            elif isinstance(more, dict):
                found += problems(more, item, schemas, f"{at}.{key}")
            elif more is not True:
                found.append(f"{at}: not published: {key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            found += problems(schema["items"], item, schemas, f"{at}[{i}]")
    return found


def test_the_checker_catches_what_departs_from_the_document() -> None:
    schemas = {
        "P": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "array", "items": {}}},
            "required": ["a"],
        }
    }
    ref = {"$ref": "#/components/schemas/P"}
    assert problems(ref, {"a": 1, "b": []}, schemas) == []
    assert problems(ref, {"a": True}, schemas) == ["$.a: True is not ['integer']"]
    assert problems(ref, {"a": 1, "c": 2}, schemas) == ["$: not published: c"]
    assert problems(ref, {}, schemas) == ["$: missing a"]
    nullable = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert problems(nullable, None, schemas) == []
    assert problems(nullable, 3, schemas) != []


class Checked:
    """Calls the server and checks every reply against the operation the document gives it."""

    def __init__(self, server: LiveServer) -> None:
        self.http = server.http
        self.doc = self.http.get("/_sim/openapi.json").json()
        self.schemas = self.doc["components"]["schemas"]
        self.seen: dict[tuple[str, str], set[int]] = {}

    def __call__(self, method: str, path: str, template: str, status: int, body: Any = None) -> Any:
        reply = self.http.request(method, path, json=body)
        assert reply.status_code == status, (method, path, reply.text)
        operation = self.doc["paths"][template][method.lower()]
        documented = operation["responses"].get(str(status))
        assert documented is not None, f"{method} {template} answers {status}, not documented"
        schema = documented["content"]["application/json"]["schema"]
        assert problems(schema, reply.json(), self.schemas) == [], (method, path, reply.text)
        self.seen.setdefault((method.lower(), template), set()).add(status)
        return reply.json()


def _trade(server: LiveServer, trader: dict[str, Any]) -> None:
    with Client(server.base_url, HmacAuth(trader["access_key"], trader["secret_key"])) as bot:
        bot.place_order(
            contract_code="BTC-USDT",
            amount=Decimal(4),
            margin_mode=MarginMode.CROSS,
            order_price_type=OrderPriceType.MARKET,
            order_direction=OrderDirection.BUY,
            lever=10,
        )
        bot.place_order(
            contract_code="BTC-USDT",
            amount=Decimal(1),
            margin_mode=MarginMode.CROSS,
            order_price_type=OrderPriceType.LIMIT,
            order_direction=OrderDirection.BUY,
            lever=10,
            price=Decimal(50000),
        )


@pytest.fixture
def server(tmp_path: Path) -> Any:
    with LiveServer(db_path=tmp_path / "openapi.db") as live:  # loopback: the demo data too
        yield live


def test_every_documented_call_answers_as_documented(server: LiveServer) -> None:
    call = Checked(server)
    call("GET", "/_sim/health", "/_sim/health", 200)
    call("GET", "/_sim/ready", "/_sim/ready", 200)
    users = "/_sim/users"
    trader = call("POST", users, users, 200, {"role": "trader", "balance": "50000"})
    follower = call("POST", users, users, 200, {"role": "follower", "balance": "20000"})
    poor = call("POST", users, users, 200, {"role": "follower", "balance": "1"})
    call("POST", users, users, 400, {"role": "boss"})
    call("POST", users, users, 400, {"rol": "trader"})
    t, f, p = trader["uid"], follower["uid"], poor["uid"]
    funds = "/_sim/users/{uid}/funds"
    call("POST", f"/_sim/users/{t}/funds", funds, 200, {"spot": "5"})
    call("POST", f"/_sim/users/{t}/funds", funds, 400, {"spot": "-5"})
    call("POST", "/_sim/users/42/funds", funds, 404, {"spot": "5"})
    follow = {"follower_uid": f, "trader_uid": t, "ratio": "0.5", "tp_ratio": "0.5"}
    call("POST", "/_sim/follow", "/_sim/follow", 200, follow)
    call("POST", "/_sim/follow", "/_sim/follow", 200, {"follower_uid": p, "trader_uid": t})
    call("POST", "/_sim/follow", "/_sim/follow", 400, follow)  # follows one trader at a time
    of = "/_sim/users/{uid}/follow"
    call("GET", f"/_sim/users/{f}/follow", of, 200)
    call("GET", f"/_sim/users/{t}/follow", of, 404)
    change = {"sl_ratio": "0.4", "contracts": ["BTC-USDT"]}
    call("PATCH", f"/_sim/users/{f}/follow", of, 200, change)
    call("PATCH", f"/_sim/users/{f}/follow", of, 400, {"sl_ratio": "-1"})
    bulk = "/_sim/followers/bulk"
    call("POST", bulk, bulk, 200, {"trader_uid": t, "count": 2, "balance": "1000"})
    call("POST", bulk, bulk, 400, {"trader_uid": f, "count": 2})
    _trade(server, trader)
    user = "/_sim/users/{uid}"
    for uid in (t, f, p):  # positions, a resting order, fills, a skipped copy
        call("GET", f"/_sim/users/{uid}", user, 200)
    call("GET", "/_sim/users/42", user, 404)
    call("GET", "/_sim/users/abc", user, 400)
    call("GET", "/_sim/markets", "/_sim/markets", 200)
    price = "/_sim/markets/{contract_code}/price"
    call("POST", "/_sim/markets/BTC-USDT/price", price, 200, {"price": "61000"})
    call("POST", "/_sim/markets/NOPE-USDT/price", price, 404, {"price": "61000"})
    call("POST", "/_sim/markets/BTC-USDT/price", price, 400, {"price": "0"})
    path = "/_sim/markets/{contract_code}/path"
    call("GET", "/_sim/markets/BTC-USDT/path", path, 200)
    gbm = {"kind": "gbm", "seed": 1, "volatility": "0.8", "tick_ms": 1000}
    call("POST", "/_sim/markets/ETH-USDT/path", path, 200, gbm)
    call("GET", "/_sim/markets/ETH-USDT/path", path, 200)
    call("POST", "/_sim/markets/ETH-USDT/path", path, 400, {"kind": "zigzag"})
    slippage = "/_sim/traders/{uid}/slippage"
    call("GET", f"/_sim/traders/{t}/slippage", slippage, 200)
    call("GET", "/_sim/traders/42/slippage", slippage, 404)
    for name, body in (("funding", {"mode": "rate"}), ("impact", {"half_life_ms": 1000})):
        at = f"/_sim/{name}"
        call("GET", at, at, 200)
        call("POST", at, at, 200, body)
        call("POST", at, at, 400, {"nope": 1})
    call("GET", "/_sim/clock", "/_sim/clock", 200)
    call("POST", "/_sim/clock", "/_sim/clock", 200, {"advance_ms": 9 * 3_600_000})
    call("POST", "/_sim/clock", "/_sim/clock", 400, {"advance_ms": "soon"})
    call("GET", "/_sim/funding", "/_sim/funding", 200)  # with settlements now
    call("GET", f"/_sim/users/{f}", user, 200)  # with funding fills
    call("POST", "/_sim/clock", "/_sim/clock", 200, {"now_ms": None})
    call("POST", "/_sim/reset", "/_sim/reset", 200)
    documented = {(m, p) for p, item in call.doc["paths"].items() for m in item}
    assert set(call.seen) == documented  # every documented call was exercised
    assert all(200 in statuses for statuses in call.seen.values())


def test_a_refusal_from_the_token_rule_is_documented_too(tmp_path: Path) -> None:
    with LiveServer(db_path=tmp_path / "t.db", demo_seed=False, admin_token="tok-" + "a" * 20) as s:
        bearer = {"Authorization": "Bearer tok-" + "a" * 20}
        doc = httpx.get(f"{s.base_url}/_sim/openapi.json", headers=bearer, timeout=10).json()
        refused = httpx.get(f"{s.base_url}/_sim/markets", timeout=10)
        assert refused.status_code == 401
        schema = doc["paths"]["/_sim/markets"]["get"]["responses"]["401"]["content"]
        schema = schema["application/json"]["schema"]
        assert problems(schema, refused.json(), doc["components"]["schemas"]) == []
