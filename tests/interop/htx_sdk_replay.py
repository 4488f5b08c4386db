"""A replay of HTX's official Python SDK (HuobiRDCenter/huobi_python_contract) for copytrading.

That SDK has no package on PyPI, so the tests cannot install it. This module offers its two
copy-trading clients under their import paths, with their public interface and, above all,
their wire behaviour as issue 13 and spec §3 describe it. It is written from those rules,
not copied:

* ``RestCopyTradingSync(access_key, secret_key, host)`` (``rest_copytrading_sync``) builds
  ``https://{host}{path}`` URLs with ``requests``; it signs ``METHOD\\n{host}\\n{path}\\n`` and
  the four auth parameters only (``Timestamp`` quoted), appends ``Signature`` quoted with ``/``
  kept, and sends a GET's business parameters unsigned after them. POST bodies are JSON.
* ``HuobiCopytradingAPI(host, access_key, secret_key)`` (``rest_copytrading``) takes a base
  URL, signs its hostname **without the port**, every parameter sorted by name and encoded
  with ``urlencode`` (``quote_plus``), and sends the request with ``aiohttp`` as that SDK does
  (its query encoding, a JSON body for POSTs); it returns ``(result, None)`` only when the
  reply's ``status`` is ``"ok"``: a copy-trading reply (``code``/``success``) comes back as
  ``(None, reply)``, and a reply whose HTTP status is not 2xx as ``(None, its text)``.

:func:`install` puts both under ``alpha.platforms.huobi_usdt_swap.restapi`` in ``sys.modules``
so that the documented recipes import them exactly as users of the real SDK do.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import sys
import types
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode, urlparse

import aiohttp
import pytest
import requests

from copytrade.protocol.endpoints import ENDPOINTS, HttpMethod

PACKAGE = "alpha.platforms.huobi_usdt_swap.restapi"
USER_AGENT = "AlphaQuant"  # the SDK's "AlphaQuant" + its version


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _b64_hmac(secret_key: str, payload: str) -> str:
    digest = hmac.new(secret_key.encode("utf8"), payload.encode("utf8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class RestCopyTradingSync:
    """The official sync client: one ``contract_copytrading_trader_<name>`` per endpoint."""

    def __init__(self, access_key: str, secret_key: str, host: str | None = None) -> None:
        self.access_key = access_key
        self.secret_key = secret_key
        self.host = host if host is not None else "api.hbdm.com"

    def _suffix(self, method: str, path: str) -> str:
        auth = (
            f"AccessKeyId={self.access_key}&SignatureMethod=HmacSHA256"
            f"&SignatureVersion=2&Timestamp={quote(_timestamp())}"
        )
        signature = _b64_hmac(self.secret_key, f"{method.upper()}\n{self.host}\n{path}\n{auth}")
        return f"{auth}&Signature={quote(signature)}"

    def _get(self, path: str, params: dict[str, Any] | None) -> Any:
        url = f"https://{self.host}{path}?{self._suffix('get', path)}"
        headers = {"Content-type": "application/x-www-form-urlencoded"}
        return requests.get(url, params=params, headers=headers, timeout=30).json()

    def _post(self, path: str, data: dict[str, Any] | None) -> Any:
        url = f"https://{self.host}{path}?{self._suffix('post', path)}"
        headers = {"Accept": "application/json", "Content-type": "application/json"}
        return requests.post(url, json=data, headers=headers, timeout=30).json()


def _sync_method(path: str, method: HttpMethod) -> Any:
    if method is HttpMethod.GET:

        def get(self: RestCopyTradingSync, params: dict[str, Any] | None = None) -> Any:
            return self._get(path, params)

        return get

    def post(self: RestCopyTradingSync, data: dict[str, Any] | None = None) -> Any:
        return self._post(path, data)

    return post


for _endpoint in ENDPOINTS:
    setattr(
        RestCopyTradingSync,
        f"contract_copytrading_trader_{_endpoint.name}",
        _sync_method(_endpoint.path, _endpoint.method),
    )


class HuobiCopytradingAPI:
    """The official async client: ``copytrading_trader_<name>(**fields)`` per endpoint."""

    def __init__(self, host: str, access_key: str, secret_key: str) -> None:
        self._host = host
        self._access_key = access_key
        self._secret_key = secret_key

    def generate_signature(self, method: str, params: dict[str, Any], request_path: str) -> str:
        """Sign the hostname (no port) and every parameter, urlencoded, sorted by name."""
        host_url = (urlparse(self._host).hostname or "").lower()
        encoded = urlencode(sorted(params.items(), key=lambda item: item[0]))
        return _b64_hmac(self._secret_key, "\n".join([method, host_url, request_path, encoded]))

    async def request(
        self,
        method: str,
        uri: str,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        auth: bool = False,
    ) -> tuple[Any, Any]:
        """Send one request; ``(result, None)`` only when ``result["status"] == "ok"``."""
        params = dict(params or {})
        if auth:
            params.update(
                {
                    "AccessKeyId": self._access_key,
                    "SignatureMethod": "HmacSHA256",
                    "SignatureVersion": "2",
                    "Timestamp": _timestamp(),
                }
            )
            params["Signature"] = self.generate_signature(method, params, uri)
        url = self._host + uri
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            if method == "GET":
                headers = {"Content-type": "application/x-www-form-urlencoded"}
                request = http.get(url, params=params, headers=headers | {"User-Agent": USER_AGENT})
            else:
                headers = {"Accept": "application/json", "Content-type": "application/json"}
                request = http.post(
                    url, params=params, json=body, headers=headers | {"User-Agent": USER_AGENT}
                )
            async with request as reply:
                if reply.status not in range(200, 207):
                    return None, await reply.text()
                result = await reply.json(content_type=None)
        if result.get("status") != "ok":
            return None, result
        return result, None


def _async_method(path: str, method: HttpMethod) -> Any:
    async def call(self: HuobiCopytradingAPI, **fields: Any) -> tuple[Any, Any]:
        given = {k: v for k, v in fields.items() if v}  # the SDK drops falsy arguments
        if method is HttpMethod.GET:
            return await self.request("GET", path, params=given, auth=True)
        return await self.request("POST", path, body=given, auth=True)

    return call


for _endpoint in ENDPOINTS:
    setattr(
        HuobiCopytradingAPI,
        f"copytrading_trader_{_endpoint.name}",
        _async_method(_endpoint.path, _endpoint.method),
    )


def install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``from alpha.platforms.huobi_usdt_swap.restapi.rest_copytrading[_sync] import …``
    resolve to this replay for the duration of a test."""
    parts = PACKAGE.split(".")
    for depth in range(1, len(parts) + 1):
        name = ".".join(parts[:depth])
        package = types.ModuleType(name)
        package.__path__ = []
        monkeypatch.setitem(sys.modules, name, package)
    sync_module = types.ModuleType(f"{PACKAGE}.rest_copytrading_sync")
    sync_module.RestCopyTradingSync = RestCopyTradingSync  # type: ignore[attr-defined]
    async_module = types.ModuleType(f"{PACKAGE}.rest_copytrading")
    async_module.HuobiCopytradingAPI = HuobiCopytradingAPI  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, sync_module.__name__, sync_module)
    monkeypatch.setitem(sys.modules, async_module.__name__, async_module)
