"""The one strict parser of untrusted integers, decimals, enums and JSON nesting."""

from __future__ import annotations

from decimal import Decimal

import pytest

from copytrade.protocol.strict import (
    MalformedValue,
    OutOfRange,
    is_access_key,
    json_too_deep,
    parse_decimal,
    parse_int,
    parse_member,
)


@pytest.mark.parametrize(
    "value", ["--1", "+1", "-", "", " 1", "1 ", "1.0", "1e3", "1_000", "０", "²", True, 1.0, None]
)
def test_malformed_integers_are_refused_before_int(value: object) -> None:
    with pytest.raises(MalformedValue):
        parse_int(value)


@pytest.mark.parametrize("value", ["9223372036854775808", "1" * 5000, 2**63, -(2**63) - 1])
def test_integers_beyond_64_bits_are_out_of_range(value: object) -> None:
    with pytest.raises(OutOfRange):
        parse_int(value)


def test_integers_within_bounds_parse() -> None:
    assert parse_int("-9223372036854775808") == -(2**63)
    assert parse_int(" 7".strip()) == 7
    assert parse_int("10", minimum=1, maximum=10) == 10
    with pytest.raises(OutOfRange):
        parse_int("11", minimum=1, maximum=10)


@pytest.mark.parametrize(
    "value",
    [
        "--1",
        "1e3",
        "1E3",
        "NaN",
        "Infinity",
        "",
        " 1",
        "1..2",
        "0x10",
        "１",
        True,
        1.5,
        Decimal("NaN"),
    ],
)
def test_malformed_decimals_are_refused(value: object) -> None:
    with pytest.raises(MalformedValue):
        parse_decimal(value)


def test_decimal_text_is_bounded_in_length_and_magnitude() -> None:
    with pytest.raises(MalformedValue):
        parse_decimal("0." + "0" * 100 + "1")
    with pytest.raises(OutOfRange):
        parse_decimal("1000000000000000000")
    with pytest.raises(OutOfRange):
        parse_decimal("5", maximum=Decimal(4))
    assert parse_decimal("-0.5") == Decimal("-0.5")
    assert parse_decimal(".5") == Decimal("0.5")
    assert parse_decimal(12) == Decimal(12)


def test_enum_members_are_exact() -> None:
    members = {"cross": 1, "isolated": 2}
    assert parse_member(members, "cross") == 1
    for value in ("Cross", "cross ", True, None, ["cross"]):
        with pytest.raises(MalformedValue):
            parse_member(members, value)


def test_json_nesting_is_measured_outside_strings() -> None:
    assert json_too_deep(b'{"a":' * 5000)
    assert json_too_deep(b"[" * 33 + b"]" * 33)
    assert not json_too_deep(b"[" * 32 + b"]" * 32)
    assert not json_too_deep(b'{"a":"' + b"{[" * 1000 + b'"}')
    assert not json_too_deep(b'{"a":"\\"' + b"{" * 1000 + b'"}')


def test_access_keys_are_unreserved_characters_of_bounded_length() -> None:
    assert is_access_key("e2xxxxxx-99xxxxxx-84xxxxxx-7xxxx")
    assert is_access_key("demo-access-key")
    for bad in ("", "x\x00", "x'", "a b", "k" * 129, "ключ"):
        assert not is_access_key(bad)
