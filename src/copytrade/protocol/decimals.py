"""Decimal formatting and parsing rules of the wire (spec §2.3, §2.4). Never floats."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, InvalidOperation

_Q18 = Decimal("1e-18")
_ZERO = Decimal(0)


def fmt(value: Decimal) -> str:
    """Print an amount exactly, no exponent and no trailing zeros (``"2.994"``, ``"0"``)."""
    if value == _ZERO:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def fmt_trunc18(value: Decimal) -> str:
    """Truncate toward zero at 18 decimals, then strip trailing zeros (ratios, computed prices)."""
    return fmt(value.quantize(_Q18, rounding=ROUND_DOWN))


def fmt_fixed18(value: Decimal) -> str:
    """Print with exactly 18 decimals (``open_orders.volume``: ``"10.000000000000000000"``)."""
    return format(value.quantize(_Q18, rounding=ROUND_DOWN), "f")


def parse_decimal_text(text: str) -> Decimal | None:
    """Parse a plain decimal string (digits, optional sign and point); ``None`` if not one.

    Exponents, NaN, Infinity, blanks and empty strings are refused.
    """
    if not text or not text.isascii():
        return None
    body = text[1:] if text[0] in "+-" else text
    if not body or body.count(".") > 1:
        return None
    digits = body.replace(".", "", 1)
    if not digits or not digits.isdigit():
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None
