"""The consistency check finds what it promises: a clean history passes, and each kind of damage
(a lost command, a missing or doubled close fill, a copy apart from its lead, money off by one
unit of the last decimal) is reported. Runs in the default suite: it guards the harness itself."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from faults.crash import setup_users
from faults.htx import P, call
from faults.ledger import Journal, check
from faults.procs import ServeProcess

Tamper = Callable[[sqlite3.Connection, dict[str, Any]], None]
TAGS = (Decimal(600_000), Decimal("600000.1"), Decimal("0.01"))


def _ok(reply: httpx.Response) -> None:
    assert reply.json()["code"] == 200, reply.text


@pytest.fixture(scope="module")
def history(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, Journal, dict[str, Any]]:
    """A short real history on SQLite: opens, a mark move, a close_order and a close_all."""
    workdir = tmp_path_factory.mktemp("ledger")
    db = workdir / "history.db"
    env = {"COPYTRADE_DEMO_SEED": "false"}
    server = ServeProcess(f"sqlite:///{db}", env, workdir / "serve.log").wait_ready()
    journal = Journal()
    try:
        trader = setup_users(server, journal)
        with httpx.Client(timeout=30) as http:
            for tag, (code, mode, direction) in zip(
                TAGS,
                [("BTC-USDT", "cross", 1), ("BTC-USDT", "cross", 1), ("ETH-USDT", "isolated", 2)],
                strict=True,
            ):
                body = {
                    "contract_code": code,
                    "amount": "5",
                    "margin_mode": mode,
                    "order_price_type": 17,
                    "order_direction": direction,
                    "lever": 10,
                    "tp_trigger_price": str(tag),
                }
                _ok(call(http, trader, server.host, "POST", P + "place_order", body=body))
                journal.acked_tags.add((code, mode, tag))
            price = http.post(
                f"{server.base_url}/_sim/markets/BTC-USDT/price", json={"price": "61000"}
            )
            journal.marks["BTC-USDT"] = Decimal(price.json()["mark_price"])
            query = {"contract_code": "BTC-USDT"}
            positions = call(
                http, trader, server.host, "GET", P + "current_positions", params=query
            )
            first = next(
                p["sub_position_id"]
                for p in positions.json()["data"]["positions"]
                if Decimal(p["tp_trigger_price"]) == TAGS[0]
            )
            body = {"sub_position_id": first}
            _ok(call(http, trader, server.host, "POST", P + "close_order", body=body))
            journal.closed_tags.add(("BTC-USDT", "cross", TAGS[0]))
            body = {
                "contract_code": "ETH-USDT",
                "margin_mode": "isolated",
                "position_side": "short",
            }
            _ok(call(http, trader, server.host, "POST", P + "close_all_position", body=body))
            journal.closed_tags.add(("ETH-USDT", "isolated", TAGS[2]))
    finally:
        server.stop()
    return db, journal, {"trader": trader["uid"], "first": int(first)}


def _copy(db: Path, to: Path) -> Path:
    with sqlite3.connect(db) as src, sqlite3.connect(to) as dst:
        src.backup(dst)
    return to


def test_a_clean_history_passes(history: tuple[Path, Journal, dict[str, Any]]) -> None:
    db, journal, _ = history
    found = check(journal, f"sqlite:///{db}")
    assert (found.lost, found.inconsistent) == ([], [])


def _closed_copy(conn: sqlite3.Connection, ids: dict[str, Any]) -> int:
    row = conn.execute(
        "SELECT sub_position_id FROM positions WHERE lead_sub_position_id = ? AND is_open = 0",
        (ids["first"],),
    ).fetchone()
    return int(row[0])


def _nudge_balance(conn: sqlite3.Connection, ids: dict[str, Any]) -> None:
    uid, balance = conn.execute(
        "SELECT uid, balance FROM accounts WHERE uid != ? LIMIT 1", (ids["trader"],)
    ).fetchone()
    smallest = Decimal(1).scaleb(Decimal(balance).as_tuple().exponent)  # one unit, last decimal
    conn.execute(
        "UPDATE accounts SET balance = ? WHERE uid = ?", (str(Decimal(balance) + smallest), uid)
    )


def _drop_close_fill(conn: sqlite3.Connection, ids: dict[str, Any]) -> None:
    conn.execute(
        "DELETE FROM fills WHERE sub_position_id = ? AND \"offset\" = 'close'",
        (_closed_copy(conn, ids),),
    )


def _double_close_fill(conn: sqlite3.Connection, ids: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO fills SELECT trade_id + 1000000, uid, order_id, sub_position_id,"
        ' contract_code, side, "offset", price, volume, fee, liquidity, ts FROM fills'
        " WHERE sub_position_id = ? AND \"offset\" = 'close'",
        (ids["first"],),
    )


def _reopen_copy(conn: sqlite3.Connection, ids: dict[str, Any]) -> None:
    copy = _closed_copy(conn, ids)
    conn.execute("DELETE FROM fills WHERE sub_position_id = ? AND \"offset\" = 'close'", (copy,))
    conn.execute(
        "UPDATE positions SET is_open = 1, close_time = NULL, close_avg_price = NULL,"
        " profit = NULL, close_type = NULL WHERE sub_position_id = ?",
        (copy,),
    )


def _lose_an_order(conn: sqlite3.Connection, ids: dict[str, Any]) -> None:
    conn.execute("DELETE FROM orders WHERE tp_trigger_price = ?", (format(TAGS[1], "f"),))


def _undo_a_close(conn: sqlite3.Connection, ids: dict[str, Any]) -> None:
    conn.execute(
        "DELETE FROM fills WHERE sub_position_id = ? AND \"offset\" = 'close'", (ids["first"],)
    )
    conn.execute(
        "UPDATE positions SET is_open = 1, close_time = NULL, close_avg_price = NULL,"
        " profit = NULL, close_type = NULL WHERE sub_position_id = ?",
        (ids["first"],),
    )


def _lose_the_mark(conn: sqlite3.Connection, ids: dict[str, Any]) -> None:
    conn.execute("UPDATE markets SET mark_price = '60500' WHERE contract_code = 'BTC-USDT'")


def _double_a_profit_share(conn: sqlite3.Connection, ids: dict[str, Any]) -> None:
    item, amount = conn.execute("SELECT item_id, amount FROM profit_shares LIMIT 1").fetchone()
    conn.execute(
        "UPDATE profit_shares SET amount = ? WHERE item_id = ?", (str(2 * Decimal(amount)), item)
    )


@pytest.mark.parametrize(
    ("tamper", "kind", "words"),
    [
        (_nudge_balance, "inconsistent", "balance of"),
        (_drop_close_fill, "inconsistent", "0 close fills"),
        (_double_close_fill, "inconsistent", "2 close fills"),
        (_reopen_copy, "inconsistent", "not closed like its lead"),
        (_double_a_profit_share, "inconsistent", "profit share of copy"),
        (_lose_an_order, "lost", "has no order"),
        (_undo_a_close, "lost", "position still open"),
        (_lose_the_mark, "lost", "mark of BTC-USDT"),
    ],
)
def test_each_kind_of_damage_is_found(
    history: tuple[Path, Journal, dict[str, Any]],
    tmp_path: Path,
    tamper: Tamper,
    kind: str,
    words: str,
) -> None:
    db, journal, ids = history
    damaged = _copy(db, tmp_path / "damaged.db")
    with sqlite3.connect(damaged) as conn:
        tamper(conn, ids)
    found = check(journal, f"sqlite:///{damaged}")
    # a difference below 1e-15 is reported as drift, which fails the crash tests just the same
    messages = found.lost if kind == "lost" else found.inconsistent + found.drift
    assert any(words in m for m in messages), (found.lost, found.inconsistent)
