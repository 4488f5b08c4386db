"""Crash rounds: load from concurrent clients, ``kill -9`` at a random moment, restart, check.

One trader with followers (a few with their own ratio, one too poor for most copies, and a bulk
group). Each client owns one (contract, margin mode, side) of the trader, so it knows exactly what
it opened and closed: it places market orders (each tagged with a unique take-profit price that
never triggers), closes one of its sub positions (``close_order``) or all of them
(``close_all_position``), over real loopback HTTP with HTX signing. One more client moves the
marks through the admin API, so closes realise profits and losses and copies pay profit shares.

At a random moment the server's parent process gets SIGKILL (its workers should follow it;
survivors are counted as orphans, then killed). The server restarts on the same database and
:func:`faults.ledger.check` reads the database directly. Every request that was in flight at the
kill may or may not have happened, but wholly or not at all; every acknowledged one must be there.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from faults.htx import P, call
from faults.ledger import Findings, Journal, Tag, check, read_tables
from faults.procs import ServeProcess
from faults.stores import Store


@dataclass(frozen=True)
class Partition:
    """What one client trades: one (contract, margin mode, side) at one leverage.

    Tags are ``first_tag + n × step``: above any reachable mark for a long's take profit, below it
    (and positive) for a short's.
    """

    contract: str
    mode: str
    side: str
    lever: int
    first_tag: Decimal
    step: Decimal

    def tag(self, n: int) -> Tag:
        """Return the n-th tag of this partition: (contract, margin mode, take-profit price)."""
        return (self.contract, self.mode, self.first_tag + n * self.step)


PARTITIONS = (
    Partition("BTC-USDT", "cross", "long", 10, Decimal(600_000), Decimal("0.1")),
    Partition("BTC-USDT", "cross", "short", 10, Decimal("0.1"), Decimal("0.1")),
    Partition("ETH-USDT", "isolated", "long", 5, Decimal(30_000), Decimal("0.01")),
    Partition("ETH-USDT", "isolated", "short", 5, Decimal("0.01"), Decimal("0.01")),
    Partition("DOT-USDT", "cross", "long", 4, Decimal(100), Decimal("0.001")),
    Partition("DOT-USDT", "isolated", "long", 20, Decimal(200), Decimal("0.001")),
)
MARKS = {"BTC-USDT": Decimal(60500), "ETH-USDT": Decimal(3000), "DOT-USDT": Decimal(10)}
TICKS = {"BTC-USDT": Decimal("0.1"), "ETH-USDT": Decimal("0.01"), "DOT-USDT": Decimal("0.001")}
TRADER_BALANCE = Decimal(10_000_000)
# (ratio, balance): a follower that copies, one at half, one at double, one too poor for most
FOLLOWERS = ((Decimal(1), Decimal(100_000)), (Decimal("0.5"), Decimal(100_000)))
FOLLOWERS += ((Decimal(2), Decimal(100_000)), (Decimal(1), Decimal(150)))
BULK_FOLLOWERS = 16
BULK_BALANCE = Decimal(50_000)


@dataclass(repr=False)
class CrashFigures:
    """What the crash rounds of one store did and found."""

    store: str
    seed: int
    rounds: int = 0
    acknowledged: int = 0
    in_flight: int = 0
    in_flight_orders_applied: int = 0
    lost: set[str] = field(default_factory=set)
    inconsistent: set[str] = field(default_factory=set)
    drift: set[str] = field(default_factory=set)
    max_drift: Decimal = Decimal(0)
    orphans: int = 0
    orphan_kinds: Counter[str] = field(default_factory=Counter)
    http_500: int = 0
    code_1000: int = 0
    load_errors: list[str] = field(default_factory=list)
    refusals: Counter[int] = field(default_factory=Counter)
    tracebacks: int = 0
    leaks: int = 0

    def merge(self, found: Findings) -> None:
        """Add one check's findings (distinct messages: a lasting fault counts once)."""
        self.lost.update(found.lost)
        self.inconsistent.update(found.inconsistent)
        self.drift.update(found.drift)
        self.max_drift = max(self.max_drift, found.max_drift)
        self.in_flight_orders_applied = found.in_flight_applied

    def report(self, *kinds: str) -> str:
        """Return the figures and the first examples of each kind of finding (or of ``kinds``:
        lost, inconsistent, rounding drift, errors under load)."""
        lines = [self.summary(), f"  refusals by code: {dict(self.refusals)}"]
        if self.orphans:
            lines.append(
                f"  processes alive 3 s after their parent's kill -9: {dict(self.orphan_kinds)}"
            )
        for kind, found in (
            ("lost", sorted(self.lost)),
            ("inconsistent", sorted(self.inconsistent)),
            ("rounding drift", sorted(self.drift)),
            ("errors under load", self.load_errors),
        ):
            if found and (not kinds or kind in kinds):
                lines.append(f"  {kind} ({len(found)}):")
                lines += [f"    {text[:300]}" for text in found[:10]]
        return "\n".join(lines)

    def __repr__(self) -> str:
        """Return the one-line summary (pytest shows it beside a failed assertion)."""
        return self.summary()

    def summary(self) -> str:
        """Return the figures as one line."""
        return (
            f"crash[{self.store}] seed={self.seed} rounds={self.rounds} "
            f"acknowledged={self.acknowledged} in_flight={self.in_flight} "
            f"(orders applied {self.in_flight_orders_applied}) lost={len(self.lost)} "
            f"inconsistent={len(self.inconsistent)} drift={len(self.drift)} "
            f"(max {self.max_drift}) orphans={self.orphans} 500s={self.http_500} "
            f"code1000={self.code_1000} tracebacks={self.tracebacks} leaks={self.leaks}"
        )


class _Round:
    """One round of load against a running server, until the kill."""

    def __init__(
        self,
        server: ServeProcess,
        journal: Journal,
        figures: CrashFigures,
        state: dict[str, Any],
        rng: random.Random,
        deadline: float,
    ) -> None:
        self.server = server
        self.j = journal
        self.fig = figures
        self.state = state  # persists across rounds: tag counters, open tags per partition
        self.rng = rng
        self.deadline = deadline
        self.stop = threading.Event()
        self.lock = threading.Lock()

    # -- bookkeeping -----------------------------------------------------------------
    def _ack(self) -> None:
        with self.lock:
            self.j.acknowledged += 1
            self.fig.acknowledged += 1

    def _in_flight(self) -> None:
        with self.lock:
            self.j.ambiguous += 1
            self.fig.in_flight += 1

    def _answer(self, what: str, reply: httpx.Response) -> tuple[int, Any]:
        """Return (code, data) of an HTX reply; count 500s and 1000s as load errors."""
        try:
            body = reply.json()
        except ValueError:
            body = None
        if reply.status_code >= 500 or not isinstance(body, dict):
            with self.lock:
                self.fig.http_500 += reply.status_code >= 500
                self.fig.load_errors.append(f"{what}: HTTP {reply.status_code} {reply.text[:200]}")
            return -reply.status_code, None
        code = int(body.get("code", -1))
        if code == 1000:
            with self.lock:
                self.fig.code_1000 += 1
                self.fig.load_errors.append(f"{what}: {body}")
        elif code != 200:
            with self.lock:
                self.fig.refusals[code] += 1
        return code, body.get("data")

    # -- the trader's clients ----------------------------------------------------------
    def client(self, part: Partition, creds: dict[str, Any], seed: int) -> None:
        rng = random.Random(seed)
        opened: list[Tag] = self.state["open"][part]
        with httpx.Client(timeout=10) as http:
            while not self.stop.is_set() and time.monotonic() < self.deadline:
                try:
                    pick = rng.random()
                    if not opened or pick < 0.55:
                        self.place(http, part, creds, opened, rng)
                    elif pick < 0.8:
                        self.close_one(http, part, creds, opened, rng)
                    else:
                        self.close_all(http, part, creds, opened)
                except httpx.TransportError:
                    return  # the server is gone: this client's round is over

    def place(
        self,
        http: httpx.Client,
        part: Partition,
        creds: dict[str, Any],
        opened: list[Tag],
        rng: random.Random,
    ) -> None:
        n = self.state["next"][part]
        self.state["next"][part] = n + 1
        tag = part.tag(n)
        body = {
            "contract_code": part.contract,
            "amount": str(rng.randint(1, 10)),
            "margin_mode": part.mode,
            "order_price_type": 17,
            "order_direction": 1 if part.side == "long" else 2,
            "lever": part.lever,
            "tp_trigger_price": str(tag[2]),
        }
        with self.lock:
            self.j.ambiguous_tags.add(tag)
        try:
            reply = call(http, creds, self.server.host, "POST", P + "place_order", body=body)
        except httpx.TransportError:
            self._in_flight()
            raise
        code, _ = self._answer(f"place_order {body}", reply)
        if code == 200:
            with self.lock:
                self.j.ambiguous_tags.discard(tag)
                self.j.acked_tags.add(tag)
            opened.append(tag)
            self._ack()
        elif code not in (-500, 1000):  # refused: nothing happened
            with self.lock:
                self.j.ambiguous_tags.discard(tag)

    def close_one(
        self,
        http: httpx.Client,
        part: Partition,
        creds: dict[str, Any],
        opened: list[Tag],
        rng: random.Random,
    ) -> None:
        query = {"contract_code": part.contract, "limit": "100"}
        reply = call(http, creds, self.server.host, "GET", P + "current_positions", params=query)
        code, data = self._answer("current_positions", reply)
        if code != 200:
            return
        ids = {
            (part.contract, p["margin_mode"], Decimal(p["tp_trigger_price"])): p["sub_position_id"]
            for p in data["positions"]
            if p["tp_trigger_price"] is not None
        }
        known = [t for t in opened if t in ids]
        if not known:
            return
        tag = rng.choice(known)
        body = {"sub_position_id": ids[tag]}
        try:
            reply = call(http, creds, self.server.host, "POST", P + "close_order", body=body)
        except httpx.TransportError:
            opened.remove(tag)
            self._in_flight()
            raise
        code, _ = self._answer(f"close_order {body}", reply)
        if code in (200, 1046):
            opened.remove(tag)
        if code == 200:
            with self.lock:
                self.j.closed_tags.add(tag)
            self._ack()

    def close_all(
        self, http: httpx.Client, part: Partition, creds: dict[str, Any], opened: list[Tag]
    ) -> None:
        body = {
            "contract_code": part.contract,
            "margin_mode": part.mode,
            "position_side": part.side,
        }
        covered = list(opened)
        opened.clear()
        try:
            reply = call(http, creds, self.server.host, "POST", P + "close_all_position", body=body)
        except httpx.TransportError:
            self._in_flight()
            raise
        code, _ = self._answer(f"close_all_position {body}", reply)
        if code == 200:
            with self.lock:
                self.j.closed_tags.update(covered)
            self._ack()
        elif code != 1046:
            opened.extend(covered)  # refused: still open

    # -- the mark mover ------------------------------------------------------------------
    def mover(self, seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(timeout=10) as http:
            while not self.stop.is_set() and time.monotonic() < self.deadline:
                code = rng.choice(sorted(MARKS))
                move = Decimal(rng.randint(-200, 200)) / 10_000
                price = (MARKS[code] * (1 + move) / TICKS[code]).to_integral_value() * TICKS[code]
                with self.lock:
                    self.j.marks_in_flight.setdefault(code, set()).add(price)
                try:
                    reply = http.post(
                        f"{self.server.base_url}/_sim/markets/{code}/price",
                        json={"price": str(price)},
                    )
                except httpx.TransportError:
                    self._in_flight()
                    return
                if reply.status_code == 200:
                    with self.lock:
                        self.j.marks[code] = Decimal(reply.json()["mark_price"])
                        self.j.marks_in_flight[code] = set()
                    self._ack()
                else:
                    with self.lock:
                        self.fig.http_500 += reply.status_code >= 500
                        self.fig.load_errors.append(f"mark {code} {price}: {reply.text[:200]}")
                time.sleep(rng.uniform(0.01, 0.05))

    def run(self, creds: dict[str, Any], kill_after: float) -> list[str]:
        """Run the clients, kill the server after ``kill_after`` s; return the orphans."""
        threads = [
            threading.Thread(target=self.client, args=(p, creds, self.rng.getrandbits(32)))
            for p in PARTITIONS
        ]
        threads.append(threading.Thread(target=self.mover, args=(self.rng.getrandbits(32),)))
        for t in threads:
            t.start()
        time.sleep(kill_after)
        orphans = self.server.kill9()
        self.stop.set()
        for t in threads:
            t.join(timeout=60)
        return orphans


def _kind(cmdline: str) -> str:
    if "spawn_main" in cmdline:
        return "worker"
    if "resource_tracker" in cmdline:
        return "multiprocessing resource tracker"
    return cmdline


def _admin(server: ServeProcess, path: str, body: dict[str, Any]) -> Any:
    reply = httpx.post(f"{server.base_url}{path}", json=body, timeout=30)
    reply.raise_for_status()
    return reply.json()


def setup_users(server: ServeProcess, journal: Journal) -> dict[str, Any]:
    """Create the trader and its followers; record their initial balances and ratios."""
    trader = _admin(server, "/_sim/users", {"role": "trader", "balance": str(TRADER_BALANCE)})
    journal.trader_uid = trader["uid"]
    journal.initial[trader["uid"]] = TRADER_BALANCE
    for ratio, balance in FOLLOWERS:
        follower = _admin(server, "/_sim/users", {"role": "follower", "balance": str(balance)})
        body = {"follower_uid": follower["uid"], "trader_uid": trader["uid"], "ratio": str(ratio)}
        _admin(server, "/_sim/follow", body)
        journal.initial[follower["uid"]] = balance
        journal.followers[follower["uid"]] = ratio
    body = {
        "trader_uid": trader["uid"],
        "count": BULK_FOLLOWERS,
        "balance": str(BULK_BALANCE),
        "ratio": "1",
    }
    for uid in _admin(server, "/_sim/followers/bulk", body)["uids"]:
        journal.initial[uid] = BULK_BALANCE
        journal.followers[uid] = Decimal(1)
    return dict(trader)


def compare_api(server: ServeProcess, journal: Journal, db_url: str) -> list[str]:
    """Return how the restarted server's view differs from the database (balances, positions)."""
    db = read_tables(db_url)
    balances = {a["uid"]: a["balance"] for a in db["accounts"]}
    open_count = Counter(p["uid"] for p in db["positions"] if p["is_open"])
    diffs = []
    uids = [journal.trader_uid, *list(journal.followers)[: len(FOLLOWERS)]]
    with httpx.Client(timeout=30) as http:
        for uid in uids:
            view = http.get(f"{server.base_url}/_sim/users/{uid}").json()
            if Decimal(view["balance"]) != balances.get(uid):
                diffs.append(f"uid {uid}: API balance {view['balance']} != DB {balances.get(uid)}")
            if len(view["positions"]) != open_count[uid]:
                diffs.append(
                    f"uid {uid}: API {len(view['positions'])} open != DB {open_count[uid]}"
                )
    return diffs


def run_crash(
    store: Store,
    workdir: Path,
    *,
    rounds: int,
    max_load_seconds: float = 3.0,
    seed: int | None = None,
) -> CrashFigures:
    """Run ``rounds`` crash rounds on one database; return the figures."""
    seed = random.randrange(2**32) if seed is None else seed
    rng = random.Random(seed)
    figures = CrashFigures(store.name, seed)
    journal = Journal()
    log = workdir / f"crash-{store.name}.log"
    db_url, workers, redis_url = store.db_url, store.workers, store.redis_url
    environment = {
        "COPYTRADE_DEMO_SEED": "false",
        "COPYTRADE_RATE_LIMIT_PER_SECOND": "1000000",
        **store.env,
    }
    state: dict[str, Any] = {
        "next": dict.fromkeys(PARTITIONS, 0),
        "open": {p: [] for p in PARTITIONS},
    }
    server = ServeProcess(db_url, environment, log, workers=workers, redis_url=redis_url)
    try:
        creds = setup_users(server.wait_ready(), journal)
        for _ in range(rounds):
            kill_after = rng.uniform(0.2, max_load_seconds)
            deadline = time.monotonic() + kill_after + 30
            round_ = _Round(server, journal, figures, state, rng, deadline)
            orphans = round_.run(creds, kill_after)
            figures.orphans += len(orphans)
            figures.orphan_kinds.update(_kind(cmd) for cmd in orphans)
            server = ServeProcess(db_url, environment, log, workers=workers, redis_url=redis_url)
            server.wait_ready()
            figures.rounds += 1
            figures.merge(check(journal, db_url))
            figures.inconsistent.update(compare_api(server, journal, db_url))
    finally:
        server.stop()
    text = log.read_text("utf-8", "replace")
    figures.tracebacks = text.count("Traceback")
    secrets = [creds["secret_key"], store.env.get("COPYTRADE_SERVER_KEY", "")]
    figures.leaks = sum(text.count(s) for s in secrets if s)
    return figures
