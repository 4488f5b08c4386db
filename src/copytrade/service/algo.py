"""v5 trigger and trailing orders (spec ``htx-v5-v6.md`` §6.9-§6.11): place, watch, fire, cancel.

A trigger or trailing order rests on its account (:attr:`Account.algos`) until the mark fires it
(:mod:`copytrade.domain.algo`). The marks are watched where the take-profit/stop-loss triggers
are: :func:`copytrade.service.sim.set_price`, which the admin price set, every price-path tick
and every tick a clock jump passes (in order) go through. A mark move only *finds* the orders
it fires (a trailing order's extreme moves in the same transaction); each one is then fired in
a transaction of its own (:func:`fire`), down the one v5 order path
(:func:`copytrade.service.v5.place_in`): a lead's fired order is copied to the followers, a
reducing one closes the copies with it, exactly as ``/v5/trade/order``. An order refused when it
fires (no margin left, nothing left to reduce) is cancelled with the refusal as its reason.

Funding settlements do not move the mark, so they fire nothing (as for TP/SL).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from copytrade.domain import algo as a
from copytrade.domain.algo import AlgoOrder
from copytrade.domain.enums import MarginMode, OrderDirection, PositionSide
from copytrade.domain.errors import (
    CloseAboveHolding,
    DomainError,
    IllegalParameter,
    OrderNotFound,
)
from copytrade.domain.model import Account
from copytrade.domain.trading import Env, Market
from copytrade.service import v5
from copytrade.service.context import ServiceContext
from copytrade.service.errors import UnknownUser
from copytrade.service.handlers import report_open
from copytrade.service.ports import AlgoQuery, UnitOfWork
from copytrade.service.retry import retry_conflicts
from copytrade.service.v5 import AlgoHistoryQuery, Protection, V5Order, place_in

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class AlgoRequest:
    """A ``POST /v5/algo/order`` for a trigger or a trailing order, parsed.

    Attributes:
        order: The order it places when it fires (``kind`` ``market`` or ``limit``).
        kind: :data:`~copytrade.domain.algo.TRIGGER` or :data:`~copytrade.domain.algo.TRAILING`.
        trigger_type: ``ge``/``le`` when sent (the official SDKs may); ``None``: from the mark.
    """

    order: V5Order
    kind: str
    trigger_price: Decimal | None = None
    trigger_type: str | None = None
    callback_rate: Decimal | None = None
    active_price: Decimal | None = None


def _account(uow: UnitOfWork, uid: int) -> Account:
    account = uow.accounts.get(uid)
    if account is None:
        raise UnknownUser(uid)
    return account


def _held(trader: Account, code: str, mode: MarginMode, side: PositionSide) -> Decimal:
    return sum(
        (p.volume for p in trader.open_positions((code, mode, side)) if p.lead_uid is None),
        _ZERO,
    )


def _check_sides(trader: Account, req: V5Order) -> None:
    """Refuse what ``/v5/trade/order`` would refuse whatever the mark does by then.

    Hedge mode: ``both`` is no side, and a reduce-only order must close. A reducing order
    (reduce-only, or a close in hedge mode) needs the position now (1048 otherwise) and
    executes at market.
    """
    if trader.one_way:
        if req.position_side is not None:
            raise IllegalParameter("position_side", req.position_side.value)
        if req.reduce_only:
            held = _held(trader, req.contract_code, req.margin_mode, req.direction.opens.opposite)
            if held < req.volume:
                raise CloseAboveHolding(req.volume, held)
        return
    if req.both:
        raise IllegalParameter("position_side", "both")
    side = req.position_side
    if side is None:  # inferred as /v5/trade/order infers it (spec §6.9)
        side = req.direction.opens.opposite if req.reduce_only else req.direction.opens
    closing = req.direction.opens is not side
    if req.reduce_only and not closing:
        raise IllegalParameter("reduce_only", 1)
    if closing:
        held = _held(trader, req.contract_code, req.margin_mode, side)
        if held < req.volume:
            raise CloseAboveHolding(req.volume, held)
        if req.kind != "market":
            raise IllegalParameter("type", req.kind)  # reducing orders execute at market


def _new_algo(req: AlgoRequest, uid: int, mark: Decimal, env: Env) -> AlgoOrder:
    """Return the resting order ``req`` asks for at ``mark``, or raise 1067."""
    o = req.order
    rises = False
    activated, extreme = True, None
    if req.kind == a.TRIGGER:
        trigger = req.trigger_price
        if trigger is None or trigger <= 0:
            raise IllegalParameter("trigger_price", trigger)
        found = a.trigger_rises(trigger, mark, req.trigger_type)
        if found is None:  # at the mark: it would fire at once, as a plain order does
            raise IllegalParameter("trigger_price", trigger)
        rises = found
    else:
        rate = req.callback_rate
        if rate is None or not a.CALLBACK_MIN <= rate <= a.CALLBACK_MAX:
            raise IllegalParameter("callback_rate", rate)
        if req.active_price is not None and req.active_price <= 0:
            raise IllegalParameter("active_price", req.active_price)
        rises = o.direction is OrderDirection.BUY
        activated = a.activates(o.direction, req.active_price, mark)
        extreme = mark if activated else None
    return AlgoOrder(
        algo_id=env.next_id(),
        uid=uid,
        kind=req.kind,
        contract_code=o.contract_code,
        margin_mode=o.margin_mode,
        direction=o.direction,
        position_side=o.position_side,
        both=o.both,
        reduce_only=o.reduce_only,
        volume=o.volume,
        order_type=o.kind,
        order_price=o.price,
        trigger_price=req.trigger_price if req.kind == a.TRIGGER else None,
        rises=rises,
        callback_rate=req.callback_rate,
        active_price=req.active_price,
        activated=activated,
        extreme=extreme,
        state=a.ACTIVE,
        created=env.now,
        updated=env.now,
        client_order_id=o.client_order_id,
    )


@retry_conflicts
def place(ctx: ServiceContext, uid: int, req: AlgoRequest) -> list[AlgoOrder]:
    """Rest a trigger or trailing order; nothing is stored when it is refused."""
    spec = ctx.spec(req.order.contract_code)
    with ctx.uow() as uow:
        trader = _account(uow, uid)
        _check_sides(trader, req.order)
        mark = ctx.markets(uow.markets.marks())[spec.contract_code].mark
        env = ctx.env()
        algo = _new_algo(req, uid, mark, env)
        trader.algos[algo.algo_id] = algo
        env.changes.save_algo(algo)
        uow.accounts.save(env.changes)
        uow.commit()
    return [algo]


def due(account: Account, market: Market, env: Env) -> list[int]:
    """Show a new mark to the account's resting orders of its contract; return those it fires.

    A trailing order's activation and extreme are recorded in ``env``'s change set. Oldest
    first.
    """
    code = market.spec.contract_code
    fired: list[int] = []
    for algo_id in sorted(account.algos):
        algo = account.algos[algo_id]
        if algo.contract_code != code:
            continue
        fires, moved = a.observe(algo, market.mark)
        if moved:
            env.changes.save_algo(algo)
        if fires:
            fired.append(algo_id)
    return fired


def _order_of(algo: AlgoOrder) -> V5Order:
    """Return the order a fired trigger or trailing order places."""
    return V5Order(
        contract_code=algo.contract_code,
        margin_mode=algo.margin_mode,
        direction=algo.direction,
        position_side=algo.position_side,
        reduce_only=algo.reduce_only,
        kind=algo.order_type,
        tif="gtc",
        volume=algo.volume,
        price=algo.order_price,
        tp_trigger_price=None,
        sl_trigger_price=None,
        client_order_id=None,
        both=algo.both,
    )


def fire(ctx: ServiceContext, uid: int, algo_id: int, at_ms: int | None = None) -> bool:
    """Place a fired order's order (copied as any lead order); return whether it was placed.

    ``at_ms``: the time of the tick that fired it (a clock jump fires each tick at its own
    time). An order no longer resting is left alone; one its order is refused for is
    cancelled with the refusal as its reason.
    """
    try:
        return _fire(ctx, uid, algo_id, at_ms)
    except DomainError as exc:
        _give_up(ctx, uid, algo_id, at_ms, f"{type(exc).__name__}: {exc}")
        return False


@retry_conflicts
def _fire(ctx: ServiceContext, uid: int, algo_id: int, at_ms: int | None) -> bool:
    with ctx.uow() as uow:
        trader = _account(uow, uid)
        algo = trader.algos.get(algo_id)
        if algo is None or not algo.is_active:
            return False
        env = ctx.env(at_ms)
        placed, fan_out = place_in(ctx, uow, trader, _order_of(algo), env)
        a.finish(algo, a.EFFECTIVE, env.now, order_id=placed.order_id)
        del trader.algos[algo_id]
        env.changes.save_algo(algo)
        uow.accounts.save(env.changes)
        uow.commit()
    ctx.committed(env.changes)
    report_open(ctx, env, fan_out)
    return True


@retry_conflicts
def _give_up(ctx: ServiceContext, uid: int, algo_id: int, at_ms: int | None, reason: str) -> None:
    with ctx.uow() as uow:
        trader = _account(uow, uid)
        algo = trader.algos.pop(algo_id, None)
        if algo is None:
            return
        env = ctx.env(at_ms)
        a.finish(algo, a.CANCELED, env.now, reason=reason[:200])
        env.changes.save_algo(algo)
        uow.accounts.save(env.changes)
        uow.commit()


def cancel(account: Account, algo_ids: set[int], env: Env) -> list[int]:
    """Cancel the account's resting orders among ``algo_ids``; return those cancelled."""
    done: list[int] = []
    for algo_id in sorted(algo_ids):
        algo = account.algos.pop(algo_id, None)
        if algo is None:
            continue
        a.finish(algo, a.CANCELED, env.now)
        env.changes.save_algo(algo)
        done.append(algo_id)
    return done


# --- /v5/algo/* over both kinds: TP/SL (kept on the positions) and trigger/trailing orders --

Conditional = Protection | AlgoOrder
"""One v5 conditional order as the ``/v5/algo/*`` replies show it."""


@dataclass(frozen=True, slots=True)
class TpslRequest:
    """A ``POST /v5/algo/order`` of type ``tp``, ``sl`` or ``tpsl`` on the position it closes."""

    contract_code: str
    margin_mode: MarginMode
    side: PositionSide
    take_profit: Decimal | None
    stop_loss: Decimal | None


def place_conditional(
    ctx: ServiceContext, uid: int, req: AlgoRequest | TpslRequest
) -> list[Conditional]:
    """``POST /v5/algo/order``: arm TP/SL on a position, or rest a trigger/trailing order."""
    if isinstance(req, AlgoRequest):
        return list(place(ctx, uid, req))
    armed = v5.set_protection(
        ctx, uid, req.contract_code, req.margin_mode, req.side, req.take_profit, req.stop_loss
    )
    return list(armed)


_KINDS: dict[str | None, frozenset[str]] = {
    None: frozenset({a.TRIGGER, a.TRAILING}),
    a.TRIGGER: frozenset({a.TRIGGER}),
    a.TRAILING: frozenset({a.TRAILING}),
}


def _algo_kinds(kind: str | None) -> frozenset[str]:
    """Return the trigger/trailing kinds an algo ``type`` selects (``tp``/``sl``: none)."""
    return _KINDS.get(kind, frozenset())


def _tpsl_type(kind: str | None) -> str | None:
    """Return the ``type`` to ask :mod:`v5`'s TP/SL queries (every kind: ``tpsl``)."""
    return "tpsl" if kind is None else kind


def _algo_id(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) <= 19 else None


@retry_conflicts
def cancel_conditionals(
    ctx: ServiceContext, uid: int, contract_code: str, algo_ids: tuple[str, ...]
) -> list[tuple[str, bool]]:
    """``POST /v5/algo/cancel_orders``: (algo id, whether cancelled) per id, in one transaction."""
    ctx.spec(contract_code)
    with ctx.uow() as uow:
        account = _account(uow, uid)
        env = ctx.env()
        done = v5.disarm(account, contract_code, algo_ids, env)
        wanted: set[int] = set()
        for text, found in done:
            number = _algo_id(text)
            resting = account.algos.get(number) if number is not None else None
            if not found and resting is not None and resting.contract_code == contract_code:
                wanted.add(resting.algo_id)
        cancelled = set(cancel(account, wanted, env))
        uow.accounts.save(env.changes)
        uow.commit()
    return [(text, found or _algo_id(text) in cancelled) for text, found in done]


def open_conditionals(
    ctx: ServiceContext, uid: int, contract_code: str | None, kind: str | None = None
) -> list[Conditional]:
    """``GET /v5/algo/order/opens``: armed TP/SL, then resting trigger/trailing orders."""
    with ctx.reads() as reads:
        account = reads.account(uid)
    if account is None:
        raise UnknownUser(uid)
    tpsl = v5.tpsl_kinds(_tpsl_type(kind))
    found: list[Conditional] = [p for p in v5.protections(account, contract_code) if p.kind in tpsl]
    kinds = _algo_kinds(kind)
    found += [
        x
        for _, x in sorted(account.algos.items())
        if x.kind in kinds and contract_code in (None, x.contract_code)
    ]
    return found


def conditional(
    ctx: ServiceContext, uid: int, algo_id: str | None, client_id: str | None, kind: str | None
) -> list[Conditional]:
    """``GET /v5/algo/order``: one conditional order, resting or finished (1017 otherwise)."""
    if algo_id is not None and _tpsl_type(kind) in ("tp", "sl", "tpsl"):
        try:
            return list(v5.algo_order(ctx, uid, algo_id, _tpsl_type(kind)))
        except OrderNotFound:
            pass
    number = _algo_id(algo_id) if algo_id is not None else None
    if algo_id is not None and number is None:
        raise OrderNotFound(algo_id)
    with ctx.reads() as reads:
        if reads.user(uid) is None:
            raise UnknownUser(uid)
        rows = reads.algo_orders(uid, AlgoQuery(algo_id=number, client_order_id=client_id))
    kinds = _algo_kinds(kind)
    found: list[Conditional] = [x for x in rows[:1] if x.kind in kinds]
    if not found:
        raise OrderNotFound(algo_id or client_id or "")
    return found


_STATES = {"effective": a.EFFECTIVE, "triggered": a.EFFECTIVE, "canceled": a.CANCELED}


def conditional_history(
    ctx: ServiceContext, uid: int, query: AlgoHistoryQuery
) -> list[Conditional]:
    """``GET /v5/algo/order/history``: fired TP/SL and finished trigger/trailing orders."""
    tpsl = v5.algo_history(ctx, uid, _with_type(query, _tpsl_type(query.kind)))
    states = None if query.states is None else {_STATES[s] for s in query.states if s in _STATES}
    with ctx.reads() as reads:
        rows = reads.algo_orders(
            uid, AlgoQuery(finished_only=True, start=query.start, end=query.end)
        )
    kinds = _algo_kinds(query.kind)
    finished = [
        x
        for x in rows
        if x.kind in kinds
        and (states is None or x.state in states)
        and query.contract_code in (None, x.contract_code)
        and query.margin_mode in (None, x.margin_mode)
    ]
    merged: list[Conditional] = [*tpsl, *finished]
    merged.sort(key=_newest, reverse=True)
    return merged[: query.limit]


def _with_type(query: AlgoHistoryQuery, kind: str | None) -> AlgoHistoryQuery:
    return AlgoHistoryQuery(
        query.contract_code,
        query.margin_mode,
        kind,
        query.states,
        query.start,
        query.end,
        query.limit,
    )


def _newest(item: Conditional) -> tuple[int, int]:
    if isinstance(item, AlgoOrder):
        return item.updated, item.algo_id
    return item.updated or 0, int(item.algo_id)
