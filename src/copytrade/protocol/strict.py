"""Strict parsing of untrusted numbers, enums and JSON nesting: pure functions, no I/O.

One place decides what a number on the wire may look like, so that nothing malformed reaches
``int()``, ``Decimal()`` or a database driver:

* integers: a JSON integer or an ASCII string ``-?[0-9]{1,19}`` (no ``+``, no ``--1``, no
  ``1_000``, no blanks, no Unicode digits), within the caller's bounds (64-bit by default);
* decimals: a JSON number or an ASCII string ``[+-]?digits[.digits]`` of at most
  :data:`MAX_DECIMAL_CHARS` characters (no exponent, NaN or Infinity), below ``10**18``;
* enums: an exact value looked up in a dict of members;
* JSON nesting: :func:`json_too_deep` tells, cheaply, whether a document nests deeper than a
  limit, before a recursive decoder sees it.

Each parser raises :class:`MalformedValue` (the text is not a number of that kind: HTX answers
1030) or :class:`OutOfRange` (a well-formed number outside its bounds: HTX answers 1067). Both
subclass ``ValueError``. The admin API can map both to a 400 naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import TypeVar

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
MAX_DECIMAL = Decimal(10) ** 18
MAX_DECIMAL_CHARS = 64
MAX_JSON_DEPTH = 32
MAX_ACCESS_KEY_CHARS = 128

_INT_TEXT = re.compile(r"-?[0-9]+")
_INT64_CHARS = 20  # "-9223372036854775808"
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_ACCESS_KEY = re.compile(r"[A-Za-z0-9_.~-]+")
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_E = TypeVar("_E")


class MalformedValue(ValueError):
    """The value is not a well-formed number (or member) of the expected kind."""


class OutOfRange(ValueError):
    """The value is a well-formed number outside the accepted bounds."""


def parse_int(value: object, *, minimum: int = INT64_MIN, maximum: int = INT64_MAX) -> int:
    """Return an integer given as a JSON integer or a plain decimal string.

    Args:
        value: a decoded JSON value or a query-string value.
        minimum: smallest accepted value (inclusive).
        maximum: largest accepted value (inclusive).

    Raises:
        MalformedValue: ``value`` is a bool, a float, ``"--1"``, ``"+1"``, ``"1.0"``, ``"1e3"``,
            ``" 1"``, ``"１"``, or anything else that is not an integer.
        OutOfRange: the integer is outside ``[minimum, maximum]`` (a string of more than 20
            characters is, without being converted).
    """
    if isinstance(value, bool):
        raise MalformedValue(value)
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and _INT_TEXT.fullmatch(value):
        if len(value) > _INT64_CHARS:  # well-formed, too wide for 64 bits: no int() of it
            raise OutOfRange(value)
        number = int(value)
    else:
        raise MalformedValue(value)
    if not minimum <= number <= maximum:
        raise OutOfRange(number)
    return number


def parse_decimal_text(text: str) -> Decimal:
    """Return a plain decimal string as a ``Decimal``; refuse exponents and oversize text.

    Raises:
        MalformedValue: not ``[+-]?digits[.digits]`` in ASCII, or longer than
            :data:`MAX_DECIMAL_CHARS`.
    """
    if len(text) > MAX_DECIMAL_CHARS or not _DECIMAL_TEXT.fullmatch(text):
        raise MalformedValue(text)
    return Decimal(text)


def parse_decimal(
    value: object, *, minimum: Decimal | None = None, maximum: Decimal | None = None
) -> Decimal:
    """Return a decimal given as a JSON number (int or ``Decimal``) or a plain decimal string.

    Magnitudes of ``10**18`` and more are refused whatever the bounds: no price, amount or
    balance is that large, and exact arithmetic on them would overflow the decimal context.

    Args:
        value: a decoded JSON value (floats must have been decoded as ``Decimal``) or text.
        minimum: smallest accepted value (inclusive), if any.
        maximum: largest accepted value (inclusive), if any.

    Raises:
        MalformedValue: a bool, a float, an exponent, NaN, Infinity, blanks, an empty string.
        OutOfRange: ``|value| >= 10**18`` or outside ``[minimum, maximum]``.
    """
    if isinstance(value, bool):
        raise MalformedValue(value)
    if isinstance(value, str):
        number = parse_decimal_text(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise MalformedValue(value)
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    else:
        raise MalformedValue(value)
    if abs(number) >= MAX_DECIMAL:
        raise OutOfRange(value)
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise OutOfRange(value)
    return number


def parse_member(members: Mapping[object, _E], value: object) -> _E:
    """Return ``members[value]`` for an exact (hashable, not bool) value.

    Raises:
        MalformedValue: ``value`` is not one of the members' keys.
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MalformedValue(value)
    try:
        return members[value]
    except KeyError:
        raise MalformedValue(value) from None


def is_access_key(text: str) -> bool:
    """Return whether ``text`` can be an access key: 1-128 RFC 3986 unreserved characters.

    Keys the server issues are hex with dashes; anything else (a NUL, a quote, 64 KB of text)
    is refused before it reaches a key cache or a database driver.
    """
    return 0 < len(text) <= MAX_ACCESS_KEY_CHARS and _ACCESS_KEY.fullmatch(text) is not None


def json_too_deep(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Return whether the JSON text ``raw`` nests arrays and objects deeper than ``limit``.

    Cheap on ordinary bodies: brackets are only walked when there are more than ``limit``
    opening brackets in all, and brackets inside strings do not count.
    """
    if raw.count(b"{") + raw.count(b"[") <= limit:
        return False
    depth = 0
    for char in _STRING.sub(b"", raw):
        if char in (0x7B, 0x5B):  # { [
            depth += 1
            if depth > limit:
                return True
        elif char in (0x7D, 0x5D):  # } ]
            depth -= 1
    return False
