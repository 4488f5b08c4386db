"""Transfers between a UID's three USDT balances over loopback HTTP, on the in-memory store, a
SQLite file and PostgreSQL: v1 ``account_transfer`` (spec §6.6), v6 ``transfer`` (htx-v5-v6.md
§8.8) and ``/v2/account/transfer`` (§6.16), each with its happy path and every error code its
section names; the copy engine trades from the copy-trading balance only; v1 and v5 keys of one
trader see one copy-trading account (§9.2); ``query_followers`` reports copy equity.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any

import pytest

from copytrade.testing.server import LiveServer

D = Decimal
V1 = "/copytrading/trader/"
V6 = "/api/v6/copyTrading/trader/"


@pytest.fixture(
    scope="module",
    params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def server(
    request: pytest.FixtureRequest,
    server_on: Callable[..., AbstractContextManager[LiveServer]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    # v6 allows 5 requests a second per UID; these tests pace nothing
    options = {"rate_limit_v6_per_second": 1000}
    if request.param == "memory":
        with LiveServer("memory://", demo_seed=False, **options) as live:
            yield live
        return
    with server_on(request.param, tmp_path_factory, **options) as live:
        yield live


def funds(server: LiveServer, uid: int) -> tuple[Decimal, Decimal, Decimal]:
    """(copy trading, spot, futures) as the admin API shows them."""
    view = server.user(uid)
    return D(view["balance"]), D(view["spot"]), D(view["futures"])


def v1(server: LiveServer, creds: dict[str, Any], **body: Any) -> dict[str, Any]:
    reply = server.signed(creds, "POST", V1 + "account_transfer", body=body)
    assert reply.status_code == 200
    return dict(reply.json())


def v1_ok(server: LiveServer, creds: dict[str, Any], **body: Any) -> None:
    answer = v1(server, creds, **body)
    assert (answer["code"], answer["data"], answer["success"]) == (200, True, True), answer


def v1_refused(server: LiveServer, creds: dict[str, Any], code: int, **body: Any) -> str:
    answer = v1(server, creds, **body)
    assert (answer["code"], answer["data"], answer["success"]) == (code, None, False), answer
    return str(answer["msg"])


def v6(server: LiveServer, creds: dict[str, Any], **body: Any) -> dict[str, Any]:
    reply = server.signed(creds, "POST", V6 + "transfer", body=body)
    assert reply.status_code == 200
    return dict(reply.json())


def v2(server: LiveServer, creds: dict[str, Any], **body: Any) -> dict[str, Any]:
    reply = server.signed(creds, "POST", "/v2/account/transfer", body=body)
    assert reply.status_code == 200
    return dict(reply.json())


def market_open(server: LiveServer, creds: dict[str, Any], amount: str, lever: int = 10) -> Any:
    body = {
        "contract_code": "BTC-USDT",
        "amount": amount,
        "margin_mode": "cross",
        "order_price_type": 17,
        "order_direction": 1,
        "lever": lever,
    }
    answer = server.signed(creds, "POST", V1 + "place_order", body=body).json()
    assert answer["code"] == 200, answer
    return answer


@pytest.fixture
def trader(server: LiveServer) -> dict[str, Any]:
    server.set_price("BTC-USDT", "60500")
    return server.create_user("trader", balance="1000", spot="300", futures="200.5")


# ----- v1 account_transfer (§6.6) -------------------------------------------------------------


def test_v1_moves_between_copy_trading_and_both_other_balances(
    server: LiveServer, trader: dict[str, Any]
) -> None:
    uid = trader["uid"]
    assert funds(server, uid) == (D(1000), D(300), D("200.5"))
    v1_ok(server, trader, amount="200.5", type=1, currency="USDT")  # futures -> copy
    assert funds(server, uid) == (D("1200.5"), D(300), D(0))
    v1_ok(server, trader, amount="0.00000001", type=2, currency="usdt")  # copy -> futures
    assert funds(server, uid) == (D("1200.49999999"), D(300), D("0.00000001"))
    v1_ok(server, trader, amount=300, type=3, currency="USDT")  # spot -> copy (a JSON number)
    assert funds(server, uid) == (D("1500.49999999"), D(0), D("0.00000001"))
    v1_ok(server, trader, amount="1500.49999999", type=4, currency="USDT")  # copy -> spot
    assert funds(server, uid) == (D(0), D("1500.49999999"), D("0.00000001"))


def test_v1_refusals_name_the_spec_codes_and_change_nothing(
    server: LiveServer, trader: dict[str, Any]
) -> None:
    uid = trader["uid"]
    before = funds(server, uid)
    assert v1_refused(server, trader, 1315, amount="1", type=5, currency="USDT") == (
        "Wrong transfer type."
    )
    v1_refused(server, trader, 1315, amount="1", type=0, currency="USDT")
    v1_refused(server, trader, 1322, amount="0", type=1, currency="USDT")
    v1_refused(server, trader, 1322, amount="-5", type=1, currency="USDT")
    v1_refused(server, trader, 1331, amount="0.000000001", type=1, currency="USDT")
    v1_refused(server, trader, 10000, amount="1", type=1, currency="BTC")
    v1_refused(server, trader, 1301, amount="200.50000001", type=1, currency="USDT")  # futures
    v1_refused(server, trader, 1301, amount="300.1", type=3, currency="USDT")  # spot
    v1_refused(server, trader, 1301, amount="1000.00000001", type=2, currency="USDT")  # copy
    assert funds(server, uid) == before


def test_v1_keeps_the_copy_accounts_margin_in_it(
    server: LiveServer, trader: dict[str, Any]
) -> None:
    """Out of the copy account only its available balance leaves: margin stays (1301)."""
    uid = trader["uid"]
    market_open(server, trader, "1")  # 1 contract of 0.001 BTC at ~60500, 10x: ~6.05 margin
    copy, spot, _ = funds(server, uid)
    v1_refused(server, trader, 1301, amount=str(copy), type=4, currency="USDT")
    v1_ok(server, trader, amount="900", type=4, currency="USDT")
    assert funds(server, uid)[:2] == (copy - 900, spot + 900)
    v1_refused(server, trader, 1301, amount=str(copy - 900), type=4, currency="USDT")


def test_the_copy_engine_trades_from_the_copy_trading_balance(server: LiveServer) -> None:
    """A follower's spot and futures balances never fund its copies (followers are funded
    through the admin API: the v1 family refuses a follower's POST with 1508)."""
    server.set_price("BTC-USDT", "60500")
    lead = server.create_user("trader", balance="100000")
    follower = server.create_user("follower", balance="0", spot="1000", futures="1000")
    server.follow(follower["uid"], lead["uid"], "1")
    market_open(server, lead, "2")
    skipped = server.user(follower["uid"])["skipped_copies"]
    assert [s["reason"] for s in skipped] == ["insufficient_margin"]
    assert server.user(follower["uid"])["positions"] == []
    assert server.set_funds(follower["uid"], balance="500") == {
        "uid": follower["uid"],
        "balance": "500",
        "spot": "1000",
        "futures": "1000",
    }
    market_open(server, lead, "2")
    view = server.user(follower["uid"])
    assert [p["volume"] for p in view["positions"]] == ["2"]
    # the copy's margin and fee came out of the copy account alone
    assert (D(view["spot"]), D(view["futures"])) == (1000, 1000)
    assert D(view["balance"]) < 500
    v1_refused(server, follower, 1508, amount="1", type=1, currency="USDT")


def test_a_trader_funds_its_copy_account_and_its_lead_then_opens(server: LiveServer) -> None:
    server.set_price("BTC-USDT", "60500")
    lead = server.create_user("trader", balance="0", futures="1000")
    answer = server.signed(
        lead,
        "POST",
        V1 + "place_order",
        body={
            "contract_code": "BTC-USDT",
            "amount": "1",
            "margin_mode": "cross",
            "order_price_type": 17,
            "order_direction": 1,
            "lever": 10,
        },
    ).json()
    assert answer["code"] == 1047, answer  # the futures balance does not margin lead orders
    v1_ok(server, lead, amount="1000", type=1, currency="USDT")
    market_open(server, lead, "1")
    assert funds(server, lead["uid"])[2] == 0


# ----- one copy-trading account for every key of the trader (§9.2) ---------------------------


def test_a_v1_key_and_a_v5_key_see_the_same_copy_trading_account(
    server: LiveServer, trader: dict[str, Any]
) -> None:
    minted = server.signed(trader, "POST", V6 + "apikey", body={}).json()["data"][0]
    v5_key = {"access_key": minted["accessKey"], "secret_key": minted["secretKey"]}

    def v5_equity(creds: dict[str, Any]) -> Decimal:
        reply = server.signed(creds, "GET", "/v5/account/balance").json()
        (usdt,) = reply["data"]["details"]
        return D(usdt["equity"])

    assert v5_equity(v5_key) == v5_equity(trader) == 1000  # spot and futures are not in it
    v1_ok(server, trader, amount="300", type=3, currency="USDT")
    assert v5_equity(v5_key) == v5_equity(trader) == 1300
    assert v6(server, v5_key, amt="100", **{"from": "4", "to": "2"})["code"] == "0"
    assert v5_equity(trader) == v5_equity(v5_key) == 1200
    assert funds(server, trader["uid"]) == (D(1200), D(0), D("300.5"))


# ----- v6 transfer (htx-v5-v6.md §8.8) -------------------------------------------------------


def test_v6_moves_between_accounts_1_2_and_4(server: LiveServer, trader: dict[str, Any]) -> None:
    uid = trader["uid"]
    for source, target, amount, after in (
        ("2", "4", "200.5", (D("1200.5"), D(300), D(0))),
        ("4", "1", "0.5", (D(1200), D("300.5"), D(0))),
        ("1", "2", "100", (D(1200), D("200.5"), D(100))),
        ("2", "1", "100", (D(1200), D("300.5"), D(0))),
        ("1", "4", "300.5", (D("1500.5"), D(0), D(0))),
        ("4", "2", "1500.5", (D(0), D(0), D("1500.5"))),
    ):
        answer = v6(server, trader, amt=amount, ccy="USDT", **{"from": source, "to": target})
        assert answer == {"code": "0", "msg": "", "data": []}
        assert funds(server, uid) == after
    # accounts as JSON numbers, ccy left out (USDT)
    assert v6(server, trader, amt="1", **{"from": 2, "to": 4})["code"] == "0"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"amt": "300.1", "from": "1", "to": "4"}, "1047"),  # spot short
        ({"amt": "1000.01", "from": "4", "to": "2"}, "1047"),  # copy account short
        ({"amt": "200.6", "from": "2", "to": "1"}, "1047"),  # futures short
        ({"amt": "1", "from": "4", "to": "4"}, "1067"),  # the same account
        ({"amt": "1", "from": "3", "to": "4"}, "1067"),  # reserved (unified trading)
        ({"amt": "1", "from": "4", "to": "5"}, "1067"),  # reserved (spot copy trading)
        ({"amt": "0", "from": "1", "to": "4"}, "1067"),
        ({"amt": "-1", "from": "1", "to": "4"}, "1067"),
        ({"amt": "0.000000001", "from": "1", "to": "4"}, "1067"),
        ({"amt": "abc", "from": "1", "to": "4"}, "1067"),
        ({"amt": "1", "from": "1", "to": "4", "ccy": "BTC"}, "1067"),
        ({"from": "1", "to": "4"}, "1067"),
        ({"amt": "1", "to": "4"}, "1067"),
    ],
)
def test_v6_refusals_use_codes_ccxt_maps_and_change_nothing(
    server: LiveServer, trader: dict[str, Any], body: dict[str, str], code: str
) -> None:
    before = funds(server, trader["uid"])
    answer = v6(server, trader, **body)
    assert (answer["code"], answer["data"]) == (code, []), answer
    assert "{" not in answer["msg"]  # a 1067 names its parameter
    assert funds(server, trader["uid"]) == before


# ----- /v2/account/transfer (ccxt transfer, §6.16) ---------------------------------------------


def test_v2_moves_between_spot_and_usdt_m_futures(
    server: LiveServer, trader: dict[str, Any]
) -> None:
    uid = trader["uid"]
    common = {"currency": "usdt", "margin-account": "USDT"}
    there = v2(server, trader, amount=10.0, **common, **{"from": "spot", "to": "linear-swap"})
    assert there["code"] == 200, there
    assert isinstance(there["data"], int)
    assert funds(server, uid) == (D(1000), D(290), D("210.5"))
    back = v2(server, trader, amount=210.5, **common, **{"from": "linear-swap", "to": "spot"})
    assert back["code"] == 200
    assert back["data"] != there["data"]
    assert funds(server, uid) == (D(1000), D("500.5"), D(0))


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"amount": 300.5, "from": "spot", "to": "linear-swap"}, 1047),
        ({"amount": 1, "from": "spot", "to": "spot"}, 1067),
        ({"amount": 1, "from": "spot", "to": "copy-trading"}, 1067),  # v6 transfer reaches it
        ({"amount": 1, "from": "spot", "to": "linear-swap", "margin-account": "BTC-USDT"}, 1067),
        ({"amount": 0, "from": "spot", "to": "linear-swap"}, 1067),
        ({"amount": 1, "from": "spot", "to": "linear-swap", "currency": "btc"}, 1067),
    ],
)
def test_v2_refusals_use_codes_ccxt_maps_and_change_nothing(
    server: LiveServer, trader: dict[str, Any], body: dict[str, Any], code: int
) -> None:
    before = funds(server, trader["uid"])
    answer = v2(server, trader, **{"currency": "usdt", **body})
    assert (answer["code"], answer["data"], answer["success"]) == (code, None, False), answer
    assert "{" not in answer["message"]
    assert funds(server, trader["uid"]) == before


# ----- query_followers.follower_trade_amount = copy equity -----------------------------------


def test_follower_trade_amount_is_the_copy_accounts_equity(server: LiveServer) -> None:
    server.set_price("BTC-USDT", "60500")
    lead = server.create_user("trader", balance="100000")
    follower = server.create_user("follower", balance="1000", spot="5000", futures="7000")
    server.follow(follower["uid"], lead["uid"], "1")
    market_open(server, lead, "10")
    server.set_price("BTC-USDT", "61500")
    view = server.user(follower["uid"])
    (copy,) = view["positions"]
    unrealised = (D(61500) - D(copy["open_avg_price"])) * D(copy["volume"]) * D("0.001")
    expected = D(view["balance"]) + unrealised  # cross: no isolated margin to add
    answer = server.signed(lead, "GET", V1 + "query_followers").json()
    (row,) = answer["data"]["follower"]
    assert D(row["follower_trade_amount"]) == expected
    assert expected < 1100  # neither spot nor futures counted


def test_follower_trade_amount_counts_an_isolated_copys_margin_and_unrealised_pnl(
    server: LiveServer,
) -> None:
    server.set_price("BTC-USDT", "60500")
    lead = server.create_user("trader", balance="100000")
    follower = server.create_user("follower", balance="1000", spot="5000", futures="7000")
    server.follow(follower["uid"], lead["uid"], "1")
    body = {"contract_code": "BTC-USDT", "amount": "10", "margin_mode": "isolated",
            "order_price_type": 17, "order_direction": 2, "lever": 5}  # fmt: skip
    assert server.signed(lead, "POST", V1 + "place_order", body=body).json()["code"] == 200
    server.set_price("BTC-USDT", "60000")
    view = server.user(follower["uid"])
    (copy,) = view["positions"]
    margin = D(copy["position_margin"])
    unrealised = (D(copy["open_avg_price"]) - 60000) * D(copy["volume"]) * D("0.001")  # short
    assert margin > 0
    assert unrealised > 0

    answer = server.signed(lead, "GET", V1 + "query_followers").json()

    (row,) = answer["data"]["follower"]
    assert D(row["follower_trade_amount"]) == D(view["balance"]) + margin + unrealised
