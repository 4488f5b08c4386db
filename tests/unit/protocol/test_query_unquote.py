"""Query components decode exactly as RFC 3986 percent-decoding over UTF-8 (urllib's answer).

The server decodes escapes of ASCII characters through a table (a signature's ``%2B``) and
leaves the rest to ``urllib``; whatever the text, the answer and the refusals must be urllib's.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copytrade.protocol import signing
from copytrade.protocol.signing import QueryDecodeError, parse_query

_PIECES = [
    *"%0123456789abcdefABCDEFgz+/=:-_ \x7f",
    "é",  # a raw byte of a latin-1 decoded query
    *("%2B", "%2b", "%2F", "%3D", "%3a", "%7F", "%7f", "%00", "%20"),
    *("%C3%A9", "%E2%82%AC", "%ff", "%80", "%C3"),  # multi-byte and invalid UTF-8
    *("%2", "%G1", "%%", "%-1"),  # malformed escapes
]


def _urllib(text: str) -> str | None:
    """urllib's decoding of ``text``, ``None`` where the server must refuse it."""
    if signing._BAD_ESCAPE.search(text):
        return None
    try:
        return unquote_to_bytes(text).decode()
    except UnicodeDecodeError:
        return None


def _ours(text: str, remember: bool) -> str | None:
    try:
        return signing._unquote_strict(text, remember)
    except QueryDecodeError:
        return None


@given(st.lists(st.sampled_from(_PIECES), max_size=12).map("".join), st.booleans())
def test_a_component_decodes_as_urllib_decodes_it(text: str, remember: bool) -> None:
    assert _ours(text, remember) == _urllib(text)


@pytest.mark.parametrize(
    ("query", "pairs"),
    [
        (
            "Signature=4F65x5A2bLyMWVQcuY3Xo%2B0xsRrmj9aHsWbAK%2F2YaHNQ%3D",
            [("Signature", "4F65x5A2bLyMWVQcuY3Xo+0xsRrmj9aHsWbAK/2YaHNQ=")],
        ),
        ("Timestamp=2024-01-02T03%3a04%3A05", [("Timestamp", "2024-01-02T03:04:05")]),
        ("name=caf%C3%A9%2B", [("name", "café+")]),
    ],
)
def test_a_query_decodes_its_escapes(query: str, pairs: list[tuple[str, str]]) -> None:
    assert parse_query(query) == pairs


@pytest.mark.parametrize("query", ["Signature=ab%2", "Signature=ab%zz", "Signature=%C3", "x=%ff"])
def test_a_malformed_escape_is_refused(query: str) -> None:
    with pytest.raises(QueryDecodeError):
        parse_query(query)
