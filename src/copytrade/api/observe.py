"""The edge of every request: one access-log line (and, for HTX's, the request metrics).

:func:`observe` wraps the raw-ASGI HTX endpoint without touching it: it times the call and
reads the reply's HTX ``code`` and ``tid`` from the bytes sent (the envelope always starts
with ``{"code":`` and ends with ``"tid":"…","success":…}``). Per request that costs a closure,
one timer and two dict look-ups; the log line is built only when ``copytrade.access`` is
enabled at INFO. At DEBUG, a refused signature is explained: the string the server expected
to be signed (never a secret).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import orjson

from copytrade.api.logs import ACCESS_LOGGER, access_sink
from copytrade.api.metrics import ServerMetrics
from copytrade.protocol.signing import QueryDecodeError, canonical_string, parse_query

ASGIApp = Callable[[Any, Any, Any], Any]

_INFO = logging.INFO
_DEBUG = logging.DEBUG
_CODE_AT = len(b'{"code":')
_TID = b'"tid":"'
_REFUSED = b"403"
# authentication refusals explained at DEBUG: signature, timestamp, version, method
_AUTH_REFUSALS = frozenset({_REFUSED, b"12001", b"12002", b"12003", b"12006"})


def reply_code(body: bytes) -> bytes:
    """Return the envelope's ``code`` as bytes (``b"200"``), ``b"-"`` if there is none."""
    if not body.startswith(b'{"code":'):
        return b"-"
    end = body.find(b",", _CODE_AT)
    return body[_CODE_AT:end] if end > 0 else b"-"


def reply_tid(body: bytes) -> str:
    """Return the envelope's ``tid`` (the last one: it follows ``data``), ``-`` if none."""
    at = body.rfind(_TID)
    if at < 0:
        return "-"
    start = at + len(_TID)
    return body[start : body.find(b'"', start)].decode("ascii", "replace")


def access_key_of(query: bytes) -> str | None:
    """Return the ``AccessKeyId`` of a raw query string, without parsing the rest."""
    at = query.find(b"AccessKeyId=")
    if at < 0 or (at > 0 and query[at - 1] != ord("&")):
        return None
    start = at + len(b"AccessKeyId=")
    end = query.find(b"&", start)
    raw = query[start:] if end < 0 else query[start:end]
    return unquote(raw.decode("latin-1"))


class Observer:
    """What :func:`observe` does once a request was answered: metrics, access line, auth note.

    :class:`~copytrade.api.htx.HtxApi` calls it directly with the reply it sent (no wrapper
    coroutine and no capturing ``send`` per request on the hot path).
    """

    __slots__ = ("_access", "_auth_log", "_host_aliases", "_metrics", "_uid_of")

    def __init__(
        self,
        metrics: ServerMetrics,
        uid_of: Callable[[str], int | None],
        host_aliases: tuple[str, ...] = (),
    ) -> None:
        """Count into ``metrics``; ``uid_of`` names a key's user in the access line."""
        self._metrics = metrics
        self._uid_of = uid_of
        self._host_aliases = host_aliases
        self._access = logging.getLogger(ACCESS_LOGGER)
        self._auth_log = logging.getLogger("copytrade.auth")

    def __call__(self, scope: Any, body: bytes, seconds: float) -> None:
        """Record one request answered with ``body`` (``b""``: none) after ``seconds``."""
        code = reply_code(body)
        self._metrics.request(scope["path"], code, seconds)
        if self._access.isEnabledFor(_INFO):
            _log_request(self._access, scope, body, code, seconds, self._uid_of)
        if code in _AUTH_REFUSALS and self._auth_log.isEnabledFor(_DEBUG):
            _explain_refusal(self._auth_log, scope, body, self._uid_of, self._host_aliases)


def observe(
    app: ASGIApp,
    metrics: ServerMetrics,
    uid_of: Callable[[str], int | None],
    host_aliases: tuple[str, ...] = (),
) -> ASGIApp:
    """Return ``app`` (an HTX endpoint) counting, timing and logging every request.

    (``HtxApi`` calls an :class:`Observer` itself; this wraps any other ASGI app alike.)
    """
    observer = Observer(metrics, uid_of, host_aliases)
    perf_counter = time.perf_counter

    async def observed(scope: Any, receive: Any, send: Any) -> None:
        started = perf_counter()
        sent: list[bytes] = []

        async def capture(message: Any) -> None:
            if message["type"] == "http.response.body":
                sent.append(message.get("body", b""))
            await send(message)

        await app(scope, receive, capture)
        observer(scope, sent[0] if sent else b"", perf_counter() - started)

    return observed


def observe_admin(app: ASGIApp) -> ASGIApp:
    """Return ``app`` (everything but HTX's paths) writing one access line per HTTP request.

    The line has the method, the path (never the query string), the HTTP status and the
    latency; no header and no body is read into it, so neither the admin token nor a secret
    a reply carries (``POST /_sim/users``) can reach the log.
    """
    access = logging.getLogger(ACCESS_LOGGER)
    perf_counter = time.perf_counter

    async def observed(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not access.isEnabledFor(_INFO):
            await app(scope, receive, send)
            return
        started = perf_counter()
        status = [0]

        async def capture(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await app(scope, receive, capture)
        finally:
            _log_admin(access, scope, status[0], perf_counter() - started)

    return observed


def _log_admin(log: logging.Logger, scope: Any, status: int, seconds: float) -> None:
    method, path = scope["method"], scope["path"]
    latency = round(seconds * 1000, 3)
    text = f"{method} {path} status={status or '-'} {latency}ms admin"
    fields: dict[str, Any] = {
        "method": method,
        "path": path,
        "status": status or None,
        "latency_ms": latency,
        "admin": True,
    }
    _write(log, text, fields)


def _write(log: logging.Logger, text: str, fields: dict[str, Any]) -> None:
    """Write one access line: through the fast sink when it is ours, else through logging."""
    sink = access_sink(log)
    if sink is not None:
        sink.write(text, fields)
        return
    # the record is made directly: Logger.info would also walk the stack for the caller
    log.handle(log.makeRecord(log.name, _INFO, __file__, 0, text, (), None, extra=fields))


def _log_request(
    log: logging.Logger,
    scope: Any,
    body: bytes,
    code: bytes,
    seconds: float,
    uid_of: Callable[[str], int | None],
) -> None:
    key = access_key_of(scope.get("query_string", b""))
    uid = uid_of(key) if key else None
    method, path = scope["method"], scope["path"]
    latency = round(seconds * 1000, 3)
    tid = reply_tid(body)
    text = (
        f"{method} {path} uid={'-' if uid is None else uid} code={code.decode()} "
        f"{latency}ms tid={tid}"
    )
    error = _reply_msg(body) if code != b"200" else None
    if error:
        text += f" error={error!r}"
    sink = access_sink(log)
    if sink is not None and not sink.json:
        sink.write(text)  # plain: the text is the whole line, no fields needed
        return
    fields: dict[str, Any] = {
        "method": method,
        "path": path,
        "uid": uid,
        "code": int(code) if code.isdigit() else None,
        "latency_ms": latency,
        "tid": tid,
    }
    if error:
        fields["error"] = error
    _write(log, text, fields)


def _reply_msg(body: bytes) -> str | None:
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    msg = decoded.get("msg") if isinstance(decoded, dict) else None
    return str(msg) if msg is not None else None


def _explain_refusal(
    log: logging.Logger,
    scope: Any,
    body: bytes,
    uid_of: Callable[[str], int | None],
    host_aliases: tuple[str, ...],
) -> None:
    """Log why a request was refused.

    Log why a request was refused: for a signature, the string the server expected to be
    signed; for a timestamp, version or method, what was sent and the server's time.
    """
    try:
        params = parse_query(scope.get("query_string", b"").decode("latin-1"))
    except (QueryDecodeError, UnicodeDecodeError):
        log.debug("signature refused: the query string cannot be parsed")
        return
    values = dict(params)
    key = values.get("AccessKeyId", "")
    if reply_code(body) != _REFUSED:
        now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        log.debug(
            "request refused: %s (Timestamp %r, SignatureVersion %r, SignatureMethod %r; "
            "server time %s UTC)",
            _reply_msg(body),
            values.get("Timestamp"),
            values.get("SignatureVersion"),
            values.get("SignatureMethod"),
            now,
        )
        return
    if not key or uid_of(key) is None:
        log.debug("signature refused: unknown AccessKeyId %r (%s)", key, _reply_msg(body))
        return
    host = ""
    for name, value in scope.get("headers", ()):
        if name == b"host":
            host = value.decode("latin-1").lower()
            break
    signed = [(k, v) for k, v in params if k != "Signature"]
    expected = canonical_string(scope["method"], host, scope["path"], signed)
    also = f" (also accepted: the same with host {', '.join(host_aliases)})" if host_aliases else ""
    log.debug(
        "signature refused for AccessKeyId %s: the server expected this string to be signed "
        "with %s: %r%s",
        key,
        values.get("SignatureMethod", "?"),
        expected,
        also,
    )
