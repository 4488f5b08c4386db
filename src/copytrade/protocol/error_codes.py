"""HTX error-code catalogue (spec §3.8 and §4.4): each code once, with its message.

:class:`ErrorCode` is the one table of code and default message (``{n}`` placeholders filled by
:func:`message`). Which exception answers with which code is mapped in one place on each side:
the server's ``copytrade.api.errors`` (domain errors) and the SDK's ``copytrade.client.errors``.
"""

from __future__ import annotations

import enum


class ErrorCode(enum.IntEnum):
    """Error codes this family emits (and the SDK maps), each with HTX's message text."""

    message: str
    bare: str

    def __new__(cls, code: int, text: str, bare: str | None = None) -> ErrorCode:
        """Make a member whose value is ``code`` and whose ``message`` is ``text``.

        ``bare`` is the message when no values for ``text``'s ``{n}`` placeholders are known
        (a template must never reach a client unfilled); it defaults to ``text``.
        """
        member = int.__new__(cls, code)
        member._value_ = code
        member.message = text
        member.bare = text if bare is None else bare
        return member

    def text(self, *args: object) -> str:
        """Return the message with its ``{n}`` placeholders filled from ``args``.

        Without ``args`` the bare message: never a template with ``{n}`` left in it.
        """
        return self.message.format(*args) if args else self.bare

    VERIFICATION = 403, "Verification failure"
    NOT_FOUND = 404, "Not Found"
    METHOD_NOT_ALLOWED = 405, "Method Not Allowed"
    SYSTEM_ERROR = 1000, "System error."
    SYSTEM_BUSY = 1004, "System busy. Please try again later."
    SYMBOL_NOT_EXIST = 1013, "This contract symbol doesn't exist."
    CONTRACT_NOT_EXIST = 1014, "This contract doesn't exist."
    NO_OPPONENT_PRICE = 1016, "The bid/ask price does not exist. Please input the price."
    ORDER_NOT_EXIST = 1017, "Order doesn't exist."
    INPUT_ERROR = 1030, "Input error."
    RATE_LIMITED = 1032, "Maximum number of access attempts exceeded."
    ORDER_PRICE_TYPE = 1034, "Order quotation type value error."
    ORDER_DIRECTION = 1035, "Order side value error."
    LEVER_INVALID = 1037, "The leverage is invalid. Please contact the customer service."
    PRICE_PRECISION = 1038, "The price has exceeded the precision limit."
    PRICE_BAND = (
        1039,
        "Buy price must be lower than {0}{1}. Sell price must be higher than {2}{3}.",
        "The price is outside the price band.",
    )
    AMOUNT_INVALID = (
        1040,
        "The amount cannot be left empty or smaller than the value of one contract.",
    )
    AMOUNT_LIMIT = (
        1041,
        "The amount has exceeded the limit ({0} Cont).",
        "The amount has exceeded the limit.",
    )
    LEVER_OPEN_ORDERS = 1045, "Unable to change leverage due to open orders."
    POSITION_NOT_EXIST = 1046, "The position for this contract does not exist."
    INSUFFICIENT_MARGIN = 1047, "Insufficient margin available."
    INSUFFICIENT_CLOSE = 1048, "Insufficient open positions to be closed."
    SETTLING = 1056, "Settling. Unable to place/cancel orders currently."
    EMPTY_PARAM = 1066, "{0} cannot be empty.", "A required parameter cannot be empty."
    ILLEGAL_PARAM = 1067, "Illegal parameter {0}.", "Illegal parameter."
    LIQUIDATING = (
        1083,
        "Your position has been taken over for liquidation. Unable to place orders now.",
    )
    MARGIN_RATIO = 1090, "Cannot place this order as the margin ratio is ≥ 100%."
    LEVER_EMPTY = 1094, "Leverage cannot be empty."
    NO_PERMISSION = 1205, "You have no access permissions."
    INSUFFICIENT_TRANSFER = 1301, "Insufficient transferable amount."
    ACCOUNT_NOT_OPENED = (
        1220,
        "You don't have access permission as you have not opened contracts trading.",
    )
    TRANSFER_TYPE = 1315, "Wrong transfer type."
    TRANSFER_AMOUNT = 1322, "Invalid amount. Must be more than 0."
    TRANSFER_PRECISION = 1331, "Exceeds limit of transfer accuracy (8 digits)."
    CROSS_NOT_SUPPORTED = 1348, "This contract does not support cross margin mode."
    LEVER_MISMATCH = (
        1349,
        "The leverage for new orders does not match current positions. Please change the leverage.",
    )
    TP_PRICE = (
        1405,
        "The take-profit price shall not be {0}{1}{2}",
        "The take-profit price is on the wrong side of the latest price.",
    )
    SL_PRICE = (
        1407,
        "The stop-loss price shall not be {0}{1}{2}",
        "The stop-loss price is on the wrong side of the latest price.",
    )
    PAIR_NOT_ALLOWED = (
        1505,
        "After becoming a trader, only the following trading pairs are allowed to trade:{0}",
        "After becoming a trader, only the copy-enabled trading pairs are allowed to trade.",
    )
    # v1 traders are hedge-only (spec htx-copytrading.md §7.2, §7.3): v1 place_order on an
    # account v5 switched to one-way mode answers this
    TWO_WAY_ONLY = 1503, "The trader only supports the two-way position mode."
    COPY_TRADING_ACTIVE = (
        1508,
        "You are using Copy Trading right now. You will have to exit Copy Trading (and "
        "unfollow your Copied Trader) before you can start trading futures.",
    )
    NO_MARGIN_POSITION = 4006, "No margin can be increased or decreased without a position"
    CURRENCY_NOT_EXIST = 10000, "Currency does not exist"
    TIMESTAMP_INVALID = 12001, "Invalid submission time."
    SIGNATURE_VERSION = 12002, "Incorrect signature version."
    SIGNATURE_METHOD = 12003, "Incorrect signature method."
    IP_ERROR = 12005, "IP address error"
    TIMESTAMP_EMPTY = 12006, "The submission time cannot be left blank."
    SIGNATURE_REPLAYED = 12008, "Verification failed."
    USER_LOCKED = 12009, "User has been locked or does not exist."


INCORRECT_ACCESS_KEY = "Incorrect Access key"
"""The 403 text for an unknown or disabled access key (403 says "Verification failure" else)."""
NO_KEY_PERMISSION = "API key has no permission"
"""The gateway's 1205 text (v5/v6): ccxt raises PermissionDenied on this exact phrase."""

_BY_CODE: dict[int, ErrorCode] = {c.value: c for c in ErrorCode}


def message(code: int, *args: object) -> str:
    """Return HTX's message for ``code`` with ``{n}`` placeholders filled from ``args``."""
    return _BY_CODE.get(code, ErrorCode.SYSTEM_ERROR).text(*args)
