"""Signed HTX requests over real loopback HTTP (the project's own signing, as clients do)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from copytrade.protocol.signing import (
    Signer,
    canonical_string,
    encode_query,
    format_timestamp,
    sign_hmac,
)

P = "/copytrading/trader/"


def signed_query(
    creds: dict[str, Any],
    method: str,
    host: str,
    path: str,
    params: Sequence[tuple[str, str]] = (),
    *,
    timestamp: str | None = None,
) -> str:
    """Return the query string of a request signed with HMAC (business ``params`` included)."""
    stamp = timestamp or format_timestamp(datetime.now(UTC))
    pairs = [
        ("AccessKeyId", str(creds["access_key"])),
        ("SignatureMethod", "HmacSHA256"),
        ("SignatureVersion", "2"),
        ("Timestamp", stamp),
        *params,
    ]
    signature = sign_hmac(str(creds["secret_key"]), canonical_string(method, host, path, pairs))
    return encode_query([*pairs, ("Signature", signature)])


def call(
    http: httpx.Client,
    creds: dict[str, Any],
    host: str,
    method: str,
    path: str,
    params: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
) -> httpx.Response:
    """Send one signed request to ``http://{host}{path}``; raise httpx errors as they come."""
    signer = Signer(str(creds["access_key"]), secret_key=str(creds["secret_key"]))
    stamp = format_timestamp(datetime.now(UTC))
    pairs = signer.signed_params(method, host, path, params, timestamp=stamp)
    url = f"http://{host}{path}?{encode_query(pairs)}"
    if method == "GET":
        return http.get(url)
    return http.post(
        url, content=json.dumps(body or {}), headers={"content-type": "application/json"}
    )
