"""Fakes for the SDK unit tests: a recording MockTransport, a pinned clock, signature checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx

from copytrade.protocol import signing

ACCESS_KEY = "ak-unit-0001"
SECRET_KEY = "sk-unit-0001-secret"
FIXED_NOW = datetime(2024, 6, 25, 8, 30, 0, tzinfo=UTC)
RATE_HEADERS = {
    "ratelimit-limit": "18",
    "ratelimit-interval": "1000",
    "ratelimit-remaining": "17",
    "ratelimit-reset": "1719304201000",
}


def envelope(data: Any, tid: str = "0c5e2f8a9b7d4e31a6f0c2d4b8e91a73") -> dict[str, Any]:
    """Return HTX's success envelope around ``data``."""
    return {"code": 200, "data": data, "tid": tid, "success": True}


class Recorder:
    """A MockTransport handler that records requests and plays queued replies."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.replies: list[httpx.Response | Exception] = []

    def reply(self, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs = {"content-type": "application/json", **RATE_HEADERS, **(headers or {})}
        self.replies.append(httpx.Response(status, content=content, headers=hdrs))

    def fail(self, exc: Exception) -> None:
        self.replies.append(exc)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        item = self.replies.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


def query_pairs(request: httpx.Request) -> list[tuple[str, str]]:
    """Decode the request's query string exactly as the server does."""
    return signing.parse_query(request.url.query.decode("ascii"))


def business_params(request: httpx.Request) -> dict[str, str]:
    """Return the query parameters that are not authentication parameters."""
    skip = {*signing.AUTH_PARAMS, "Signature"}
    return {k: v for k, v in query_pairs(request) if k not in skip}


def signature_is_valid(request: httpx.Request, secret: str = SECRET_KEY) -> bool:
    """Verify the HMAC signature as the server would, from the Host header actually sent."""
    pairs = query_pairs(request)
    signature = dict(pairs)["Signature"]
    signed = [(k, v) for k, v in pairs if k != "Signature"]
    canonical = signing.canonical_string(
        request.method, request.headers["host"], request.url.path, signed
    )
    return signing.verify_hmac(secret, canonical, signature)
