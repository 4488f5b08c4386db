"""A randomised session recorded over HTTP replays to the same state; a dropped command shows."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from copytrade.api.recorder import RecordFileError
from copytrade.cli.main import main
from copytrade.scenario.replay import read_record, replay, state_digest
from copytrade.testing.server import LiveServer, free_port

PLACE = "/copytrading/trader/place_order"
CLOSE_ALL = "/copytrading/trader/close_all_position"
T0 = 1_800_000_000_000
CODES = ("BTC-USDT", "ETH-USDT", "DOT-USDT")


def _session(server: LiveServer, seed: int) -> list[int]:
    """Users, follows, then random orders, closes, price moves and clock jumps."""
    rng = random.Random(seed)
    server.admin("/_sim/clock", {"now_ms": T0})
    traders = [server.create_user("trader", balance="100000") for _ in range(2)]
    uids = [t["uid"] for t in traders]
    for t in traders:
        followers = server.admin(
            "/_sim/followers/bulk",
            {"trader_uid": t["uid"], "count": 3, "balance": "2000", "ratio": "0.5"},
        )["uids"]
        uids += followers
    server.admin(
        "/_sim/markets/ETH-USDT/path",
        {"kind": "gbm", "seed": seed, "volatility": "2", "tick_ms": 5000},
    )
    marks = {"BTC-USDT": 60500, "ETH-USDT": 3000, "DOT-USDT": 10}
    for _ in range(30):
        roll = rng.random()
        trader = rng.choice(traders)
        code = rng.choice(CODES)
        if roll < 0.5:
            order: dict[str, Any] = {
                "contract_code": code,
                "amount": str(rng.randint(1, 20)),
                "margin_mode": rng.choice(["isolated", "cross"]),
                "order_direction": rng.choice([1, 2]),
                "lever": rng.choice([5, 20, 50]),
                "order_price_type": 17,
            }
            if rng.random() < 0.3:
                order["sl_trigger_price"] = str(
                    marks[code] * (0.97 if order["order_direction"] == 1 else 1.03)
                )
            server.signed(trader, "POST", PLACE, body=order)
        elif roll < 0.65:
            body = {
                "contract_code": code,
                "margin_mode": rng.choice(["isolated", "cross"]),
                "position_side": rng.choice(["long", "short"]),
            }
            server.signed(trader, "POST", CLOSE_ALL, body=body)
        elif roll < 0.85:
            server.set_price(code, str(round(marks[code] * rng.uniform(0.95, 1.05), 1)))
        else:
            server.admin("/_sim/clock", {"advance_ms": rng.randint(1, 60_000)})
        if rng.random() < 0.2:
            server.signed(
                trader, "GET", "/copytrading/trader/positions", params={"contract_code": code}
            )
    return uids


def test_a_recorded_session_replays_to_the_same_digest_and_a_dropped_command_differs(
    tmp_path: Path,
) -> None:
    record = tmp_path / "session.jsonl"
    with LiveServer(db_path=tmp_path / "live.db", demo_seed=False, record_file=str(record)) as s:
        uids = _session(s, seed=11)
        original = state_digest(s, uids)
    head, requests = read_record(record)
    assert head["settings"]["demo_seed"] is False
    assert any(r["path"] == PLACE for r in requests)
    assert all("Signature" not in dict(r["query"]) for r in requests)

    first = replay(record)
    assert first.differing == []
    assert sorted(first.uids) == sorted(uids)
    assert first.digest == original
    assert replay(record).digest == original  # and again: the same record, the same state
    assert replay(record, store="memory").digest == original  # and on the in-memory store

    placed = [i for i, line in enumerate(record.read_text().splitlines()) if PLACE in line]
    lines = record.read_text().splitlines()
    dropped = tmp_path / "dropped.jsonl"
    dropped.write_text("\n".join(lines[: placed[0]] + lines[placed[0] + 1 :]) + "\n")
    assert replay(dropped).digest != original


def test_the_replay_command_prints_the_digest(tmp_path: Path) -> None:
    record = tmp_path / "r.jsonl"
    with LiveServer(db_path=tmp_path / "live.db", demo_seed=False, record_file=str(record)) as s:
        uids = _session(s, seed=5)
        original = state_digest(s, uids)
    out = CliRunner().invoke(main, ["replay", "--json", str(record)])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["digest"] == original
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"not": "a record"}\n')
    refused = CliRunner().invoke(main, ["replay", str(bad)])
    assert refused.exit_code == 1
    assert "not a copytrade record" in refused.output


@pytest.mark.parametrize("configured", ["admin", "settings"])
def test_a_session_with_funding_and_market_impact_replays_byte_identically_on_both_stores(
    tmp_path: Path, configured: str
) -> None:
    """Funding settled over clock jumps and copies walking the book replay to the same state.

    The settings come through the admin API (recorded with the rest, so the replay turns them
    on at the same point) or the server's settings (in the record's header); SQLite and the
    in-memory store give the same digest.
    """
    record = tmp_path / "session.jsonl"
    settings: dict[str, Any] = {}
    if configured == "settings":
        settings = {
            "funding_mode": "rate",
            "funding_rate": "0.0005",
            "funding_interval_hours": 4,
            "impact_half_life_ms": 30_000,
            "copy_order": "shuffle",
            "copy_order_seed": 5,
            "max_copy_slippage": "0.0003",
        }
    with LiveServer(
        db_path=tmp_path / "live.db", demo_seed=False, record_file=str(record), **settings
    ) as s:
        s.admin("/_sim/clock", {"now_ms": T0})
        if configured == "admin":
            s.admin(
                "/_sim/funding", {"mode": "rate", "default_rate": "0.0005", "interval_hours": 4}
            )
            s.admin(
                "/_sim/impact",
                {
                    "half_life_ms": 30_000,
                    "copy_order": "shuffle",
                    "seed": 5,
                    "max_slippage": "0.0003",
                },
            )
        uids = _session(s, seed=5)
        trader = s.create_user("trader", balance="100000")
        uids.append(trader["uid"])
        uids += s.admin(
            "/_sim/followers/bulk",
            {"trader_uid": trader["uid"], "count": 8, "balance": "3000", "ratio": "0.5"},
        )["uids"]
        for direction in (1, 2):
            order = {
                "contract_code": "DOT-USDT",
                "amount": "1500",
                "margin_mode": "cross",
                "order_direction": direction,
                "lever": 5,
                "order_price_type": 17,
            }
            assert s.signed(trader, "POST", PLACE, body=order).json()["code"] == 200
        s.admin("/_sim/markets/ETH-USDT/path", {"kind": "fixed"})  # no 9,000 ticks on the way
        s.admin("/_sim/clock", {"advance_ms": 13 * 3_600_000})  # over three settlements
        original = state_digest(s, uids)
        funded = [f for f in s.user(trader["uid"])["fills"] if f["offset"] == "funding"]
        skipped = [k for u in uids for k in s.user(u)["skipped_copies"]]
    assert len({f["ts"] for f in funded}) == 3
    assert any(k["reason"] == "slippage" for k in skipped)
    assert replay(record).digest == original
    assert replay(record, store="memory").digest == original


def test_copies_after_a_latency_meet_the_mark_a_path_moved_and_replay_identically(
    tmp_path: Path,
) -> None:
    """With a copy latency the copies fill around the mark the path reaches by their time.

    The path is peeked, not moved, so a replay (SQLite and in memory) meets the same marks.
    """
    record = tmp_path / "latency.jsonl"
    with LiveServer(db_path=tmp_path / "live.db", demo_seed=False, record_file=str(record)) as s:
        s.admin("/_sim/clock", {"now_ms": T0})
        s.admin("/_sim/impact", {"half_life_ms": 30_000, "copy_latency_ms": 2_000})
        s.admin(
            "/_sim/markets/ETH-USDT/path",
            {"kind": "gbm", "seed": 11, "volatility": "5", "tick_ms": 100},
        )
        trader = s.create_user("trader", balance="1000000")
        uids = [trader["uid"]]
        uids += s.admin(
            "/_sim/followers/bulk",
            {"trader_uid": trader["uid"], "count": 3, "balance": "100000", "ratio": "1"},
        )["uids"]
        for step in range(4):
            order = {
                "contract_code": "ETH-USDT",
                "amount": "10",
                "margin_mode": "cross",
                "order_direction": 1 + step % 2,
                "lever": 5,
                "order_price_type": 17,
            }
            assert s.signed(trader, "POST", PLACE, body=order).json()["code"] == 200
            s.admin("/_sim/clock", {"advance_ms": 700})
        original = state_digest(s, uids)
        lead_prices = [Decimal(f["price"]) for f in s.user(trader["uid"])["fills"]]
        copy_prices = [Decimal(f["price"]) for f in s.user(uids[1])["fills"]]
    assert len(lead_prices) == len(copy_prices) == 4
    # every copy is ~20 ticks of a 5-volatility path away from its lead: never the same price
    assert all(a != b for a, b in zip(lead_prices, copy_prices, strict=True))
    assert replay(record).digest == original
    assert replay(record, store="memory").digest == original


def test_a_session_of_the_demo_trader_replays_with_the_demo_key_and_its_users(
    tmp_path: Path,
) -> None:
    """The README's quick start records too: the demo key signs, the demo users are covered.

    The recording server seeds the demo at the header's start time and the replay seeds it
    there again, so the replay's digest is the live server's, on both stores.
    """
    record = tmp_path / "demo.jsonl"
    demo = {"access_key": "demo-access-key", "secret_key": "demo-secret-key"}
    with LiveServer(db_path=tmp_path / "live.db", demo_seed=True, record_file=str(record)) as s:
        s.admin("/_sim/clock", {"now_ms": T0})
        order = {
            "contract_code": "ETH-USDT",
            "amount": "4",
            "margin_mode": "cross",
            "order_direction": 1,
            "lever": 10,
            "order_price_type": 17,
        }
        assert s.signed(demo, "POST", PLACE, body=order).json()["code"] == 200
        s.set_price("ETH-USDT", "3100")
        s.admin("/_sim/clock", {"advance_ms": 60_000})
        body = {"contract_code": "ETH-USDT", "margin_mode": "cross", "position_side": "long"}
        assert s.signed(demo, "POST", CLOSE_ALL, body=body).json()["code"] == 200
        from copytrade.scenario.replay import demo_uids

        uids = demo_uids(s)
        original = state_digest(s, uids)
        shares = s.user(uids[0])["profit_shares_received"]
    head, _ = read_record(record)
    assert head["settings"]["demo_seed"] is True
    assert len(uids) == 4  # the demo trader and its three followers
    assert len(shares) == 3  # every follower's copy closed in profit and paid its share

    on_sqlite = replay(record)
    assert on_sqlite.differing == []
    assert sorted(on_sqlite.uids) == sorted(uids)
    assert on_sqlite.digest == original
    assert replay(record, store="memory").digest == original


EXE = str(Path(sys.executable).with_name("copytrade"))


def _serve(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPYTRADE_")}
    return subprocess.run(
        [EXE, "serve", "--port", str(free_port()), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_refuses_a_record_file_that_holds_a_record_in_one_line(tmp_path: Path) -> None:
    """Two sessions numbered from 1 each would interleave on replay: the start-up refuses."""
    record = tmp_path / "r.jsonl"
    with LiveServer(db_path=tmp_path / "live.db", demo_seed=False, record_file=str(record)) as s:
        s.admin("/_sim/clock", {"now_ms": T0})
    before = record.read_text()

    refused = _serve("--db", "sqlite:///live.db", "--record", "r.jsonl", cwd=tmp_path)
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert "holds a record already" in lines[0]
    assert "--record-append" in lines[0]
    assert record.read_text() == before  # untouched

    memory = _serve("--db", "memory://", "--record", "r.jsonl", "--record-append", cwd=tmp_path)
    assert memory.returncode == 2
    assert "memory://" in memory.stderr.strip().splitlines()[-1]
    # the record was made without the demo users, this server would seed them: one header
    demo = _serve(
        "--db", "sqlite:///live.db", "--record", "r.jsonl", "--record-append", cwd=tmp_path
    )
    assert demo.returncode == 2
    assert "other settings" in demo.stderr
    (tmp_path / "other.jsonl").write_text('{"not": "a record"}\n')
    other = _serve(
        "--db", "sqlite:///live.db", "--record", "other.jsonl", "--record-append", cwd=tmp_path
    )
    assert other.returncode == 2
    assert "not a copytrade record" in other.stderr
    alone = _serve("--record-append", cwd=tmp_path)
    assert alone.returncode == 2
    assert "--record-append needs --record FILE" in alone.stderr
    assert record.read_text() == before


def test_a_record_continued_on_the_same_store_replays_both_sessions(tmp_path: Path) -> None:
    """``--record-append``: the second session is numbered on and replays after the first."""
    record = tmp_path / "r.jsonl"
    db = tmp_path / "live.db"
    with LiveServer(db_path=db, demo_seed=False, record_file=str(record)) as s:
        s.admin("/_sim/clock", {"now_ms": T0})
        trader = s.create_user("trader", balance="100000")
        uids = [trader["uid"]]
        uids += s.admin(
            "/_sim/followers/bulk",
            {"trader_uid": trader["uid"], "count": 2, "balance": "3000", "ratio": "0.5"},
        )["uids"]
        order = {
            "contract_code": "ETH-USDT",
            "amount": "4",
            "margin_mode": "cross",
            "order_direction": 1,
            "lever": 10,
            "order_price_type": 17,
        }
        assert s.signed(trader, "POST", PLACE, body=order).json()["code"] == 200
    first_session = len(read_record(record)[1])
    with pytest.raises(RecordFileError):  # as the CLI refuses it: no silent renumbering
        LiveServer(db_path=db, demo_seed=False, record_file=str(record)).start()
    with LiveServer(db_path=db, demo_seed=False, record_file=str(record), record_append=True) as s:
        s.admin("/_sim/clock", {"now_ms": T0 + 3_600_000})
        s.set_price("ETH-USDT", "3150")
        body = {"contract_code": "ETH-USDT", "margin_mode": "cross", "position_side": "long"}
        assert s.signed(trader, "POST", CLOSE_ALL, body=body).json()["code"] == 200
        original = state_digest(s, uids)
    lines = [json.loads(x) for x in record.read_text().splitlines()]
    assert sum("copytrade_record" in line for line in lines) == 1  # one header
    seqs = [line["seq"] for line in lines[1:]]
    assert seqs == list(range(1, len(seqs) + 1))  # numbered on: 1 … n, no restart
    assert len(seqs) > first_session
    assert replay(record).digest == original
    assert replay(record, store="memory").digest == original


def test_a_replay_sends_faster_than_the_record_was_made_and_meets_no_rate_limit(
    tmp_path: Path,
) -> None:
    """Eleven v6 reads spread under the 5-a-second limit replay back to back, all accepted.

    The limit's window follows the wall clock (spec §5.4): a replay that kept the recorded
    server's limits would answer 1032 to the sixth request of a second. The recording sends
    at most five a second, so at least three windows; the replay sends all eleven at once.
    """
    import time

    stats = "/api/v6/copyTrading/trader/statistics"
    record = tmp_path / "reads.jsonl"
    with LiveServer(db_path=tmp_path / "live.db", demo_seed=False, record_file=str(record)) as s:
        # the simulation clock frozen (the rate limit's windows follow the wall clock): the
        # digest covers the clock, which a running one moves past the last request's time
        s.admin("/_sim/clock", {"now_ms": T0})
        trader = s.create_user("trader", balance="1000")
        sent = 0
        while sent < 11:
            # each batch starts a fresh window: five in it, or split over it and the next
            time.sleep(1 - time.time() % 1 + 0.005)
            for _ in range(min(5, 11 - sent)):
                reply = s.signed(trader, "GET", stats, params={"instType": "PERP"})
                assert reply.json()["code"] == "0", reply.text[:200]
                sent += 1
        # the limit holds on this server: six at once meet it
        codes = [
            s.signed(trader, "GET", stats, params={"instType": "PERP"}).json()["code"]
            for _ in range(6)
        ]
        assert "1032" in codes
        uids = [trader["uid"]]
        original = state_digest(s, uids)
    _, requests = read_record(record)
    accepted = [r for r in requests if r["path"] == stats]
    assert len(accepted) >= 11  # refused requests are not recorded: at most 5 of the 6 were

    replayed = replay(record, in_process=True)
    assert replayed.differing == []  # no 1032
    assert replayed.requests == len(requests)
    assert replayed.digest == original


V6 = "/api/v6/copyTrading/trader/"


def _ok(reply: Any) -> Any:
    body = reply.json()
    assert body["code"] in (200, "0"), body
    return body["data"]


def test_a_lead_s_v5_and_v6_session_is_recorded_and_replays_with_its_minted_key(
    tmp_path: Path,
) -> None:
    """v6 answers success with the code "0": its writes are recorded and replayed too.

    The lead turns lead trading on, moves money out of the copy-trading account, mints a
    v6 key (§8.11), trades over v5 with that key (the copies follow), then removes a
    follower over v6. The replay signs with the key it minted in place of the recorded
    one; dropping the transfer or the removal changes the digest.
    """
    record = tmp_path / "v6.jsonl"
    with LiveServer(db_path=tmp_path / "live.db", demo_seed=False, record_file=str(record)) as s:
        s.admin("/_sim/clock", {"now_ms": T0})
        trader = s.create_user("trader", balance="20000")
        followers = s.admin(
            "/_sim/followers/bulk",
            {"trader_uid": trader["uid"], "count": 2, "balance": "3000", "ratio": "1"},
        )["uids"]
        settings = {"instType": "PERP", "enable": True, "profitSharingRatio": "0.1"}
        _ok(s.signed(trader, "POST", V6 + "follower-settings", body=settings))
        move = {"instType": "PERP", "amt": "5000", "from": "4", "to": "2", "ccy": "USDT"}
        _ok(s.signed(trader, "POST", V6 + "transfer", body=move))
        (minted,) = _ok(s.signed(trader, "POST", V6 + "apikey", body={"instType": "PERP"}))
        key = {"access_key": minted["accessKey"], "secret_key": minted["secretKey"]}
        order = {
            "contract_code": "ETH-USDT",
            "margin_mode": "cross",
            "side": "buy",
            "volume": "3",
            "type": "market",
            "lever_rate": 10,
        }
        _ok(s.signed(key, "POST", "/v5/trade/order", body=order))
        s.set_price("ETH-USDT", "3100")
        removal = {"instType": "PERP", "followerUids": [str(followers[0])]}
        (removed,) = _ok(s.signed(trader, "POST", V6 + "follower", body=removal))
        assert removed["sCode"] == "0", removed
        uids = [trader["uid"], *followers]
        original = state_digest(s, uids)
    _, requests = read_record(record)
    paths = [r["path"] for r in requests]
    for v6 in ("follower-settings", "transfer", "apikey", "follower"):
        assert V6 + v6 in paths, f"{v6} was not recorded"
    assert any(r["key"] == minted["accessKey"] for r in requests)

    replayed = replay(record)
    assert replayed.differing == []
    assert replayed.digest == original
    lines = record.read_text().splitlines()  # the header, then request i on line i + 1
    for v6 in ("transfer", "follower"):
        i = paths.index(V6 + v6)
        dropped = tmp_path / f"without-{v6}.jsonl"
        dropped.write_text("\n".join(lines[: i + 1] + lines[i + 2 :]) + "\n")
        assert replay(dropped).digest != original, f"dropping the {v6} changed nothing"


def test_the_other_v5_writes_replay_and_a_cancel_after_fires_at_its_deadline_again(
    tmp_path: Path,
) -> None:
    """Spec §7's writes are recorded and replayed (batch ids mapped item by item, a list of
    ids to cancel rewritten); the cancel-after deadline fires inside the replayed clock move
    as it did live. Dropping the cancel-after request changes the digest."""
    record = tmp_path / "v5-others.jsonl"
    with LiveServer(db_path=tmp_path / "live.db", demo_seed=False, record_file=str(record)) as s:
        s.admin("/_sim/clock", {"now_ms": T0})
        trader = s.create_user("trader", balance="20000")
        followers = s.admin(
            "/_sim/followers/bulk",
            {"trader_uid": trader["uid"], "count": 2, "balance": "3000", "ratio": "1"},
        )["uids"]
        body = {"contract_code": "ETH-USDT", "margin_mode": "isolated", "side": "buy"}
        items = [
            {**body, "type": "market", "volume": "2"},
            {**body, "type": "limit", "volume": "1", "price": "1000"},
            {**body, "type": "limit", "volume": "1", "price": "1100"},
            {**body, "type": "limit", "volume": "1", "price": "1200"},
        ]
        placed = _ok(s.signed(trader, "POST", "/v5/trade/batch_orders", body=items))
        cancel = {"contract_code": "ETH-USDT", "order_id": [placed[1]["order_id"]]}
        _ok(s.signed(trader, "POST", "/v5/trade/cancel_batch_orders", body=cancel))
        margin = {"contract_code": "ETH-USDT", "position_side": "long", "type": "add"}
        _ok(s.signed(trader, "POST", "/v5/position/margin", body={**margin, "amount": "7"}))
        armed = {"on_off": 1, "time_out": 5000}
        _ok(s.signed(trader, "POST", "/v5/trade/cancel-after", body=armed))
        s.admin("/_sim/clock", {"advance_ms": 6000})  # fires: the two limits left go
        s.set_price("ETH-USDT", "3100")
        _ok(s.signed(trader, "POST", "/v5/trade/position_all", body={}))
        uids = [trader["uid"], *followers]
        original = state_digest(s, uids)
        assert s.user(trader["uid"])["open_orders"] == []
    paths = [r["path"] for r in read_record(record)[1]]
    replayed = replay(record)
    assert replayed.differing == []
    assert replayed.digest == original
    lines = record.read_text().splitlines()  # the header, then request i on line i + 1
    i = paths.index("/v5/trade/cancel-after")
    dropped = tmp_path / "without-cancel-after.jsonl"
    dropped.write_text("\n".join(lines[: i + 1] + lines[i + 2 :]) + "\n")
    assert replay(dropped).digest != original
