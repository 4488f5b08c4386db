"""TP/SL per sub position: setting, listing and firing with the copies (spec §6.4, §6.14, §7.8)."""

from __future__ import annotations

import pytest
from domain_builders import D, add_position, make_env, make_markets, open_request

from copytrade.domain.copytrading import Follow, close_copies, copy_open
from copytrade.domain.enums import (
    CloseType,
    MarginMode,
    OrderDirection,
    PositionSide,
    TpslKind,
    TriggerType,
)
from copytrade.domain.errors import (
    InvalidStopLoss,
    InvalidTakeProfit,
    PositionNotFound,
    TriggerMissing,
)
from copytrade.domain.model import Account
from copytrade.domain.tpsl import (
    SideDisplay,
    fire_triggers,
    fired,
    set_tpsl,
    tpsl_orders,
    trigger_type,
)
from copytrade.domain.trading import open_order

ISOLATED, CROSS = MarginMode.ISOLATED, MarginMode.CROSS
LONG, SHORT = PositionSide.LONG, PositionSide.SHORT
MARK = D(60500)


def trader_with_300002() -> Account:
    account = Account(10000001, D("879.28"))
    add_position(
        account, 300002, "BTC-USDT", ISOLATED, LONG,
        lever=5, volume="10", open_price="60000", open_fee="0.36",
    )  # fmt: skip
    return account


def test_the_spec_example_sets_tp_63000_and_sl_57000_on_300002() -> None:
    account = trader_with_300002()
    env = make_env()

    position = set_tpsl(account, 300002, D(63000), D(57000), MARK, env)

    assert (position.tp_trigger_price, position.sl_trigger_price) == (D(63000), D(57000))
    assert env.changes.positions == {300002: position}


def test_tpsl_open_orders_lists_the_spec_rows_with_htx_inverted_position_side() -> None:
    account = trader_with_300002()
    set_tpsl(account, 300002, D(63000), D(57000), MARK, make_env())

    rows = tpsl_orders(account.positions.values(), "BTC-USDT")

    assert [
        (
            r.shown_side().value,
            r.contract_code,
            r.margin_mode.value,
            r.volume,
            r.trigger_type.value,
            r.kind.value,
            r.price,
        )
        for r in rows
    ] == [
        ("short", "BTC-USDT", "isolated", D(10), "ge", "tp", D(63000)),
        ("short", "BTC-USDT", "isolated", D(10), "le", "sl", D(57000)),
    ]
    assert [r.shown_side(SideDisplay.NATURAL) for r in rows] == [LONG, LONG]


@pytest.mark.parametrize(
    ("side", "kind", "expected"),
    [
        (LONG, TpslKind.TAKE_PROFIT, TriggerType.GE),
        (LONG, TpslKind.STOP_LOSS, TriggerType.LE),
        (SHORT, TpslKind.TAKE_PROFIT, TriggerType.LE),
        (SHORT, TpslKind.STOP_LOSS, TriggerType.GE),
    ],
)
def test_trigger_types_follow_the_protected_side(
    side: PositionSide, kind: TpslKind, expected: TriggerType
) -> None:
    assert trigger_type(side, kind) is expected


def test_tpsl_open_orders_filters_by_contract_and_lists_all_without_one() -> None:
    account = trader_with_300002()
    add_position(account, 5, "DOT-USDT", CROSS, SHORT, lever=5, volume="1", open_price="10")
    set_tpsl(account, 300002, None, D(57000), MARK, make_env())
    set_tpsl(account, 5, D(9), None, D(10), make_env())

    assert [(r.contract_code, r.kind) for r in tpsl_orders(account.positions.values())] == [
        ("BTC-USDT", TpslKind.STOP_LOSS),  # sub position 300002: newest id first
        ("DOT-USDT", TpslKind.TAKE_PROFIT),
    ]
    assert [r.sub_position_id for r in tpsl_orders(account.positions.values(), "DOT-USDT")] == [5]
    assert tpsl_orders(account.positions.values(), "ETH-USDT") == []


def test_a_trigger_that_is_left_out_keeps_its_current_value() -> None:
    account = trader_with_300002()
    set_tpsl(account, 300002, D(63000), D(57000), MARK, make_env())

    set_tpsl(account, 300002, D(64000), None, MARK, make_env())

    assert (
        account.positions[300002].tp_trigger_price,
        account.positions[300002].sl_trigger_price,
    ) == (
        D(64000),
        D(57000),
    )


def test_neither_trigger_is_refused_as_missing_tp_trigger_price() -> None:
    with pytest.raises(TriggerMissing) as refused:
        set_tpsl(trader_with_300002(), 300002, None, None, MARK, make_env())
    assert refused.value.name == "tp_trigger_price"


@pytest.mark.parametrize(
    ("side", "tp", "sl", "error"),
    [
        (LONG, "60500", None, InvalidTakeProfit),  # long TP must be above the latest price
        (LONG, None, "60500", InvalidStopLoss),  # long SL must be below
        (SHORT, "61000", None, InvalidTakeProfit),
        (SHORT, None, "60000", InvalidStopLoss),
        (LONG, "-1", None, InvalidTakeProfit),
    ],
)
def test_triggers_on_the_wrong_side_of_the_latest_price_are_refused(
    side: PositionSide, tp: str | None, sl: str | None, error: type[Exception]
) -> None:
    account = Account(1, D(1000))
    add_position(account, 1, "BTC-USDT", ISOLATED, side, lever=5, volume="1", open_price="60000")
    env = make_env()

    with pytest.raises(error):
        set_tpsl(account, 1, D(tp) if tp else None, D(sl) if sl else None, MARK, env)
    assert account.positions[1].tp_trigger_price is None
    assert not env.changes.positions


def test_unknown_sub_positions_and_follower_copies_are_not_the_traders_to_protect() -> None:
    account = trader_with_300002()
    copy = add_position(account, 9, "BTC-USDT", ISOLATED, LONG, lever=5, volume="1", open_price="1")
    copy.lead_uid, copy.lead_sub_position_id = 42, 1

    for sub_id in (123, 9):
        with pytest.raises(PositionNotFound):
            set_tpsl(account, sub_id, D(63000), None, MARK, make_env())


@pytest.mark.parametrize(
    ("mark", "expected"),
    [
        ("62999.9", None),
        ("63000", CloseType.TAKE_PROFIT),
        ("57000.1", None),
        ("57000", CloseType.STOP_LOSS),
    ],
)
def test_a_long_fires_tp_at_or_above_and_sl_at_or_below_the_mark(
    mark: str, expected: CloseType | None
) -> None:
    account = trader_with_300002()
    position = set_tpsl(account, 300002, D(63000), D(57000), MARK, make_env())
    assert fired(position, D(mark)) == expected


def test_a_short_fires_tp_below_and_sl_above() -> None:
    account = Account(1, D(1000))
    position = add_position(
        account, 1, "DOT-USDT", ISOLATED, SHORT, lever=5, volume="1", open_price="9.999"
    )
    set_tpsl(account, 1, D("9.79902"), D("10.19898"), D(10), make_env())

    assert fired(position, D("9.79902")) is CloseType.TAKE_PROFIT
    assert fired(position, D("10.19898")) is CloseType.STOP_LOSS
    assert fired(position, D(10)) is None


@pytest.mark.parametrize(
    ("mark", "close_type"), [("63000", CloseType.TAKE_PROFIT), ("57000", CloseType.STOP_LOSS)]
)
def test_a_fired_trigger_closes_the_lead_and_its_copies_with_close_type_3_or_4(
    mark: str, close_type: CloseType
) -> None:
    env = make_env()
    markets = make_markets(BTC="60500", DOT="10")
    trader, follower = Account(1, D(100_000)), Account(2, D(100_000))
    order = open_order(trader, open_request(volume="10"), markets["BTC-USDT"], markets, env)
    assert order.sub_position_id is not None
    lead = trader.positions[order.sub_position_id]
    copy_open(lead, D(10), [Follow(2, 1, D(1))], {2: follower}, markets["BTC-USDT"], markets, env)
    other = open_order(
        trader,
        open_request("DOT-USDT", OrderDirection.SELL, "1"),
        markets["DOT-USDT"],
        markets,
        env,
    )
    set_tpsl(trader, lead.sub_position_id, D(63000), D(57000), D(60500), env)
    moved = make_markets(BTC=mark)

    fired_now = fire_triggers(trader, moved["BTC-USDT"], env)
    closed = close_copies(
        [p for p, _ in fired_now], trader, D("0.1"), {2: follower}, moved, close_type, env
    )

    assert [(p.sub_position_id, kind) for p, kind in fired_now] == [
        (lead.sub_position_id, close_type)
    ]
    assert (lead.is_open, lead.close_type, lead.tp_trigger_price, lead.sl_trigger_price) == (
        False,
        close_type,
        None,
        None,
    )
    assert closed == 1
    assert follower.positions == {}
    (copy,) = [p for p in env.changes.positions.values() if p.uid == 2]
    assert copy.close_type is close_type
    assert list(trader.positions) == [other.sub_position_id]  # the DOT position is untouched


def test_triggers_of_other_contracts_do_not_fire_on_this_mark() -> None:
    account = trader_with_300002()
    set_tpsl(account, 300002, D(63000), None, MARK, make_env())

    assert fire_triggers(account, make_markets(DOT="63000")["DOT-USDT"], make_env()) == []
    assert account.positions[300002].is_open
