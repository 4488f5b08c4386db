"""The one map from domain errors to HTX ``code``/``msg`` (spec §4.4).

Each row of :data:`CATALOGUE` names a :class:`~copytrade.domain.errors.DomainError` subclass, the
:class:`~copytrade.protocol.error_codes.ErrorCode` it answers with (the code and its message
live there, once), and how the error's values fill the message's ``{n}`` placeholders. A unit
test fails when a ``DomainError`` subclass has no row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from copytrade.domain import errors as d
from copytrade.protocol.error_codes import ErrorCode
from copytrade.service.errors import InvalidFollow, InvalidMark, NotFollowing, UnknownUser


@dataclass(frozen=True, slots=True)
class Rule:
    """How one error class answers.

    Attributes:
        code: The HTX code; its catalogue message is the reply's ``msg``.
        args: Values for the message's ``{n}`` placeholders, taken from the error.
        text: A message of our own, for the cases where HTX documents none.
    """

    code: ErrorCode
    args: Callable[[Any], tuple[object, ...]] | None = None
    text: str | None = None

    def reply(self, error: d.DomainError) -> tuple[int, str]:
        """Return ``(code, msg)`` for ``error``."""
        if self.text is not None:
            return self.code, self.text
        return self.code, self.code.text(*(self.args(error) if self.args else ()))


def _bound(error: d.InvalidTakeProfit | d.InvalidStopLoss) -> tuple[object, ...]:
    # "The take-profit price shall not be lower than the latest price 60000"
    relation = "lower than" if error.above else "higher than"
    return relation, " the latest price ", str(error.reference)


CATALOGUE: dict[type[d.DomainError], Rule] = {
    d.UnknownContract: Rule(ErrorCode.CONTRACT_NOT_EXIST),
    d.ContractNotCopyEnabled: Rule(ErrorCode.PAIR_NOT_ALLOWED, lambda e: (",".join(e.allowed),)),
    d.CrossNotSupported: Rule(ErrorCode.CROSS_NOT_SUPPORTED),
    d.InvalidLever: Rule(ErrorCode.LEVER_INVALID),
    d.LeverMismatch: Rule(ErrorCode.LEVER_MISMATCH),
    d.InvalidPrice: Rule(ErrorCode.PRICE_PRECISION),
    d.InvalidAmount: Rule(ErrorCode.AMOUNT_INVALID),
    d.AmountAboveLimit: Rule(ErrorCode.AMOUNT_LIMIT, lambda e: (e.limit,)),
    d.NoOpponentPrice: Rule(ErrorCode.NO_OPPONENT_PRICE),
    d.InvalidTakeProfit: Rule(ErrorCode.TP_PRICE, _bound),
    d.InvalidStopLoss: Rule(ErrorCode.SL_PRICE, _bound),
    d.InsufficientMargin: Rule(ErrorCode.INSUFFICIENT_MARGIN),
    d.PositionNotFound: Rule(ErrorCode.POSITION_NOT_EXIST),
    # HTX has no documented code for a killed FOK order: 1040 with a text of our own [INF]
    d.OrderNotFillable: Rule(
        ErrorCode.AMOUNT_INVALID,
        text="The fill-or-kill order could not be filled completely and was cancelled.",
    ),
    d.InvalidOrderTransition: Rule(ErrorCode.SYSTEM_ERROR),
    d.CloseAboveHolding: Rule(ErrorCode.INSUFFICIENT_CLOSE),
    d.OrderNotFound: Rule(ErrorCode.ORDER_NOT_EXIST),
    # HTX cancels a post-only order that would take; copytrade refuses it up front [INF]
    d.PostOnlyWouldTake: Rule(
        ErrorCode.ILLEGAL_PARAM, text="Illegal parameter price: a post-only order would take."
    ),
    d.IllegalParameter: Rule(ErrorCode.ILLEGAL_PARAM, lambda e: (e.name,)),
    d.TriggerMissing: Rule(ErrorCode.EMPTY_PARAM, lambda e: (e.name,)),
    d.LeverChangeBlocked: Rule(ErrorCode.LEVER_OPEN_ORDERS),
    d.NoIsolatedPosition: Rule(ErrorCode.NO_MARGIN_POSITION),
    d.InvalidTransferType: Rule(ErrorCode.TRANSFER_TYPE),
    d.InvalidTransferAmount: Rule(ErrorCode.TRANSFER_AMOUNT),
    d.TransferPrecision: Rule(ErrorCode.TRANSFER_PRECISION),
    d.UnknownCurrency: Rule(ErrorCode.CURRENCY_NOT_EXIST),
    d.InsufficientTransferable: Rule(ErrorCode.INSUFFICIENT_TRANSFER),
    d.UnknownFollower: Rule(ErrorCode.ILLEGAL_PARAM, lambda e: ("follower_uid",)),
    d.InvalidFollowSettings: Rule(ErrorCode.ILLEGAL_PARAM, lambda e: (e.field,)),
    # v1 traders are hedge-only: HTX's 1503 "The trader only supports the two-way position
    # mode." (spec htx-copytrading.md §7.2/§7.3; 1507 is the follower-side variant)
    d.OneWayPositionMode: Rule(ErrorCode.TWO_WAY_ONLY),
    UnknownUser: Rule(ErrorCode.USER_LOCKED),
    InvalidFollow: Rule(ErrorCode.ILLEGAL_PARAM, lambda e: ("follower_uid",)),
    NotFollowing: Rule(ErrorCode.ILLEGAL_PARAM, lambda e: ("follower_uid",)),
    InvalidMark: Rule(ErrorCode.ILLEGAL_PARAM, lambda e: ("price",)),
}

_UNMAPPED = Rule(ErrorCode.SYSTEM_ERROR)


def domain_error_reply(error: d.DomainError) -> tuple[int, str]:
    """Return HTX's ``(code, msg)`` for a domain error (its nearest mapped class decides)."""
    for cls in type(error).__mro__:
        rule = CATALOGUE.get(cls)
        if rule is not None:
            return rule.reply(error)
    return _UNMAPPED.reply(error)


def mapped_error_types() -> frozenset[type[d.DomainError]]:
    """Return every domain error class the map covers (a test checks none is missing)."""
    return frozenset(CATALOGUE)
