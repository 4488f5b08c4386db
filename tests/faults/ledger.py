"""What the load was told (the journal) and the consistency check that reads the database.

The check opens the database itself (``sqlite3`` or ``psycopg``, plain SQL, no copytrade code in
between) and verifies, for the whole history so far:

* every acknowledged command is there: each acknowledged ``place_order`` (found by its unique
  take-profit tag) has exactly one filled order and its sub position; each position an
  acknowledged ``close_order``/``close_all_position`` covered is closed; the mark is the last
  acknowledged one (or one still in flight at the kill); nothing the clients never sent exists;
* lead and copies move together: every copy's lead exists, and they are open or closed together;
  every follower has, per lead position, one copy (``floor(ratio × volume)`` contracts) or a
  recorded skip;
* fills: the open fills add up to the position's volume and open fee; a closed position has
  exactly one close fill (price, volume and fee those of the position), an open one none;
* profit: ``profit = gross PnL − open fee − close fee`` (isolated losses stop at the margin);
  a profitable copy pays exactly one profit share of ``profit × ratio``, summed in the lead's
  ``follow_takes``;
* money per account: ``balance = initial + Σ realised profit − fees and margin of open positions
  − profit shares paid + profit shares received``, to the last decimal.

Differences below :data:`DRIFT` (1e-15 USDT) are counted apart as rounding drift: the domain
computes with 28 significant digits, so a balance of 10^7 keeps 21 decimals and sums of many
such terms may move the last digit. Anything larger is an inconsistency.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal, localcontext
from typing import Any

from copytrade.domain.instruments import DEFAULT_CONTRACTS

CONTRACT_SIZE = {c.contract_code: c.contract_size for c in DEFAULT_CONTRACTS}
DRIFT = Decimal("1e-15")
ZERO = Decimal(0)
Tag = tuple[str, str, Decimal]
"""A lead order's identity: (contract, margin mode, its unique take-profit price)."""


@dataclass
class Journal:
    """Everything the clients were told, across every round of one store."""

    trader_uid: int = 0
    initial: dict[int, Decimal] = field(default_factory=dict)
    followers: dict[int, Decimal] = field(default_factory=dict)  # uid -> ratio
    acked_tags: set[Tag] = field(default_factory=set)
    ambiguous_tags: set[Tag] = field(default_factory=set)
    closed_tags: set[Tag] = field(default_factory=set)  # acked close_order / close_all
    marks: dict[str, Decimal] = field(default_factory=dict)  # last acknowledged mark
    marks_in_flight: dict[str, set[Decimal]] = field(default_factory=dict)
    acknowledged: int = 0  # acknowledged commands (orders, closes, marks)
    ambiguous: int = 0  # commands in flight at the kill


@dataclass
class Findings:
    """The result of one check: lost acknowledged commands, inconsistencies, rounding drift."""

    lost: list[str] = field(default_factory=list)
    inconsistent: list[str] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)
    max_drift: Decimal = ZERO
    in_flight_applied: int = 0  # orders in flight at a kill that the database holds


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


@contextmanager
def _connect(db_url: str) -> Iterator[Any]:
    if db_url.startswith("sqlite:///"):
        conn: Any = sqlite3.connect(db_url.removeprefix("sqlite:///"), timeout=30)
    else:
        import psycopg

        conn = psycopg.connect(db_url.replace("postgresql+psycopg://", "postgresql://", 1))
    try:
        yield conn
    finally:
        conn.close()


def read_tables(db_url: str) -> dict[str, list[dict[str, Any]]]:
    """Read the tables the check needs, as lists of dicts (decimals as :class:`Decimal`)."""
    decimals = {
        "balance",
        "volume",
        "open_avg_price",
        "open_fee",
        "position_margin",
        "close_avg_price",
        "close_fee",
        "profit",
        "follow_takes",
        "tp_trigger_price",
        "price",
        "filled",
        "fee",
        "amount",
        "ratio",
        "mark_price",
        "profit_share_ratio",
        "wanted_volume",
    }
    tables = ("accounts", "users", "positions", "orders", "fills", "follows")
    tables += ("copy_skips", "profit_shares", "markets")
    out: dict[str, list[dict[str, Any]]] = {}
    with _connect(db_url) as conn:
        for table in tables:
            cur = conn.cursor()
            cur.execute(f"SELECT * FROM {table}")
            names = [d[0] for d in cur.description]
            rows = []
            for raw in cur.fetchall():
                row = dict(zip(names, raw, strict=True))
                for key in decimals & row.keys():
                    row[key] = _dec(row[key])
                if "is_open" in row:
                    row["is_open"] = bool(row["is_open"])
                if "active" in row:
                    row["active"] = bool(row["active"])
                rows.append(row)
            out[table] = rows
    return out


class _Checker:
    def __init__(self, journal: Journal, db: dict[str, list[dict[str, Any]]]) -> None:
        self.j = journal
        self.db = db
        self.f = Findings()
        self.positions = {p["sub_position_id"]: p for p in db["positions"]}
        self.fills: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for fill in db["fills"]:
            self.fills[fill["sub_position_id"]].append(fill)
        self.order_fills: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for fill in db["fills"]:
            if fill["order_id"] is not None:
                self.order_fills[fill["order_id"]].append(fill)
        self.shares: dict[tuple[int, int], list[Decimal]] = defaultdict(list)
        for share in db["profit_shares"]:
            key = (share["follower_uid"], share["lead_sub_position_id"])
            self.shares[key].append(share["amount"])

    def equal(self, got: Decimal | None, want: Decimal | None, what: str) -> None:
        if got == want:
            return
        if got is None or want is None or abs(got - want) >= DRIFT:
            self.f.inconsistent.append(f"{what}: {got} != expected {want}")
            return
        self.f.drift.append(f"{what}: {got} vs {want}")
        self.f.max_drift = max(self.f.max_drift, abs(got - want))

    def run(self) -> Findings:
        with localcontext() as ctx:
            ctx.prec = 200
            self.acknowledged()
            self.marks()
            for pos in self.positions.values():
                self.position(pos)
            self.leads_and_copies()
            self.orders()
            self.money()
        return self.f

    # -- every acknowledged command is there --------------------------------------------
    def acknowledged(self) -> None:
        lead_orders: dict[Tag, list[dict[str, Any]]] = defaultdict(list)
        for order in self.db["orders"]:
            if order["uid"] == self.j.trader_uid and order["lead_uid"] is None:
                tag = (order["contract_code"], order["margin_mode"], order["tp_trigger_price"])
                lead_orders[tag].append(order)
        for tag, orders in lead_orders.items():
            if tag not in self.j.acked_tags and tag not in self.j.ambiguous_tags:
                self.f.inconsistent.append(f"order tagged {tag} that no client sent")
            if len(orders) > 1:
                self.f.inconsistent.append(f"{len(orders)} orders for the one command {tag}")
        self.f.in_flight_applied = sum(1 for tag in self.j.ambiguous_tags if tag in lead_orders)
        by_order = {p["open_order_id"]: p for p in self.positions.values()}
        for tag in sorted(self.j.acked_tags):
            orders = lead_orders.get(tag, [])
            if not orders:
                self.f.lost.append(f"acknowledged place_order {tag} has no order")
                continue
            order = orders[0]
            pos = by_order.get(order["order_id"])
            if order["status"] != "filled" or order["filled"] != order["volume"] or pos is None:
                self.f.lost.append(
                    f"acknowledged place_order {tag}: order {order['status']}, position {pos}"
                )
                continue
            if tag in self.j.closed_tags and pos["is_open"]:
                self.f.lost.append(f"acknowledged close of {tag}: position still open")

    def marks(self) -> None:
        marks = {m["contract_code"]: m["mark_price"] for m in self.db["markets"]}
        for code, acked in self.j.marks.items():
            allowed = {acked} | self.j.marks_in_flight.get(code, set())
            if marks.get(code) not in allowed:
                self.f.lost.append(f"mark of {code} is {marks.get(code)}, acknowledged {acked}")

    # -- fills and profit of one position -----------------------------------------------
    def position(self, pos: dict[str, Any]) -> None:
        sid = pos["sub_position_id"]
        fills = self.fills.get(sid, [])
        opens = [f for f in fills if f["offset"] == "open"]
        closes = [f for f in fills if f["offset"] == "close"]
        self.equal(sum((f["volume"] for f in opens), ZERO), pos["volume"], f"open volume of {sid}")
        self.equal(sum((f["fee"] for f in opens), ZERO), pos["open_fee"], f"open fee of {sid}")
        if pos["is_open"]:
            if closes or pos["close_avg_price"] is not None or pos["profit"] is not None:
                self.f.inconsistent.append(f"open position {sid} has {len(closes)} close fills")
            return
        if len(closes) != 1:
            self.f.inconsistent.append(f"closed position {sid} has {len(closes)} close fills")
            return
        close = closes[0]
        self.equal(close["price"], pos["close_avg_price"], f"close price of {sid}")
        self.equal(close["volume"], pos["volume"], f"close volume of {sid}")
        self.equal(close["fee"], pos["close_fee"], f"close fee of {sid}")
        move = pos["close_avg_price"] - pos["open_avg_price"]
        if pos["side"] == "short":
            move = -move
        gross = move * pos["volume"] * CONTRACT_SIZE[pos["contract_code"]]
        want = gross - pos["open_fee"] - pos["close_fee"]
        floor = -(pos["position_margin"] + pos["open_fee"])
        if pos["margin_mode"] == "isolated" and want < floor:
            want = floor  # an isolated loss stops at the position's margin (spec §7.10)
        self.equal(pos["profit"], want, f"profit of {sid}")

    # -- lead and copies together, profit shares ----------------------------------------
    def leads_and_copies(self) -> None:
        ratio_of = {u["uid"]: u["profit_share_ratio"] for u in self.db["users"]}
        copies: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
        for pos in self.positions.values():
            if pos["lead_sub_position_id"] is None:
                continue
            copies[(pos["uid"], pos["lead_sub_position_id"])].append(pos)
            lead = self.positions.get(pos["lead_sub_position_id"])
            sid = pos["sub_position_id"]
            if lead is None or lead["uid"] != pos["lead_uid"]:
                self.f.inconsistent.append(f"copy {sid} without its lead")
                continue
            if lead["is_open"] != pos["is_open"]:
                state = "open" if lead["is_open"] else "closed"
                self.f.inconsistent.append(
                    f"copy {sid} not {state} like its lead {lead['sub_position_id']}"
                )
            profit = pos["profit"]
            shares = self.shares.get((pos["uid"], lead["sub_position_id"]), [])
            ratio = ratio_of.get(lead["uid"], ZERO)
            if not pos["is_open"] and profit is not None and profit > 0 and ratio > 0:
                if len(shares) != 1:
                    self.f.inconsistent.append(f"profitable copy {sid} paid {len(shares)} shares")
                else:
                    self.equal(shares[0], profit * ratio, f"profit share of copy {sid}")
            elif shares:
                self.f.inconsistent.append(f"copy {sid} (profit {profit}) paid a profit share")
        skipped = {(s["follower_uid"], s["lead_sub_position_id"]) for s in self.db["copy_skips"]}
        for lead in self.positions.values():
            if lead["uid"] != self.j.trader_uid or lead["lead_sub_position_id"] is not None:
                continue
            lid = lead["sub_position_id"]
            takes = sum(
                (sum(v, ZERO) for (_f, l_id), v in self.shares.items() if l_id == lid), ZERO
            )
            self.equal(lead["follow_takes"], takes, f"follow_takes of lead {lid}")
            for follower, ratio in self.j.followers.items():
                made = copies.get((follower, lid), [])
                if len(made) > 1:
                    self.f.inconsistent.append(f"{len(made)} copies of {lid} for {follower}")
                elif made:
                    want = (ratio * lead["volume"]).to_integral_value(rounding=ROUND_FLOOR)
                    self.equal(made[0]["volume"], want, f"copy volume of {lid} for {follower}")
                elif (follower, lid) not in skipped:
                    self.f.inconsistent.append(
                        f"lead {lid}: follower {follower} neither copied nor skipped"
                    )

    def orders(self) -> None:
        for order in self.db["orders"]:
            fills = self.order_fills.get(order["order_id"], [])
            oid = order["order_id"]
            self.equal(sum((f["volume"] for f in fills), ZERO), order["filled"], f"filled of {oid}")
            self.equal(sum((f["fee"] for f in fills), ZERO), order["fee"], f"fee of order {oid}")

    # -- money per account ---------------------------------------------------------------
    def money(self) -> None:
        balances = {a["uid"]: a["balance"] for a in self.db["accounts"]}
        expected = dict(self.j.initial)
        for pos in self.positions.values():
            uid = pos["uid"]
            if uid not in expected:
                continue
            if not pos["is_open"]:
                expected[uid] += pos["profit"]
            elif pos["margin_mode"] == "isolated":
                expected[uid] -= pos["position_margin"] + pos["open_fee"]
            else:
                expected[uid] -= pos["open_fee"]
        for share in self.db["profit_shares"]:
            if share["follower_uid"] in expected:
                expected[share["follower_uid"]] -= share["amount"]
            if share["trader_uid"] in expected:
                expected[share["trader_uid"]] += share["amount"]
        for uid, want in expected.items():
            self.equal(balances.get(uid), want, f"balance of {uid}")


def check(journal: Journal, db_url: str) -> Findings:
    """Read the database at ``db_url`` and check it against ``journal`` (see the module doc)."""
    return _Checker(journal, read_tables(db_url)).run()
