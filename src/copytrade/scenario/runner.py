"""Run a scenario on a server of its own over a fresh store, then read the outcome.

Actions go over HTTP as a bot's would (signed HTX calls, admin calls), in ``at_ms`` order with
the simulation clock frozen and advanced to each action's time first, so price paths tick on
the way. The outcome is read from the store the run left (:mod:`copytrade.scenario.report`).
"""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from copytrade.bootstrap import bootstrap
from copytrade.config import Settings
from copytrade.scenario.model import Action, Scenario
from copytrade.scenario.report import Population, Report, build_report
from copytrade.testing.server import LiveServer

_P = "/copytrading/trader/"


def _settings(scenario: Scenario) -> dict[str, Any]:
    contracts = [c.model_dump(mode="json", exclude_none=True) for c in scenario.contracts]
    return {**scenario.server, "demo_seed": False, "contracts": contracts}


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _act(server: LiveServer, action: Action, creds: dict[str, dict[str, Any]]) -> str | None:
    """Perform one action; return what went wrong (``None``: accepted)."""
    code = action.contract_code
    if action.do == "price":
        server.set_price(code, str(action.price))
        return None
    if action.do == "path":
        assert action.path is not None
        body = action.path.model_dump(mode="json")
        if action.csv is not None:
            body["csv"] = action.csv
        reply = server.http.post(f"/_sim/markets/{code}/path", json=body)
        return None if reply.status_code == 200 else reply.text
    assert action.trader is not None
    trader = creds[action.trader]
    if action.do == "order":
        order: dict[str, Any] = {
            "contract_code": code,
            "amount": str(action.amount),
            "margin_mode": action.margin_mode,
            "order_direction": 1 if action.direction == "buy" else 2,
            "lever": action.lever,
            "order_price_type": 1 if action.price is not None else 17,
        }
        extra = {
            "price": _text(action.price),
            "tp_trigger_price": _text(action.tp),
            "sl_trigger_price": _text(action.sl),
        }
        order.update({k: v for k, v in extra.items() if v is not None})
        reply = server.signed(trader, "POST", _P + "place_order", body=order).json()
    else:
        body = {
            "contract_code": code,
            "margin_mode": action.margin_mode,
            "position_side": action.position_side,
        }
        reply = server.signed(trader, "POST", _P + "close_all_position", body=body).json()
    if reply.get("code") == 200:
        return None
    return f"{reply.get('code')} {reply.get('msg', '')}".strip()


def run_scenario(
    scenario: Scenario, workdir: Path | None = None, *, store: str = "sqlite"
) -> Report:
    """Run ``scenario`` on a fresh store and report what it left.

    ``store``: ``sqlite`` (a file in ``workdir``, else a temporary directory) or ``memory``
    (the in-memory store, read before the server stops).
    """
    if store not in ("sqlite", "memory"):
        raise ValueError(f"store must be sqlite or memory, not {store!r}")
    with tempfile.TemporaryDirectory(prefix="copytrade-scenario-") as tmp:
        db = (workdir or Path(tmp)) / "scenario.db"
        if store == "sqlite" and db.exists():
            db.unlink()
        options = _settings(scenario)
        url = "memory://" if store == "memory" else f"sqlite:///{db}"
        with LiveServer(url, **options) as server:
            population, errors = _play(server, scenario)
            if store == "memory":  # the state goes with the server
                return build_report(scenario, server.services.ctx, population, errors)
        services = bootstrap(Settings(db_url=url, **options))
        try:
            return build_report(scenario, services.ctx, population, errors)
        finally:
            services.close()


def _play(server: LiveServer, scenario: Scenario) -> tuple[Population, list[str]]:
    """Create the scenario's users and perform its actions; return who and what went wrong."""
    population = Population()
    errors: list[str] = []
    server.admin("/_sim/clock", {"now_ms": scenario.start_ms})
    creds: dict[str, dict[str, Any]] = {}
    for t in scenario.traders:
        extra = {"profit_share_ratio": _text(t.profit_share_ratio)}
        creds[t.name] = server.create_user(
            "trader",
            balance=str(t.balance),
            **{k: v for k, v in extra.items() if v is not None},
        )
        population.traders[t.name] = (creds[t.name]["uid"], t.balance)
    for g in scenario.followers:
        body = {
            "trader_uid": creds[g.trader]["uid"],
            "count": g.count,
            "balance": str(g.balance),
            "ratio": str(g.ratio),
        }
        if g.max_slippage is not None:
            body["max_slippage"] = str(g.max_slippage)
        uids = server.admin("/_sim/followers/bulk", body)["uids"]
        population.followers[g.name] = ([int(u) for u in uids], g.balance)
    now = 0
    for action in sorted(scenario.actions, key=lambda a: a.at_ms):
        if action.at_ms > now:
            server.admin("/_sim/clock", {"advance_ms": action.at_ms - now})
            now = action.at_ms
        problem = _act(server, action, creds)
        if problem is not None:
            errors.append(f"{action.do} at {action.at_ms} ms: {problem}")
    if scenario.end_ms > now:
        server.admin("/_sim/clock", {"advance_ms": scenario.end_ms - now})
    return population, errors
