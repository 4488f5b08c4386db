"""The request line: the fast writer and the ``logging`` path print the same line."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from copytrade.api import logs
from copytrade.api.logs import ACCESS_LOGGER, configure_logging
from copytrade.api.observe import (
    _log_admin,
    _log_request,
    access_key_of,
    reply_code,
    reply_tid,
)

SCOPE = {
    "method": "POST",
    "path": "/copytrading/trader/place_order",
    "query_string": b"AccessKeyId=ak%2D1&SignatureMethod=HmacSHA256&Signature=c2VjcmV0",
}
OK = b'{"code":200,"data":{"tid":"inner"},"tid":"07402081290f14b2d6c891b1b1aee91c","success":true}'
REFUSED = b'{"code":1047,"msg":"Insufficient margin.","data":null,"tid":"aa","success":false}'


@pytest.fixture
def stderr() -> Iterator[io.StringIO]:
    """A buffer for a fresh logging set-up; the test process's is put back afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger(ACCESS_LOGGER).level, logs._sink[0])
    buffer = io.StringIO()
    yield buffer
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    logging.getLogger(ACCESS_LOGGER).setLevel(saved[2])
    logs._sink[0] = saved[3]


def _lines(fmt: str, stderr: io.StringIO, body: bytes, code: bytes) -> tuple[str, str]:
    # set in the test's body: pytest's capture puts its own sys.stderr back after fixtures
    real, sys.stderr = sys.stderr, stderr
    try:
        configure_logging("info", fmt, access_log=True)  # the handler keeps this stream
    finally:
        sys.stderr = real
    access = logging.getLogger(ACCESS_LOGGER)
    _log_request(access, SCOPE, body, code, 0.0012345, lambda key: 7 if key == "ak-1" else None)
    access.addFilter(lambda record: True)  # a filter of its own: the logging path is taken
    try:
        _log_request(access, SCOPE, body, code, 0.0012345, lambda k: 7)
    finally:
        access.filters.clear()
    fast, slow = stderr.getvalue().splitlines()
    return fast, slow


@pytest.mark.parametrize(("body", "code"), [(OK, b"200"), (REFUSED, b"1047")])
def test_plain_lines_are_the_same_either_way(stderr: io.StringIO, body: bytes, code: bytes) -> None:
    fast, slow = _lines("plain", stderr, body, code)
    assert fast.split(" ", 1)[1] == slow.split(" ", 1)[1]  # all but the timestamp
    assert " INFO copytrade.access: POST /copytrading/trader/place_order uid=7 " in fast
    assert "1.234ms" in fast
    assert "Signature" not in fast
    assert "c2VjcmV0" not in fast


def test_json_lines_are_the_same_either_way(stderr: io.StringIO) -> None:
    fast, slow = (json.loads(line) for line in _lines("json", stderr, REFUSED, b"1047"))
    fast.pop("ts")
    slow.pop("ts")
    assert fast == slow
    assert fast["error"] == "Insufficient margin."
    assert fast["code"] == 1047
    assert fast["uid"] == 7


def test_the_envelope_is_read_from_the_bytes_sent() -> None:
    assert reply_code(OK) == b"200"
    assert reply_code(b"not json") == b"-"
    assert reply_tid(OK) == "07402081290f14b2d6c891b1b1aee91c"  # the envelope's, not data's
    assert access_key_of(SCOPE["query_string"]) == "ak-1"  # type: ignore[arg-type]
    assert access_key_of(b"XAccessKeyId=x") is None


ADMIN = {"method": "POST", "path": "/_sim/users", "query_string": b"token=do-not-log"}


@pytest.mark.parametrize("fmt", ["plain", "json"])
def test_an_admin_line_is_the_same_either_way_and_has_no_query(
    stderr: io.StringIO, fmt: str
) -> None:
    real, sys.stderr = sys.stderr, stderr
    try:
        configure_logging("info", fmt, access_log=True)
    finally:
        sys.stderr = real
    access = logging.getLogger(ACCESS_LOGGER)
    _log_admin(access, ADMIN, 201, 0.0012345)
    access.addFilter(lambda record: True)  # the logging path
    try:
        _log_admin(access, ADMIN, 201, 0.0012345)
    finally:
        access.filters.clear()
    fast, slow = stderr.getvalue().splitlines()
    assert "do-not-log" not in fast + slow
    if fmt == "plain":
        assert fast.split(" ", 1)[1] == slow.split(" ", 1)[1]
        assert fast.endswith("INFO copytrade.access: POST /_sim/users status=201 1.234ms admin")
        return
    one, two = json.loads(fast), json.loads(slow)
    one.pop("ts")
    two.pop("ts")
    assert one == two
    assert (one["method"], one["path"], one["status"], one["admin"]) == (
        "POST",
        "/_sim/users",
        201,
        True,
    )
