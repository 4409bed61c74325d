"""Fuzzing every operation of the server's own OpenAPI schema: no 5xx, OpenAI's error shape.

Hypothesis draws path and query values from each parameter's schema type (and beyond it:
huge integers, control characters, surrogate escapes), and JSON bodies of any shape for the
operations that take one; bounded examples so the suite stays fast.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

_TEXT = st.text(
    alphabet=st.characters(codec="utf-8") | st.sampled_from(["\n", "\x00", "\u202e", "/", "%"]),
    max_size=40,
)
_ODD_INTS = st.integers(min_value=-(10**30), max_value=10**30)
_JSON = st.recursive(
    st.none() | st.booleans() | _ODD_INTS | st.floats(allow_nan=False) | _TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_TEXT, children, max_size=4),
    max_leaves=12,
)
_BODY_KEYS = ["model", "messages", "user", "statement", "context", "text", "request_id", "score"]
_BODIES = st.dictionaries(st.sampled_from(_BODY_KEYS) | _TEXT, _JSON, max_size=5) | _JSON
_RAW_BODIES = st.sampled_from(
    [b'{"a": "\\ud800"}', b"[" * 3000, b'{"user": "x\\u0000"}', b"\xff\xfe", b"{", b""]
)


def _value(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    kinds = {s.get("type") for s in [schema, *schema.get("anyOf", [])]}
    if "integer" in kinds or "number" in kinds:
        return _ODD_INTS | st.floats(allow_nan=False) | _TEXT
    return _TEXT


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    skip = {"/ui", "/ui/{path}"}
    return [
        (method.upper(), path, operation)
        for path, item in spec["paths"].items()
        if path not in skip and not path.startswith("/ui")
        for method, operation in item.items()
    ]


def test_no_operation_answers_5xx(proxy, upstream):
    spec = httpx.get(proxy.url + "/openapi.json").json()
    operations = _operations(spec)
    assert len(operations) >= 15

    @st.composite
    def requests(draw: st.DrawFn) -> tuple[str, str, dict[str, Any], bytes | None]:
        method, path, operation = draw(st.sampled_from(operations))
        query: dict[str, Any] = {}
        for param in operation.get("parameters", []):
            value = draw(_value(param.get("schema", {})))
            if param["in"] == "path":
                path = path.replace("{" + param["name"] + "}", quote(str(value) or "x", safe=""))
            elif param["in"] == "query" and draw(st.booleans()):
                query[param["name"]] = str(value)
        body = None
        if method in ("POST", "PATCH", "PUT"):
            body = draw(_RAW_BODIES | _BODIES.map(lambda b: json.dumps(b).encode()))
        return method, path, query, body

    @settings(
        max_examples=50,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(requests())
    def check(request: tuple[str, str, dict[str, Any], bytes | None]) -> None:
        method, path, query, body = request
        response = client.request(
            method, path, params=query, content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code < 500 or response.status_code in (502, 503, 504), (
            method,
            path,
            query,
            body,
            response.text,
        )
        assert "x-selfmodel-request-id" in response.headers
        if response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
            assert set(response.json()["error"]) == {"message", "type", "param", "code"}

    # One keep-alive connection throughout: an error must not cost the client its connection.
    with httpx.Client(base_url=proxy.url, timeout=30) as client:
        check()
