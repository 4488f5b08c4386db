"""Property: a record replays to one digest, and dropping any command that changed state shows.

Sessions are generated (users, follows, market and limit orders with TP/SL, closes of one or
all positions, TP/SL on a position, transfers over v1 and v6, a follower's removal over v6,
leverage, price moves, clock moves over a GBM path, reads), recorded by a server called in
process on the in-memory store, and replayed the same way. Which recorded command is dropped
is generated too. Dropping a command leaves the digest unchanged exactly when the command
changed nothing the replay does not do anyway:

- a read, unless a later request names an id (a sub position's) that only this read showed;
- a clock move that another request follows: the replay sets the clock to each request's
  recorded time, so the next request makes the same jump (every tick, fill and trigger on
  the way);
- a price move to the mark the market already had, a leverage change to the leverage set;
- a price move that fired nothing (its reply counts no fill, trigger or liquidation) and
  whose market the very next state-changing request moves again: the next move sets the
  same mark and fires on the level, whatever the mark was before;
- a leverage change that the very next state-changing request (anyone's) replaces: the same
  user's leverage change in the same contract and margin mode.

Two drops are left unjudged, because whether their effect survives depends on what ran in
between; such a drop asserts only that the record still replays:

- a leverage change whose scope the same user touches again later, not at once (an order, a
  close, another change there): an order in that scope may carry the same leverage, or be
  refused without it;
- a price move that fired nothing and whose market is moved again later, not at once: the
  later move sets the same absolute mark, so the drop shows only if a request in between
  read the mark (a market order there, a limit that crossed, a transfer against cross
  margin), and a sell limit resting above either mark reads nothing (drawn in CI: seed 49,
  DOT moved 1.1 twice around a resting sell). Dropping any other command
changes the digest, or makes a later request fail on replay (a transfer back of the same
amount then lacks the money, and the state ends where the drop alone would leave it: drawn
in a helper's run, seed 99); dropping the creation of a user who later signs a request cannot
even be replayed (its key is not in the record).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from copytrade.scenario.replay import ID_KEYS, ReplayError, read_record, replay, state_digest
from copytrade.testing.server import InProcessServer

T0 = 1_800_000_000_000
P = "/copytrading/trader/"
V6 = "/api/v6/copyTrading/trader/"
MOVED = ("BTC-USDT", "DOT-USDT")  # moved by hand; ETH-USDT follows a GBM path
CODES = (*MOVED, "ETH-USDT")
FIRED = (
    "orders_filled",
    "tpsl_triggered",
    "liquidated",
    "copy_exits",
    "follows_stopped",
    "algo_triggered",
)

trader = st.integers(0, 1)
code = st.sampled_from(CODES)
mode = st.sampled_from(["cross", "isolated"])
step = st.one_of(
    st.tuples(
        st.just("open"),
        trader,
        code,
        mode,
        st.sampled_from([1, 2]),
        st.integers(1, 30),
        st.sampled_from([5, 20, 50]),
        st.sampled_from([None, "tp", "sl"]),
    ),
    st.tuples(st.just("limit"), trader, code, mode, st.sampled_from([1, 2]), st.integers(1, 8)),
    st.tuples(st.just("close_all"), trader, code, mode, st.sampled_from(["long", "short"])),
    st.tuples(st.just("close_one"), trader, code),
    st.tuples(st.just("tpsl"), trader, code, st.integers(1, 9)),
    st.tuples(st.just("transfer"), trader, st.sampled_from([2, 4]), st.integers(1, 500)),
    # over v6 (its success code is "0"): money between the futures and copy-trading accounts,
    # and the removal of one of trader 0's two bulk followers
    st.tuples(
        st.just("v6_transfer"), trader, st.sampled_from([(2, 4), (4, 2)]), st.integers(1, 500)
    ),
    st.tuples(st.just("v6_remove"), st.integers(0, 1)),
    st.tuples(st.just("lever"), trader, code, mode, st.sampled_from([3, 10, 25])),
    # a factor of 1: a move to the mark the market has (a no-op the property names)
    st.tuples(st.just("price"), st.sampled_from(MOVED), st.sampled_from([1, 0.9, 0.97, 1.03, 1.1])),
    st.tuples(st.just("clock"), st.integers(1, 120_000)),
    st.tuples(st.just("read"), trader, code),
)


@dataclass
class Session:
    """A recorded session: its record, the users it made and its live digest."""

    record: Path
    uids: list[int]
    digest: str
    no_ops: set[int]
    """Requests (by index) of price moves and leverage changes to the value already there."""


def _mark(server: InProcessServer, contract: str) -> Decimal:
    with server.services.ctx.reads() as reads:  # not over HTTP: not a recorded request
        return Decimal(reads.marks()[contract])


def _lever(server: InProcessServer, uid: int, contract: str, margin: str) -> int | None:
    with server.services.ctx.reads() as reads:
        account = reads.account(uid)
        assert account is not None
        return next(
            (v for (c, m), v in account.levers.items() if c == contract and str(m) == margin),
            None,
        )


def _run(folder: Path, steps: list[tuple[Any, ...]], seed: int) -> Session:
    record = folder / "session.jsonl"
    no_ops: list[tuple[str, bool]] = []  # per price move and leverage change, in order
    removed: set[int] = set()
    with InProcessServer("memory://", demo_seed=False, record_file=str(record)) as s:
        s.admin("/_sim/clock", {"now_ms": T0})
        traders = [s.create_user("trader", balance="50000") for _ in range(2)]
        uids = [t["uid"] for t in traders]
        uids += s.admin(
            "/_sim/followers/bulk",
            {"trader_uid": uids[0], "count": 2, "balance": "3000", "ratio": "0.5"},
        )["uids"]
        follower = s.create_user("follower", balance="4000")
        uids.append(follower["uid"])
        s.follow(follower["uid"], uids[1], ratio="2", sl_ratio="0.5")
        s.admin(
            "/_sim/markets/ETH-USDT/path",
            {"kind": "gbm", "seed": seed, "volatility": "3", "tick_ms": 10_000},
        )
        for kind, *args in steps:
            if kind == "open":
                who, contract, margin, direction, amount, lever, guard = args
                order: dict[str, Any] = {
                    "contract_code": contract,
                    "amount": str(amount),
                    "margin_mode": margin,
                    "order_direction": direction,
                    "lever": lever,
                    "order_price_type": 17,
                }
                if guard is not None:
                    up = (guard == "tp") == (direction == 1)
                    order[f"{guard}_trigger_price"] = str(
                        _mark(s, contract) * Decimal("1.04" if up else "0.96")
                    )
                s.signed(traders[who], "POST", P + "place_order", body=order)
            elif kind == "limit":
                who, contract, margin, direction, away = args
                below = Decimal(100 - away if direction == 1 else 100 + away) / 100
                order = {
                    "contract_code": contract,
                    "amount": "2",
                    "margin_mode": margin,
                    "order_direction": direction,
                    "lever": 10,
                    "order_price_type": 1,
                    "price": str((_mark(s, contract) * below).quantize(Decimal("0.01"))),
                }
                s.signed(traders[who], "POST", P + "place_order", body=order)
            elif kind == "close_all":
                who, contract, margin, side = args
                body = {"contract_code": contract, "margin_mode": margin, "position_side": side}
                s.signed(traders[who], "POST", P + "close_all_position", body=body)
            elif kind in ("close_one", "tpsl"):
                who, contract = args[:2]
                listed = s.signed(
                    traders[who], "GET", P + "current_positions", params={"contract_code": contract}
                ).json()["data"]["positions"]
                if not listed:
                    continue
                first = listed[0]
                if kind == "close_one":
                    body = {"sub_position_id": first["sub_position_id"]}
                    s.signed(traders[who], "POST", P + "close_order", body=body)
                else:
                    mark = _mark(s, contract)
                    away = Decimal(args[2]) / 100
                    up, down = mark * (1 + away), mark * (1 - away)
                    long = first["position_side"] == "long"
                    body = {
                        "sub_position_id": first["sub_position_id"],
                        "tp_trigger_price": str((up if long else down).quantize(Decimal("0.01"))),
                        "sl_trigger_price": str((down if long else up).quantize(Decimal("0.01"))),
                    }
                    s.signed(traders[who], "POST", P + "tpsl_order", body=body)
            elif kind == "transfer":
                who, direction, amount = args
                body = {"amount": str(amount), "type": direction, "currency": "USDT"}
                s.signed(traders[who], "POST", P + "account_transfer", body=body)
            elif kind == "v6_transfer":
                who, (source, target), amount = args
                body = {
                    "instType": "PERP",
                    "amt": str(amount),
                    "from": str(source),
                    "to": str(target),
                    "ccy": "USDT",
                }
                s.signed(traders[who], "POST", V6 + "transfer", body=body)
            elif kind == "v6_remove":
                follower = uids[2 + args[0]]
                if follower in removed:
                    continue  # a second removal answers per item and changes nothing
                removed.add(follower)
                body = {"instType": "PERP", "followerUids": [str(follower)]}
                s.signed(traders[0], "POST", V6 + "follower", body=body)
            elif kind == "lever":
                who, contract, margin, lever = args
                body = {"contract_code": contract, "margin_mode": margin, "lever": lever}
                before = _lever(s, uids[who], contract, margin)
                reply = s.signed(traders[who], "POST", P + "updated_contract_lever", body=body)
                if reply.json()["code"] == 200:  # refused (resting orders): not recorded
                    no_ops.append(("lever", before == lever))
            elif kind == "price":
                contract, factor = args
                mark = _mark(s, contract)
                price = (mark * Decimal(str(factor))).quantize(Decimal("0.1"))
                no_ops.append(("price", price == mark))
                s.set_price(contract, price)
            elif kind == "clock":
                s.admin("/_sim/clock", {"advance_ms": args[0]})
            else:
                who, contract = args
                s.signed(
                    traders[who], "GET", P + "current_positions", params={"contract_code": contract}
                )
        digest = state_digest(s, uids)
    _, requests = read_record(record)
    settings = [
        i
        for i, r in enumerate(requests)
        if r["path"].endswith(("/price", "/updated_contract_lever"))
    ]
    assert len(settings) == len(no_ops)  # every one was accepted and recorded
    return Session(
        record, uids, digest, {i for i, (_, same) in zip(settings, no_ops, strict=True) if same}
    )


def _ids(value: Any, found: set[str]) -> set[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ID_KEYS and item is not None and not isinstance(item, dict):
                found.add(str(item))
            else:
                _ids(item, found)
    elif isinstance(value, list):
        for item in value:
            _ids(item, found)
    return found


def _named(request: dict[str, Any]) -> set[str]:
    named = {v for k, v in request["query"] if k in ID_KEYS}
    return _ids(json.loads(request["body"]) if request["body"] else None, named)


def _scope(request: dict[str, Any]) -> tuple[Any, Any] | None:
    body = json.loads(request["body"]) if request["body"] else None
    if not isinstance(body, dict):
        return None
    return body.get("contract_code"), body.get("margin_mode")


def _changes(requests: list[dict[str, Any]], i: int, no_op: set[int]) -> bool | None:
    """Return whether dropping request ``i`` must change the replayed state (see the module).

    ``None``: the drop is not judged (a leverage change its user's later request in the same
    scope may or may not undo, a quiet price move a later move of its market may or may not
    make irrelevant).
    """
    r = requests[i]
    if r["method"] == "GET":
        shown = _ids(r["reply"], set())
        for j in range(i + 1, len(requests)):
            earlier = set().union(*(_ids(requests[k]["reply"], set()) for k in range(j) if k != i))
            if (_named(requests[j]) & shown) - earlier:
                return True
        return False
    changing = [j for j in range(i + 1, len(requests)) if requests[j]["method"] != "GET"]
    if r["path"] == "/_sim/clock":
        return i == len(requests) - 1
    if i in no_op:
        return False
    if r["path"].endswith("/price"):
        if any(r["reply"].get(k) for k in FIRED):
            return True
        again = [j for j in changing if requests[j]["path"] == r["path"]]
        if not again:
            return True  # its mark stands to the end
        if again[0] == changing[0]:
            return False  # moved again before anything else ran
        return None
    if r["path"].endswith("/updated_contract_lever"):
        scope = _scope(r)
        again = [
            j for j in changing if requests[j]["key"] == r["key"] and _scope(requests[j]) == scope
        ]
        if not again:
            return True  # its setting stands to the end
        if again[0] == changing[0] and requests[again[0]]["path"] == r["path"]:
            return False  # replaced before anything else ran
        return None
    return True


@settings(
    max_examples=30,
    # no shrinking: a shrink replays hundreds of sessions, past the test timeout; the failing
    # example is printed as drawn
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(steps=st.lists(step, min_size=4, max_size=14), seed=st.integers(0, 99), data=st.data())
def test_a_record_replays_to_one_digest_and_dropping_a_state_changing_command_shows(
    steps: list[tuple[Any, ...]], seed: int, data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory(prefix="copytrade-replay-property-") as tmp:
        folder = Path(tmp)
        session = _run(folder, steps, seed)
        first = replay(session.record, store="memory", in_process=True)
        assert first.differing == []
        assert first.digest == session.digest
        assert replay(session.record, store="memory", in_process=True).digest == first.digest

        lines = session.record.read_text().splitlines()
        _, requests = read_record(session.record)
        i = data.draw(st.integers(0, len(requests) - 1), label="dropped request")
        dropped = folder / "dropped.jsonl"
        dropped.write_text("\n".join(lines[: i + 1] + lines[i + 2 :]) + "\n")
        must_change = _changes(requests, i, session.no_ops)
        try:
            without = replay(dropped, store="memory", in_process=True)
        except ReplayError:
            # only a user's creation: the record then names a key it never made
            assert requests[i]["path"] == "/_sim/users"
            assert requests[i]["method"] == "POST"
            return
        if must_change is None:
            return
        if must_change:
            # it shows in the state, or as a later request the replay could not repeat (a
            # transfer back that now lacks the money leaves the state the drop would have)
            shown = without.digest != session.digest or without.differing
            assert shown, f"dropping {requests[i]} changed nothing"
        else:
            assert without.digest == session.digest, f"dropping {requests[i]} changed the state"
            assert without.differing == []
