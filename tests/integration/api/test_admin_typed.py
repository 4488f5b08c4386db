"""The typed admin API: bad input answered 400/404 naming the field (never 500), and an OpenAPI
document and docs page that describe the replies the server really sends (issue 12 item 5,
issue 15)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from copytrade.api import admin_models as m
from copytrade.protocol.sim import SimPosition
from copytrade.testing.server import LiveServer

TOO_BIG = "9223372036854775808"  # 2^63: does not fit a signed 64-bit column


def _refused(reply: Any, field: str | None, status: int = 400) -> dict[str, Any]:
    assert reply.status_code == status, (reply.status_code, reply.text)
    body: dict[str, Any] = reply.json()
    assert body["error"]
    assert body["field"] == field, body
    return body


def test_a_uid_beyond_63_bits_in_the_path_is_a_400_naming_uid(live_server: LiveServer) -> None:
    _refused(live_server.http.get("/_sim/users/18446744073709551616"), "uid")
    _refused(live_server.http.get(f"/_sim/users/{TOO_BIG}"), "uid")
    _refused(live_server.http.get("/_sim/users/abc"), "uid")
    _refused(live_server.http.get(f"/_sim/users/{2**63 - 1}"), "uid", 404)


def test_a_follower_uid_beyond_63_bits_is_a_400_naming_it(live_server: LiveServer) -> None:
    trader = live_server.create_user("trader")
    reply = live_server.http.post(
        "/_sim/follow", json={"follower_uid": TOO_BIG, "trader_uid": trader["uid"]}
    )
    _refused(reply, "follower_uid")
    unknown = live_server.http.post(
        "/_sim/follow", json={"follower_uid": 2**63 - 1, "trader_uid": trader["uid"]}
    )
    _refused(unknown, "follower_uid", 404)


def test_a_huge_clock_move_is_refused_and_writes_keep_working(live_server: LiveServer) -> None:
    http = live_server.http
    before = http.get("/_sim/clock").json()["now_ms"]
    _refused(http.post("/_sim/clock", json={"advance_ms": 10**19}), "advance_ms")
    raw = http.post(
        "/_sim/clock", content=b'{"advance_ms":1e19}', headers={"content-type": "application/json"}
    )
    _refused(raw, "advance_ms")
    _refused(http.post("/_sim/clock", json={"now_ms": 10**19}), "now_ms")
    _refused(http.post("/_sim/clock", json={"now_ms": -1}), "now_ms")
    after = http.get("/_sim/clock").json()["now_ms"]
    assert 0 <= after - before < 60_000  # the clock did not move
    resumed = http.post("/_sim/clock", json={"now_ms": None})
    assert resumed.status_code == 200
    trader = live_server.create_user("trader")  # a write still works
    assert live_server.user(trader["uid"])["balance"] == "10000"


def test_a_mark_price_under_one_tick_is_refused_naming_price(live_server: LiveServer) -> None:
    mark = live_server.admin_get("/_sim/markets")["BTC-USDT"]["mark_price"]
    body = _refused(
        live_server.http.post("/_sim/markets/BTC-USDT/price", json={"price": "0.01"}), "price"
    )
    assert "tick" in body["error"]
    assert live_server.admin_get("/_sim/markets")["BTC-USDT"]["mark_price"] == mark


def test_a_negative_price_is_a_price_error_not_an_invalid_follow(live_server: LiveServer) -> None:
    body = _refused(
        live_server.http.post("/_sim/markets/BTC-USDT/price", json={"price": "-5"}), "price"
    )
    assert "InvalidFollow" not in body["error"]
    _refused(
        live_server.http.post("/_sim/markets/NOPE-USDT/price", json={"price": "1"}),
        "contract_code",
        404,
    )


def test_a_negative_balance_is_refused(live_server: LiveServer) -> None:
    _refused(live_server.http.post("/_sim/users", json={"balance": "-1"}), "balance")
    _refused(live_server.http.post("/_sim/users", json={"balance": -1}), "balance")


@pytest.mark.parametrize(
    "key",
    [
        "00" * 32,  # all zeros: a point of small order
        "01" + "00" * 31,  # the identity
        "ec" + "ff" * 30 + "7f",  # p - 1: order 2
        "02" + "00" * 31,  # not on the curve
        "ff" * 32,  # not canonical
    ],
)
def test_a_weak_or_invalid_ed25519_key_is_refused(live_server: LiveServer, key: str) -> None:
    reply = live_server.http.post("/_sim/users", json={"ed25519_public_key": key})
    _refused(reply, "ed25519_public_key")


def test_a_real_ed25519_key_is_accepted(live_server: LiveServer) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    public = Ed25519PrivateKey.generate().public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    made = live_server.http.post("/_sim/users", json={"ed25519_public_key": raw.hex()})
    assert made.status_code == 200, made.text
    assert made.json()["secret_key"] is None


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"role=trader", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"a":' * 5000 + b"1" + b"}" * 5000, "nested"),
        (b"\xff\xfe{", "UTF-8"),
        (b'{"balance": NaN}', "not valid JSON"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_clear_400(
    live_server: LiveServer, content: bytes, needle: str
) -> None:
    reply = live_server.http.post(
        "/_sim/users", content=content, headers={"content-type": "application/json"}
    )
    body = _refused(reply, None)
    assert needle in body["error"]


def test_a_body_over_one_mebibyte_is_refused_even_when_chunked(live_server: LiveServer) -> None:
    big = b'{"role": "' + b"x" * (1 << 20) + b'"}'
    _refused(live_server.http.post("/_sim/users", content=big), None, 413)

    def chunks() -> Iterator[bytes]:
        yield big[: 1 << 19]
        yield big[1 << 19 :]

    _refused(live_server.http.post("/_sim/users", content=chunks()), None, 413)


def test_an_unknown_field_is_refused_by_name(live_server: LiveServer) -> None:
    body = _refused(live_server.http.post("/_sim/users", json={"blance": "5"}), "blance")
    assert "unknown field" in body["error"]


def test_a_bulk_for_a_non_trader_names_trader_uid(live_server: LiveServer) -> None:
    follower = live_server.create_user("follower")
    reply = live_server.http.post(
        "/_sim/followers/bulk", json={"trader_uid": follower["uid"], "count": 1}
    )
    _refused(reply, "trader_uid")
    _refused(
        live_server.http.post("/_sim/followers/bulk", json={"trader_uid": 1, "count": -1}),
        "count",
    )


def _validate(model: type[BaseModel], data: Any) -> None:
    model.model_validate(data)


def test_every_reply_matches_its_published_model(live_server: LiveServer) -> None:
    http = live_server.http
    _validate(m.HealthReply, http.get("/_sim/health").json())
    trader = live_server.create_user("trader")
    _validate(m.CreateUserReply, trader)
    follower = live_server.create_user("follower")
    follow = live_server.admin(
        "/_sim/follow", {"follower_uid": follower["uid"], "trader_uid": trader["uid"]}
    )
    _validate(m.FollowReply, follow)
    assert follow == {
        "follower_uid": follower["uid"],
        "trader_uid": trader["uid"],
        "ratio": "1",
        "mode": "ratio",
        "fixed_amount": None,
        "tp_ratio": None,
        "sl_ratio": None,
        "total_stop_loss": None,
        "contracts": None,
        "max_slippage": None,
    }
    _validate(m.FundingReply, http.get("/_sim/funding").json())
    _validate(m.ImpactReply, http.get("/_sim/impact").json())
    bulk = live_server.admin("/_sim/followers/bulk", {"trader_uid": trader["uid"], "count": 2})
    _validate(m.BulkFollowersReply, bulk)
    opened = live_server.signed(
        trader,
        "POST",
        "/copytrading/trader/place_order",
        body={
            "contract_code": "DOT-USDT",
            "amount": "2",
            "margin_mode": "cross",
            "order_price_type": 17,
            "order_direction": 1,
            "lever": 5,
        },
    ).json()
    assert opened["code"] == 200
    _validate(m.UserReply, live_server.user(trader["uid"]))
    view = live_server.user(follower["uid"])
    _validate(m.UserReply, view)
    assert view["fills"]
    (position,) = view["positions"]
    SimPosition.from_wire(position)  # the protocol's declaration of the shape parses it
    published = live_server.admin_get("/_sim/openapi.json")["components"]["schemas"]
    assert list(published["SimPosition"]["properties"]) == list(position)
    assert published["SimPosition"]["properties"]["volume"]["type"] == "string"
    _validate(m.MarketsReply, live_server.admin_get("/_sim/markets"))
    mark = live_server.admin_get("/_sim/markets")["DOT-USDT"]["mark_price"]
    price = live_server.set_price("DOT-USDT", Decimal(mark) + Decimal("0.0004"))
    _validate(m.SetPriceReply, price)
    assert Decimal(price["mark_price"]) == Decimal(mark)  # rounded to the tick: no move
    _validate(m.ClockReply, http.get("/_sim/clock").json())


def test_the_openapi_document_lists_every_admin_call_with_its_models(
    live_server: LiveServer,
) -> None:
    doc = live_server.admin_get("/_sim/openapi.json")
    assert doc["openapi"].startswith("3.1")
    expected = {
        ("get", "/_sim/health"),
        ("get", "/_sim/ready"),
        ("post", "/_sim/users"),
        ("get", "/_sim/users/{uid}"),
        ("post", "/_sim/users/{uid}/funds"),
        ("post", "/_sim/follow"),
        ("get", "/_sim/users/{uid}/follow"),
        ("patch", "/_sim/users/{uid}/follow"),
        ("post", "/_sim/followers/bulk"),
        ("get", "/_sim/markets"),
        ("post", "/_sim/markets/{contract_code}/price"),
        ("get", "/_sim/markets/{contract_code}/path"),
        ("post", "/_sim/markets/{contract_code}/path"),
        ("get", "/_sim/traders/{uid}/slippage"),
        ("get", "/_sim/funding"),
        ("post", "/_sim/funding"),
        ("get", "/_sim/impact"),
        ("post", "/_sim/impact"),
        ("get", "/_sim/clock"),
        ("post", "/_sim/clock"),
        ("post", "/_sim/reset"),
    }
    found = {(method, path) for path, item in doc["paths"].items() for method in item}
    assert found == expected
    schemas = doc["components"]["schemas"]
    for path, item in doc["paths"].items():
        for op in item.values():
            for status in ("200", "400"):
                ref = op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
                assert ref.rsplit("/", 1)[-1] in schemas, (path, status)
    create = schemas["CreateUserRequest"]
    assert create["additionalProperties"] is False
    assert set(create["properties"]) >= {"role", "balance", "spot", "futures", "ed25519_public_key"}
    assert set(schemas["FundsRequest"]["properties"]) == {"balance", "spot", "futures"}
    assert schemas["FollowRequest"]["properties"]["follower_uid"]["maximum"] == 2**63 - 1


def test_the_docs_page_is_self_contained_html_of_the_schema(live_server: LiveServer) -> None:
    page = live_server.http.get("/_sim/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    text = page.text
    for path in ("/_sim/users", "/_sim/follow", "/_sim/markets/{contract_code}/price"):
        assert path in text
    assert "ed25519_public_key" in text
    assert not re.search(r"""(src|href)=["']?https?://""", text)  # nothing fetched from outside


def test_the_schema_and_docs_need_the_token_when_one_is_set(tmp_path: Path) -> None:
    token = "t-" + "ab" * 16
    with LiveServer(db_path=tmp_path / "a.db", demo_seed=False, admin_token=token) as server:
        for path in ("/_sim/openapi.json", "/_sim/docs", "/_sim/users/1"):
            _refused(server.http.get(path), None, 401)
        ok = server.http.get("/_sim/openapi.json", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200


def test_funding_refuses_bad_bodies_and_unknown_uids_and_changes_nothing(
    live_server: LiveServer,
) -> None:
    uid = live_server.create_user("trader", balance="5", spot="6", futures="7")["uid"]
    post = live_server.http.post
    _refused(post(f"/_sim/users/{uid}/funds", json={}), None)  # nothing to set
    _refused(post(f"/_sim/users/{uid}/funds", json={"spot": "-1"}), "spot")
    _refused(post(f"/_sim/users/{uid}/funds", json={"futures": "1e30"}), "futures")
    _refused(post(f"/_sim/users/{uid}/funds", json={"wallet": "1"}), "wallet")
    _refused(post("/_sim/users/42/funds", json={"spot": "1"}), "uid", 404)
    _refused(post("/_sim/users", json={"role": "trader", "futures": "-0.1"}), "futures")
    view = live_server.user(uid)
    assert (view["balance"], view["spot"], view["futures"]) == ("5", "6", "7")
