"""The copy engine: sizing follower copies and closing them with the lead. Pure.

A lead fill becomes, per follower, either a copy (a linked sub position in the follower's
account) or a :class:`CopySkipped` record with its reason; nothing is silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import ROUND_FLOOR, Decimal

from copytrade.domain.book import Book
from copytrade.domain.enums import (
    CloseType,
    CopyMode,
    Liquidity,
    MarginMode,
    OrderDirection,
    OrderPriceType,
    OrderStatus,
    PositionSide,
    SkipReason,
)
from copytrade.domain.errors import (
    InsufficientMargin,
    InvalidFollowSettings,
    NoOpponentPrice,
)
from copytrade.domain.impact import (
    DepthLedger,
    ImpactSettings,
    copy_order,
    deplete,
    slippage_refusal,
)
from copytrade.domain.instruments import ContractSpec, FeeSchedule
from copytrade.domain.margin import div, fee, notional, pnl, to_money
from copytrade.domain.matching import Fill, match_close, match_open, reference_price, vwap
from copytrade.domain.model import (
    Account,
    CopySkipped,
    FillRecord,
    Order,
    ProfitShare,
    SubPosition,
    quick_init,
)
from copytrade.domain.trading import (
    Env,
    Market,
    OpenRequest,
    close_position,
    close_price,
    cross_figures,
    open_order,
    pooled,
)

_ZERO = Decimal(0)
MIN_COPY_VOLUME = Decimal(1)


@quick_init  # a fan-out loads thousands at once
@dataclass(frozen=True, slots=True)
class Follow:
    """A follower copying one trader, with the follower's settings (spec §8.1).

    * ``mode`` ``ratio``: a copy is ``floor(ratio × lead change)`` contracts;
      ``fixed_amount``: each copied lead open commits ``fixed_amount`` USDT of initial margin
      (at the lead's leverage and the current opposite price), later growth of that lead sub
      position keeps the copy's proportion.
    * ``tp_ratio`` / ``sl_ratio``: a copy closes on its own once its unrealised PnL / IM reaches
      ``+tp_ratio`` / ``−sl_ratio`` (close types 8 / 9).
    * ``total_stop_loss``: once the follower's copy PnL (realised since following plus
      unrealised) reaches ``−total_stop_loss``, the follow stops and its copies close (type 10).
    * ``contracts``: only these contracts are copied (``None``: all); others are skipped with
      the reason ``contract_not_followed``.
    * ``max_slippage``: a market copy expected worse than the lead's price by more than this
      fraction (0.01 = 1 %) is skipped with the reason ``slippage`` (OKX's and Binance's
      guard); with the venue's own limit the stricter applies.
    """

    follower_uid: int
    trader_uid: int
    ratio: Decimal
    mode: CopyMode = CopyMode.RATIO
    fixed_amount: Decimal | None = None
    tp_ratio: Decimal | None = None
    sl_ratio: Decimal | None = None
    total_stop_loss: Decimal | None = None
    contracts: frozenset[str] | None = None
    max_slippage: Decimal | None = None

    def of_follower(self, follower_uid: int) -> Follow:
        """Return this follow (same trader and settings) for another follower."""
        return Follow(follower_uid, *[getattr(self, name) for name in _FOLLOW_REST])

    def copies(self, contract_code: str) -> bool:
        """Return whether this follower copies ``contract_code``."""
        return self.contracts is None or contract_code in self.contracts

    @property
    def watches_marks(self) -> bool:
        """Return whether a mark move can close copies on their own (TP/SL ratio, total stop)."""
        return not (
            self.tp_ratio is None and self.sl_ratio is None and self.total_stop_loss is None
        )


_FOLLOW_REST = tuple(f.name for f in fields(Follow))[1:]


def check_follow(follow: Follow) -> Follow:
    """Return ``follow`` if its settings hold together, else raise InvalidFollowSettings."""
    if follow.mode is CopyMode.RATIO and not follow.ratio > 0:
        raise InvalidFollowSettings("ratio", "must be positive")
    if follow.mode is CopyMode.FIXED_AMOUNT and not (
        follow.fixed_amount is not None and follow.fixed_amount > 0
    ):
        raise InvalidFollowSettings("fixed_amount", "must be positive in fixed_amount mode")
    if follow.mode is CopyMode.RATIO and follow.fixed_amount is not None:
        raise InvalidFollowSettings("fixed_amount", "is used only with mode fixed_amount")
    for name in ("tp_ratio", "sl_ratio", "total_stop_loss"):
        value = getattr(follow, name)
        if value is not None and not value > 0:
            raise InvalidFollowSettings(name, "must be positive when set")
    if follow.contracts is not None and not follow.contracts:
        raise InvalidFollowSettings("contracts", "must name at least one contract when set")
    if follow.max_slippage is not None and not 0 <= follow.max_slippage <= 1:
        raise InvalidFollowSettings("max_slippage", "is a fraction from 0 to 1 when set")
    return follow


def follow_settings(follow: Follow) -> dict[str, str]:
    """Return the follow's settings beyond ``ratio`` as text (empty for a plain ratio follow).

    The stores keep them in one column; :func:`follow_with_settings` reads them back.
    """
    out: dict[str, str] = {}
    if follow.mode is not CopyMode.RATIO:
        out["mode"] = follow.mode.value
    for name in ("fixed_amount", "tp_ratio", "sl_ratio", "total_stop_loss", "max_slippage"):
        value = getattr(follow, name)
        if value is not None:
            out[name] = str(value)
    if follow.contracts is not None:
        out["contracts"] = ",".join(sorted(follow.contracts))
    return out


def follow_with_settings(
    follower_uid: int, trader_uid: int, ratio: Decimal, settings: Mapping[str, str] | None
) -> Follow:
    """Return the follow :func:`follow_settings` described (``None``/empty: a ratio follow)."""
    if not settings:
        return Follow(follower_uid, trader_uid, ratio)

    def number(name: str) -> Decimal | None:
        value = settings.get(name)
        return Decimal(value) if value else None

    contracts = settings.get("contracts")
    return Follow(
        follower_uid,
        trader_uid,
        ratio,
        CopyMode(settings.get("mode", CopyMode.RATIO.value)),
        number("fixed_amount"),
        number("tp_ratio"),
        number("sl_ratio"),
        number("total_stop_loss"),
        frozenset(contracts.split(",")) if contracts is not None else None,
        number("max_slippage"),
    )


def copy_volume(ratio: Decimal, lead_change: Decimal) -> Decimal:
    """Return ``floor(ratio × lead_change)`` in whole contracts."""
    return (ratio * lead_change).to_integral_value(rounding=ROUND_FLOOR)


def fixed_amount_volume(
    amount: Decimal, lever: int, contract_size: Decimal, price: Decimal
) -> Decimal:
    """Return the whole contracts ``amount`` USDT of initial margin buys: ``floor(A·L/(cs·P))``."""
    return div(amount * lever, contract_size * price).to_integral_value(rounding=ROUND_FLOOR)


def wanted_volume(
    follow: Follow,
    lead: SubPosition,
    lead_change: Decimal,
    existing: SubPosition | None,
    market: Market,
) -> Decimal:
    """Return the contracts ``follow`` copies of a lead sub position growing by ``lead_change``."""
    if follow.mode is CopyMode.RATIO:
        return copy_volume(follow.ratio, lead_change)
    prior = lead.volume - lead_change
    if existing is not None and prior > 0:  # growth keeps the proportion of the first copy
        return copy_volume(div(existing.volume, prior), lead_change)
    buy = lead.side is PositionSide.LONG
    levels = market.book.side_for(buy)
    price = levels[0].price if levels else market.mark
    amount = follow.fixed_amount if follow.fixed_amount is not None else _ZERO
    return fixed_amount_volume(amount, lead.lever, market.spec.contract_size, price)


@dataclass(slots=True)
class CopyWave:
    """Market impact on one lead fill's copies (:mod:`copytrade.domain.impact`).

    The copies are placed at ``at_ms`` (the lead's time plus the copy latency), one after
    another in ``settings.copy_order``: ``follow_time`` keeps the follows as the stores give
    them (oldest follow first), ``shuffle`` orders them by the seeded hash of
    :func:`~copytrade.domain.impact.copy_order`. Each copy meets the book the lead and the
    earlier copies left (``ledger``) and must pass the slippage guard against ``lead_price``.
    With impact off (``settings.enabled`` false) a wave only applies the slippage guards, the
    venue's and the followers': every copy meets the freshly quoted book.
    """

    ledger: DepthLedger
    settings: ImpactSettings
    lead_price: Decimal | None
    """``None`` for closes: no slippage guard holds an exit back (see :meth:`refusal`)."""
    at_ms: int
    _books: dict[str, Book] = field(default_factory=dict)

    def ordered(self, follows: Iterable[Follow], lead: SubPosition) -> list[Follow]:
        """Return ``follows`` in the order their copies are placed.

        The shuffle is keyed by what identifies the lead position across a replay (its
        owner, contract, side and open time), not by its id, which a replay hands out anew.
        """
        follows = list(follows)
        if self.settings.copy_order != "shuffle" or not self.settings.enabled:
            return follows
        by_uid = {f.follower_uid: f for f in follows}
        lead_key = f"{lead.uid}:{lead.contract_code}:{lead.side.value}:{lead.open_time}"
        uids = copy_order(
            [(f.follower_uid, 0) for f in follows], "shuffle", self.settings.seed, lead_key
        )
        return [by_uid[u] for u in uids]

    def market(self, base: Market) -> Market:
        """Return ``base`` with the book the earlier fills left."""
        code = base.spec.contract_code
        book = self._books.get(code)
        if book is None:
            book = self._books[code] = self.ledger.book(code, base.book, self.at_ms)
        return Market(base.spec, base.mark, book)

    def refusal(self, follow: Follow, book: Book, volume: Decimal, buy: bool) -> str | None:
        """Return why the slippage guard skips a copy of ``volume`` (``None``: it may go).

        The limit is the stricter of the venue's and the follower's own. A wave of closes
        (no ``lead_price``) refuses nothing: a guard that kept a copy's stop-loss, total
        stop-loss or liquidation from closing would leave the follower exposed, so HTX-style
        slippage protection is a guard on opening copies only.
        """
        if self.lead_price is None:
            return None
        limits = [x for x in (self.settings.max_slippage, follow.max_slippage) if x is not None]
        limit = min(limits) if limits else None
        return slippage_refusal(book, volume, buy, self.lead_price, limit)

    def forget_books(self) -> None:
        """Read the book from the ledger again (after the wave's time moved)."""
        self._books.clear()

    def took(self, code: str, buy: bool, fills: Iterable[Fill | FillRecord]) -> None:
        """Record what a copy's fills took from the book (impact off: nothing stays taken)."""
        if not self.settings.enabled:
            return
        taken = [Fill(f.price, f.volume) for f in fills]
        self.ledger.take(code, buy, taken, self.at_ms)
        book = self._books.get(code)
        if book is not None:
            self._books[code] = deplete(book, buy, taken)


@dataclass(frozen=True, slots=True)
class CopyFill:
    """What a market copy of one volume does: the same for every follower copying it.

    The market maker re-quotes at once, so every copy's market order meets the same book:
    the margin checks' amounts, the fills and the position's figures are computed once per
    (lead position, volume) for a whole fan-out, with exactly :func:`open_order`'s arithmetic,
    and each follower only compares its own available margin and books the result.
    """

    required: Decimal  # margin + fee at the reference quote (open_order's first check)
    cost: Decimal  # margin + fee of what the sweep really takes (its second check)
    fills: tuple[Fill, ...]
    fees: tuple[Decimal, ...]  # each fill's fee
    filled: Decimal  # the order's filled, filled_notional and fee fields
    filled_notional: Decimal
    fee: Decimal
    status: OrderStatus
    volume: Decimal  # the position's volume, open price, open fee and margin
    open_price: Decimal
    margin: Decimal
    debit: Decimal  # taken from the wallet


def copy_fill(lead: SubPosition, volume: Decimal, market: Market, fees: FeeSchedule) -> CopyFill:
    """Return what a market copy of ``volume`` contracts of ``lead`` does on ``market``.

    Raises NoOpponentPrice on an empty book.
    """
    spec = market.spec
    cs = spec.contract_size
    buy = lead.side is PositionSide.LONG
    lever = Decimal(lead.lever)
    reference = reference_price(market.book, buy, OrderPriceType.OPPONENT, None, spec.contract_code)
    value = notional(volume, cs, reference)
    required = div(value, lever) + value * fees.taker
    result = match_open(market.book, buy, volume, OrderPriceType.MARKET, None, spec.contract_code)
    spent = sum((notional(f.volume, cs, f.price) for f in result.fills), _ZERO)
    cost = div(spent, lever) + spent * fees.taker
    rate = fees.taker
    filled = sum((f.volume for f in result.fills), _ZERO)
    paid = spent * rate
    im = to_money(div(spent, lever))
    isolated = lead.margin_mode is MarginMode.ISOLATED
    status = OrderStatus.FILLED if volume - (_ZERO + filled) == 0 else OrderStatus.CANCELLED
    return CopyFill(
        required=required,
        cost=cost,
        fills=result.fills,
        fees=tuple(notional(f.volume, cs, f.price) * rate for f in result.fills),
        filled=_ZERO + filled,
        filled_notional=_ZERO + spent / cs,
        fee=_ZERO + paid,
        status=status,
        volume=filled,
        open_price=vwap(result.fills) if result.fills else _ZERO,
        margin=im - paid if isolated else im,
        debit=im if isolated else paid,
    )


def book_copy(
    account: Account, lead: SubPosition, volume: Decimal, done: CopyFill, env: Env
) -> None:
    """Book a new copy of ``lead`` (``volume`` contracts) as :func:`copy_fill` computed it.

    The same order, sub position and fills :func:`open_order` books for a market copy, with the
    same ids in the same order, without matching the book again.
    """
    now, next_id, changes = env.now, env.next_id, env.changes
    uid, code, side = account.uid, lead.contract_code, lead.side
    order = Order(
        next_id(),
        uid,
        code,
        lead.margin_mode,
        side,
        OrderPriceType.MARKET,
        None,
        volume,
        lead.lever,
        now,
        None,
        None,
        done.filled,
        done.filled_notional,
        done.fee,
        done.status,
        None,
        lead.uid,
        lead.sub_position_id,
    )
    order_id = order.order_id
    if done.fills:
        position_id = next_id()
        position = SubPosition(
            position_id,
            uid,
            code,
            lead.margin_mode,
            side,
            lead.lever,
            done.volume,
            done.open_price,
            done.fee,
            done.margin,
            order_id,
            now,
            None,
            None,
            lead.uid,
            lead.sub_position_id,
        )
        account.positions[position_id] = position
        order.sub_position_id = position_id
        changes.positions[position_id] = position
        changes.new_positions.add(position_id)
        account.balance -= done.debit
        changes.accounts[uid] = account
        fills = changes.fills
        for fill, fee in zip(done.fills, done.fees, strict=True):
            fills.append(
                FillRecord(
                    next_id(),
                    uid,
                    order_id,
                    position_id,
                    code,
                    side,
                    "open",
                    fill.price,
                    fill.volume,
                    fee,
                    Liquidity.TAKER,
                    now,
                )
            )
    changes.orders[order_id] = order
    changes.new_orders.add(order_id)


PAUSE_EVERY = 500
"""Followers copied between two calls of ``env.pause`` (the store may serve others there)."""


def copy_open(
    lead: SubPosition,
    lead_change: Decimal,
    follows: Iterable[Follow],
    followers: Mapping[int, Account],
    market: Market,
    markets: Mapping[str, Market],
    env: Env,
    wave: CopyWave | None = None,
) -> tuple[int, int]:
    """Copy a lead sub position's growth to every follower; return (copied, skipped).

    With ``wave`` (market impact on) the copies walk the book one after another. Without it,
    a follower's first copy of ``lead`` is booked from :func:`copy_fill`, computed once per
    volume; growing an existing copy goes through :func:`open_order`. ``env.pause`` is called
    every :data:`PAUSE_EVERY` followers.
    """
    copied = skipped = 0
    env = pooled(env)
    if wave is not None:
        follows = wave.ordered(follows, lead)
    done: dict[Decimal, CopyFill | NoOpponentPrice] = {}  # first copies, per volume
    # ratio follows' volumes, per ratio object (a trader's follows share them): id -> (ratio,
    # volume), the ratio kept so that its id is not reused meanwhile
    by_ratio: dict[int, tuple[Decimal, Decimal]] = {}
    code = lead.contract_code
    pause = env.pause
    for n, follow in enumerate(follows, 1):
        if not n % PAUSE_EVERY:
            pause()
        account = followers.get(follow.follower_uid)
        here = wave.market(market) if wave is not None else market
        existing = _copy_of(account, lead.sub_position_id) if account is not None else None
        if not follow.copies(code):
            volume = _ZERO
        elif follow.mode is CopyMode.RATIO:  # wanted_volume's first case, once per ratio
            ratio = follow.ratio
            known = by_ratio.get(id(ratio))
            if known is None:
                known = by_ratio[id(ratio)] = (ratio, copy_volume(ratio, lead_change))
            volume = known[1]
        else:
            volume = wanted_volume(follow, lead, lead_change, existing, here)
        reason, detail = _refusal(follow, account, lead, lead_change, volume, here)
        if reason is None:
            assert account is not None
            if wave is None and existing is None:
                reason, detail = _new_copy(account, lead, volume, done, here, markets, env)
            else:
                reason, detail = _place_copy(
                    account, follow, lead, volume, existing, here, markets, env, wave
                )
        if reason is None:
            copied += 1
            continue
        skipped += 1
        env.changes.skips.append(
            CopySkipped(
                env.next_id(),
                lead.uid,
                follow.follower_uid,
                lead.sub_position_id,
                lead.contract_code,
                lead.margin_mode,
                lead.side,
                volume,
                reason,
                detail,
                env.now,
            )
        )
    return copied, skipped


_TWO_WAY_ONLY = "1507 The copy trading only supports two-way Position Mode"


def _refusal(
    follow: Follow,
    account: Account | None,
    lead: SubPosition,
    lead_change: Decimal,
    volume: Decimal,
    market: Market,
) -> tuple[SkipReason | None, str]:
    """Return why a copy is not even tried (``None``: try it)."""
    if account is None:
        return SkipReason.INSUFFICIENT_MARGIN, "follower has no account"
    if account.one_way:
        # copies are hedge-mode sub positions; a follower that switched its account to one-way
        # mode through a v5 key (allowed only while flat) gets none: HTX's 1507
        return SkipReason.ONE_WAY_POSITION_MODE, _TWO_WAY_ONLY
    if not follow.copies(lead.contract_code):
        return (
            SkipReason.CONTRACT_NOT_FOLLOWED,
            f"{lead.contract_code} is not among {sorted(follow.contracts or ())}",
        )
    if volume > market.spec.max_order_volume:
        return (
            SkipReason.ABOVE_ORDER_LIMIT,
            f"{volume} contracts > max order {market.spec.max_order_volume}",
        )
    if volume < MIN_COPY_VOLUME:
        return (
            SkipReason.BELOW_MINIMUM,
            f"{_sizing(follow, lead_change)} = {volume} < {MIN_COPY_VOLUME}",
        )
    return None, ""


def _new_copy(
    account: Account,
    lead: SubPosition,
    volume: Decimal,
    done: dict[Decimal, CopyFill | NoOpponentPrice],
    market: Market,
    markets: Mapping[str, Market],
    env: Env,
) -> tuple[SkipReason | None, str]:
    """Book a follower's first copy of ``lead`` from the fan-out's shared figures."""
    figures = done.get(volume)
    if figures is None:
        try:
            figures = copy_fill(lead, volume, market, env.fees)
        except NoOpponentPrice as exc:
            figures = exc
        done[volume] = figures
    if isinstance(figures, NoOpponentPrice):
        return SkipReason.NO_LIQUIDITY, "empty book"
    if account.positions or account.orders:
        available = cross_figures(account, markets, env.fees).available
    else:  # cross_figures of an empty account, without walking it
        available = account.balance + _ZERO - _ZERO - _ZERO
    for needed in (figures.required, figures.cost):
        if needed > available:
            return SkipReason.INSUFFICIENT_MARGIN, f"required {needed}, available {available}"
    book_copy(account, lead, volume, figures, env)
    return None, ""


def _place_copy(
    account: Account,
    follow: Follow,
    lead: SubPosition,
    volume: Decimal,
    existing: SubPosition | None,
    market: Market,
    markets: Mapping[str, Market],
    env: Env,
    wave: CopyWave | None,
) -> tuple[SkipReason | None, str]:
    """Place one market copy; return why it was skipped (``None``: it was made)."""
    buy = lead.side is PositionSide.LONG
    if wave is not None:
        refusal = wave.refusal(follow, market.book, volume, buy)
        if refusal is not None:
            return SkipReason.SLIPPAGE, refusal
    req = OpenRequest(
        lead.contract_code,
        OrderDirection.BUY if buy else OrderDirection.SELL,
        volume,
        lead.margin_mode,
        OrderPriceType.MARKET,
        None,
        lead.lever,
        lead_uid=lead.uid,
        lead_sub_position_id=lead.sub_position_id,
    )
    if existing is not None:
        req = replace(req, sub_position_id=existing.sub_position_id)
    first = len(env.changes.fills)
    try:
        open_order(account, req, market, markets, env)
    except InsufficientMargin as exc:
        return SkipReason.INSUFFICIENT_MARGIN, f"required {exc.required}, available {exc.available}"
    except NoOpponentPrice:
        return SkipReason.NO_LIQUIDITY, "empty book"
    if wave is not None:
        wave.took(lead.contract_code, buy, env.changes.fills[first:])
    return None, ""


def _sizing(follow: Follow, lead_change: Decimal) -> str:
    if follow.mode is CopyMode.RATIO:
        return f"floor({follow.ratio} x {lead_change})"
    return f"fixed amount {follow.fixed_amount} USDT"


def _copy_of(account: Account, lead_sub_position_id: int) -> SubPosition | None:
    for pos in account.positions.values():
        if pos.lead_sub_position_id == lead_sub_position_id:
            return pos
    return None


def close_copies(
    lead_positions: list[SubPosition],
    trader: Account,
    profit_share_ratio: Decimal,
    followers: Mapping[int, Account],
    markets: Mapping[str, Market],
    close_type: CloseType,
    env: Env,
    wave: CopyWave | None = None,
) -> int:
    """Close every follower copy of the (now closed) lead positions and share profits.

    Returns the number of copies closed. A profitable copy pays ``profit × ratio`` to the trader
    (net of fees, credited immediately, spec §8.4), added to the lead position's ``follow_takes``.
    With ``wave`` (market impact on) the copies close one after another, in the order of the
    followers given, each walking the book the lead's close and the earlier copies left.
    """
    leads = {p.sub_position_id: p for p in lead_positions}
    closed = 0
    # The market maker re-quotes at once, so every copy's market order meets the same book:
    # one price per (contract, side, volume), computed once for thousands of equal copies, and
    # one set of close figures per equal copy (see close_figures).
    prices: dict[tuple[str, PositionSide, Decimal], Decimal] = {}
    figures: dict[tuple[object, ...], CloseFigures] = {}
    walk = wave is not None and wave.settings.enabled
    # the last copy's inputs of price and done (by identity), and those two
    last: tuple[object, ...] = ()
    price, done = _ZERO, None
    env = pooled(env)
    pause = env.pause
    for n, account in enumerate(followers.values(), 1):
        if not n % PAUSE_EVERY:
            pause()
        copies = [p for p in account.positions.values() if p.lead_sub_position_id in leads]
        if len(copies) > 1:
            copies.sort(key=lambda p: p.sub_position_id)
        for copy in copies:
            market = markets[copy.contract_code]
            lead = leads[copy.lead_sub_position_id]  # type: ignore[index]
            if walk:
                assert wave is not None
                price = walk_close(wave, market, copy)
                settle_copy(
                    account, copy, price, market, trader, lead, profit_share_ratio, close_type, env
                )
            else:
                # the copies of one wave share the decimal objects their open computed: the
                # same objects as the copy before give the same price and figures
                if (
                    done is None
                    or copy.volume is not last[0]
                    or copy.open_avg_price is not last[1]
                    or copy.open_fee is not last[2]
                    or copy.position_margin is not last[3]
                    or copy.contract_code is not last[4]
                    or copy.side is not last[5]
                    or copy.margin_mode is not last[6]
                ):
                    key = (copy.contract_code, copy.side, copy.volume)
                    price = prices.get(key) or prices.setdefault(key, close_price(market, [copy]))
                    same = _figures_key(copy, price)
                    done = figures.get(same)
                    if done is None:
                        done = figures[same] = close_figures(
                            copy, price, market.spec, env.fees, profit_share_ratio
                        )
                    last = (
                        copy.volume,
                        copy.open_avg_price,
                        copy.open_fee,
                        copy.position_margin,
                        copy.contract_code,
                        copy.side,
                        copy.margin_mode,
                    )
                settle_copy_as(account, copy, price, done, trader, lead, close_type, env)
            closed += 1
    return closed


@dataclass(frozen=True, slots=True)
class CloseFigures:
    """What closing one copy at market does, the same for every copy equal in what it uses.

    Exactly :func:`settle_copy`'s arithmetic (:func:`~copytrade.domain.trading.close_position`
    and the profit share), computed once per :func:`_figures_key` for a whole fan-out.
    """

    close_fee: Decimal
    profit: Decimal
    credit: Decimal  # added to the follower's wallet by the close
    share: Decimal | None  # the trader's profit share (``None``: none is paid)


def close_figures(
    copy: SubPosition, price: Decimal, spec: ContractSpec, fees: FeeSchedule, ratio: Decimal
) -> CloseFigures:
    """Return what closing ``copy`` at ``price`` does (see :class:`CloseFigures`)."""
    cs = spec.contract_size
    close_fee = to_money(fee(copy.volume, cs, price, fees.taker))
    gross = to_money(pnl(copy.side, copy.open_avg_price, price, copy.volume, cs))
    if copy.margin_mode is MarginMode.ISOLATED:
        credit = copy.position_margin + gross - close_fee
        if credit < 0:
            gross -= credit  # the shortfall beyond the margin is absorbed, not realised
            credit = _ZERO
    else:
        credit = gross - close_fee
    profit = gross - copy.open_fee - close_fee
    share = to_money(profit * ratio) if profit > 0 and ratio > 0 else None
    return CloseFigures(close_fee, profit, credit, share)


def _figures_key(copy: SubPosition, price: Decimal) -> tuple[object, ...]:
    """Return what :func:`close_figures` depends on.

    The fee and the gross PnL are truncated at 18 decimals, so the volume and open price count
    by value; the open fee and the margin are added to them as they are, so they count by their
    text (beyond 18 decimals, equal values written differently give sums written differently).
    """
    isolated = copy.margin_mode is MarginMode.ISOLATED
    return (
        copy.contract_code,
        copy.side,
        isolated,
        copy.volume,
        copy.open_avg_price,
        str(copy.open_fee),
        str(copy.position_margin) if isolated else None,
        price,
    )


def settle_copy_as(
    follower: Account,
    copy: SubPosition,
    price: Decimal,
    done: CloseFigures,
    trader: Account,
    lead: SubPosition | None,
    close_type: CloseType,
    env: Env,
) -> None:
    """Close ``copy`` at ``price`` as :func:`close_figures` computed it; pay the share.

    The same wallets, position fields, fill and profit share as :func:`settle_copy`, with the
    same ids in the same order.
    """
    changes = env.changes
    position_id = copy.sub_position_id
    follower.balance += done.credit
    copy.is_open = False
    copy.close_time = env.now
    copy.close_avg_price = price
    copy.close_fee = done.close_fee
    copy.profit = done.profit
    copy.close_type = close_type
    copy.tp_trigger_price = None
    copy.sl_trigger_price = None
    follower.positions.pop(position_id, None)
    changes.accounts[follower.uid] = follower
    positions = changes.positions
    if position_id in positions:
        changes.save_position(copy)
    else:  # ChangeSet.save_position, then the close-only mark
        positions[position_id] = copy
        changes.closed.add(position_id)
    changes.fills.append(
        FillRecord(
            env.next_id(),
            follower.uid,
            None,
            position_id,
            copy.contract_code,
            copy.side,
            "close",
            price,
            copy.volume,
            done.close_fee,
            Liquidity.TAKER,
            env.now,
        )
    )
    share = done.share
    if share is not None:
        _pay_share(follower, copy, trader, lead, share, env)


def _pay_share(
    follower: Account,
    copy: SubPosition,
    trader: Account,
    lead: SubPosition | None,
    share: Decimal,
    env: Env,
) -> None:
    follower.balance -= share
    trader.balance += share
    env.changes.touch(trader)
    if lead is not None:
        lead.follow_takes += share
        env.changes.save_position(lead)
    env.changes.profit_shares.append(
        ProfitShare(
            env.next_id(),
            trader.uid,
            follower.uid,
            copy.lead_sub_position_id if copy.lead_sub_position_id is not None else 0,
            share,
            "USDT",
            env.now,
        )
    )


def walk_close(wave: CopyWave, market: Market, copy: SubPosition) -> Decimal:
    """Return the price of a copy's market close on the book the wave has left; take it."""
    buy = copy.side is PositionSide.SHORT  # closing a short buys
    fills = match_close(wave.market(market).book, buy, copy.volume, market.mark)
    wave.took(copy.contract_code, buy, fills)
    return vwap(fills)


def settle_copy(
    follower: Account,
    copy: SubPosition,
    price: Decimal,
    market: Market,
    trader: Account,
    lead: SubPosition | None,
    profit_share_ratio: Decimal,
    close_type: CloseType,
    env: Env,
) -> SubPosition:
    """Close one follower copy at ``price`` and pay the trader's profit share (spec §8.4).

    A profitable copy pays ``profit × ratio`` (net of fees, credited at once) to the trader,
    recorded as a :class:`ProfitShare` and added to the lead position's ``follow_takes`` when
    the lead is given.

    Args:
        follower: The follower's account holding ``copy``.
        copy: An open copy whose ``lead_uid`` is the trader.
        price: The market close price.
        market: The copy's contract.
        trader: The trader's account, credited with the share.
        lead: The lead sub position the copy follows (open or just closed), if loaded.
        profit_share_ratio: The trader's ratio.
        close_type: Recorded on the closed copy.
        env: Fees, time, ids and the change set.

    Returns:
        The closed copy.
    """
    only_closed = copy.sub_position_id not in env.changes.positions
    done = close_position(follower, copy, price, market.spec, close_type, env)
    if only_closed:
        env.changes.closed.add(copy.sub_position_id)
    profit = done.profit if done.profit is not None else _ZERO
    if profit > 0 and profit_share_ratio > 0:
        _pay_share(follower, copy, trader, lead, to_money(profit * profit_share_ratio), env)
    return done
