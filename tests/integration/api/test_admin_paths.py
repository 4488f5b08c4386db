"""What ``/_sim/openapi.json`` says is what ``/_sim/`` serves, and every path answers in a
shape its family documents (issue 15).

Health and readiness were served by one module and described by another: the document's
health model was not the reply. Unknown ``/_sim/`` paths answered in HTX's envelope, which the
admin API never uses; ``/`` and ``/_sim/`` answered 404.
"""

from __future__ import annotations

from typing import Any

import httpx

from copytrade.testing.server import LiveServer

JSON_TYPES = {"string": str, "integer": int, "boolean": bool, "array": list, "object": dict}


def _problems(schema: dict[str, Any], body: dict[str, Any]) -> list[str]:
    """Return how ``body`` departs from an object schema of the document (empty: it matches)."""
    props = schema["properties"]
    found = [f"not published: {k}" for k in body if k not in props]
    found += [f"missing: {k}" for k in schema.get("required", []) if k not in body]
    for key, spec in props.items():
        if key not in body:
            continue
        allowed = [s.get("type") for s in spec.get("anyOf", [spec])]
        value = body[key]
        if value is None and "null" in allowed:
            continue
        kinds = tuple(JSON_TYPES[t] for t in allowed if t in JSON_TYPES)
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            found.append(f"{key}={value!r} is not {allowed}")
        if "const" in spec and value != spec["const"]:
            found.append(f"{key}={value!r} is not {spec['const']!r}")
    return found


def _reply_schema(doc: dict[str, Any], path: str, status: str = "200") -> dict[str, Any]:
    content = doc["paths"][path]["get"]["responses"][status]["content"]
    name = content["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    schema: dict[str, Any] = doc["components"]["schemas"][name]
    return schema


def test_health_and_ready_serve_exactly_the_published_replies(live_server: LiveServer) -> None:
    doc = live_server.admin_get("/_sim/openapi.json")
    for path in ("/_sim/health", "/_sim/ready"):
        served = live_server.http.get(path)
        assert served.status_code == 200, served.text
        assert _problems(_reply_schema(doc, path), served.json()) == [], path
    health = live_server.admin_get("/_sim/health")
    assert {"version", "store", "schema_revision", "redis"} <= set(health)
    ready = live_server.admin_get("/_sim/ready")
    assert ready["ready"] is True
    assert ready["problems"] == []


def test_readiness_documents_its_503_with_the_same_reply(live_server: LiveServer) -> None:
    doc = live_server.admin_get("/_sim/openapi.json")
    assert _reply_schema(doc, "/_sim/ready", "503") == _reply_schema(doc, "/_sim/ready")
    assert set(_reply_schema(doc, "/_sim/ready")["required"]) >= {"ready", "problems", "redis"}


def test_the_schema_check_catches_a_reply_that_departs_from_it() -> None:
    schema = {
        "properties": {
            "a": {"type": "integer"},
            "b": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
        "required": ["a", "b"],
    }
    assert _problems(schema, {"a": 1, "b": None}) == []
    assert _problems(schema, {"a": True, "b": "x", "c": 1}) == [
        "not published: c",
        "a=True is not ['integer']",
    ]
    assert _problems(schema, {"b": 2}) == ["missing: a", "b=2 is not ['string', 'null']"]


def test_an_unknown_admin_path_is_a_404_in_the_admin_shape(live_server: LiveServer) -> None:
    for method, path in (("GET", "/_sim/nope"), ("POST", "/_sim/users/1/x"), ("GET", "/_sim")):
        reply = live_server.http.request(method, path, follow_redirects=True)
        if path == "/_sim":  # the router adds the slash: the index answers
            assert reply.status_code == 200
            continue
        assert reply.status_code == 404, reply.text
        assert reply.json() == {
            "error": f"no admin call {method} {path} (see /_sim/docs)",
            "field": None,
        }


def test_a_wrong_method_on_an_admin_path_is_a_405_naming_the_allowed_ones(
    live_server: LiveServer,
) -> None:
    reply = live_server.http.delete("/_sim/clock")
    assert reply.status_code == 405
    assert reply.json()["error"] == "DELETE is not allowed on /_sim/clock (see /_sim/docs)"
    assert set(reply.headers["allow"].split(", ")) >= {"GET", "POST"}


def test_unknown_paths_outside_the_admin_api_keep_htxs_envelope(live_server: LiveServer) -> None:
    for path in ("/copytrading/trader/nope", "/docs", "/linear-swap-api/v1/nope"):
        reply = live_server.http.get(path)
        assert reply.status_code == 404
        body = reply.json()
        assert (body["code"], body["success"]) == (404, False), path


def test_the_root_and_the_admin_root_say_where_everything_is(live_server: LiveServer) -> None:
    for path in ("/", "/_sim/"):
        index = live_server.http.get(path).json()
        assert index["dashboard"] == "/_sim/ui"
        for link in ("admin_docs", "admin_openapi", "health", "ready", "metrics"):
            assert live_server.http.get(index[link]).status_code == 200, link


def test_health_needs_the_token_like_every_admin_call(tmp_path: Any) -> None:
    with LiveServer(db_path=tmp_path / "t.db", demo_seed=False, admin_token="tok") as server:
        for path in ("/_sim/health", "/_sim/ready", "/metrics"):
            refused = httpx.get(f"{server.base_url}{path}", timeout=10)
            assert refused.status_code == 401
            assert refused.json()["error"].startswith("admin token required (Authorization")
