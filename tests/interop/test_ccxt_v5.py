"""ccxt 4.5.90's ``htx``, unchanged, against the v5 and public market families of a live server.

Only ``urls`` and the market-type options of spec ``htx-v5-v6.md`` §2.1/§6.1 are set. Followers
are made through the admin API; their copies must open, shrink and close with the lead's v5
orders exactly as with v1's ``place_order``/``close_all_position``.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from copytrade.testing.server import LiveServer

S = "BTC/USDT:USDT"


def ccxt_config(server: LiveServer, creds: dict[str, Any]) -> dict[str, Any]:
    """Return ccxt's configuration for copytrade: keys, ``urls`` and market types only."""
    e = server.host
    return {
        "apiKey": creds["access_key"],
        "secret": creds["secret_key"],
        "enableRateLimit": False,
        "options": {
            "defaultType": "swap",
            "fetchMarkets": {"types": {"spot": False, "linear": True, "inverse": False}},
        },
        "urls": {
            "hostnames": {"contract": e, "spot": e},
            "api": {
                "contract": "http://{hostname}",
                "spot": "http://{hostname}",
                "status": "http://" + e,
                "public": "http://" + e,
                "private": "http://" + e,
                "v2Public": "http://" + e,
                "v2Private": "http://" + e,
            },
        },
    }


@pytest.fixture
def connect(live_server: LiveServer) -> Iterator[Any]:
    """Return a factory of ccxt htx clients pointed at the server, closed afterwards."""
    made: list[ccxt.htx] = []

    def make(creds: dict[str, Any]) -> ccxt.htx:
        exchange = ccxt.htx(ccxt_config(live_server, creds))
        made.append(exchange)
        return exchange

    yield make
    for exchange in made:
        if exchange.session is not None:
            exchange.session.close()


def _team(server: LiveServer, ratios: tuple[str, ...] = ("1", "0.5")) -> tuple[Any, list[Any]]:
    trader = server.create_user("trader", balance="100000")
    followers = []
    for ratio in ratios:
        follower = server.create_user("follower", balance="50000")
        server.follow(follower["uid"], trader["uid"], ratio)
        followers.append(follower)
    return trader, followers


def _open_volumes(server: LiveServer, uid: int) -> list[str]:
    return [p["volume"] for p in server.user(uid)["positions"]]


def test_load_markets_and_public_market_data(live_server: LiveServer, connect: Any) -> None:
    exchange = connect(live_server.create_user("trader"))
    markets = exchange.load_markets()
    btc = markets[S]
    assert (btc["id"], btc["linear"], btc["swap"], btc["contractSize"]) == (
        "BTC-USDT",
        True,
        True,
        0.001,
    )
    assert btc["precision"]["price"] == 0.1
    assert exchange.fetch_status()["status"] == "ok"
    assert abs(exchange.fetch_time() - exchange.milliseconds()) < 60_000
    ticker = exchange.fetch_ticker(S)
    book = exchange.fetch_order_book(S)
    assert book["bids"][0][0] == ticker["bid"] < ticker["ask"] == book["asks"][0][0]
    assert [b[0] for b in book["bids"]] == sorted((b[0] for b in book["bids"]), reverse=True)
    tickers = exchange.fetch_tickers()
    assert {"BTC/USDT:USDT", "ETH/USDT:USDT"} <= set(tickers)
    rate = exchange.fetch_funding_rate(S)
    assert (rate["fundingRate"], rate["interval"]) == (0.0001, "8h")


def test_trades_and_candles_come_from_real_fills(live_server: LiveServer, connect: Any) -> None:
    trader = live_server.create_user("trader", balance="100000")
    exchange = connect(trader)
    exchange.load_markets()
    exchange.create_order("ETH/USDT:USDT", "market", "buy", 7)
    trades = exchange.fetch_trades("ETH/USDT:USDT")
    assert trades[-1]["side"] == "buy"
    assert trades[-1]["amount"] == 7
    candles = exchange.fetch_ohlcv("ETH/USDT:USDT", "1m")
    assert candles[-1][5] >= 7 * 0.01  # volume in coin: 7 contracts of 0.01 ETH
    assert candles[-1][2] >= trades[-1]["price"] >= candles[-1][3]


def test_lead_trading_through_ccxt_v5_is_copied_to_followers(
    live_server: LiveServer, connect: Any
) -> None:
    trader, followers = _team(live_server)
    exchange = connect(trader)
    exchange.load_markets()
    assert exchange.fetch_balance()["USDT"]["total"] == 100000
    lever = exchange.set_leverage(10, S)
    assert lever["data"]["lever_rate"] == 10

    order = exchange.create_order(
        S,
        "market",
        "buy",
        4,
        None,
        {"takeProfit": {"triggerPrice": 90000}, "stopLoss": {"triggerPrice": 30000}},
    )
    assert order["id"]
    assert [_open_volumes(live_server, f["uid"]) for f in followers] == [["4"], ["2"]]
    query = {"contract_code": "BTC-USDT"}
    reply = live_server.signed(
        trader, "GET", "/copytrading/trader/current_positions", params=query
    ).json()
    (lead,) = reply["data"]["positions"]
    assert (lead["tp_trigger_price"], lead["sl_trigger_price"], lead["lever"]) == (
        "90000",
        "30000",
        "10",
    )

    (position,) = exchange.fetch_positions()
    assert (position["symbol"], position["side"], position["contracts"], position["leverage"]) == (
        S,
        "long",
        4,
        10,
    )
    balance = exchange.fetch_balance()["USDT"]
    assert balance["used"] > 0
    assert balance["free"] < balance["total"]

    resting = exchange.create_order(S, "limit", "buy", 2, 40000)
    assert [o["id"] for o in exchange.fetch_open_orders(S)] == [resting["id"]]
    fetched = exchange.fetch_order(resting["id"], S)
    assert (fetched["status"], fetched["price"], fetched["amount"]) == ("open", 40000, 2)
    assert exchange.cancel_order(resting["id"], S)["status"] == "canceled"
    assert exchange.fetch_open_orders(S) == []
    with pytest.raises(ccxt.OrderNotFound):
        exchange.cancel_order(resting["id"], S)

    # a reduce-only sale of 2 of 4 contracts halves every follower's copy
    exchange.create_order(S, "market", "sell", 2, None, {"reduceOnly": True})
    assert [_open_volumes(live_server, f["uid"]) for f in followers] == [["2"], ["1"]]

    trades = exchange.fetch_my_trades(S)
    assert {(t["side"], t["amount"]) for t in trades} == {("buy", 4), ("sell", 2)}
    assert all(t["fee"]["cost"] < 0 for t in trades)  # ccxt flips HTX's positive trade_fee

    closed = exchange.close_position(S)
    assert closed["id"]
    assert exchange.fetch_positions() == []
    for follower in followers:
        view = live_server.user(follower["uid"])
        assert view["positions"] == []
        assert {p["close_type"] for p in view["closed_positions"]} == {1, 2}


def test_the_same_lead_scenario_through_v1_and_v5_leaves_followers_alike(
    live_server: LiveServer, connect: Any
) -> None:
    v1_trader, v1_followers = _team(live_server)
    v5_trader, v5_followers = _team(live_server)
    order = {
        "contract_code": "BTC-USDT",
        "amount": "6",
        "margin_mode": "cross",
        "order_price_type": 17,
        "order_direction": 1,
        "lever": 5,
    }
    assert (
        live_server.signed(v1_trader, "POST", "/copytrading/trader/place_order", body=order).json()[
            "data"
        ]
        is True
    )
    exchange = connect(v5_trader)
    exchange.load_markets()
    exchange.create_order(S, "market", "buy", 6)

    def state(uid: int) -> Any:
        view = live_server.user(uid)
        return (
            sorted((p["position_side"], p["volume"], p["lever"]) for p in view["positions"]),
            sorted(p["volume"] for p in view["closed_positions"]),
        )

    for mine, theirs in zip(v1_followers, v5_followers, strict=True):
        assert state(mine["uid"]) == state(theirs["uid"]) != ([], [])
    close = {"contract_code": "BTC-USDT", "margin_mode": "cross", "position_side": "long"}
    live_server.signed(v1_trader, "POST", "/copytrading/trader/close_all_position", body=close)
    exchange.close_position(S)
    for mine, theirs in zip(v1_followers, v5_followers, strict=True):
        assert state(mine["uid"]) == state(theirs["uid"]) == ([], sorted(state(mine["uid"])[1]))
        assert state(mine["uid"])[1]


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda ex: ex.create_order(S, "market", "buy", 100000), ccxt.InsufficientFunds),
        (
            lambda ex: ex.request(
                "v5/trade/order",
                ["contract", "private"],
                "POST",
                {
                    "contract_code": "XRP-USDT",
                    "margin_mode": "cross",
                    "side": "buy",
                    "type": "market",
                    "volume": "1",
                },
            ),
            ccxt.BadSymbol,
        ),
        (
            lambda ex: ex.create_order(S, "market", "buy", 1, None, {"margin_mode": "both"}),
            ccxt.InvalidOrder,
        ),
        (
            lambda ex: ex.create_order(S, "market", "sell", 1, None, {"reduceOnly": True}),
            ccxt.InsufficientFunds,
        ),
        (lambda ex: ex.cancel_order("123", S), ccxt.OrderNotFound),
    ],
    ids=[
        "insufficient margin",
        "unknown contract",
        "bad parameter",
        "nothing to reduce",
        "unknown order",
    ],
)
def test_errors_raise_the_ccxt_exceptions_the_spec_names(
    live_server: LiveServer, connect: Any, call: Any, error: type[Exception]
) -> None:
    exchange = connect(live_server.create_user("trader", balance="1000"))
    exchange.load_markets()
    with pytest.raises(error):
        call(exchange)


def test_a_wrong_secret_raises_authentication_error(live_server: LiveServer, connect: Any) -> None:
    trader = live_server.create_user("trader")
    exchange = connect({**trader, "secret_key": "not-the-secret"})
    exchange.load_markets()  # public: unsigned
    with pytest.raises(ccxt.AuthenticationError) as raised:
        exchange.fetch_balance()
    assert '"err_code":403' in str(raised.value)


def test_a_read_only_key_trading_raises_permission_denied(
    live_server: LiveServer, connect: Any
) -> None:
    exchange = connect(live_server.create_user("trader", permissions="read"))
    exchange.load_markets()
    with pytest.raises(ccxt.PermissionDenied):
        exchange.create_order(S, "market", "buy", 1)


def test_exhausting_the_v5_rate_limit_raises_rate_limit_exceeded(
    live_server: LiveServer, connect: Any
) -> None:
    exchange = connect(live_server.create_user("trader"))
    exchange.load_markets()

    def exhaust() -> None:
        for _ in range(500):
            exchange.fetch_positions()

    with pytest.raises(ccxt.RateLimitExceeded) as raised:
        exhaust()
    assert '"code":1032' in str(raised.value)


def test_v6_implicit_methods_read_the_same_follows_and_profit_shares_as_v1(
    live_server: LiveServer, connect: Any
) -> None:
    trader, followers = _team(live_server, ("1",))
    exchange = connect(trader)
    exchange.enableRateLimit = True  # ccxt's own pacing keeps v6 under its 5 requests/s
    exchange.load_markets()
    instruments = exchange.contractPrivateGetApiV6CopyTradingTraderInstruments({"instType": "PERP"})
    assert instruments["code"] == "0"
    assert {"instId": "BTC-USDT-PERP", "instType": "PERP"} in instruments["data"]

    exchange.create_order(S, "market", "buy", 10)
    live_server.set_price("BTC-USDT", "66000")
    pending = exchange.contractPrivateGetApiV6CopyTradingTraderUnrealizedProfitSharingSummary(
        {"instType": "PERP"}
    )
    assert Decimal(pending["data"][0]["totalAmt"]) > 0
    exchange.close_position(S)

    (row,) = exchange.contractPrivateGetApiV6CopyTradingTraderFollowers({"instType": "PERP"})[
        "data"
    ]
    v1 = live_server.signed(trader, "GET", "/copytrading/trader/query_followers").json()
    assert row["followerUid"] == v1["data"]["follower"][0]["follower_uid"]
    assert len(row["followTime"]) == 16  # microseconds
    history = exchange.contractPrivateGetApiV6CopyTradingTraderProfitSharingHistory(
        {"instType": "PERP", "limit": "10"}
    )["data"]
    summary = exchange.contractPrivateGetApiV6CopyTradingTraderProfitSharingHistorySummary(
        {"instType": "PERP"}
    )["data"]
    shares = live_server.user(followers[0]["uid"])["profit_shares_paid"]
    assert len(history) == len(shares) == 1
    assert Decimal(summary[0]["totalAmt"]) == Decimal(history[0]["profitSharingAmt"]) > 0
    config = exchange.contractPrivatePostApiV6CopyTradingTraderConfig({"instType": "PERP"})
    assert config["data"][0]["enable"] is True

    minted = exchange.contractPrivatePostApiV6CopyTradingTraderApikey({"instType": "PERP"})
    key = minted["data"][0]
    second = connect({"access_key": key["accessKey"], "secret_key": key["secretKey"]})
    second.load_markets()
    assert second.fetch_balance()["USDT"]["total"] == exchange.fetch_balance()["USDT"]["total"]


def test_v6_bad_inst_type_raises_invalid_order(live_server: LiveServer, connect: Any) -> None:
    exchange = connect(live_server.create_user("trader"))
    with pytest.raises(ccxt.InvalidOrder):
        exchange.contractPrivateGetApiV6CopyTradingTraderFollowers({"instType": "SPOT"})


def test_v6_allows_five_requests_a_second_then_answers_429(
    live_server: LiveServer, connect: Any
) -> None:
    exchange = connect(live_server.create_user("trader"))

    def burst() -> None:
        for _ in range(20):
            exchange.contractPrivateGetApiV6CopyTradingTraderInstruments()

    with pytest.raises(ccxt.RateLimitExceeded) as raised:
        burst()
    assert '{"code":"1032"' in str(raised.value)


def test_finished_orders_are_fetched_and_listed_through_ccxt(
    live_server: LiveServer, connect: Any
) -> None:
    trader = live_server.create_user("trader", balance="100000")
    exchange = connect(trader)
    exchange.load_markets()
    bought = exchange.create_order(S, "market", "buy", 3, None, {"clientOrderId": "424242"})
    sold = exchange.create_order(S, "market", "sell", 1, None, {"reduceOnly": True})
    resting = exchange.create_order(S, "limit", "buy", 1, 40000)
    exchange.cancel_order(resting["id"], S)

    filled = exchange.fetch_order(bought["id"], S)
    assert (filled["status"], filled["filled"], filled["side"]) == ("closed", 3, "buy")
    assert filled["clientOrderId"] == "424242"
    assert filled["average"] > 0
    assert filled["cost"] == pytest.approx(3 * 0.001 * filled["average"])
    reduce = exchange.fetch_order(sold["id"], S)
    assert (reduce["status"], reduce["side"], reduce["reduceOnly"], reduce["filled"]) == (
        "closed",
        "sell",
        True,
        1,
    )
    closed = exchange.fetch_closed_orders(S)
    assert {o["id"] for o in closed} == {bought["id"], sold["id"]}
    by_client = exchange.fetch_order(None, S, {"clientOrderId": "424242"})
    assert by_client["id"] == bought["id"]
    waiting = exchange.create_order(S, "limit", "buy", 1, 41000, {"clientOrderId": "77"})
    exchange.cancel_order(None, S, {"clientOrderId": "77"})
    assert exchange.fetch_open_orders(S) == []
    assert exchange.fetch_order(waiting["id"], S)["status"] == "canceled"
    canceled = exchange.fetch_canceled_orders(S)
    assert {o["id"] for o in canceled} == {resting["id"], waiting["id"]}
    assert {o["id"] for o in exchange.fetch_orders(S)} == {
        bought["id"],
        sold["id"],
        resting["id"],
        waiting["id"],
    }


def test_stop_loss_and_take_profit_orders_through_ccxt_close_the_lead_and_copies(
    live_server: LiveServer, connect: Any
) -> None:
    trader, (follower,) = _team(live_server, ("1",))
    exchange = connect(trader)
    exchange.load_markets()
    exchange.create_order("ETH/USDT:USDT", "market", "buy", 5)
    sl = exchange.create_order("ETH/USDT:USDT", "market", "sell", 5, None, {"stopLossPrice": 2500})
    tp = exchange.create_order(
        "ETH/USDT:USDT", "market", "sell", 5, None, {"takeProfitPrice": 3500}
    )
    flags = {"stopLossTakeProfit": True}
    armed = exchange.fetch_open_orders("ETH/USDT:USDT", params=flags)
    assert {(o["id"], o["stopLossPrice"], o["takeProfitPrice"]) for o in armed} == {
        (sl["id"], 2500, None),
        (tp["id"], None, 3500),
    }
    exchange.cancel_order(tp["id"], "ETH/USDT:USDT", flags)
    assert [o["id"] for o in exchange.fetch_open_orders("ETH/USDT:USDT", params=flags)] == [
        sl["id"]
    ]
    with pytest.raises(ccxt.InvalidOrder):  # a stop loss above the price of a long
        exchange.create_order("ETH/USDT:USDT", "market", "sell", 5, None, {"stopLossPrice": 3100})

    live_server.set_price("ETH-USDT", "2400")  # the stop loss fires, the copy closes with it

    assert exchange.fetch_positions() == []
    view = live_server.user(follower["uid"])
    assert view["positions"] == []
    assert [p["close_type"] for p in view["closed_positions"]] == [4]


def test_post_only_ioc_fok_and_cancel_all_through_ccxt(
    live_server: LiveServer, connect: Any
) -> None:
    exchange = connect(live_server.create_user("trader", balance="100000"))
    exchange.load_markets()
    maker = exchange.create_order(S, "limit", "buy", 1, 40000, {"postOnly": True})
    assert exchange.fetch_order(maker["id"], S)["status"] == "open"
    with pytest.raises(ccxt.InvalidOrder):  # a post-only buy above the ask would take
        exchange.create_order(S, "limit", "buy", 1, 90000, {"postOnly": True})
    ioc = exchange.create_order(S, "limit", "buy", 1, 40000, {"timeInForce": "IOC"})
    assert exchange.fetch_order(ioc["id"], S)["status"] == "canceled"
    with pytest.raises(ccxt.InvalidOrder):  # nothing to fill at 40000: killed
        exchange.create_order(S, "limit", "buy", 1, 40000, {"timeInForce": "FOK"})
    second = exchange.create_order(S, "limit", "buy", 2, 39000)
    cancelled = exchange.cancel_all_orders(S)
    assert {o["id"] for o in cancelled} == {maker["id"], second["id"]}
    assert exchange.fetch_open_orders(S) == []
    assert exchange.fetch_positions() == []


def _v6(exchange: Any) -> Any:
    exchange.enableRateLimit = True  # ccxt's own pacing keeps v6 under its 5 requests/s
    return exchange


def test_v6_follower_settings_remove_and_statistics_act_on_the_copies(
    live_server: LiveServer, connect: Any
) -> None:
    trader, (kept, removed) = _team(live_server, ("1", "1"))
    exchange = _v6(connect(trader))
    exchange.load_markets()
    settings = exchange.contractPrivatePostApiV6CopyTradingTraderFollowerSettings(
        {"instType": "PERP", "enable": True, "profitSharingRatio": "0.2", "maxFollowers": "200"}
    )
    assert settings["data"] == [
        {"instType": "PERP", "enable": True, "profitSharingRatio": "0.2", "maxFollowers": "200"}
    ]
    config = exchange.contractPrivatePostApiV6CopyTradingTraderConfig({"instType": "PERP"})
    assert config["data"][0]["maxFollowers"] == "200"

    live_server.set_price("BTC-USDT", "60000")  # the session's server: other tests move it
    exchange.create_order(S, "market", "buy", 4)
    assert [_open_volumes(live_server, f["uid"]) for f in (kept, removed)] == [["4"], ["4"]]
    live_server.set_price("BTC-USDT", "66000")
    listed = exchange.contractPrivateGetApiV6CopyTradingTraderFollowers({"instType": "PERP"})
    by_uid = {r["followerUid"]: r for r in listed["data"]}  # opaque, as v1 shows them
    v1 = live_server.signed(trader, "GET", "/copytrading/trader/query_followers").json()
    assert set(by_uid) == {f["follower_uid"] for f in v1["data"]["follower"]}
    opaque = next(
        f["follower_uid"]
        for f in v1["data"]["follower"]
        if f["follower_head_pic"].endswith(f"/{removed['uid']}.png")
    )
    reply = exchange.contractPrivatePostApiV6CopyTradingTraderFollower(
        {"instType": "PERP", "followerUids": [opaque, "not-a-follower"]}
    )
    assert reply["code"] == "0"
    assert [(r["followerUid"], r["sCode"]) for r in reply["data"]] == [
        (opaque, "0"),
        ("not-a-follower", "1067"),
    ]
    gone = live_server.user(removed["uid"])
    assert gone["positions"] == []
    assert [p["close_type"] for p in gone["closed_positions"]] == [7]
    (share,) = gone["profit_shares_paid"]
    profit = Decimal(gone["closed_positions"][0]["profit"])
    assert profit > 0
    assert Decimal(share["amount"]) == profit * Decimal("0.2")  # the ratio just set
    assert _open_volumes(live_server, kept["uid"]) == ["4"]  # the lead's position stays

    exchange.create_order(S, "market", "buy", 2)  # no longer copied to the removed follower
    assert live_server.user(removed["uid"])["positions"] == []
    assert sorted(_open_volumes(live_server, kept["uid"])) == ["2", "4"]
    listed = exchange.contractPrivateGetApiV6CopyTradingTraderFollowers({"instType": "PERP"})
    assert [r["followerUid"] for r in listed["data"]] != [opaque]
    assert len(listed["data"]) == 1

    exchange.close_position(S)
    stats = exchange.contractPrivateGetApiV6CopyTradingTraderStatistics({"instType": "PERP"})
    (row,) = stats["data"]
    assert (row["totalFollowerNum"], row["curFollowerNum"]) == ("2", "1")
    assert (row["winNum"], row["lossNum"]) == ("1", "1")  # bought at ~60000 and at 66000
    assert row["winRate"] == "0.5"
    assert Decimal(row["totalPnl"]) > 0
    assert Decimal(row["followerTotalPnl"]) > 0
    assert len(row["profitDetails90d"]) == 90
    assert len(row["profitDetails90d"][-1]["ts"]) == 16  # microseconds
    assert Decimal(row["profitDetails90d"][-1]["pnl"]) == Decimal(row["totalPnl"])


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"instType": "PERP", "enable": "maybe"}, ccxt.InvalidOrder),
        ({"instType": "PERP", "enable": True, "profitSharingRatio": "0.3"}, ccxt.InvalidOrder),
        ({"instType": "PERP", "enable": True, "maxFollowers": "300"}, ccxt.InvalidOrder),
        ({"instType": "SPOT", "enable": True}, ccxt.InvalidOrder),
        ({"instType": "PERP", "enable": False}, ccxt.InvalidOrder),  # followers remain
    ],
    ids=["enable", "ratio tier", "cap tier", "instType", "disable with followers"],
)
def test_v6_follower_settings_errors_raise_invalid_order(
    live_server: LiveServer, connect: Any, body: dict[str, Any], error: type[Exception]
) -> None:
    trader, _followers = _team(live_server, ("1",))
    exchange = connect(trader)
    with pytest.raises(error) as raised:
        exchange.contractPrivatePostApiV6CopyTradingTraderFollowerSettings(body)
    assert '"code":"1067"' in str(raised.value)


def test_v6_remove_followers_errors(live_server: LiveServer, connect: Any) -> None:
    trader, _followers = _team(live_server, ("1",))
    exchange = connect(trader)
    eleven = {"instType": "PERP", "followerUids": [str(10_000_000 + i) for i in range(11)]}
    with pytest.raises(ccxt.InvalidOrder):
        exchange.contractPrivatePostApiV6CopyTradingTraderFollower(eleven)
    with pytest.raises(ccxt.InvalidOrder):
        exchange.contractPrivatePostApiV6CopyTradingTraderFollower({"instType": "PERP"})
    follower = connect(_followers[0])
    with pytest.raises(ccxt.AccountNotEnabled):  # the family is for lead traders
        follower.contractPrivatePostApiV6CopyTradingTraderFollower(
            {"instType": "PERP", "followerUids": "10000001"}
        )
    read_only = connect({**live_server.create_user("trader", permissions="read")})
    with pytest.raises(ccxt.PermissionDenied):
        read_only.contractPrivatePostApiV6CopyTradingTraderFollower(
            {"instType": "PERP", "followerUids": "10000001"}
        )


def test_a_follow_past_the_maximum_is_refused_through_the_admin_api(
    live_server: LiveServer, connect: Any
) -> None:
    trader = live_server.create_user("trader", balance="100000")
    for _ in range(100):  # the default maximum (spec §8.9)
        live_server.follow(live_server.create_user("follower", balance="10")["uid"], trader["uid"])
    extra = live_server.create_user("follower", balance="10")
    refused = live_server.http.post(
        "/_sim/follow",
        json={"follower_uid": extra["uid"], "trader_uid": trader["uid"], "ratio": "1"},
    )
    assert refused.status_code == 400
    assert "maximum" in refused.text
    exchange = connect(trader)
    exchange.contractPrivatePostApiV6CopyTradingTraderFollowerSettings(
        {"instType": "PERP", "enable": True, "maxFollowers": "200"}
    )
    live_server.follow(extra["uid"], trader["uid"])
    assert (
        len(exchange.contractPrivateGetApiV6CopyTradingTraderFollowers({"limit": "100"})["data"])
        == 100
    )


def test_one_way_mode_nets_and_flips_and_the_followers_follow(
    live_server: LiveServer, connect: Any
) -> None:
    trader, followers = _team(live_server)
    exchange = connect(trader)
    exchange.load_markets()
    assert exchange.set_position_mode(False, S)["data"] == {"position_mode": "single_side"}
    reply = live_server.signed(trader, "GET", "/v5/position/mode").json()
    assert reply["data"] == {"position_mode": "single_side"}

    exchange.create_order(S, "market", "buy", 4)
    (long,) = exchange.fetch_positions()
    assert (long["side"], long["contracts"], long["info"]["position_side"]) == ("long", 4, "both")
    exchange.create_order(S, "market", "sell", 2)  # nets: the long shrinks, and the copies
    assert [_open_volumes(live_server, f["uid"]) for f in followers] == [["2"], ["1"]]

    flip = exchange.create_order(S, "market", "sell", 5)  # 2 close, 3 open short
    (short,) = exchange.fetch_positions()
    assert (short["side"], short["contracts"]) == ("short", 3)
    for follower, volume in zip(followers, ("3", "1"), strict=True):
        view = live_server.user(follower["uid"])
        assert [(p["position_side"], p["volume"]) for p in view["positions"]] == [("short", volume)]
        assert {p["close_type"] for p in view["closed_positions"]} == {1}  # closing orders
    fetched = exchange.fetch_order(flip["id"], S)
    assert (fetched["status"], fetched["side"], fetched["filled"]) == ("closed", "sell", 5)
    assert fetched["info"]["position_side"] == "both"

    with pytest.raises(ccxt.InvalidOrder):  # switching back is refused while a position is open
        exchange.set_position_mode(True, S)
    with pytest.raises(ccxt.InsufficientFunds):  # reduce-only beyond the short: 1048
        exchange.create_order(S, "market", "buy", 4, None, {"reduceOnly": True})
    with pytest.raises(ccxt.InvalidOrder):  # one-way mode knows only position_side both
        exchange.create_order(S, "market", "buy", 1, None, {"position_side": "long"})
    exchange.close_position(S)
    assert exchange.fetch_positions() == []
    for follower in followers:
        assert live_server.user(follower["uid"])["positions"] == []
    assert exchange.set_position_mode(True, S)["data"] == {"position_mode": "dual_side"}


def test_algo_orders_are_fetched_armed_and_after_they_fired(
    live_server: LiveServer, connect: Any
) -> None:
    trader, (follower,) = _team(live_server, ("1",))
    exchange = connect(trader)
    exchange.load_markets()
    live_server.set_price("ETH-USDT", "3000")  # the session's server: other tests move it
    exchange.create_order("ETH/USDT:USDT", "market", "buy", 5)
    sl = exchange.create_order("ETH/USDT:USDT", "market", "sell", 5, None, {"stopLossPrice": 2500})
    flags = {"stopLossTakeProfit": True}
    armed = exchange.fetch_order(sl["id"], "ETH/USDT:USDT", flags)
    assert (armed["id"], armed["status"], armed["stopLossPrice"]) == (sl["id"], "open", 2500)
    assert exchange.fetch_closed_orders("ETH/USDT:USDT", params=flags) == []

    live_server.set_price("ETH-USDT", "2400")  # fires: the lead and the copy close

    fired = exchange.fetch_order(sl["id"], "ETH/USDT:USDT", flags)
    assert (fired["id"], fired["info"]["state"], fired["amount"]) == (sl["id"], "effective", 5)
    (closed,) = exchange.fetch_closed_orders("ETH/USDT:USDT", params=flags)
    assert (closed["id"], closed["amount"]) == (sl["id"], 5)  # its trigger is gone with the close
    assert exchange.fetch_canceled_orders("ETH/USDT:USDT", params=flags) == []
    assert live_server.user(follower["uid"])["positions"] == []
    with pytest.raises(ccxt.OrderNotFound):
        exchange.fetch_order("12345", "ETH/USDT:USDT", flags)
    with pytest.raises(ccxt.InvalidOrder):
        exchange.fetch_closed_orders("ETH/USDT:USDT", params={**flags, "states": "lost"})
