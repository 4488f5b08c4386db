"""Tolerance for the documented wire quirks of spec §9.2."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal as D

from sdk_fakes import Recorder, envelope

from copytrade.client import Client, Direct, OrderDirection, builders


def test_amont_spellings_are_accepted(
    make_client: Callable[..., Client], recorder: Recorder
) -> None:
    client = make_client()
    recorder.reply(envelope({"items": [{"profit_currency": "USDT", "total_profit_amont": "2.5"}]}))
    recorder.reply(envelope({"profit_items": [{"profit_amont": "1.25", "profit_currency": "USDT",
                                               "profit_time": 1, "user_id": "7"}],
                             "query_id": "5001"}))  # fmt: skip
    recorder.reply(envelope({"follower": [{"follower_uid": "Nw", "follower_profit_amont": "3"}],
                             "query_id": "12"}))  # fmt: skip

    assert client.total_profit_history()[0].total_profit_amount == D("2.5")
    page = client.profit_history_details()
    assert page.items[0].profit_amount == D("1.25")
    assert page.query_id == 5001
    followers = client.query_followers()
    assert followers.items[0].follower_profit_amount == D("3")
    assert followers.query_id == 12


def test_null_string_volume_in_history_becomes_none(
    make_client: Callable[..., Client], recorder: Recorder
) -> None:
    recorder.reply(envelope({"positions": [{
        "sub_position_id": 1, "lever": 5, "position_side": "short", "open_avg_price": 200,
        "volume": "null", "margin_mode": "isolated", "open_time": "1719304260000",
        "close_avg_price": 10, "profit": 189.9244, "close_type": "2",
    }], "query_id": None}))  # fmt: skip

    page = make_client().position_positions(contract_code="DOT-USDT", direct=Direct.NEXT)

    item = page.items[0]
    assert item.volume is None
    assert item.sub_position_id == "1"
    assert item.lever == 5
    assert item.open_avg_price == D("200")
    assert item.profit == D("189.9244")
    assert isinstance(item.profit, D)
    assert item.open_time == 1719304260000
    assert item.close_type == 2
    assert page.query_id is None


def test_query_contract_accepts_objects(
    make_client: Callable[..., Client], recorder: Recorder
) -> None:
    recorder.reply(envelope([{"contract_code": "SHIB-USDT"}, "BTC-USDT"]))

    assert make_client().query_contract() == ("SHIB-USDT", "BTC-USDT")


def test_order_direction_numbers_and_open_are_normalised(
    make_client: Callable[..., Client], recorder: Recorder
) -> None:
    base = {"contract_code": "BTC-USDT", "lever": "5", "margin_mode": "cross", "volume": 3,
            "price": None, "avg_volume": "0", "avg_price": None, "fee": "0"}  # fmt: skip
    recorder.reply(envelope([
        base | {"position_side": "long", "order_direction": "open"},
        base | {"position_side": "short", "order_direction": 1},
        base | {"position_side": "short", "order_direction": "2"},
    ]))  # fmt: skip

    orders = make_client().open_orders()

    assert [o.order_direction for o in orders] == [
        OrderDirection.BUY,
        OrderDirection.BUY,
        OrderDirection.SELL,
    ]
    assert orders[0].volume == D(3)
    assert orders[0].lever == 5


def test_lever_rate_range_as_a_single_integer_is_read_as_max(
    make_client: Callable[..., Client], recorder: Recorder
) -> None:
    recorder.reply(envelope({"lever_rate_range": 75, "current_lever_rate": "5",
                             "contract_code": "DOT-USDT", "margin_mode": "cross"}))  # fmt: skip

    lever = make_client().query_contract_lever(contract_code="DOT-USDT", margin_mode="cross")  # type: ignore[arg-type]

    assert lever.lever_rate_range == (1, 75)
    assert lever.current_lever_rate == 5


def test_json_numbers_with_fractions_parse_to_exact_decimals(
    make_client: Callable[..., Client], recorder: Recorder
) -> None:
    recorder.reply(b'{"code":200,"data":{"contract_code":"BTC-USDT","amount":0.1,"type":1,'
                   b'"position_side":"long"},"tid":"t","success":true}')  # fmt: skip

    result = make_client().add_margin(
        contract_code="BTC-USDT",
        amount=D("0.1"),
        type=1,
        position_side="long",  # type: ignore[arg-type]
    )

    assert result.amount == D("0.1")
    assert str(result.amount) == "0.1"


def test_send_returns_the_full_response_for_a_prepared_request(
    make_client: Callable[..., Client], recorder: Recorder
) -> None:
    recorder.reply(envelope({"positions": []}))

    response = make_client().send(builders.position_list())

    assert response.data == ()
    assert response.tid == "0c5e2f8a9b7d4e31a6f0c2d4b8e91a73"
    assert response.rate_limit is not None
    assert (response.rate_limit.remaining, response.rate_limit.reset) == (17, 1719304201000)
    assert response.http_status == 200


def test_missing_rate_limit_headers_give_none(make_client: Callable[..., Client]) -> None:
    import httpx

    from copytrade.client.models import RateLimit

    assert RateLimit.from_headers(httpx.Headers({})) is None
    assert RateLimit.from_headers(httpx.Headers({"ratelimit-limit": "18"})) == RateLimit(
        18, None, None, None
    )
