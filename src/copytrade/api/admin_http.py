"""The admin API's HTTP plumbing.

An operation table, body decoding, typed validation, and the one mapping from failures to
``{"error": …, "field": …}`` replies (never a 500).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from copytrade.api.admin_models import Uid
from copytrade.domain.errors import DomainError, InvalidFollowSettings, UnknownContract
from copytrade.protocol.decimals import fmt
from copytrade.service.errors import InvalidFollow, InvalidMark, UnknownUser
from copytrade.service.ports import ServiceBusy

MAX_BODY_BYTES = 1 << 20
"""An admin body larger than this (1 MiB) is refused unread."""
TOKEN_REQUIRED = "admin token required (Authorization: Bearer <token>)"  # noqa: S105 - a message
"""The 401 text of every guarded ``/_sim/`` call and of ``/metrics``."""

_UID = TypeAdapter(Uid)


class AdminError(Exception):
    """A refused admin call: HTTP status, text, and the field at fault (if one is)."""

    def __init__(self, status: int, detail: str, field: str | None = None) -> None:
        super().__init__(status, detail, field)
        self.status = status
        self.detail = detail
        self.field = field


Handler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Operation:
    """One admin call: method and path, its handler, and the models of its body and reply.

    The handler is called as ``handler(body, **path_params)``; ``body`` is the validated
    request model (``None`` when the call takes none). It returns the reply model (sent with
    200), or a ready response for another status listed in ``also`` (the same model, e.g. a
    503 of readiness). Its docstring's first line is the summary in the OpenAPI document, the
    rest the description.
    """

    method: str
    path: str
    handler: Handler
    reply: type[BaseModel]
    request: type[BaseModel] | None = None
    path_params: tuple[str, ...] = ()
    also: dict[str, str] = field(default_factory=dict)
    """Other statuses answered with the ``reply`` model, and when (for the OpenAPI document)."""


def json_default(value: Any) -> Any:
    """Encode what ``json`` cannot: decimals as exact strings, enums by their value."""
    if isinstance(value, Decimal):
        return fmt(value)
    if hasattr(value, "value"):
        return value.value
    raise TypeError(type(value).__name__)


def reply(body: Any, status: int = 200) -> Response:
    """Return a JSON response (a model is dumped in JSON mode)."""
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json")
    return Response(
        json.dumps(body, default=json_default), status_code=status, media_type="application/json"
    )


def error_reply(status: int, detail: str, field: str | None = None) -> Response:
    """Return the admin API's error shape."""
    return reply({"error": detail, "field": field}, status)


def _refuse_constant(text: str) -> Any:
    raise ValueError(f"{text} is not a JSON number")


_decoder = json.JSONDecoder(parse_float=Decimal, parse_constant=_refuse_constant)


async def read_json(request: Request) -> dict[str, Any]:
    """Decode the body as one JSON object (an empty body is ``{}``); numbers stay exact."""
    size = request.headers.get("content-length", "")
    if size.isdigit() and int(size) > MAX_BODY_BYTES:
        raise AdminError(413, f"request body larger than {MAX_BODY_BYTES} bytes")
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():  # a chunked body is capped while it arrives
        received += len(chunk)
        if received > MAX_BODY_BYTES:
            raise AdminError(413, f"request body larger than {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    try:
        body = _decoder.decode(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise AdminError(400, "request body is not UTF-8 text") from None
    except RecursionError:
        raise AdminError(400, "request body is nested too deeply") from None
    except ValueError as exc:
        raise AdminError(400, f"request body is not valid JSON ({exc})") from None
    if not isinstance(body, dict):
        raise AdminError(400, "request body must be a JSON object")
    return body


def path_uid(request: Request) -> int:
    """Return the ``{uid}`` path parameter as a UID (400 naming ``uid`` otherwise)."""
    try:
        return _UID.validate_python(request.path_params["uid"])
    except ValidationError as exc:
        raise AdminError(400, f"uid: {exc.errors()[0]['msg']}", "uid") from None


def _validation_reply(exc: ValidationError) -> Response:
    first = exc.errors(include_url=False, include_input=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown field (see /_sim/docs for the fields this call takes)"
    return error_reply(400, f"{field}: {msg}" if field else msg, field)


def authorised(request: Request, token: str | None, open_without_token: bool) -> bool:
    """Return whether the request carries the admin token (or none is needed)."""
    if token:
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    return open_without_token


def _path_params(operation: Operation, request: Request) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name in operation.path_params:
        if name == "uid":
            params[name] = path_uid(request)
        else:
            params[name] = str(request.path_params[name]).upper()
    return params


async def dispatch(operation: Operation, request: Request) -> Response:
    """Validate path and body, call the handler, and map every failure to a 4xx (or 503)."""
    try:
        path = _path_params(operation, request)
        body = None
        if operation.request is not None:
            body = operation.request.model_validate(await read_json(request))
        answer = await operation.handler(body, **path)
        return answer if isinstance(answer, Response) else reply(answer)
    except ValidationError as exc:
        return _validation_reply(exc)
    except AdminError as exc:
        return error_reply(exc.status, exc.detail, exc.field)
    except UnknownUser as exc:
        return error_reply(404, f"unknown uid {exc.uid}", "uid")
    except UnknownContract as exc:
        return error_reply(404, f"unknown contract {exc.contract_code}", "contract_code")
    except InvalidMark as exc:
        return error_reply(400, f"price: {exc.detail}", "price")
    except InvalidFollowSettings as exc:
        return error_reply(400, f"{exc.field}: {exc.reason}", exc.field)
    except InvalidFollow as exc:
        return error_reply(400, exc.detail)
    except DomainError as exc:
        return error_reply(400, f"{type(exc).__name__}: {exc}")
    except ServiceBusy:
        return error_reply(503, "the database is busy or unreachable; retry shortly")
