"""Follower settings end to end over loopback HTTP, on memory, SQLite and PostgreSQL (spec §8.1).

Each setting's behaviour: ``fixed_amount`` copies, a contract subset (others skipped with their
reason), a copy's own TP/SL ratio (close types 8/9), the total stop-loss (type 10: the follow
ends, later lead fills are not copied), changing and clearing settings with
``PATCH /_sim/users/{uid}/follow``, 400s naming the field; and on SQLite the settings survive a
restart.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from copytrade.testing.server import LiveServer

P = "/copytrading/trader/"
D = Decimal
CS = Decimal("0.001")  # BTC-USDT contract size


@pytest.fixture(
    scope="module",
    params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    server_on: Callable[..., AbstractContextManager[LiveServer]],
) -> Iterator[LiveServer]:
    if request.param == "memory":
        with LiveServer("memory://", demo_seed=False) as live:
            yield live
        return
    with server_on(request.param, tmp_path_factory) as live:
        yield live


def ok(reply: Any) -> Any:
    body = reply.json()
    assert body["code"] == 200, body
    return body["data"]


def lead_open(
    server: LiveServer,
    trader: dict[str, Any],
    volume: str = "10",
    contract: str = "BTC-USDT",
    direction: int = 1,
) -> None:
    body = {
        "contract_code": contract,
        "amount": volume,
        "margin_mode": "isolated",
        "order_direction": direction,
        "order_price_type": 17,
        "lever": 5,
    }
    ok(server.signed(trader, "POST", P + "place_order", body=body))


def close_all(server: LiveServer, trader: dict[str, Any], contract: str = "BTC-USDT") -> None:
    body = {"contract_code": contract, "margin_mode": "isolated", "position_side": "long"}
    ok(server.signed(trader, "POST", P + "close_all_position", body=body))


def pair(
    server: LiveServer, balance: str = "10000", **settings: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A fresh trader (rich) and a follower following it with ``settings``."""
    trader = server.create_user("trader", balance="1000000")
    follower = server.create_user("follower", balance=balance)
    server.follow(follower["uid"], trader["uid"], **settings)
    return trader, follower


def patch(server: LiveServer, uid: int, **body: Any) -> Any:
    return server.http.patch(f"/_sim/users/{uid}/follow", json=body)


def positions(server: LiveServer, uid: int) -> list[dict[str, Any]]:
    return list(server.user(uid)["positions"])


def closed(server: LiveServer, uid: int) -> list[dict[str, Any]]:
    return list(server.user(uid)["closed_positions"])


@pytest.fixture(autouse=True)
def btc_at_60500(server: LiveServer) -> None:
    server.set_price("BTC-USDT", "60500")
    server.set_price("ETH-USDT", "3000")


def test_fixed_amount_copies_each_lead_open_with_that_much_margin(server: LiveServer) -> None:
    trader, follower = pair(server, mode="fixed_amount", fixed_amount="100")
    lead_open(server, trader, "10")
    lead_open(server, trader, "40", contract="ETH-USDT")

    copies = {p["contract_code"]: p for p in positions(server, follower["uid"])}
    assert set(copies) == {"BTC-USDT", "ETH-USDT"}
    sizes = {"BTC-USDT": CS, "ETH-USDT": Decimal("0.01")}
    for code, copy in copies.items():
        volume, price = Decimal(copy["volume"]), Decimal(copy["open_avg_price"])
        assert Decimal(copy["position_margin"]) <= 100
        # the most whole contracts 100 USDT of margin buys at 5x: one more would not fit
        assert (volume + 1) * sizes[code] * price / 5 > 100
        assert volume == (Decimal(100) * 5 / (sizes[code] * price)).to_integral_value("ROUND_FLOOR")
    # the lead size does not matter: 10 and 40 contracts, each copy about 100 USDT of margin
    assert Decimal(copies["BTC-USDT"]["volume"]) == 8


def test_a_fixed_amount_too_small_for_one_contract_is_skipped_with_the_reason(
    server: LiveServer,
) -> None:
    trader, follower = pair(server, mode="fixed_amount", fixed_amount="5")  # 1 BTC contract ~12
    lead_open(server, trader, "10")

    view = server.user(follower["uid"])
    assert view["positions"] == []
    (skip,) = view["skipped_copies"]
    assert (skip["contract_code"], skip["reason"]) == ("BTC-USDT", "below_minimum")
    assert D(view["balance"]) == D(10000)  # nothing spent


def test_only_the_chosen_contracts_are_copied_the_others_skipped_with_the_reason(
    server: LiveServer,
) -> None:
    trader, follower = pair(server, contracts=["eth-usdt"])
    lead_open(server, trader, "5")
    lead_open(server, trader, "3", contract="ETH-USDT")

    view = server.user(follower["uid"])
    assert [p["contract_code"] for p in view["positions"]] == ["ETH-USDT"]
    (skip,) = view["skipped_copies"]
    assert (skip["contract_code"], skip["reason"]) == ("BTC-USDT", "contract_not_followed")
    assert "ETH-USDT" in skip["detail"]
    assert view["following"]["contracts"] == ["ETH-USDT"]


def test_a_copy_takes_its_own_profit_and_the_lead_stays_open(server: LiveServer) -> None:
    trader, follower = pair(server, tp_ratio="0.5")
    plain = server.create_user("follower")
    server.follow(plain["uid"], trader["uid"])
    lead_open(server, trader, "10")

    short_of_it = server.set_price("BTC-USDT", "66000")  # +9 %: PnL/margin 0.45 at 5x
    moved = server.set_price("BTC-USDT", "67000")  # +10.7 %: 0.53 >= 0.5

    assert short_of_it["copy_exits"] == 0
    assert moved["copy_exits"] == 1
    (done,) = closed(server, follower["uid"])
    assert done["close_type"] == 8
    assert Decimal(done["profit"]) > 0
    assert positions(server, follower["uid"]) == []
    assert len(positions(server, trader["uid"])) == 1  # the lead is not affected
    assert len(positions(server, plain["uid"])) == 1  # a follower without the setting keeps it
    # the profit share of a copy's own exit goes to the lead's follow_takes
    (lead,) = positions(server, trader["uid"])
    assert Decimal(server.user(follower["uid"])["profit_shares_paid"][0]["amount"]) > 0
    assert lead["sub_position_id"] == done["lead_sub_position_id"]


def test_a_copy_stops_its_own_loss_with_close_type_9(server: LiveServer) -> None:
    trader, follower = pair(server, sl_ratio="0.25")
    lead_open(server, trader, "10")

    server.set_price("BTC-USDT", "58000")  # −4.1 %: PnL/margin −0.21
    assert len(positions(server, follower["uid"])) == 1
    server.set_price("BTC-USDT", "57400")  # −5.1 %: −0.26 <= −0.25

    (done,) = closed(server, follower["uid"])
    assert done["close_type"] == 9
    assert Decimal(done["profit"]) < 0
    assert len(positions(server, trader["uid"])) == 1


def test_the_total_stop_loss_counts_realised_losses_ends_the_follow_and_closes_copies(
    server: LiveServer,
) -> None:
    trader, follower = pair(server, total_stop_loss="30")
    lead_open(server, trader, "10")
    server.set_price("BTC-USDT", "58600")  # about −19 unrealised: not yet
    close_all(server, trader)  # realised with the lead: about −20 net of fees
    assert server.user(follower["uid"])["following"] is not None

    server.set_price("BTC-USDT", "60500")
    lead_open(server, trader, "10")
    moved = server.set_price("BTC-USDT", "59300")  # about −12 more: past −30 in all

    assert moved["follows_stopped"] == 1
    view = server.user(follower["uid"])
    assert view["following"] is None
    assert view["positions"] == []
    assert [p["close_type"] for p in view["closed_positions"]] == [2, 10]
    followers = ok(server.signed(trader, "GET", P + "query_followers", params={}))
    assert followers["follower"] == []
    lead_open(server, trader, "10")  # no longer copied, and nothing recorded as skipped
    view = server.user(follower["uid"])
    assert view["positions"] == []
    assert view["skipped_copies"] == []


def test_unrealised_loss_alone_below_the_total_stop_does_not_stop(server: LiveServer) -> None:
    trader, follower = pair(server, total_stop_loss="30")
    lead_open(server, trader, "10")
    moved = server.set_price("BTC-USDT", "59300")
    assert moved["follows_stopped"] == 0
    assert server.user(follower["uid"])["following"]["total_stop_loss"] == "30"


def test_settings_change_later_apply_to_the_next_copies_and_read_back(
    server: LiveServer,
) -> None:
    trader, follower = pair(server, ratio="0.5")
    lead_open(server, trader, "10")  # copied at 0.5: 5 contracts

    changed = patch(
        server, follower["uid"], trader_uid=trader["uid"], contracts=["ETH-USDT"], sl_ratio="0.9"
    )
    assert changed.status_code == 200, changed.text
    assert changed.json() | {"copy_exits": 0, "stopped": False} == changed.json()
    lead_open(server, trader, "10")  # BTC no longer followed: skipped
    read = server.http.get(f"/_sim/users/{follower['uid']}/follow").json()

    assert read == {
        "follower_uid": follower["uid"],
        "trader_uid": trader["uid"],
        "ratio": "0.5",
        "mode": "ratio",
        "fixed_amount": None,
        "tp_ratio": None,
        "sl_ratio": "0.9",
        "total_stop_loss": None,
        "contracts": ["ETH-USDT"],
        "max_slippage": None,
    }
    view = server.user(follower["uid"])
    assert [p["volume"] for p in view["positions"]] == ["5"]  # the open copy stays
    assert [s["reason"] for s in view["skipped_copies"]] == ["contract_not_followed"]

    cleared = patch(server, follower["uid"], contracts=None, sl_ratio=None, mode="fixed_amount",
                    fixed_amount="200")  # fmt: skip
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["contracts"], cleared.json()["sl_ratio"]) == (None, None)
    lead_open(server, trader, "1")
    volumes = sorted(Decimal(p["volume"]) for p in positions(server, follower["uid"]))
    assert volumes[-1] > 5  # 200 USDT at 5x: about 16 contracts, whatever the lead's size


def test_a_tighter_rule_set_later_applies_at_once_at_the_current_marks(
    server: LiveServer,
) -> None:
    trader, follower = pair(server)
    lead_open(server, trader, "10")
    server.set_price("BTC-USDT", "58600")  # about −19 unrealised

    stopped = patch(server, follower["uid"], total_stop_loss="10")

    assert stopped.status_code == 200, stopped.text
    assert (stopped.json()["stopped"], stopped.json()["copies_stopped"]) == (True, 1)
    assert [p["close_type"] for p in closed(server, follower["uid"])] == [10]
    assert server.http.get(f"/_sim/users/{follower['uid']}/follow").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tp_ratio": "-1"}, "tp_ratio"),
        ({"sl_ratio": "zero"}, "sl_ratio"),
        ({"total_stop_loss": 0}, "total_stop_loss"),
        ({"contracts": []}, "contracts"),
        ({"contracts": ["NOPE-USDT"]}, "contracts"),
        ({"mode": "fixed_amount"}, "fixed_amount"),
        ({"mode": "martingale"}, "mode"),
        ({"ratio": None}, "ratio"),
        ({"fixed_amount": "10"}, "fixed_amount"),  # a fixed amount in ratio mode
        ({"ratoi": "1"}, "ratoi"),
    ],
)
def test_bad_settings_are_refused_with_a_400_naming_the_field(
    server: LiveServer, body: dict[str, Any], field: str
) -> None:
    _trader, follower = pair(server, tp_ratio="0.5")
    refused = patch(server, follower["uid"], **body)
    assert refused.status_code == 400, refused.text
    assert refused.json()["field"] == field
    assert refused.json()["error"].startswith(f"{field}: ")
    # nothing was half-applied
    assert server.user(follower["uid"])["following"]["tp_ratio"] == "0.5"


def test_following_with_bad_settings_is_refused_naming_the_field(server: LiveServer) -> None:
    trader = server.create_user("trader")
    follower = server.create_user("follower")
    body = {"follower_uid": follower["uid"], "trader_uid": trader["uid"]}
    for extra, field in (
        ({"contracts": ["NOPE-USDT"]}, "contracts"),
        ({"mode": "fixed_amount"}, "fixed_amount"),
        ({"tp_ratio": "-0.1"}, "tp_ratio"),
    ):
        refused = server.http.post("/_sim/follow", json={**body, **extra})
        assert (refused.status_code, refused.json()["field"]) == (400, field), refused.text
    assert server.user(follower["uid"])["following"] is None


def test_changing_settings_of_someone_not_following_or_of_another_trader_is_refused(
    server: LiveServer,
) -> None:
    trader, follower = pair(server)
    loner = server.create_user("follower")
    not_following = patch(server, loner["uid"], tp_ratio="0.5")
    wrong_trader = patch(server, follower["uid"], trader_uid=loner["uid"], tp_ratio="0.5")
    unknown = patch(server, 2**62, tp_ratio="0.5")
    assert (not_following.status_code, not_following.json()["field"]) == (404, "uid")
    assert (wrong_trader.status_code, wrong_trader.json()["field"]) == (409, "trader_uid")
    assert unknown.status_code == 404
    assert server.user(follower["uid"])["following"]["tp_ratio"] is None
    assert trader["uid"]


def test_the_openapi_document_describes_the_settings_calls(server: LiveServer) -> None:
    doc = server.http.get("/_sim/openapi.json").json()
    follow = doc["paths"]["/_sim/users/{uid}/follow"]
    assert set(follow) >= {"get", "patch"}
    props = doc["components"]["schemas"]["FollowSettingsRequest"]["properties"]
    assert {"ratio", "mode", "fixed_amount", "tp_ratio", "sl_ratio", "total_stop_loss",
            "contracts", "trader_uid"} <= set(props)  # fmt: skip


def test_settings_survive_a_restart_on_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "restart.db"
    with LiveServer(db_path=db, demo_seed=False) as first:
        trader, follower = pair(first, contracts=["ETH-USDT"], mode="fixed_amount",
                                fixed_amount="100")  # fmt: skip
        patch(first, follower["uid"], tp_ratio="0.5", total_stop_loss="40")
    with LiveServer(db_path=db, demo_seed=False) as second:
        read = second.http.get(f"/_sim/users/{follower['uid']}/follow").json()
        assert read | {"follower_uid": 0} == {
            "follower_uid": 0,
            "trader_uid": trader["uid"],
            "ratio": "1",
            "mode": "fixed_amount",
            "fixed_amount": "100",
            "tp_ratio": "0.5",
            "sl_ratio": None,
            "total_stop_loss": "40",
            "contracts": ["ETH-USDT"],
            "max_slippage": None,
        }
        lead_open(second, trader, "10")  # BTC: skipped after the restart too
        assert [s["reason"] for s in second.user(follower["uid"])["skipped_copies"]] == [
            "contract_not_followed"
        ]


def test_a_take_profit_set_later_closes_a_winning_copy_at_once_and_pays_the_trader(
    server: LiveServer,
) -> None:
    # the follow is rewritten and the trader credited in one unit of work: the share must land
    trader, follower = pair(server)
    lead_open(server, trader, "10")
    server.set_price("BTC-USDT", "64000")  # +5.8 %: PnL/margin about 0.29
    before = Decimal(server.user(trader["uid"])["balance"])

    changed = patch(server, follower["uid"], tp_ratio="0.2")

    assert changed.status_code == 200, changed.text
    assert (changed.json()["copy_exits"], changed.json()["stopped"]) == (1, False)
    (share,) = server.user(follower["uid"])["profit_shares_paid"]
    assert Decimal(share["amount"]) > 0
    assert Decimal(server.user(trader["uid"])["balance"]) == before + Decimal(share["amount"])
    assert [p["close_type"] for p in closed(server, follower["uid"])] == [8]


def test_removing_a_follower_with_a_winning_copy_pays_the_trader_its_share(
    server: LiveServer,
) -> None:
    trader, follower = pair(server)
    lead_open(server, trader, "10")
    server.set_price("BTC-USDT", "64000")
    before = Decimal(server.user(trader["uid"])["balance"])
    # HTX's opaque follower id: the UID's digits in base64, unpadded
    body = {"follower_uid": base64.b64encode(str(follower["uid"]).encode()).decode().rstrip("=")}
    ok(server.signed(trader, "POST", P + "remove_follower", body=body))
    (share,) = server.user(follower["uid"])["profit_shares_paid"]
    assert Decimal(server.user(trader["uid"])["balance"]) == before + Decimal(share["amount"])


def test_a_price_path_tick_applies_the_rules_like_a_price_set_by_hand(
    server: LiveServer,
) -> None:
    trader, follower = pair(server, tp_ratio="0.5")
    lead_open(server, trader, "10")
    now = server.admin_get("/_sim/clock")["now_ms"]
    server.admin("/_sim/clock", {"now_ms": now})
    try:
        csv = "0,60500\n1000,67000\n2000,60500\n"
        server.admin("/_sim/markets/BTC-USDT/path", {"kind": "replay", "csv": csv})
        server.admin("/_sim/clock", {"advance_ms": 1500})  # the tick at +1000 s: 67000
        assert [p["close_type"] for p in closed(server, follower["uid"])] == [8]
        assert len(positions(server, trader["uid"])) == 1
    finally:
        server.admin("/_sim/markets/BTC-USDT/path", {"kind": "fixed"})
        server.admin("/_sim/clock", {"now_ms": None})


def test_bulk_followers_all_take_the_settings_given(server: LiveServer) -> None:
    trader = server.create_user("trader", balance="1000000")
    body = {"trader_uid": trader["uid"], "count": 3, "mode": "fixed_amount",
            "fixed_amount": "100", "contracts": ["BTC-USDT"], "sl_ratio": "0.25"}  # fmt: skip
    uids = server.admin("/_sim/followers/bulk", body)["uids"]
    lead_open(server, trader, "10")
    lead_open(server, trader, "10", contract="ETH-USDT")
    server.set_price("BTC-USDT", "57400")  # every copy's own stop-loss
    for uid in uids:
        view = server.user(uid)
        assert view["following"]["fixed_amount"] == "100"
        assert [(p["volume"], p["close_type"]) for p in view["closed_positions"]] == [("8", 9)]
        assert [s["reason"] for s in view["skipped_copies"]] == ["contract_not_followed"]
    refused = server.http.post("/_sim/followers/bulk", json={**body, "contracts": ["NOPE"]})
    assert (refused.status_code, refused.json()["field"]) == (400, "contracts")
