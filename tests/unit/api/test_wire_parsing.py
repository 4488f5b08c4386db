"""The wire layer's value parsing (spec §2.3): exact decimals, strict integers, bounded paging."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from copytrade.api.routes import parse_page
from copytrade.api.wire import WireError, decimal_field, int_field, parse_body

NOW = 1_719_300_000_000


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("61000.5", Decimal("61000.5")),
        (Decimal("0.001"), Decimal("0.001")),
        (3, Decimal(3)),
        ("-2", Decimal(-2)),
        ("999999999999999999.99", Decimal("999999999999999999.99")),
    ],
)
def test_decimal_field_accepts_numbers_and_decimal_strings_exactly(
    value: Any, expected: Decimal
) -> None:
    parsed = decimal_field(value, "price")
    assert parsed == expected
    assert isinstance(parsed, Decimal)


@pytest.mark.parametrize(
    "value",
    ["1e3", "NaN", "Infinity", "", " ", "1,5", "0x10", True, None, [1], {"v": 1}, 1.5,
     Decimal("NaN"), Decimal("Infinity"), "1" + "0" * 18, 10**18, "-" + "9" * 30],
)  # fmt: skip
def test_decimal_field_refuses_anything_else_with_1030(value: Any) -> None:
    with pytest.raises(WireError) as refused:
        decimal_field(value, "price")
    assert (refused.value.code, refused.value.arg) == (1030, "price")


@pytest.mark.parametrize(("value", "expected"), [(5, 5), ("5", 5), ("-3", -3), ("007", 7)])
def test_int_field_accepts_integers_and_digit_strings(value: Any, expected: int) -> None:
    assert int_field(value, "lever") == expected


@pytest.mark.parametrize("value", ["5.0", Decimal("5.0"), "", "five", True, None, "５"])
def test_int_field_refuses_anything_else_with_1030(value: Any) -> None:
    with pytest.raises(WireError) as refused:
        int_field(value, "lever")
    assert refused.value.code == 1030


def test_parse_body_reads_numbers_as_decimals_and_an_empty_body_as_an_empty_object() -> None:
    assert parse_body(b"") == {}
    assert parse_body(b"  \n") == {}
    assert parse_body(b'{"price": 0.1, "lever": 5}') == {"price": Decimal("0.1"), "lever": 5}


@pytest.mark.parametrize(
    "raw", [b"[]", b"null", b"1", b'"x"', b"{", b'{"a": NaN}', b'{"a": -Infinity}', b'{"a": 1e2}']
)
def test_parse_body_refuses_what_is_not_a_plain_json_object(raw: bytes) -> None:
    with pytest.raises(WireError) as refused:
        parse_body(raw)
    assert refused.value.code == 1030


def test_parse_page_defaults_to_the_newest_hundred_of_the_last_ninety_days() -> None:
    page = parse_page({}, NOW)
    assert (page.limit, page.start_time, page.end_time) == (100, NOW - 90 * 86_400_000, NOW)
    assert page.from_id is None
    assert page.ascending is False


@pytest.mark.parametrize("name", ["from_id", "start_time", "end_time", "limit"])
@pytest.mark.parametrize("value", [str(2**63), str(-(2**63) - 1), "9" * 40])
def test_parse_page_refuses_numbers_wider_than_64_bits_with_1067(name: str, value: str) -> None:
    with pytest.raises(WireError) as refused:
        parse_page({name: value}, NOW)
    assert (refused.value.code, refused.value.arg) == (1067, name)


def test_parse_page_accepts_the_largest_64_bit_id() -> None:
    assert parse_page({"from_id": str(2**63 - 1)}, NOW).from_id == 2**63 - 1
