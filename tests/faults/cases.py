"""Hypothesis strategies for malformed requests to HTX paths and to the admin API.

A case starts from a well-formed request for its path (so it reaches the deep checks) and applies
a few mutations: fields dropped, replaced by nasty values or added; raw bodies (deep nesting,
other encodings, invalid UTF-8, oversized); other methods, paths, content types and headers; and
on HTX paths every way to sign badly (none, wrong signature, expired, wrong host, unknown or
nasty key, duplicated auth parameters, a read-only key, a follower's key).
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from copytrade.protocol.endpoints import ENDPOINTS, HttpMethod

P = "/copytrading/trader/"
IMPLEMENTED = (
    "place_order",
    "close_order",
    "close_all_position",
    "current_positions",
    "position_positions",
    "position_list",
    "query_followers",
)
BY_NAME = {e.name: e for e in ENDPOINTS}
AUTH_MODES = (
    *("valid",) * 14,
    "unsigned",
    "bad_signature",
    "expired",
    "nasty_timestamp",
    "wrong_host",
    "missing_param",
    "duplicate_param",
    "unknown_key",
    "nasty_key",
    "nasty_method",
    "nasty_version",
    "read_key",
    "follower_key",
    "ed25519",
    "ed25519",
    "ed25519_nasty",
    "nasty_signature",
)
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "FOO")
CONTENT_TYPES = (
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=utf-16",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "",
    "application/json, application/json",
    "\u00e9/\u00e9",
)

NASTY_TEXT = (
    "",
    " ",
    "-1",
    "--1",
    "+-1",
    "+1",
    "- 1",
    "0",
    "-0",
    "00001",
    "1.",
    ".1",
    "1..2",
    "1.2.3",
    "1e5",
    "1E-5",
    "1e999",
    "-1e19",
    "NaN",
    "nan",
    "sNaN",
    "Infinity",
    "-Infinity",
    "inf",
    "0x10",
    "0b1",
    "1_000",
    "１２",
    "٣",
    "²",
    "9" * 30,
    "9" * 400,
    "-" + "9" * 25,
    "0." + "0" * 60 + "1",
    "18446744073709551616",
    "9223372036854775808",
    "9223372036854775807",
    "-9223372036854775809",
    "4294967296",
    "1e19",
    "0.01",
    "0.0001",
    "\x00",
    "x\x00",
    "1\x00",
    "%00",
    "%zz",
    "null",
    "true",
    "[]",
    "{}",
    "é",
    "😀",
    "\u202e",
    "\ufeff1",
    "BTC-USDT",
    "btc-usdt",
    "BTC-USDT ",
    "BTC-USD",
    "ETH-USDT",
    "cross",
    "CROSS",
    "isolated",
    "long",
    "short",
    "both",
    "1",
    "2",
    "17",
    "10",
    " 10",
    "10 ",
    "\t1",
    "1\n",
    "prev",
    "next",
    "<script>",
    "' OR 1=1 --",
    "../../etc/passwd",
    "%s%s%n",
    "{0}{1}",
)
NASTY_INTS = (
    -1,
    0,
    1,
    2,
    17,
    2**31,
    2**32,
    2**53 + 1,
    2**63 - 1,
    2**63,
    2**64,
    -(2**63) - 1,
    10**19,
    10**30,
    10**400,
)


def _long_text() -> st.SearchStrategy[str]:
    chars = st.sampled_from(("9", "a", "%", "é", "-", " ", "0"))
    return st.tuples(chars, st.integers(1_000, 70_000)).map(lambda t: t[0] * t[1])


def nasty_text() -> st.SearchStrategy[str]:
    """Strings that parsers get wrong, some plain random text, and some very long."""
    return st.one_of(
        st.sampled_from(NASTY_TEXT),
        st.text(st.characters(codec="utf-8"), max_size=24),
        st.sampled_from(NASTY_INTS).map(str),
        st.integers(-1000, 1000).map(str),
        st.decimals(allow_nan=True, allow_infinity=True).map(str),
        st.floats().map(repr),
        _long_text(),
    )


def nasty_json() -> st.SearchStrategy[Any]:
    """Any JSON value, weighted to nasty scalars (huge ints, floats, odd strings)."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.sampled_from(NASTY_INTS),
        st.integers(-1000, 1000),
        st.floats(allow_nan=False, allow_infinity=False),
        nasty_text(),
    )
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=6,
    )


@dataclass
class Case:
    """One request to send: where, how it is signed, and what it carries."""

    target: str  # "htx" or "admin" or "raw"
    method: str
    path: str
    params: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    auth: str = "valid"
    nasty: str = ""  # the nasty value an auth mode uses
    raw: bytes = b""  # target "raw": the bytes sent on the socket
    expect: str = ""  # "refused": a corpus case that must not be accepted

    def describe(self, limit: int = 300) -> str:
        """Return a short, printable description (long values cut)."""
        body = self.body if self.body is None or len(self.body) <= 120 else self.body[:120] + b"..."
        params = [(k[:40], v[:60]) for k, v in self.params]
        raw = self.raw[:120]
        text = (
            f"{self.target} {self.method} {self.path[:80]} auth={self.auth} "
            f"nasty={self.nasty[:40]!r} params={params} body={body!r} headers="
            f"{ {k: v[:40] for k, v in self.headers.items()} } raw={raw!r}"
        )
        return text[:limit] if len(text) > limit * 3 else text


# -- well-formed templates ------------------------------------------------------------------
ORDER = {
    "contract_code": "DOT-USDT",
    "amount": "1",
    "margin_mode": "cross",
    "order_price_type": 17,
    "order_direction": 1,
    "lever": 5,
}
HTX_BODIES: dict[str, dict[str, Any]] = {
    "place_order": ORDER,
    "close_order": {"sub_position_id": "1"},
    "close_all_position": {
        "contract_code": "DOT-USDT",
        "margin_mode": "cross",
        "position_side": "long",
    },
}
HTX_PARAMS: dict[str, dict[str, str]] = {
    "current_positions": {"contract_code": "BTC-USDT", "limit": "10"},
    "position_positions": {"contract_code": "BTC-USDT", "direct": "next", "limit": "5"},
    "position_list": {},
    "query_followers": {"limit": "20"},
}
EXTRA_FIELDS = (
    "price",
    "tp_trigger_price",
    "sl_trigger_price",
    "from_id",
    "start_time",
    "end_time",
    "direct",
    "limit",
    "page_index",
    "client_order_id",
    "sub_position_id",
    "position_side",
)
ADMIN_POSTS: dict[str, dict[str, Any]] = {
    "/_sim/users": {"role": "follower", "balance": "100", "permissions": "read"},
    "/_sim/follow": {"follower_uid": "0", "trader_uid": "0", "ratio": "1"},
    "/_sim/followers/bulk": {"trader_uid": "0", "count": 2, "balance": "10", "ratio": "1"},
    "/_sim/markets/{code}/price": {"price": "10"},
    "/_sim/clock": {"advance_ms": 1000},
}
ADMIN_GETS = ("/_sim/users/{uid}", "/_sim/markets", "/_sim/clock", "/_sim/health", "/_sim/ping")
ADMIN_FIELDS = (
    "role",
    "balance",
    "permissions",
    "ed25519_public_key",
    "profit_share_ratio",
    "follower_uid",
    "trader_uid",
    "ratio",
    "count",
    "price",
    "advance_ms",
    "now_ms",
)


NUMERIC_FIELDS = frozenset(
    {
        "amount",
        "lever",
        "price",
        "tp_trigger_price",
        "sl_trigger_price",
        "order_price_type",
        "order_direction",
        "sub_position_id",
        "from_id",
        "start_time",
        "end_time",
        "limit",
        "page_index",
        "balance",
        "ratio",
        "count",
        "follower_uid",
        "trader_uid",
        "profit_share_ratio",
        "advance_ms",
        "now_ms",
    }
)
NUMERIC_TEXT = (
    "--1",
    "--10",
    "+-1",
    "-+1",
    "++1",
    "- 1",
    "+1",
    "-1",
    "-0",
    "-10",
    "00",
    "1.0",
    "10.5",
    "1.",
    ".1",
    "1..2",
    "1e5",
    "1E-5",
    "1e19",
    "-1e19",
    "1e999",
    "NaN",
    "-NaN",
    "Infinity",
    "0x10",
    "1_000",
    "１２",
    "٣",
    "²",
    "9" * 30,
    "9" * 4000,
    "18446744073709551616",
    "9223372036854775808",
    "9223372036854775807",
    "-9223372036854775809",
    "0." + "0" * 60 + "1",
    "1" + "0" * 40,
    " 1",
    "1 ",
    "\t1",
    "1\n",
    "1\x00",
    "x%00",
    "1/2",
    "1,5",
    "",
)


def numeric_value() -> st.SearchStrategy[Any]:
    """What a number field gets: sign and exponent tricks, huge and odd numbers of any type."""
    return st.one_of(
        st.sampled_from(NUMERIC_TEXT),
        st.sampled_from(NUMERIC_TEXT),
        st.sampled_from(NUMERIC_TEXT),
        st.sampled_from(NASTY_INTS),
        st.integers(-(10**6), 10**6),
        st.sampled_from((1e19, 1e308, -1e308, 0.1, -0.0, 1.5e-300, 5.0)),
        st.booleans(),
        st.none(),
    )


@st.composite
def mutated(draw: st.DrawFn, template: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """Return ``template`` with up to three mutations (dropped, replaced or added fields).

    A number field gets a numeric trick three times in four, else any nasty JSON value.
    """
    out = dict(template)
    for _ in range(draw(st.sampled_from((0, 1, 1, 2, 2, 3)))):
        kind = draw(st.sampled_from(("drop", "replace", "replace", "replace", "add")))
        names = sorted(out) or list(fields)
        numbers = [n for n in names if n in NUMERIC_FIELDS]
        if kind == "drop" and out:
            out.pop(draw(st.sampled_from(names)))
            continue
        if kind == "add":
            name = draw(st.sampled_from(fields) | st.text(max_size=12))
        elif numbers and draw(st.booleans()):
            name = draw(st.sampled_from(numbers))
        else:
            name = draw(st.sampled_from(names))
        numeric = name in NUMERIC_FIELDS and draw(st.integers(0, 3)) > 0
        out[name] = draw(numeric_value() if numeric else nasty_json())
    return out


def _encode(body: Any, encoding: str) -> bytes:
    text = json.dumps(body, ensure_ascii=encoding != "utf-8", default=str)
    return text.encode(encoding, "surrogatepass")


@st.composite
def body_bytes(draw: st.DrawFn, obj: dict[str, Any]) -> bytes:
    """Return a body: ``obj`` as JSON in some encoding, or one of many broken bodies."""
    kind = draw(
        st.sampled_from(
            ("json",) * 30
            + ("utf16", "utf32", "bom", "deep", "deep_list", "broken", "bytes", "big", "empty")
            + ("scalar", "duplicate", "trailing", "nan", "exponent")
        )
    )
    if kind == "json":
        return _encode(obj, "utf-8")
    if kind == "utf16":
        return _encode(obj, draw(st.sampled_from(("utf-16", "utf-16-le", "utf-16-be"))))
    if kind == "utf32":
        return _encode(obj, draw(st.sampled_from(("utf-32", "utf-32-le", "utf-32-be"))))
    if kind == "bom":
        return b"\xef\xbb\xbf" + _encode(obj, "utf-8")
    if kind == "deep":
        depth = draw(st.sampled_from((100, 999, 1001, 5000, 30000)))
        return b'{"a":' * depth + b"1" + b"}" * depth
    if kind == "deep_list":
        depth = draw(st.sampled_from((100, 1001, 5000, 30000)))
        return b'{"amount":' + b"[" * depth + b"]" * depth + b"}"
    if kind == "broken":
        return draw(
            st.sampled_from(
                (b"{", b"}", b'{"amount":}', b"{'amount': 1}", b'{"a":1,}', b"\x00", b'{"a"')
            )
        )
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    if kind == "big":
        size = draw(st.sampled_from((65_535, 65_536, 65_537, 200_000)))
        pad = size - len(_encode(obj, "utf-8")) - 12
        return _encode({**obj, "pad": "x" * max(pad, 0)}, "utf-8")
    if kind == "empty":
        return draw(st.sampled_from((b"", b" ", b"\n\t ", b"null", b"{}")))
    if kind == "scalar":
        return draw(st.sampled_from((b"1", b'"x"', b"[]", b"[{}]", b"true", b"null")))
    if kind == "duplicate":
        text = _encode(obj, "utf-8").decode()
        return (text[:-1] + ', "amount": "-1", "amount": "1"}').encode() if obj else b"{}"
    if kind == "trailing":
        return _encode(obj, "utf-8") + draw(st.sampled_from((b"x", b"{}", b"\x00", b" 1")))
    if kind == "nan":
        return draw(st.sampled_from((b'{"amount": NaN}', b'{"lever": Infinity}')))
    return b'{"amount": 1e5, "lever": 1E1, "price": -0.0e-0}'


def _pairs(params: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (str(k), v if isinstance(v, str) else json.dumps(v, default=str)) for k, v in params.items()
    ]


@st.composite
def htx_case(draw: st.DrawFn) -> Case:
    """A request to a copy-trading path (implemented or not, exact or a near miss)."""
    name = draw(st.sampled_from(IMPLEMENTED * 3 + tuple(BY_NAME)))
    endpoint = BY_NAME[name]
    path = endpoint.path
    variant = draw(st.integers(0, 19))
    if variant == 0:
        path = draw(
            st.sampled_from(
                (
                    path + "/",
                    path.upper(),
                    path.replace("/trader/", "//trader/"),
                    path + "%2F",
                    P + "nope",
                    P.rstrip("/"),
                    P,
                    path + ";x",
                    path.replace("_", "%5F"),
                )
            )
        )
    method = endpoint.method.value if draw(st.integers(0, 9)) else draw(st.sampled_from(METHODS))
    params: list[tuple[str, str]] = []
    body: bytes | None = None
    if endpoint.method is HttpMethod.GET:
        params = _pairs(draw(mutated(HTX_PARAMS.get(name, {}), EXTRA_FIELDS)))
        if draw(st.integers(0, 14)) == 0:
            body = draw(body_bytes({"contract_code": "BTC-USDT"}))
    else:
        body = draw(body_bytes(draw(mutated(HTX_BODIES.get(name, ORDER), EXTRA_FIELDS))))
        if draw(st.integers(0, 14)) == 0:
            params = _pairs(draw(mutated({}, EXTRA_FIELDS)))
    if draw(st.integers(0, 9)) == 0 and params:
        params.append(params[0])  # a duplicated business parameter
    headers = {"content-type": "application/json"} if body is not None else {}
    if draw(st.integers(0, 7)) == 0:
        headers["content-type"] = draw(st.sampled_from(CONTENT_TYPES))
    headers.update(draw(extra_headers()))
    auth = draw(st.sampled_from(AUTH_MODES))
    nasty = draw(nasty_text()) if "nasty" in auth else ""
    return Case("htx", method, path, params, body, headers, auth, nasty)


_HEADER_TEXT = st.text(
    alphabet="".join(c for c in string.printable if c not in "\r\n\x0b\x0c"), max_size=40
)


@st.composite
def extra_headers(draw: st.DrawFn) -> dict[str, str]:
    """A few odd headers, sometimes none."""
    if draw(st.integers(0, 4)):
        return {}
    name = draw(
        st.sampled_from(
            (
                "x-forwarded-for",
                "accept-encoding",
                "content-encoding",
                "accept",
                "x-real-ip",
                "cookie",
                "expect",
                "authorization",
                "x-long",
            )
        )
    )
    if name == "x-long":
        return {name: "a" * draw(st.sampled_from((1000, 8000, 20000, 70000)))}
    return {name: draw(_HEADER_TEXT | st.sampled_from(("gzip", "deflate", "100-continue")))}


@st.composite
def admin_case(draw: st.DrawFn) -> Case:
    """A request to the admin API, mostly with the right token, with a mutated body."""
    if draw(st.integers(0, 2)):
        template_path = draw(st.sampled_from(sorted(ADMIN_POSTS)))
        template = dict(ADMIN_POSTS[template_path])
        if template_path == "/_sim/clock" and draw(st.booleans()):
            template = {"now_ms": 1_700_000_000_000}
        obj = draw(mutated(template, ADMIN_FIELDS))
        body: bytes | None = draw(body_bytes(obj))
        method = "POST" if draw(st.integers(0, 9)) else draw(st.sampled_from(METHODS))
    else:
        template_path = draw(st.sampled_from(ADMIN_GETS))
        body = None
        method = "GET" if draw(st.integers(0, 9)) else draw(st.sampled_from(METHODS))
    segment = draw(st.sampled_from(("BTC-USDT", "DOT-USDT", "1")) | nasty_text())
    path = template_path.replace("{code}", segment).replace("{uid}", segment)
    headers = {"content-type": "application/json"} if body is not None else {}
    headers.update(draw(extra_headers()))
    auth = draw(st.sampled_from(("token",) * 8 + ("none", "wrong_token", "nasty_token")))
    nasty = draw(_HEADER_TEXT) if auth == "nasty_token" else ""
    return Case("admin", method, path, [], body, headers, auth, nasty)


RAW_REQUESTS = (
    b"GET /copytrading/trader/position_list HTTP/1.1\r\nHost: h\r\nContent-Length: x\r\n\r\n",
    b"POST /copytrading/trader/place_order HTTP/1.1\r\nHost: h\r\n"
    b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    b"POST /copytrading/trader/place_order HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"GET /copytrading/trader/position_list HTTP/9.9\r\nHost: h\r\n\r\n",
    b"GET /copytrading/trader/position_list\r\n\r\n",
    b"GET  /copytrading/trader/position_list HTTP/1.1\r\nHost: h\r\n\r\n",
    b"GET /copytrading/trader/position_list HTTP/1.1\r\nHo st: h\r\n\r\n",
    b"GET /copytrading/trader/position_list HTTP/1.1\r\nHost: h\x00\r\n\r\n",
    b"GET /copytrading/trader/position_list?%zz=%zz HTTP/1.1\r\nHost: h\r\n\r\n",
    b"GET /copytrading/trader/position_list?AccessKeyId=%00&Signature=%ff HTTP/1.1\r\n"
    b"Host: h\r\n\r\n",
    b"GET /copytrading/trader/position_list?a=\xff\xfe HTTP/1.1\r\nHost: h\r\n\r\n",
    b"GET /copytrading/trader/\xff HTTP/1.1\r\nHost: h\r\n\r\n",
    b"GET /_sim/users/%ff HTTP/1.1\r\nHost: h\r\n\r\n",
    b"GET /copytrading/trader/position_list HTTP/1.1\r\nHost: h\r\nHost: i\r\n\r\n",
    b"GET /copytrading/trader/position_list HTTP/1.1\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    b"GET http://evil.example/copytrading/trader/position_list HTTP/1.1\r\nHost: h\r\n\r\n",
    b"GET * HTTP/1.1\r\nHost: h\r\n\r\n",
    b"CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: h\r\n\r\n",
)


@st.composite
def raw_case(draw: st.DrawFn) -> Case:
    """Bytes on a socket that no HTTP client would send."""
    raw = draw(st.sampled_from(RAW_REQUESTS))
    return Case("raw", "RAW", "", raw=raw)


def any_case() -> st.SearchStrategy[Case]:
    """The fuzzer's mix: about 70% HTX paths, 27% admin API, 3% raw bytes."""
    return st.one_of(
        st.integers(0, 99).flatmap(
            lambda n: htx_case() if n < 70 else (admin_case() if n < 97 else raw_case())
        )
    )


def _order(**changes: Any) -> bytes:
    return json.dumps({**ORDER, **changes}).encode()


JSON = {"content-type": "application/json"}
CORPUS: tuple[Case, ...] = (
    # issue 12 item 4: sign tricks and nesting reach int()/Decimal()/json unchecked
    Case(
        "htx",
        "GET",
        P + "position_positions",
        [("contract_code", "BTC-USDT"), ("start_time", "--1")],
        expect="refused",
    ),
    Case(
        "htx", "POST", P + "place_order", body=_order(lever="--10"), headers=JSON, expect="refused"
    ),
    Case(
        "htx", "POST", P + "place_order", body=_order(amount="1e2"), headers=JSON, expect="refused"
    ),
    Case(
        "htx",
        "POST",
        P + "place_order",
        body=b'{"a":' * 5000 + b"1" + b"}" * 5000,
        headers=JSON,
        expect="refused",
    ),
    Case(
        "htx",
        "GET",
        P + "current_positions",
        [("contract_code", "BTC-USDT"), ("limit", "--1")],
        expect="refused",
    ),
    Case("htx", "GET", P + "position_list", auth="nasty_key", nasty="x\x00", expect="refused"),
    # item 6: a follower is not a trader
    Case(
        "htx",
        "POST",
        P + "place_order",
        body=_order(),
        headers=JSON,
        auth="follower_key",
        expect="refused",
    ),
    # item 9: a trailing slash still gets the envelope
    Case("htx", "POST", P + "place_order/", body=_order(), headers=JSON),
    # item 5: the admin API trusts its input
    Case("admin", "GET", "/_sim/users/18446744073709551616", auth="token", expect="refused"),
    Case(
        "admin",
        "POST",
        "/_sim/follow",
        body=b'{"follower_uid":"9223372036854775808","trader_uid":"1","ratio":"1"}',
        headers=JSON,
        auth="token",
        expect="refused",
    ),
    Case(
        "admin",
        "POST",
        "/_sim/users",
        body=b'{"role":"follower","balance":"-1"}',
        headers=JSON,
        auth="token",
        expect="refused",
    ),
    Case(
        "admin",
        "POST",
        "/_sim/users",
        body=json.dumps({"role": "trader", "ed25519_public_key": "00" * 32}).encode(),
        headers=JSON,
        auth="token",
        expect="refused",
    ),
    Case(
        "admin",
        "POST",
        "/_sim/markets/BTC-USDT/price",
        body=b'{"price":"0.01"}',
        headers=JSON,
        auth="token",
        expect="refused",
    ),
    Case(
        "admin",
        "POST",
        "/_sim/clock",
        body=b'{"advance_ms":10000000000000000000}',
        headers=JSON,
        auth="token",
        expect="refused",
    ),
    Case(
        "admin",
        "POST",
        "/_sim/clock",
        body=b'{"advance_ms":1e19}',
        headers=JSON,
        auth="token",
        expect="refused",
    ),
)
"""Known bad requests (issue 12's findings), sent first on every run before the generated ones."""
