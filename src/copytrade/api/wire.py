"""Request parsing per spec §2.3: lenient types, exact decimals, HTX error codes."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, TypeVar

from copytrade.domain.enums import MarginMode, OrderDirection, OrderPriceType, PositionSide
from copytrade.domain.errors import DomainError, UnknownCurrency
from copytrade.domain.funds import check_amount
from copytrade.protocol import strict
from copytrade.protocol.error_codes import ErrorCode
from copytrade.protocol.strict import MAX_DECIMAL, MalformedValue, OutOfRange

__all__ = ["MAX_DECIMAL", "WireError"]


class WireError(Exception):
    """A request the wire layer refuses: an HTX code and the message's argument."""

    def __init__(self, code: int, arg: str | None = None) -> None:
        super().__init__(code, arg)
        self.code = code
        self.arg = arg


def _parse_float(text: str) -> Decimal:
    return strict.parse_decimal_text(text)  # MalformedValue (a ValueError) on an exponent


def _refuse_constant(text: str) -> Any:
    raise ValueError(text)


# built once: ``json.loads`` with options builds a new decoder per call
_decoder = json.JSONDecoder(parse_float=_parse_float, parse_constant=_refuse_constant)


def parse_body(raw: bytes) -> dict[str, Any]:
    """Decode a POST body: one JSON object (empty body = ``{}``), numbers as Decimal."""
    if not raw.strip():
        return {}
    if strict.json_too_deep(raw):  # the decoder recurses: refuse deep nesting before it does
        raise WireError(ErrorCode.INPUT_ERROR)
    try:
        # as json.loads does with bytes: UTF-8, or UTF-16/32 found by their first bytes
        # ('{' then a non-zero byte is UTF-8 there: the usual body, decided without the scan)
        utf8 = raw[:1] == b"{" and raw[1:2] != b"\x00"
        encoding = "utf-8" if utf8 else json.detect_encoding(raw)
        body = _decoder.decode(raw.decode(encoding, "surrogatepass"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise WireError(ErrorCode.INPUT_ERROR) from exc
    if not isinstance(body, dict):
        raise WireError(ErrorCode.INPUT_ERROR)
    return body


# Enum members by wire value: a dict lookup costs a fraction of ``Enum(value)``.
_MARGIN_MODES = {m.value: m for m in MarginMode}
_POSITION_SIDES = {m.value: m for m in PositionSide}
_PRICE_TYPES = {m.value: m for m in OrderPriceType}
_DIRECTIONS = {m.value: m for m in OrderDirection}
_E = TypeVar("_E")


def _member(members: dict[Any, _E], value: Any) -> _E | None:
    """Return the member whose value is exactly ``value`` (a JSON string), else ``None``."""
    return members.get(value) if isinstance(value, str) else None


def _present(params: dict[str, Any], name: str) -> Any:
    value = params.get(name)
    if value is None or value == "":
        return None
    return value


def required(params: dict[str, Any], name: str, code: int = ErrorCode.EMPTY_PARAM) -> Any:
    """Return a present parameter or raise ``1066 {name} cannot be empty.``."""
    value = _present(params, name)
    if value is None:
        raise WireError(code, name)
    return value


def decimal_field(value: Any, name: str) -> Decimal:
    """Parse a decimal given as a JSON number or a plain decimal string (1030 otherwise).

    Magnitudes of 10^18 and more are refused too (:func:`copytrade.protocol.strict.parse_decimal`).
    """
    try:
        return strict.parse_decimal(value)
    except ValueError as exc:  # malformed or out of range: HTX says "Input error."
        raise WireError(ErrorCode.INPUT_ERROR, name) from exc


def optional_decimal(params: dict[str, Any], name: str) -> Decimal | None:
    """Parse an optional decimal field."""
    value = _present(params, name)
    return None if value is None else decimal_field(value, name)


def int_field(
    value: Any,
    name: str,
    minimum: int = strict.INT64_MIN,
    maximum: int = strict.INT64_MAX,
) -> int:
    """Parse an integer given as a JSON integer or a string of digits.

    ``5.0``, ``--1``, ``+1`` and blanks are malformed (1030); a well-formed integer outside
    ``[minimum, maximum]`` (64-bit by default) is an illegal value (1067).
    """
    try:
        return strict.parse_int(value, minimum=minimum, maximum=maximum)
    except MalformedValue as exc:
        raise WireError(ErrorCode.INPUT_ERROR, name) from exc
    except OutOfRange as exc:
        raise WireError(ErrorCode.ILLEGAL_PARAM, name) from exc


def id_field(value: Any, name: str) -> str:
    """Return an id given as a string or an integer, as a string."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise WireError(ErrorCode.INPUT_ERROR, name)
    return str(value)


def contract_code(params: dict[str, Any]) -> str:
    """Return ``contract_code`` upper-cased (case-insensitive on input)."""
    value = required(params, "contract_code")
    if not isinstance(value, str):
        raise WireError(ErrorCode.INPUT_ERROR, "contract_code")
    return value.upper()


def margin_mode(params: dict[str, Any]) -> MarginMode:
    """Return ``margin_mode`` (exact lower case, 1067 otherwise)."""
    member = _member(_MARGIN_MODES, required(params, "margin_mode"))
    if member is None:
        raise WireError(ErrorCode.ILLEGAL_PARAM, "margin_mode")
    return member


def position_side(params: dict[str, Any]) -> PositionSide:
    """Return ``position_side`` (exact lower case, 1067 otherwise)."""
    member = _member(_POSITION_SIDES, required(params, "position_side"))
    if member is None:
        raise WireError(ErrorCode.ILLEGAL_PARAM, "position_side")
    return member


def _code(params: dict[str, Any], name: str, members: dict[int, _E], code: int) -> _E:
    """Return the member for an integer code: not an integer 1030, not a member ``code``."""
    try:
        number = strict.parse_int(required(params, name))
    except OutOfRange as exc:
        raise WireError(code) from exc
    except MalformedValue as exc:
        raise WireError(ErrorCode.INPUT_ERROR, name) from exc
    member = members.get(number)
    if member is None:
        raise WireError(code)
    return member


def order_price_type(params: dict[str, Any]) -> OrderPriceType:
    """Return ``order_price_type`` (1034 when not an accepted code)."""
    return _code(params, "order_price_type", _PRICE_TYPES, ErrorCode.ORDER_PRICE_TYPE)


def order_direction(params: dict[str, Any]) -> OrderDirection:
    """Return ``order_direction`` (1035 when not 1 or 2)."""
    return _code(params, "order_direction", _DIRECTIONS, ErrorCode.ORDER_DIRECTION)


def lever(params: dict[str, Any]) -> int:
    """Return ``lever`` (1094 when missing; an integer beyond 64 bits is an invalid lever, 1037)."""
    try:
        return strict.parse_int(required(params, "lever", ErrorCode.LEVER_EMPTY))
    except OutOfRange as exc:
        raise WireError(ErrorCode.LEVER_INVALID) from exc
    except MalformedValue as exc:
        raise WireError(ErrorCode.INPUT_ERROR, "lever") from exc


def transfer_fields(
    params: dict[str, Any], amount_name: str, currency_name: str, default: str | None = None
) -> tuple[Decimal, str]:
    """Return a transfer's amount and currency, each refused as 1067 naming its parameter.

    For the v6 and ``/v2`` transfers, whose families answer every bad parameter with 1067
    ``Illegal parameter {name}.``: the domain's own checks (:func:`check_amount`) decide, and
    only the parameter named changes. A missing ``currency_name`` is ``default`` when given.
    """
    currency = _present(params, currency_name)
    if currency is None:
        currency = default if default is not None else required(params, currency_name)
    if not isinstance(currency, str):
        raise WireError(ErrorCode.ILLEGAL_PARAM, currency_name)
    amount = decimal_field(required(params, amount_name), amount_name)
    try:
        check_amount(currency, amount)
    except UnknownCurrency:
        raise WireError(ErrorCode.ILLEGAL_PARAM, currency_name) from None
    except DomainError:  # amount ≤ 0 or finer than 8 places
        raise WireError(ErrorCode.ILLEGAL_PARAM, amount_name) from None
    return amount, currency
