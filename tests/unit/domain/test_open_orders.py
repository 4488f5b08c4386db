"""Opening orders: wallet effects, margin checks, leverage, order lifecycle (spec §6.1, §7.4)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from domain_builders import BTC, D, make_env, make_markets, open_request

from copytrade.domain.enums import (
    CloseType,
    Liquidity,
    MarginMode,
    OrderDirection,
    OrderPriceType,
    OrderStatus,
    PositionSide,
)
from copytrade.domain.errors import (
    InsufficientMargin,
    InvalidOrderTransition,
    InvalidTakeProfit,
    LeverMismatch,
    OrderNotFillable,
)
from copytrade.domain.instruments import MarketMaker
from copytrade.domain.model import Account, Order
from copytrade.domain.trading import (
    Env,
    Market,
    OpenRequest,
    close_at_market,
    fill_resting_orders,
    open_order,
)

CROSS, ISOLATED = MarginMode.CROSS, MarginMode.ISOLATED
MARKETS = make_markets(BTC="60500")
MARKET = MARKETS["BTC-USDT"]
BEST_ASK = MARKET.book.asks[0].price  # 60506.1


def place(account: Account, req: OpenRequest, env: Env | None = None) -> Order:
    return open_order(account, req, MARKET, MARKETS, env or make_env())


def test_an_isolated_fill_moves_im_out_of_the_wallet_and_takes_the_fee_from_the_margin() -> None:
    account = Account(1, D(1000))

    order = place(account, open_request(volume="10", margin_mode=ISOLATED, lever=5))

    (position,) = account.positions.values()
    im = D(10) * BTC.contract_size * BEST_ASK / 5
    fee = D(10) * BTC.contract_size * BEST_ASK * D("0.0006")
    assert account.balance == D(1000) - im
    assert position.position_margin == im - fee
    assert (position.open_fee, position.open_avg_price, order.fee) == (fee, BEST_ASK, fee)


def test_a_cross_fill_takes_only_the_fee_from_the_wallet_and_books_im_as_margin() -> None:
    account = Account(1, D(1000))

    place(account, open_request(volume="10", margin_mode=CROSS, lever=5))

    (position,) = account.positions.values()
    fee = D(10) * BTC.contract_size * BEST_ASK * D("0.0006")
    assert account.balance == D(1000) - fee
    assert position.position_margin == D(10) * BTC.contract_size * BEST_ASK / 5


def test_an_unaffordable_order_raises_insufficient_margin_with_values_and_changes_nothing() -> None:
    account = Account(1, D(100))
    env = make_env()

    with pytest.raises(InsufficientMargin) as caught:
        place(account, open_request(volume="10", lever=5), env)

    value = D(10) * BTC.contract_size * BEST_ASK
    assert (caught.value.required, caught.value.available) == (value / 5 + value * D("0.0006"), 100)
    assert (account.balance, account.positions, account.orders) == (D(100), {}, {})
    assert (env.changes.fills, env.changes.orders) == ([], {})


def test_margin_frozen_by_a_resting_order_is_not_available_to_the_next_one() -> None:
    account = Account(1, D(130))
    resting = open_request(volume="10", price_type=OrderPriceType.LIMIT, price="60000", lever=5)
    place(account, resting)

    with pytest.raises(InsufficientMargin) as caught:
        place(account, open_request(volume="1", lever=5))

    frozen = D(120) + D(600) * D("0.0006")
    assert caught.value.available == D(130) - frozen


def test_a_second_leverage_on_the_same_contract_and_mode_is_refused_while_exposed() -> None:
    account = Account(1, D(10_000))
    place(account, open_request(volume="1", lever=5))

    with pytest.raises(LeverMismatch) as caught:
        place(account, open_request(volume="1", lever=10))

    assert (caught.value.requested, caught.value.current) == (10, 5)
    place(account, open_request(volume="1", margin_mode=CROSS, lever=10))
    assert account.levers == {("BTC-USDT", ISOLATED): 5, ("BTC-USDT", CROSS): 10}


def test_the_leverage_may_change_once_the_contract_and_mode_are_flat() -> None:
    account = Account(1, D(10_000))
    env = make_env()
    place(account, open_request(volume="1", lever=5), env)
    key = ("BTC-USDT", ISOLATED, PositionSide.LONG)
    close_at_market(account, account.open_positions(key), MARKET, CloseType.CLOSE_ORDER, env)

    place(account, open_request(volume="1", lever=10), env)

    assert account.levers[("BTC-USDT", ISOLATED)] == 10


def test_a_fully_filled_order_is_filled_and_does_not_rest() -> None:
    account = Account(1, D(10_000))
    env = make_env()

    order = place(account, open_request(volume="3"), env)

    assert (order.status, order.filled, order.remaining) == (OrderStatus.FILLED, 3, 0)
    assert account.orders == {}
    assert env.changes.new_orders == {order.order_id}


def test_a_limit_order_that_does_not_cross_rests_open_and_holds_no_position() -> None:
    account = Account(1, D(10_000))

    order = place(account, open_request(volume="3", price_type=OrderPriceType.LIMIT, price="60400"))

    assert (order.status, order.price, order.filled) == (OrderStatus.OPEN, D(60400), 0)
    assert account.orders == {order.order_id: order}
    assert account.positions == {}
    assert account.balance == D(10_000)


def test_a_market_order_bigger_than_the_book_is_cancelled_after_its_partial_fill() -> None:
    account = Account(1, D(10_000_000))
    whole_book = BTC.market_maker.depth * BTC.market_maker.levels

    order = place(account, open_request(volume=str(whole_book + 5), lever=20))

    assert (order.status, order.filled, order.remaining) == (OrderStatus.CANCELLED, whole_book, 5)
    assert account.orders == {}
    (position,) = account.positions.values()
    assert position.volume == whole_book


def test_an_opponent_order_rests_its_unfilled_part_at_the_best_ask() -> None:
    account = Account(1, D(1_000_000))

    order = place(account, open_request(volume="1500", price_type=OrderPriceType.OPPONENT))

    assert (order.status, order.price, order.filled) == (OrderStatus.OPEN, BEST_ASK, 1000)
    assert order.sub_position_id in account.positions


def test_a_fill_or_kill_order_that_cannot_fill_raises_and_changes_nothing() -> None:
    account = Account(1, D(1_000_000))
    env = make_env()
    req = open_request(volume="1001", price_type=OrderPriceType.OPPONENT_FOK)

    with pytest.raises(OrderNotFillable):
        place(account, req, env)

    assert (account.balance, account.positions, account.orders, account.levers) == (
        D(1_000_000),
        {},
        {},
        {},
    )
    assert env.changes.fills == []


def test_a_take_profit_below_the_buy_price_is_refused() -> None:
    req = dataclasses.replace(open_request(volume="1"), tp_trigger_price=D(60000))

    with pytest.raises(InvalidTakeProfit) as caught:
        place(Account(1, D(10_000)), req)

    assert (caught.value.trigger, caught.value.reference, caught.value.above) == (
        D(60000),
        BEST_ASK,
        True,
    )


def test_a_resting_order_fills_as_maker_at_its_limit_once_the_book_crosses_it() -> None:
    account = Account(1, D(10_000))
    env = make_env()
    req = open_request(
        direction=OrderDirection.SELL, volume="4", price_type=OrderPriceType.LIMIT, price="60600"
    )
    order = place(account, req, env)
    lower = Market.at(BTC, D(60550))  # best bid 60543.9: not yet
    higher = Market.at(BTC, D(60610))  # best bid 60603.9 ≥ 60600

    assert fill_resting_orders(account, lower, env) == []
    (position,) = fill_resting_orders(account, higher, env)

    assert (order.status, account.orders) == (OrderStatus.FILLED, {})
    assert (position.side, position.volume, position.open_avg_price) == (
        PositionSide.SHORT,
        4,
        D(60600),
    )
    maker_fee = D(4) * BTC.contract_size * D(60600) * D("0.0002")
    assert position.open_fee == maker_fee
    assert env.changes.fills[-1].liquidity is Liquidity.MAKER


ORDER_TABLE = [
    (OrderStatus.OPEN, "fill", OrderStatus.OPEN),
    (OrderStatus.OPEN, "complete", OrderStatus.FILLED),
    (OrderStatus.OPEN, "cancel", OrderStatus.CANCELLED),
]


def make_order(status: OrderStatus) -> Order:
    order = Order(
        7, 1, "BTC-USDT", ISOLATED, PositionSide.LONG, OrderPriceType.LIMIT, D(1), D(1), 5, 0
    )
    order.status = status
    return order


@pytest.mark.parametrize(("state", "event", "target"), ORDER_TABLE)
def test_the_order_table_allows_its_transitions(
    state: OrderStatus, event: str, target: OrderStatus
) -> None:
    order = make_order(state)

    order.apply(event)

    assert order.status is target


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (state, event)
        for state in OrderStatus
        for event in ("fill", "complete", "cancel", "expire")
        if (state, event) not in {(s, e) for s, e, _ in ORDER_TABLE}
    ],
)
def test_every_other_order_transition_raises_with_the_order_and_both_states(
    state: OrderStatus, event: str
) -> None:
    order = make_order(state)

    with pytest.raises(InvalidOrderTransition) as caught:
        order.apply(event)

    assert (caught.value.order_id, caught.value.state, caught.value.event) == (
        7,
        state.value,
        event,
    )
    assert order.status is state


def test_a_filled_order_holds_back_no_margin() -> None:
    order = make_order(OrderStatus.FILLED)

    assert order.frozen(BTC.contract_size, D("0.0006")) == Decimal(0)


def test_a_market_order_that_sweeps_deep_is_charged_what_it_really_costs() -> None:
    # Thin book: 1 contract per level, so 40 contracts walk 40 levels up from the best ask.
    thin = dataclasses.replace(BTC, market_maker=MarketMaker(depth=D(1), levels=50))
    market = Market.at(thin, D(60500))
    markets = {"BTC-USDT": market}
    best = market.book.asks[0].price
    at_best = 40 * thin.contract_size * best * (1 + D("0.0006"))  # lever 1
    account = Account(1, at_best + D("0.01"))  # affordable at the best quote, not deeper
    env = make_env()
    req = open_request("BTC-USDT", OrderDirection.BUY, "40", MarginMode.CROSS, lever=1)
    with pytest.raises(InsufficientMargin) as refused:
        open_order(account, req, market, markets, env)
    assert refused.value.required > at_best
    assert account.positions == {}
    assert account.balance == at_best + D("0.01")
    assert env.changes.fills == []
