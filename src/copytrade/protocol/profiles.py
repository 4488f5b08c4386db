"""API families as profiles: envelope, error codes, HTTP statuses, signing and limits.

A profile bundles everything that differs between HTX's API families, declared once here; one
dispatcher (``copytrade.api.htx``) serves every profile from its endpoint table:

* :data:`COPYTRADING`: the v1 ``/copytrading/trader/*`` family, ``{code, data, tid, success}``
  (spec ``htx-copytrading.md`` §4);
* :data:`V5`: the v5 USDT-M trading family, ``{code: 200, message, data, ts}``; errors keep that
  shape with codes ccxt maps, authentication failures take the gateway shape, an exhausted
  rate limit answers HTTP 429 (spec ``htx-v5-v6.md`` §4.2, §4.3, §4.6, §4.8);
* :data:`MARKET`: the public market family, ``{status: "ok", ..., ts}`` (spec §4.1);
* :data:`SPOT`: the ``/v2/*`` family (currencies, transfer), ``{code: 200, data}`` (spec §4.5).

Every error reply is built by :meth:`Profile.failure` from a catalogue code
(:class:`~copytrade.protocol.error_codes.ErrorCode`): the profile translates it to a code its
clients understand and picks the HTTP status.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from copytrade.protocol import copytrading, market, v5, v6
from copytrade.protocol.endpoints import ENDPOINTS, Endpoint
from copytrade.protocol.envelope import ParsedEnvelope, error_body, parse_envelope, success_body
from copytrade.protocol.error_codes import NO_KEY_PERMISSION, ErrorCode, message
from copytrade.protocol.replies import Reply

E = ErrorCode


@dataclass(frozen=True, slots=True)
class Envelope:
    """How a family wraps a reply's ``data``.

    Attributes:
        name: The family's envelope, for people (``"{code, data, tid, success}"``).
        success: ``(data, tid, now_ms)`` -> the success body.
        error: ``(code, msg, tid, now_ms)`` -> the error body.
        parse: ``(decoded body, HTTP status)`` -> what the reply says (the SDK's reading).
    """

    name: str
    success: Callable[[Any, str, int], dict[str, Any]]
    error: Callable[[int, str, str, int], dict[str, Any]]
    parse: Callable[[Any, int], ParsedEnvelope]


def _gateway_error(code: int, msg: str, tid: str, now_ms: int) -> dict[str, Any]:
    return {"status": "error", "err_code": int(code), "err_msg": msg, "ts": now_ms}


GATEWAY = Envelope(
    name='{status: "error", err_code, err_msg, ts}',
    success=lambda data, tid, now_ms: {"status": "ok", "data": data, "ts": now_ms},
    error=_gateway_error,
    parse=parse_envelope,
)
"""HTX's gateway shape: authentication and permission failures of the v5/v6/market families."""


@dataclass(frozen=True, slots=True)
class Profile:
    """One API family: envelope, endpoint table, the shape of each ``data``, error policy.

    Attributes:
        name: The family's name (``"copytrading"``, ``"v5"`` ...).
        envelope: Wraps success and error replies.
        endpoints: The family's endpoint table.
        replies: The shape of ``data`` of every endpoint, by endpoint name.
        codes: Catalogue code -> the code this family answers with (absent: unchanged).
        statuses: Answered code -> HTTP status (absent: 200).
        auth_envelope: The envelope of authentication/permission failures (``None``: its own).
        auth_codes: Authentication code -> the code answered (the gateway says 403 for all).
        permission_text: The message of a missing Trade permission (``None``: the catalogue's).
        limiter: Which request budget the family draws from (``"v1"``, ``"v5"``); ``None``
            for public endpoints, which are not limited.
        lenient_signing: Also accept the Python sync SDK's auth-only GET signatures.
        aliases: Other paths official SDKs send -> the endpoint path they mean (the signature
            covers the path as requested).
        follower_refusal: The code a follower's POST answers (the family is for lead traders);
            ``None``: followers may use it.
    """

    name: str
    envelope: Envelope
    endpoints: tuple[Endpoint, ...]
    replies: Mapping[str, Reply[Any]]
    codes: Mapping[int, int] = field(default_factory=dict)
    statuses: Mapping[int, int] = field(default_factory=dict)
    auth_envelope: Envelope | None = None
    auth_codes: Mapping[int, int] = field(default_factory=dict)
    permission_text: str | None = None
    limiter: str | None = "v1"
    lenient_signing: bool = False
    aliases: Mapping[str, str] = field(default_factory=dict)
    follower_refusal: int | None = None

    def failure(
        self, code: int, tid: str, now_ms: int, *, arg: str | None = None, msg: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Return ``(HTTP status, body)`` of an error with catalogue ``code``.

        Args:
            code: The catalogue code (v1 numbering).
            tid: The request id (v1 envelopes carry it).
            now_ms: The reply's time (v5 and market envelopes carry it).
            arg: The parameter a 1066/1067 message names.
            msg: A message already made (a domain error's); dropped when the code is
                translated, since the text belongs to the original code.
        """
        answered = self.codes.get(code, code)
        if answered == E.EMPTY_PARAM and arg not in (None, "contract_code") and self.codes:
            answered = E.ILLEGAL_PARAM  # v5: only a missing contract_code is 1066 (BadSymbol)
        named = answered in (E.EMPTY_PARAM, E.ILLEGAL_PARAM) and arg
        if answered != code:
            # the text belongs to the original code; a 1067 that names no parameter keeps the
            # original reason after HTX's bare "Illegal parameter." (never the "{0}" template)
            reason = None if named or answered != E.ILLEGAL_PARAM else msg or message(code)
            msg = None if reason is None else f"{message(answered)} {reason}"
        if msg is None:
            msg = message(answered, arg) if named else message(answered)
        status = self.statuses.get(answered, 200)
        return status, self.envelope.error(answered, msg, tid, now_ms)

    def auth_failure(self, code: int, msg: str, tid: str, now_ms: int) -> dict[str, Any]:
        """Return the body of a failed signature, key or timestamp check."""
        envelope = self.auth_envelope or self.envelope
        if self.auth_envelope is None:
            return envelope.error(code, msg, tid, now_ms)
        answered = self.auth_codes.get(code, code)
        text = message(12001) if code in (E.TIMESTAMP_INVALID, E.TIMESTAMP_EMPTY) else msg
        return envelope.error(answered, text, tid, now_ms)

    def permission_failure(self, tid: str, now_ms: int) -> dict[str, Any]:
        """Return the body of a key without the Trade permission."""
        if self.auth_envelope is None:
            return self.envelope.error(E.NO_PERMISSION, message(E.NO_PERMISSION), tid, now_ms)
        text = self.permission_text or message(E.NO_PERMISSION)
        return self.auth_envelope.error(E.NO_PERMISSION, text, tid, now_ms)


COPYTRADING_ENVELOPE = Envelope(
    name="{code: 200, data, tid, success: true} / {code, msg, data: null, tid, success: false}",
    success=lambda data, tid, now_ms: success_body(data, tid),
    error=lambda code, msg, tid, now_ms: error_body(code, tid, msg),
    parse=parse_envelope,
)

COPYTRADING = Profile(
    name="copytrading",
    envelope=COPYTRADING_ENVELOPE,
    endpoints=ENDPOINTS,
    replies=copytrading.REPLIES,
    statuses={E.NOT_FOUND: 404, E.METHOD_NOT_ALLOWED: 405},
    follower_refusal=E.COPY_TRADING_ACTIVE,
)
"""HTX's "Future Copy Trade" family, ``/copytrading/trader/*`` (spec ``htx-copytrading.md``)."""


V5_ENVELOPE = Envelope(
    name='{code: 200, message: "Success", data, ts} / {code, message, data: null, ts}',
    success=lambda data, tid, now_ms: {
        "code": 200,
        "message": "Success",
        "data": data,
        "ts": now_ms,
    },
    error=lambda code, msg, tid, now_ms: {
        "code": int(code),
        "message": msg,
        "data": None,
        "ts": now_ms,
    },
    parse=parse_envelope,
)

# Only codes in ccxt 4.5.90's exact map reach a v5 client with HTTP 200 (an unmapped code would
# be read as a success, spec §4.7): the catalogue's other codes are translated (spec §4.8).
V5_CODES: dict[int, int] = {
    E.CONTRACT_NOT_EXIST: E.SYMBOL_NOT_EXIST,
    E.POSITION_NOT_EXIST: E.INSUFFICIENT_CLOSE,
    E.NO_MARGIN_POSITION: E.INSUFFICIENT_CLOSE,
    E.INSUFFICIENT_TRANSFER: E.INSUFFICIENT_MARGIN,
    E.MARGIN_RATIO: E.INSUFFICIENT_MARGIN,
    E.USER_LOCKED: E.ACCOUNT_NOT_OPENED,
    E.COPY_TRADING_ACTIVE: E.ACCOUNT_NOT_OPENED,
    E.AMOUNT_LIMIT: E.AMOUNT_LIMIT,
    E.LEVER_EMPTY: E.LEVER_EMPTY,
    # authentication answers in the gateway shape (Profile.auth_failure); here only for safety
    **dict.fromkeys(
        (
            E.NO_PERMISSION,
            E.TIMESTAMP_INVALID,
            E.TIMESTAMP_EMPTY,
            E.SIGNATURE_VERSION,
            E.SIGNATURE_METHOD,
            E.IP_ERROR,
            E.SIGNATURE_REPLAYED,
        ),
        E.VERIFICATION,
    ),
    **dict.fromkeys(
        (
            E.NO_OPPONENT_PRICE,
            E.INPUT_ERROR,
            E.ORDER_PRICE_TYPE,
            E.ORDER_DIRECTION,
            E.LEVER_INVALID,
            E.PRICE_PRECISION,
            E.AMOUNT_INVALID,
            E.LEVER_OPEN_ORDERS,
            E.SETTLING,
            E.LIQUIDATING,
            E.TRANSFER_TYPE,
            E.TRANSFER_AMOUNT,
            E.TRANSFER_PRECISION,
            E.CROSS_NOT_SUPPORTED,
            E.LEVER_MISMATCH,
            E.TP_PRICE,
            E.SL_PRICE,
            E.PAIR_NOT_ALLOWED,
            E.TWO_WAY_ONLY,
            E.CURRENCY_NOT_EXIST,
        ),
        E.ILLEGAL_PARAM,
    ),
}

V5_STATUSES: dict[int, int] = {
    E.RATE_LIMITED: 429,  # ccxt raises RateLimitExceeded on the HTTP status only
    E.SYSTEM_BUSY: 503,
    E.SYSTEM_ERROR: 500,
    E.NOT_FOUND: 404,
    E.METHOD_NOT_ALLOWED: 405,
}

_GATEWAY_AUTH: dict[int, int] = dict.fromkeys(
    (
        E.TIMESTAMP_INVALID,
        E.TIMESTAMP_EMPTY,
        E.SIGNATURE_VERSION,
        E.SIGNATURE_METHOD,
        E.SIGNATURE_REPLAYED,
    ),
    E.VERIFICATION,
)

V5 = Profile(
    name="v5",
    envelope=V5_ENVELOPE,
    endpoints=v5.ENDPOINTS,
    replies=v5.REPLIES,
    codes=V5_CODES,
    statuses=V5_STATUSES,
    auth_envelope=GATEWAY,
    auth_codes=_GATEWAY_AUTH,
    permission_text=NO_KEY_PERMISSION,
    limiter="v5",
    lenient_signing=True,
    # spec htx-v5-v6.md §2.3: paths HTX's official Java and Python SDKs send
    aliases={
        "/api/v5/trade/order/history": "/v5/trade/order/history",
        "/api/V5/trade/order/details": "/v5/trade/order/details",
        "/api/v5/trade/order/trades": "/v5/trade/order/details",
        "/api/v5/position/mode": "/v5/position/mode",
        "/api/v5/trade/order": "/v5/trade/order",
        "/v5/trade/allOrders": "/v5/trade/cancel_all_orders",
        "/v5/algo/cancel-orders": "/v5/algo/cancel_orders",
        "/v5/trade/batchorder": "/v5/trade/batch_orders",
        "/v5/trade/batchOrders": "/v5/trade/cancel_batch_orders",
        "/v5/trade/positionAll": "/v5/trade/position_all",
    },
)
"""HTX's v5 USDT-M trading family, ``/v5/*`` (spec ``htx-v5-v6.md`` §6)."""


MARKET_ENVELOPE = Envelope(
    name='{status: "ok", <ch, tick | ticks | data>, ts} / {status: "error", err_code, err_msg, ts}',
    success=lambda data, tid, now_ms: {"status": "ok", **data, "ts": now_ms},
    error=_gateway_error,
    parse=parse_envelope,
)

MARKET = Profile(
    name="market",
    envelope=MARKET_ENVELOPE,
    endpoints=market.ENDPOINTS,
    replies=market.REPLIES,
    codes=V5_CODES,
    statuses=V5_STATUSES,
    limiter=None,
)
"""HTX's public market data (``/linear-swap-ex/*``, ``/linear-swap-api/v1/*``, ``/heartbeat/``)."""

V5_MARKET = Profile(
    name="v5-market",
    envelope=V5_ENVELOPE,
    endpoints=market.V5_ENDPOINTS,
    replies=market.REPLIES,
    codes=V5_CODES,
    statuses=V5_STATUSES,
    limiter=None,
)
"""The public ``/v5/market/*`` endpoints: unsigned, in the v5 envelope."""

SPOT = Profile(
    name="spot",
    envelope=Envelope(
        name="{code: 200, data}",
        success=lambda data, tid, now_ms: {"code": 200, "data": data},
        error=lambda code, msg, tid, now_ms: {
            "code": int(code),
            "data": None,
            "message": msg,
            "success": False,
        },
        parse=parse_envelope,
    ),
    endpoints=market.SPOT_ENDPOINTS,
    replies=market.REPLIES,
    codes=V5_CODES,
    statuses=V5_STATUSES,
    # the signed transfer: authentication fails as v5's does, and it counts on v5's budget
    auth_envelope=GATEWAY,
    auth_codes=_GATEWAY_AUTH,
    permission_text=NO_KEY_PERMISSION,
    limiter="v5",
    lenient_signing=True,
)
"""HTX's ``/v2/*`` family: the public currency list and ccxt's ``transfer`` (spec §4.5, §6.16)."""


def _parse_v6(body: Any, http_status: int) -> ParsedEnvelope:
    """Read a v6 reply: success is the code ``"0"`` and nothing else (not v5's 200).

    The gateway shape (``status: "error"``) is read as every family's.
    """
    env = parse_envelope(body, http_status)
    if isinstance(body, dict) and "status" not in body:
        ok = str(body.get("code")) == "0" and http_status < 400
        return ParsedEnvelope(ok, env.code, env.msg, env.data, None)
    return env


V6_ENVELOPE = Envelope(
    name='{code: "0", msg: "", data: [...]} / {code: "<code>", msg, data: []}',
    success=lambda data, tid, now_ms: {"code": "0", "msg": "", "data": data},
    error=lambda code, msg, tid, now_ms: {"code": str(int(code)), "msg": msg, "data": []},
    parse=_parse_v6,
)

V6 = Profile(
    name="v6",
    envelope=V6_ENVELOPE,
    endpoints=v6.ENDPOINTS,
    replies=v6.REPLIES,
    codes=V5_CODES,
    statuses=V5_STATUSES,
    auth_envelope=GATEWAY,
    auth_codes=_GATEWAY_AUTH,
    permission_text=NO_KEY_PERMISSION,
    limiter="v6",
    lenient_signing=True,
    follower_refusal=E.ACCOUNT_NOT_OPENED,
)
"""HTX's v6 copy-trading family, ``/api/v6/copyTrading/trader/*`` (spec ``htx-v5-v6.md`` §8)."""

PROFILES: tuple[Profile, ...] = (COPYTRADING, V5, V6, MARKET, V5_MARKET, SPOT)
"""Every family the server serves; a path belongs to exactly one of them."""

_PARSE_BY_PATH: dict[str, Callable[[Any, int], ParsedEnvelope]] = {
    path: profile.envelope.parse
    for profile in PROFILES
    for path in (*(e.path for e in profile.endpoints), *profile.aliases)
}


def reply_accepted(path: str, body: Any, http_status: int) -> bool:
    """Return whether ``body`` (decoded), answered on ``path``, says the request succeeded.

    Read with the path's family envelope: v6 succeeds with the code ``"0"`` only, v1/v5 with
    200, and every family fails in the gateway shape. A path no family serves is read as the
    common envelope (:func:`parse_envelope`).
    """
    return _PARSE_BY_PATH.get(path, parse_envelope)(body, http_status).ok
