"""HTX error-code catalogue (spec §3.8 and §4.4): code -> default message."""

from __future__ import annotations

import enum


class ErrorCode(enum.IntEnum):
    """Error codes this family emits (and the SDK maps)."""

    VERIFICATION = 403
    NOT_FOUND = 404
    METHOD_NOT_ALLOWED = 405
    SYSTEM_ERROR = 1000
    SYSTEM_BUSY = 1004
    CONTRACT_NOT_EXIST = 1014
    NO_OPPONENT_PRICE = 1016
    INPUT_ERROR = 1030
    RATE_LIMITED = 1032
    ORDER_PRICE_TYPE = 1034
    ORDER_DIRECTION = 1035
    LEVER_INVALID = 1037
    PRICE_PRECISION = 1038
    PRICE_BAND = 1039
    AMOUNT_INVALID = 1040
    AMOUNT_LIMIT = 1041
    LEVER_OPEN_ORDERS = 1045
    POSITION_NOT_EXIST = 1046
    INSUFFICIENT_MARGIN = 1047
    INSUFFICIENT_CLOSE = 1048
    SETTLING = 1056
    EMPTY_PARAM = 1066
    ILLEGAL_PARAM = 1067
    LIQUIDATING = 1083
    MARGIN_RATIO = 1090
    LEVER_EMPTY = 1094
    NO_PERMISSION = 1205
    INSUFFICIENT_TRANSFER = 1301
    TRANSFER_TYPE = 1315
    TRANSFER_AMOUNT = 1322
    TRANSFER_PRECISION = 1331
    CROSS_NOT_SUPPORTED = 1348
    LEVER_MISMATCH = 1349
    TP_PRICE = 1405
    SL_PRICE = 1407
    PAIR_NOT_ALLOWED = 1505
    COPY_TRADING_ACTIVE = 1508
    NO_MARGIN_POSITION = 4006
    CURRENCY_NOT_EXIST = 10000
    TIMESTAMP_INVALID = 12001
    SIGNATURE_VERSION = 12002
    SIGNATURE_METHOD = 12003
    IP_ERROR = 12005
    TIMESTAMP_EMPTY = 12006
    SIGNATURE_REPLAYED = 12008
    USER_LOCKED = 12009


MESSAGES: dict[int, str] = {
    403: "Verification failure",
    404: "Not Found",
    405: "Method Not Allowed",
    1000: "System error.",
    1004: "System busy. Please try again later.",
    1014: "This contract doesn't exist.",
    1016: "The bid/ask price does not exist. Please input the price.",
    1030: "Input error.",
    1032: "Maximum number of access attempts exceeded.",
    1034: "Order quotation type value error.",
    1035: "Order side value error.",
    1037: "The leverage is invalid. Please contact the customer service.",
    1038: "The price has exceeded the precision limit.",
    1039: "Buy price must be lower than {0}{1}. Sell price must be higher than {2}{3}.",
    1040: "The amount cannot be left empty or smaller than the value of one contract.",
    1041: "The amount has exceeded the limit ({0} Cont).",
    1045: "Unable to change leverage due to open orders.",
    1046: "The position for this contract does not exist.",
    1047: "Insufficient margin available.",
    1048: "Insufficient open positions to be closed.",
    1056: "Settling. Unable to place/cancel orders currently.",
    1066: "{0} cannot be empty.",
    1067: "Illegal parameter {0}.",
    1083: "Your position has been taken over for liquidation. Unable to place orders now.",
    1090: "Cannot place this order as the margin ratio is ≥ 100%.",
    1094: "Leverage cannot be empty.",
    1205: "You have no access permissions.",
    1301: "Insufficient transferable amount.",
    1315: "Wrong transfer type.",
    1322: "Invalid amount. Must be more than 0.",
    1331: "Exceeds limit of transfer accuracy (8 digits).",
    1348: "This contract does not support cross margin mode.",
    1349: "The leverage for new orders does not match current positions. "
    "Please change the leverage.",
    1405: "The take-profit price shall not be {0}{1}{2}",
    1407: "The stop-loss price shall not be {0}{1}{2}",
    1505: "After becoming a trader, only the following trading pairs are allowed to trade:{0}",
    1508: "You are using Copy Trading right now. You will have to exit Copy Trading (and "
    "unfollow your Copied Trader) before you can start trading futures.",
    4006: "No margin can be increased or decreased without a position",
    10000: "Currency does not exist",
    12001: "Invalid submission time.",
    12002: "Incorrect signature version.",
    12003: "Incorrect signature method.",
    12005: "IP address error",
    12006: "The submission time cannot be left blank.",
    12008: "Verification failed.",
    12009: "User has been locked or does not exist.",
}

INCORRECT_ACCESS_KEY = "Incorrect Access key"


def message(code: int, *args: object) -> str:
    """Return HTX's message for ``code`` with ``{n}`` placeholders filled from ``args``."""
    template = MESSAGES.get(code, "System error.")
    if not args:
        return template
    return template.format(*args)
