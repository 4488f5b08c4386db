"""The admin API's OpenAPI 3.1 document, built from its operation table, and a docs page.

The docs page is plain HTML rendered on the server from that same document: no JavaScript
bundle to vendor or fetch from a CDN, nothing downloaded at run time, and the page cannot
drift from the schema it shows.
"""

from __future__ import annotations

import enum
import html
import inspect
import json
import re
import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

import copytrade
from copytrade.api.admin_http import MAX_BODY_BYTES, Operation
from copytrade.api.admin_models import ErrorReply
from copytrade.protocol.schema import BOOL, INT, Struct, plan
from copytrade.protocol.sim import SimOrder, SimPosition

_REF = "#/components/schemas/{model}"
_PATH_PARAMS: dict[str, dict[str, Any]] = {
    "uid": {
        "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
        "description": "The user's UID.",
    },
    "contract_code": {
        "schema": {"type": "string", "examples": ["BTC-USDT"]},
        "description": "A configured contract (case-insensitive).",
    },
}
_ERRORS = {
    "400": "The request is refused: `error` says why, `field` names the field at fault.",
    "401": "The admin token is missing or wrong.",
    "404": "No such user or contract.",
    "413": "The body is larger than 1 MiB.",
    "503": "The database is busy or unreachable: retry shortly.",
}


def _unwrap(hint: Any) -> Any:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return next(a for a in typing.get_args(hint) if a is not type(None))
    return hint


def struct_schemas(cls: type[Struct]) -> dict[str, dict[str, Any]]:
    """Return JSON schemas of a declared wire structure and the structures it nests.

    The structure (:mod:`copytrade.protocol.schema`) is the one declaration of the shape; the
    schema follows each field's kind: decimals and ids are strings, enums list their values.
    """
    hints = typing.get_type_hints(cls)
    found: dict[str, dict[str, Any]] = {}
    props: dict[str, Any] = {}
    for f in plan(cls).fields:
        inner = _unwrap(hints[f.name])
        nested = typing.get_args(inner)[0] if typing.get_origin(inner) is tuple else None
        schema: dict[str, Any]
        if isinstance(inner, type) and issubclass(inner, enum.Enum):
            schema = {"enum": [m.value for m in inner]}
        elif isinstance(nested, type) and issubclass(nested, Struct):
            found.update(struct_schemas(nested))
            schema = {"type": "array", "items": {"$ref": _REF.format(model=nested.__name__)}}
        else:
            kind = {INT: "integer", BOOL: "boolean"}.get(f.kind, "string")
            schema = {"type": kind, "description": f.kind.name}
        if f.optional:
            about = schema.pop("description", None)
            schema = {"anyOf": [schema, {"type": "null"}]}
            if about:
                schema["description"] = f"{about}, or null"
        props[f.keys[0]] = schema
    found[cls.__name__] = {
        "type": "object",
        "title": cls.__name__,
        "description": (inspect.getdoc(cls) or "").partition("\n")[0],
        "properties": props,
        "required": list(props),
    }
    return found


def _doc(operation: Operation) -> tuple[str, str]:
    text = inspect.getdoc(operation.handler) or ""
    summary, _, description = text.partition("\n")
    return summary.strip(), description.strip()


def _json_content(ref: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": ref}}


def openapi_document(operations: Sequence[Operation]) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document describing ``operations``."""
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(ErrorReply, "serialization")]
    for o in operations:
        models.append((o.reply, "serialization"))
        if o.request is not None:
            models.append((o.request, "validation"))
    refs, top = models_json_schema(models, ref_template=_REF)
    error_ref = refs[(ErrorReply, "serialization")]
    paths: dict[str, dict[str, Any]] = {}
    for o in operations:
        summary, description = _doc(o)
        item: dict[str, Any] = {
            "operationId": f"{o.handler.__name__}",
            "summary": summary,
            "tags": ["admin"],
            "responses": {
                **{
                    code: {"description": text, "content": _json_content(error_ref)}
                    for code, text in _ERRORS.items()
                },
                **{
                    status: {
                        "description": text,
                        "content": _json_content(refs[(o.reply, "serialization")]),
                    }
                    for status, text in {"200": "OK", **o.also}.items()
                },
            },
        }
        if description:
            item["description"] = description
        if o.path_params:
            item["parameters"] = [
                {"name": name, "in": "path", "required": True, **_PATH_PARAMS[name]}
                for name in o.path_params
            ]
        if o.request is not None:
            item["requestBody"] = {
                "required": False,
                "content": _json_content(refs[(o.request, "validation")]),
            }
        paths.setdefault(o.path, {})[o.method.lower()] = item
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "copytrade admin API",
            "version": copytrade.__version__,
            "description": (
                "The emulator's own API under /_sim/: users and keys, follows, prices, the "
                "simulation clock, reset. Open on loopback without a token; otherwise (and "
                "whenever a token is configured) send `Authorization: Bearer <admin token>`. "
                f"Bodies are one JSON object of at most {MAX_BODY_BYTES} bytes; amounts are "
                "JSON numbers or decimal strings and come back as decimal strings."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": {
                **top.get("$defs", {}),
                **struct_schemas(SimPosition),
                **struct_schemas(SimOrder),
            },
            "securitySchemes": {"adminToken": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{}, {"adminToken": []}],
    }


# --- the docs page -------------------------------------------------------------------------

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:980px;margin:0 auto;padding:24px}
h1{margin:0 0 4px}h2{margin:32px 0 8px;font-size:18px}
.op{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:14px 18px;margin:14px 0}
.m{display:inline-block;min-width:52px;font-weight:700;border-radius:4px;padding:1px 8px;
color:#fff;text-align:center;margin-right:8px}.GET{background:#2f7d4f}.POST{background:#2d5fa8}
code,pre{font:13px ui-monospace,monospace}pre{background:#f0f2f5;padding:8px;overflow:auto}
table{border-collapse:collapse;width:100%;margin:6px 0}
th,td{text-align:left;border-bottom:1px solid #eceef2;padding:4px 8px;vertical-align:top}
th{font-size:12px;text-transform:uppercase;color:#5b6475}.muted{color:#5b6475}
"""


_CODE = re.compile(r"``?([^`]+)``?")


def _prose(text: str) -> str:
    """Escape ``text`` and show its backquoted words as code."""
    return _CODE.sub(r"<code>\1</code>", html.escape(text))


def _type(schema: dict[str, Any], schemas: dict[str, Any]) -> str:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "enum" in schema:
        return " | ".join(json.dumps(v) for v in schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"])
    if "anyOf" in schema:
        return " | ".join(_type(s, schemas) for s in schema["anyOf"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type(schema.get('items', {}), schemas)}"
    if kind == "object" and "additionalProperties" in schema:
        return f"map of {_type(schema['additionalProperties'], schemas)}"
    return str(kind)


def _limits(schema: dict[str, Any]) -> str:
    parts = []
    for key, sign in (
        ("minimum", "≥"),
        ("exclusiveMinimum", ">"),
        ("maximum", "≤"),
        ("exclusiveMaximum", "<"),
    ):
        for s in (schema, *schema.get("anyOf", [])):
            if key in s:
                parts.append(f"{sign} {s[key]}")
    return ", ".join(parts)


def _fields(name: str, schemas: dict[str, Any]) -> str:
    schema = schemas.get(name, {})
    props = schema.get("properties", {})
    if not props:
        return f'<p class="muted">{html.escape(_type(schema, schemas))}</p>'
    required = set(schema.get("required", []))
    rows = []
    for field, spec in props.items():
        default = "" if "default" not in spec else json.dumps(spec["default"])
        text = spec.get("description", "")
        rows.append(
            "<tr>"
            f"<td><code>{html.escape(field)}</code></td>"
            f"<td>{html.escape(_type(spec, schemas))}</td>"
            f"<td>{'yes' if field in required else html.escape(default or 'no')}</td>"
            f"<td>{html.escape(_limits(spec))}</td>"
            f"<td>{_prose(text)}</td></tr>"
        )
    names = ("field", "type", "required / default", "limits", "meaning")
    head = "<tr>" + "".join(f"<th>{n}</th>" for n in names) + "</tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _ref_name(content: dict[str, Any]) -> str:
    return str(content["application/json"]["schema"]["$ref"]).rsplit("/", 1)[-1]


def _operation_html(path: str, method: str, item: dict[str, Any], schemas: dict[str, Any]) -> str:
    parts = [
        f'<div class="op" id="{html.escape(item["operationId"])}-{method}">',
        f'<div><span class="m {method.upper()}">{method.upper()}</span>'
        f"<code>{html.escape(path)}</code> — {html.escape(item['summary'])}</div>",
    ]
    if "description" in item:
        parts.append(f"<p>{_prose(item['description'])}</p>")
    for param in item.get("parameters", []):
        parts.append(
            f"<p>Path parameter <code>{html.escape(param['name'])}</code>: "
            f"{html.escape(param['description'])}</p>"
        )
    if "requestBody" in item:
        name = _ref_name(item["requestBody"]["content"])
        parts.append(f"<h3>Body: {html.escape(name)}</h3>{_fields(name, schemas)}")
    reply = _ref_name(item["responses"]["200"]["content"])
    parts.append(f"<h3>Reply: {html.escape(reply)}</h3>{_fields(reply, schemas)}")
    parts.append("</div>")
    return "".join(parts)


def render_docs(document: dict[str, Any]) -> str:
    """Return the docs page (HTML) for an OpenAPI document made by :func:`openapi_document`."""
    schemas = document["components"]["schemas"]
    ops = [
        _operation_html(path, method, item, schemas)
        for path, methods in document["paths"].items()
        for method, item in methods.items()
    ]
    info = document["info"]
    title, version = html.escape(info["title"]), html.escape(info["version"])
    nested = sorted(
        n
        for n in schemas
        if not any(
            n == _ref_name(i["responses"]["200"]["content"])
            for p in document["paths"].values()
            for i in p.values()
        )
        and not n.endswith("Request")
    )
    extra = "".join(
        f"<h3 id='{html.escape(n)}'>{html.escape(n)}</h3>{_fields(n, schemas)}" for n in nested
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(info['title'])}</title><style>{_STYLE}</style></head><body><main>"
        f"<h1>{title} <small class='muted'>{version}</small></h1>"
        f"<p>{_prose(info['description'])}</p>"
        "<p>Machine-readable: <a href='/_sim/openapi.json'>/_sim/openapi.json</a> · "
        "Dashboard: <a href='/_sim/ui'>/_sim/ui</a></p>"
        f"<h2>Calls</h2>{''.join(ops)}<h2>Shapes</h2>{extra}</main></body></html>"
    )
