"""The copy-trading envelope ``{code, data, tid, success}`` (spec §4).

The server builds replies with :func:`success_body` and :func:`error_body`; the SDK reads any of
HTX's envelope styles with :func:`parse_envelope` (copy-trading and legacy ``status``/``err_code``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from copytrade.protocol.error_codes import message


def new_tid() -> str:
    """Return a fresh request id: 32 lower-case hex characters.

    A trace id needs uniqueness, not secrecy; ``os.urandom`` (behind ``uuid4``) cost ~200 us
    per call on our virtual machines, more than the rest of a request.
    """
    return f"{random.getrandbits(128):032x}"


def success_body(data: Any, tid: str) -> dict[str, Any]:
    """Return the success envelope, keys in HTX's order."""
    return {"code": 200, "data": data, "tid": tid, "success": True}


def error_body(code: int, tid: str, msg: str | None = None) -> dict[str, Any]:
    """Return the error envelope: non-200 ``code``, ``msg``, ``data: null``, ``tid``."""
    return {
        "code": int(code),
        "msg": msg if msg is not None else message(code),
        "data": None,
        "tid": tid,
        "success": False,
    }


@dataclass(frozen=True, slots=True)
class ParsedEnvelope:
    """What any HTX reply says, whatever its style."""

    ok: bool
    code: int | None
    msg: str | None
    data: Any
    tid: str | None


def _first(body: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if key in body and body[key] is not None:
            return body[key]
    return None


def parse_envelope(body: Any, http_status: int = 200) -> ParsedEnvelope:
    """Interpret a decoded JSON reply (spec §4.3 rules)."""
    if not isinstance(body, dict):
        return ParsedEnvelope(http_status < 400, None, None, body, None)
    raw_code = _first(body, "code", "err_code", "err-code")
    code: int | None
    try:
        code = int(raw_code) if raw_code is not None else None
    except (TypeError, ValueError):
        code = None
    msg = _first(body, "msg", "message", "err_msg", "err-msg")
    error = (
        body.get("success") is False
        or (code is not None and code != 200)
        or body.get("status") == "error"
        or http_status >= 400
    )
    tid = body.get("tid")
    return ParsedEnvelope(
        ok=not error,
        code=code,
        msg=str(msg) if msg is not None else None,
        data=body.get("data"),
        tid=str(tid) if tid is not None else None,
    )
