"""``copytrade replay FILE``: rebuild the state a recorded session left, and digest it.

A record (``serve --record FILE``, :mod:`copytrade.api.recorder`) holds every accepted request
with its simulation time. The replay starts a server of its own on a fresh SQLite store with
the recorded settings, and sends each request again in arrival order with the simulation clock
frozen at the request's time. HMAC keys are new, so requests are signed again with the key that
stands in for the recorded one; ids the server hands out (orders, positions) are new too, so
every id a recorded reply showed is mapped to the id the replayed reply shows, and a later
request naming it is rewritten. Ed25519-signed requests cannot be signed again (there is no
private key) and are refused. The store is seeded at the record's start time, as the recording
server seeded its own; when that was the demo, the demo key signs as it did and the demo
trader and its followers are among the users the digest covers.

:func:`state_digest` is SHA-256 over a canonical JSON of every recorded user's balance,
leverage settings, positions, orders, fills, skipped copies and profit shares, the markets
(marks, price paths), the funding and impact settings and the simulation clock; ids are
replaced by their rank (ids grow with time, so the same creation order gives the same ranks).
Two runs of the same commands at the same simulation times give the same digest. Record with
the clock frozen (moved only through ``/_sim/clock``) for a byte-identical replay: with a
running clock a command's time is taken on arrival and may differ by milliseconds from when it
ran.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copytrade.protocol.profiles import reply_accepted
from copytrade.service import v5_others
from copytrade.service.sim import DEMO_ACCESS_KEY, DEMO_SECRET_KEY
from copytrade.testing.server import InProcessServer, LiveServer

ID_KEYS = frozenset(
    {
        "sub_position_id",
        "order_id",
        "trade_id",
        "lead_sub_position_id",
        "open_order_id",
        "skip_id",
        "query_id",
        "item_id",  # a profit share's
        "algo_id",
    }
)

V6_APIKEY = "/api/v6/copyTrading/trader/apikey"
"""v6 mints lead-trading keys here (spec ``htx-v5-v6.md`` §8.11); a record may sign with them."""

UNLIMITED = 1_000_000_000
"""The replay's rate limits: requests a second per UID no replay reaches."""


class ReplayError(ValueError):
    """The record cannot be replayed (not a record, or a request it cannot sign again)."""


@dataclass(slots=True)
class Replayed:
    """What a replay did: requests sent, the users it saw created, and the digest."""

    requests: int = 0
    uids: list[int] = field(default_factory=list)
    digest: str = ""
    differing: list[str] = field(default_factory=list)


def read_record(path: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Return a record's header and its requests in arrival order."""
    lines = [json.loads(x) for x in Path(path).read_text().splitlines() if x.strip()]
    if not lines or lines[0].get("copytrade_record") != 1:
        raise ReplayError(f"{path} is not a copytrade record (serve --record FILE)")
    return lines[0], sorted(lines[1:], key=lambda r: r["seq"])


def _walk_ids(old: Any, new: Any, mapping: dict[str, str]) -> None:
    """Map every id in a recorded reply to the id at the same place in the replayed one."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key, value in old.items():
            if key in ID_KEYS and key in new and value is not None and not isinstance(value, dict):
                mapping[str(value)] = str(new[key])
            elif key in new:
                _walk_ids(value, new[key], mapping)
    elif isinstance(old, list) and isinstance(new, list):
        for a, b in zip(old, new, strict=False):
            _walk_ids(a, b, mapping)


def _rewrite_ids(item: Any, mapping: dict[str, str]) -> Any:
    """Rewrite the value of an id key: one id, a list of ids or comma-separated ids.

    v5 ``cancel_batch_orders`` takes a list or a string (HTX's v1 habit).
    """
    if isinstance(item, list):
        return [_rewrite_ids(v, mapping) for v in item]
    if isinstance(item, (str, int)) and not isinstance(item, bool):
        if str(item) in mapping:
            new = mapping[str(item)]
            return int(new) if isinstance(item, int) else new
        if isinstance(item, str) and "," in item:
            return ",".join(mapping.get(part, part) for part in item.split(","))
        return item
    return _rewrite(item, mapping)


def _rewrite(value: Any, mapping: dict[str, str]) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out[key] = _rewrite_ids(item, mapping) if key in ID_KEYS else _rewrite(item, mapping)
        return out
    if isinstance(value, list):
        return [_rewrite(v, mapping) for v in value]
    return value


def _created_uids(path: str, method: str, reply: Any) -> list[int]:
    if method != "POST" or not isinstance(reply, dict):
        return []
    if path == "/_sim/users" and "uid" in reply:
        return [int(reply["uid"])]
    if path == "/_sim/followers/bulk":
        return [int(u) for u in reply.get("uids", [])]
    return []


def _canonical(value: Any, ranks: dict[int, int]) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in sorted(value.items()):
            if key in ("access_key", "secret_key"):
                continue
            if key in ID_KEYS and item is not None:
                out[key] = ranks[int(item)]
            else:
                out[key] = _canonical(item, ranks)
        return out
    if isinstance(value, list):
        return [_canonical(v, ranks) for v in value]
    return value


def _ids(value: Any, found: set[int]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ID_KEYS and item is not None:
                found.add(int(item))
            else:
                _ids(item, found)
    elif isinstance(value, list):
        for item in value:
            _ids(item, found)


def demo_uids(server: LiveServer) -> list[int]:
    """Return the demo trader's UID and its followers' (a server that seeded the demo)."""
    ctx = server.services.ctx
    with ctx.reads() as reads:
        key = reads.key(DEMO_ACCESS_KEY)
    if key is None:
        return []
    with ctx.uow() as uow:
        follows, _ = uow.accounts.followers_of(key.uid)
    return [key.uid, *sorted(f.follower_uid for f in follows)]


def state_views(server: LiveServer, uids: list[int]) -> dict[str, Any]:
    """Return the state a digest covers: each user's admin view, the markets and the clock.

    A user's view gains the leverage set per contract and margin mode, and its armed
    cancel-after deadline (only when one is armed). A market is its mark
    and its price path; funding and market impact are their settings
    (set and not yet used, they are still state: the next clock move or order meets them).
    """
    users = {str(uid): server.admin_get(f"/_sim/users/{uid}") for uid in sorted(set(uids))}
    with server.services.ctx.reads() as reads:
        # the leverage set per (contract, margin mode): what query_contract_lever answers;
        # the admin view does not show it
        for uid, view in users.items():
            account = reads.account(int(uid))
            levers = account.levers if account is not None else {}
            view["levers"] = sorted(
                [code, str(mode), lever] for (code, mode), lever in levers.items()
            )
    # an armed cancel-after deadline is state too: the next clock move meets it
    for armed_uid, at in v5_others.armed_cancel_after(server.services.ctx).items():
        if str(armed_uid) in users:
            users[str(armed_uid)]["cancel_after"] = at
    quotes = server.admin_get("/_sim/markets")
    return {
        "users": users,
        "marks": {code: q["mark_price"] for code, q in quotes.items()},
        "paths": {code: server.admin_get(f"/_sim/markets/{code}/path") for code in quotes},
        "funding": server.admin_get("/_sim/funding"),
        "impact": server.admin_get("/_sim/impact"),
        "now_ms": server.admin_get("/_sim/clock")["now_ms"],
    }


def state_digest(server: LiveServer, uids: list[int]) -> str:
    """Return SHA-256 of the canonical state (ids by rank, keys and secrets left out)."""
    views = state_views(server, uids)
    found: set[int] = set()
    _ids(views, found)
    ranks = {value: rank for rank, value in enumerate(sorted(found))}
    text = json.dumps(_canonical(views, ranks), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _learn_keys(request: dict[str, Any], answer: Any, keys: dict[str, dict[str, Any]]) -> bool:
    """Map a key the record made (a user's, or one a lead minted over v6) to the replay's.

    Return False for a user whose key is Ed25519: the record cannot sign for it again.
    """
    recorded = request["reply"]
    if request["method"] != "POST":
        return True
    if request["path"] == "/_sim/users":
        if recorded.get("secret_key") is None:
            return False
        keys[recorded["access_key"]] = {
            "access_key": answer["access_key"],
            "secret_key": answer["secret_key"],
        }
    elif request["path"] == V6_APIKEY:
        for made, now in zip(recorded["data"], answer["data"], strict=True):
            keys[made["accessKey"]] = {
                "access_key": now["accessKey"],
                "secret_key": now["secretKey"],
            }
    return True


def _refused(path: str, status: int, answer: Any) -> bool:
    """Return whether the replayed request was refused (each family says success its own way)."""
    if path.startswith("/_sim/"):
        return status >= 300 or (isinstance(answer, dict) and answer.get("code", 200) != 200)
    return not reply_accepted(path, answer, status)


def replay(
    record: str | Path,
    workdir: Path | None = None,
    *,
    store: str = "sqlite",
    in_process: bool = False,
) -> Replayed:
    """Replay ``record`` on a fresh store (``sqlite`` file or ``memory``); return the digest.

    ``in_process``: call the app without a socket (:class:`InProcessServer`), for loops of
    many replays; the requests and the digest are the same.
    """
    head, requests = read_record(record)
    result = Replayed()
    with tempfile.TemporaryDirectory(prefix="copytrade-replay-") as tmp:
        db = (workdir or Path(tmp)) / "replay.db"
        if db.exists():
            db.unlink()
        url = "memory://" if store == "memory" else f"sqlite:///{db}"
        kind = InProcessServer if in_process else LiveServer
        # every recorded request was accepted once: sent again faster than it came, it must
        # not meet a rate limit it never met (the v6 family allows 5 a second per UID)
        unlimited: dict[str, Any] = {
            "rate_limit_per_second": UNLIMITED,
            "rate_limit_v5_per_second": UNLIMITED,
            "rate_limit_v6_per_second": UNLIMITED,
        }
        with kind(url, **head["settings"], **unlimited) as server:
            keys: dict[str, dict[str, Any]] = {}
            ids: dict[str, str] = {}
            start = head.get("start_ms")
            if start is not None:
                # seed again as the recording server did: at its start time (the demo users
                # and the configured paths start there), not at this server's start
                server.http.post("/_sim/clock", json={"now_ms": start}).raise_for_status()
                server.http.post("/_sim/reset").raise_for_status()
            if head["settings"].get("demo_seed"):
                keys[DEMO_ACCESS_KEY] = {
                    "access_key": DEMO_ACCESS_KEY,
                    "secret_key": DEMO_SECRET_KEY,
                }
                result.uids += demo_uids(server)
            for r in requests:
                server.http.post("/_sim/clock", json={"now_ms": r["t"]}).raise_for_status()
                body_text: str = r["body"]
                try:
                    body: Any = json.loads(body_text) if body_text else None
                except ValueError:
                    body = None
                if body is not None:
                    body_text = json.dumps(_rewrite(body, ids))
                query = [(k, v) for k, v in r["query"]]
                query = [(k, ids.get(v, v) if k in ID_KEYS else v) for k, v in query]
                if r["path"].startswith("/_sim/"):
                    reply = server.http.request(
                        r["method"],
                        r["path"],
                        params=query,
                        content=body_text.encode() if body_text else None,
                        headers={"content-type": "application/json"},
                    )
                else:
                    creds = keys.get(r["key"] or "")
                    if creds is None:
                        raise ReplayError(
                            f"request {r['seq']}: key {r['key']} was not created in the record "
                            "(or signs with Ed25519)"
                        )
                    reply = server.signed(
                        creds,
                        r["method"],
                        r["path"],
                        params=dict(query) if r["method"] == "GET" else None,
                        body=body_text,
                    )
                answer: Any = reply.json() if reply.content else None
                result.requests += 1
                if _refused(r["path"], reply.status_code, answer):
                    result.differing.append(f"request {r['seq']} {r['path']}: {reply.text[:200]}")
                    continue
                recorded = r["reply"]
                if not _learn_keys(r, answer, keys):
                    continue  # an Ed25519 key: its requests cannot be signed again
                result.uids += _created_uids(r["path"], r["method"], answer)
                _walk_ids(recorded, answer, ids)
            result.digest = state_digest(server, result.uids)
    return result
