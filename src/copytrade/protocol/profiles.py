"""API families as profiles: which envelope wraps ``data``, which endpoints, which replies.

A profile bundles what differs between HTX's API families. Only the v1 copy-trading family is
served today; the v5 trading (``{code, message, data, ts}``) and v6 copy-trading
(``{code: "0", msg, data}``) families (spec ``htx-v5-v6.md`` §4) are meant to arrive as two more
:class:`Envelope` and :class:`Profile` values beside :data:`COPYTRADING`, with their structures
declared like :mod:`copytrade.protocol.copytrading`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from copytrade.protocol import copytrading
from copytrade.protocol.endpoints import ENDPOINTS, Endpoint
from copytrade.protocol.envelope import ParsedEnvelope, error_body, parse_envelope, success_body
from copytrade.protocol.replies import Reply


@dataclass(frozen=True, slots=True)
class Envelope:
    """How a family wraps a reply's ``data``.

    Attributes:
        name: The family's envelope, for people (``"{code, data, tid, success}"``).
        success: ``(data, tid, now_ms)`` -> the success body.
        error: ``(code, msg, tid, now_ms)`` -> the error body (``msg`` ``None``: the catalogue's).
        parse: ``(decoded body, HTTP status)`` -> what the reply says (the SDK's reading).
    """

    name: str
    success: Callable[[Any, str, int], dict[str, Any]]
    error: Callable[[int, str | None, str, int], dict[str, Any]]
    parse: Callable[[Any, int], ParsedEnvelope]


@dataclass(frozen=True, slots=True)
class Profile:
    """One API family: its envelope, endpoint table and the shape of each endpoint's ``data``."""

    name: str
    envelope: Envelope
    endpoints: tuple[Endpoint, ...]
    replies: Mapping[str, Reply[Any]]


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
)
"""HTX's "Future Copy Trade" family, ``/copytrading/trader/*`` (spec ``htx-copytrading.md``)."""
