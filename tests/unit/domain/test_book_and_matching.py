"""The market maker's book and order matching (spec §7.1, §8.2 step 6)."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from domain_builders import BTC, SPECS, D
from hypothesis import given, settings
from hypothesis import strategies as st

from copytrade.domain.book import Book, Level, quote_book
from copytrade.domain.enums import OrderPriceType
from copytrade.domain.errors import NoOpponentPrice, OrderNotFillable
from copytrade.domain.matching import Fill, match_close, match_open, vwap

BOOK = quote_book(BTC, D(60500))
ASKS, BIDS = BOOK.asks, BOOK.bids
DEPTH = BTC.market_maker.depth


def volumes(fills: tuple[Fill, ...]) -> Decimal:
    return sum((f.volume for f in fills), D(0))


def test_the_btc_book_quotes_one_basis_point_either_side_of_the_mark() -> None:
    assert (BIDS[0].price, ASKS[0].price) == (D("60493.9"), D("60506.1"))
    assert len(ASKS) == len(BIDS) == BTC.market_maker.levels


def test_a_market_buy_walks_the_asks_until_filled_and_pays_the_slippage() -> None:
    result = match_open(BOOK, True, D(2500), OrderPriceType.MARKET, None, "BTC-USDT")

    assert result.fills == (
        Fill(ASKS[0].price, DEPTH),
        Fill(ASKS[1].price, DEPTH),
        Fill(ASKS[2].price, D(500)),
    )
    assert (result.remaining, result.rest_price) == (0, None)
    assert vwap(result.fills) > ASKS[0].price


def test_a_market_sell_walks_the_bids_downwards() -> None:
    result = match_open(BOOK, False, D(1200), OrderPriceType.MARKET, None, "BTC-USDT")

    assert [f.price for f in result.fills] == [BIDS[0].price, BIDS[1].price]
    assert vwap(result.fills) < BIDS[0].price


def test_a_market_order_larger_than_the_book_leaves_a_remainder_that_does_not_rest() -> None:
    whole_book = DEPTH * len(ASKS)

    result = match_open(BOOK, True, whole_book + 10, OrderPriceType.MARKET, None, "BTC-USDT")

    assert (result.filled, result.remaining, result.rest_price) == (whole_book, 10, None)


@pytest.mark.parametrize(
    ("price_type", "price", "fillable"),
    [
        (OrderPriceType.FOK, ASKS[1].price, 2 * DEPTH),
        (OrderPriceType.OPPONENT_FOK, None, DEPTH),
        (OrderPriceType.OPTIMAL_20_FOK, None, 20 * DEPTH),
    ],
)
def test_fill_or_kill_types_fill_whole_or_not_at_all(
    price_type: OrderPriceType, price: Decimal | None, fillable: Decimal
) -> None:
    result = match_open(BOOK, True, fillable, price_type, price, "BTC-USDT")
    assert (result.filled, result.remaining, result.rest_price) == (fillable, 0, None)

    with pytest.raises(OrderNotFillable):
        match_open(BOOK, True, fillable + 1, price_type, price, "BTC-USDT")


def test_an_opponent_order_rests_its_remainder_at_the_best_opposite_price() -> None:
    buy = match_open(BOOK, True, D(1500), OrderPriceType.OPPONENT, None, "BTC-USDT")
    sell = match_open(BOOK, False, D(1500), OrderPriceType.OPPONENT, None, "BTC-USDT")

    assert (buy.fills, buy.remaining, buy.rest_price) == (
        (Fill(ASKS[0].price, DEPTH),),
        500,
        ASKS[0].price,
    )
    assert (sell.remaining, sell.rest_price) == (500, BIDS[0].price)


def test_an_optimal_20_order_sweeps_twenty_levels_and_rests_at_the_twentieth() -> None:
    result = match_open(BOOK, True, D(25_000), OrderPriceType.OPTIMAL_20, None, "BTC-USDT")

    assert [f.price for f in result.fills] == [level.price for level in ASKS[:20]]
    assert (result.remaining, result.rest_price) == (5000, ASKS[19].price)


def test_an_optimal_20_order_on_a_shallow_book_uses_the_deepest_level() -> None:
    shallow = Book(bids=(), asks=(Level(D(10), D(1)), Level(D(11), D(1)), Level(D(12), D(1))))

    result = match_open(shallow, True, D(5), OrderPriceType.OPTIMAL_20, None, "X")

    assert (result.filled, result.rest_price) == (3, D(12))


def test_a_limit_order_that_is_not_marketable_rests_whole_at_its_price() -> None:
    result = match_open(BOOK, True, D(10), OrderPriceType.LIMIT, D(60500), "BTC-USDT")

    assert (result.fills, result.remaining, result.rest_price) == ((), 10, D(60500))


def test_a_marketable_limit_order_fills_up_to_its_price_and_rests_the_rest() -> None:
    result = match_open(BOOK, False, D(3000), OrderPriceType.LIMIT, BIDS[1].price, "BTC-USDT")

    assert result.fills == (Fill(BIDS[0].price, DEPTH), Fill(BIDS[1].price, DEPTH))
    assert (result.remaining, result.rest_price) == (1000, BIDS[1].price)


@pytest.mark.parametrize(
    "price_type",
    [OrderPriceType.MARKET, OrderPriceType.OPPONENT, OrderPriceType.OPTIMAL_20_FOK],
)
def test_an_order_without_a_price_needs_an_opposite_book(price_type: OrderPriceType) -> None:
    one_sided = Book(bids=BIDS, asks=())

    with pytest.raises(NoOpponentPrice):
        match_open(one_sided, True, D(1), price_type, None, "BTC-USDT")


def test_a_close_beyond_the_book_fills_the_rest_at_the_last_touched_level() -> None:
    whole_book = DEPTH * len(BIDS)

    fills = match_close(BOOK, False, whole_book + 7, D(60500))

    assert volumes(fills) == whole_book + 7
    assert fills[-1] == Fill(BIDS[-1].price, D(7))


def test_a_close_within_the_book_fills_completely_like_a_market_order() -> None:
    fills = match_close(BOOK, True, D(1001), D(60500))

    assert fills == (Fill(ASKS[0].price, DEPTH), Fill(ASKS[1].price, D(1)))


def test_a_close_against_an_empty_book_fills_at_the_mark() -> None:
    assert match_close(Book((), ()), True, D(3), D(60500)) == (Fill(D(60500), D(3)),)


def test_a_mark_off_the_tick_grid_still_gets_quotes_on_ticks() -> None:
    book = quote_book(BTC, D("100.05"))

    assert (book.bids[0].price, book.asks[0].price) == (D("100.0"), D("100.1"))


marks = st.decimals(min_value=D("0.0001"), max_value=D(1_000_000), places=4)


@settings(max_examples=100, deadline=None)
@given(code=st.sampled_from(sorted(SPECS)), mark=marks)
def test_the_book_is_never_crossed_and_every_quote_is_on_a_tick(code: str, mark: Decimal) -> None:
    spec = SPECS[code]
    book = quote_book(spec, mark)

    assert book.asks[0].price > mark
    if book.bids:
        assert book.bids[0].price < mark
    for levels, step in ((book.asks, 1), (book.bids, -1)):
        prices = [level.price for level in levels]
        assert all(p > 0 and p % spec.price_tick == 0 for p in prices)
        assert all((b - a) * step > 0 for a, b in itertools.pairwise(prices))
