"""The one map from domain errors to HTX ``code``/``msg`` (spec §4.4)."""

from __future__ import annotations

from collections.abc import Callable

from copytrade.domain import errors as d
from copytrade.protocol.error_codes import ErrorCode, message
from copytrade.service.errors import InvalidFollow, UnknownUser


def _bound(trigger: object, reference: object, above: bool) -> tuple[str, str, str]:
    return ("lower than" if above else "higher than", " the latest price ", str(reference))


_MAP: dict[type[d.DomainError], Callable[[d.DomainError], tuple[int, str]]] = {
    d.UnknownContract: lambda e: (ErrorCode.CONTRACT_NOT_EXIST, message(1014)),
    d.ContractNotCopyEnabled: lambda e: (
        ErrorCode.PAIR_NOT_ALLOWED,
        message(1505, ",".join(e.allowed) if isinstance(e, d.ContractNotCopyEnabled) else ""),
    ),
    d.CrossNotSupported: lambda e: (ErrorCode.CROSS_NOT_SUPPORTED, message(1348)),
    d.InvalidLever: lambda e: (ErrorCode.LEVER_INVALID, message(1037)),
    d.LeverMismatch: lambda e: (ErrorCode.LEVER_MISMATCH, message(1349)),
    d.InvalidPrice: lambda e: (ErrorCode.PRICE_PRECISION, message(1038)),
    d.InvalidAmount: lambda e: (ErrorCode.AMOUNT_INVALID, message(1040)),
    d.AmountAboveLimit: lambda e: (
        ErrorCode.AMOUNT_LIMIT,
        message(1041, e.limit if isinstance(e, d.AmountAboveLimit) else ""),
    ),
    d.NoOpponentPrice: lambda e: (ErrorCode.NO_OPPONENT_PRICE, message(1016)),
    d.InvalidTakeProfit: lambda e: (
        ErrorCode.TP_PRICE,
        message(1405, *_bound(e.trigger, e.reference, e.above))
        if isinstance(e, d.InvalidTakeProfit)
        else message(1405),
    ),
    d.InvalidStopLoss: lambda e: (
        ErrorCode.SL_PRICE,
        message(1407, *_bound(e.trigger, e.reference, e.above))
        if isinstance(e, d.InvalidStopLoss)
        else message(1407),
    ),
    d.InsufficientMargin: lambda e: (ErrorCode.INSUFFICIENT_MARGIN, message(1047)),
    d.PositionNotFound: lambda e: (ErrorCode.POSITION_NOT_EXIST, message(1046)),
    # HTX has no documented code for a killed FOK order; 1040 with an explicit text [INF]
    d.OrderNotFillable: lambda e: (
        ErrorCode.AMOUNT_INVALID,
        "The fill-or-kill order could not be filled completely and was cancelled.",
    ),
    d.InvalidOrderTransition: lambda e: (ErrorCode.SYSTEM_ERROR, message(1000)),
    d.IllegalParameter: lambda e: (
        ErrorCode.ILLEGAL_PARAM,
        message(1067, e.name if isinstance(e, d.IllegalParameter) else ""),
    ),
    d.TriggerMissing: lambda e: (ErrorCode.EMPTY_PARAM, message(1066, "tp_trigger_price")),
    d.LeverChangeBlocked: lambda e: (ErrorCode.LEVER_OPEN_ORDERS, message(1045)),
    d.NoIsolatedPosition: lambda e: (ErrorCode.NO_MARGIN_POSITION, message(4006)),
    d.InvalidTransferType: lambda e: (ErrorCode.TRANSFER_TYPE, message(1315)),
    d.InvalidTransferAmount: lambda e: (ErrorCode.TRANSFER_AMOUNT, message(1322)),
    d.TransferPrecision: lambda e: (ErrorCode.TRANSFER_PRECISION, message(1331)),
    d.UnknownCurrency: lambda e: (ErrorCode.CURRENCY_NOT_EXIST, message(10000)),
    d.InsufficientTransferable: lambda e: (ErrorCode.INSUFFICIENT_TRANSFER, message(1301)),
    d.UnknownFollower: lambda e: (ErrorCode.ILLEGAL_PARAM, message(1067, "follower_uid")),
    d.InvalidFollowSettings: lambda e: (
        ErrorCode.ILLEGAL_PARAM,
        message(1067, e.field if isinstance(e, d.InvalidFollowSettings) else ""),
    ),
    UnknownUser: lambda e: (ErrorCode.USER_LOCKED, message(12009)),
    InvalidFollow: lambda e: (ErrorCode.ILLEGAL_PARAM, message(1067, "follower_uid")),
}


def domain_error_reply(error: d.DomainError) -> tuple[int, str]:
    """Return HTX's (code, msg) for a domain error."""
    for cls in type(error).__mro__:
        handler = _MAP.get(cls)
        if handler is not None:
            return handler(error)
    return ErrorCode.SYSTEM_ERROR, message(1000)


def mapped_error_types() -> frozenset[type[d.DomainError]]:
    """Return every domain error class the map covers (a test checks none is missing)."""
    return frozenset(_MAP)
