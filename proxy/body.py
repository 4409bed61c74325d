"""Reading and checking a JSON request body before anything else touches it.

Every body is validated once, here: valid JSON, at most `MAX_DEPTH` levels deep, integers
within 64 bits, no NaN or Infinity, and no string (key or value) holding a lone UTF-16
surrogate or a NUL character, none of which SQLite, the outbox or the provider can take.
Large bodies are parsed and walked in a worker thread, so one 4 MB request does not hold
the event loop.
"""

from __future__ import annotations

import json
import re
from typing import Any

import anyio
from fastapi import Request

from proxy.apis.common import check_messages, require
from proxy.errors import BadRequest, InvalidField, PayloadTooLarge


async def read_json(request: Request, limit: int) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body is larger than {limit} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise BadRequest("request body is empty; expected a JSON object", code="invalid_json")
    if len(raw) > OFF_LOOP_BYTES:
        return await anyio.to_thread.run_sync(parse_body, raw)
    return parse_body(raw)


MAX_DEPTH = 64
OFF_LOOP_BYTES = 64 * 1024
_INT_LIMIT = 2**63
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_body(raw: bytes) -> dict[str, Any]:
    """The JSON object in `raw`, checked (see the module docstring); else `BadRequest`."""
    try:
        body = json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise BadRequest(
            f"request body is nested too deeply (at most {MAX_DEPTH} levels)", code="invalid_json"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}", code="invalid_json") from None
    except ValueError as exc:  # NaN/Infinity, or an integer of thousands of digits
        raise BadRequest(f"request body is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object", code="invalid_json")
    check_tree(body)
    return body


def check_tree(value: Any) -> None:
    """Walk a parsed body without recursion; raise `BadRequest` naming the first bad field."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if len(path) > MAX_DEPTH:
            raise BadRequest(
                f"request body is nested too deeply (at most {MAX_DEPTH} levels)",
                code="invalid_json",
            )
        if isinstance(item, dict):
            for key, child in item.items():
                _check_string(key, path)
                stack.append((child, (*path, key)))
        elif isinstance(item, list):
            stack.extend((child, (*path, str(i))) for i, child in enumerate(item))
        elif isinstance(item, str):
            _check_string(item, path)
        elif isinstance(item, int) and not -_INT_LIMIT <= item < _INT_LIMIT:
            raise BadRequest(
                f"`{'.'.join(path) or 'body'}`: integers must fit in 64 bits",
                param=".".join(path) or None,
                code="invalid_value",
            )


def _check_string(text: str, path: tuple[str, ...]) -> None:
    found = _BAD_TEXT.search(text)
    if found is None:
        return
    where = ".".join(path) or "body"
    what = "a NUL character" if found.group() == "\x00" else "a lone UTF-16 surrogate"
    raise BadRequest(
        f"`{where}` contains {what}, which is not valid text",
        param=".".join(path) or None,
        code="invalid_text",
    )


def check_chat_body(body: dict[str, Any]) -> None:
    """The few fields the proxy itself relies on; the rest goes upstream untouched."""
    require(body, "model", "messages")
    if not isinstance(body["model"], str) or not body["model"].strip():
        raise InvalidField("`model` must be a non-empty string", param="model", code="invalid_type")
    check_messages(body)
    if "stream" in body and not isinstance(body["stream"], bool):
        raise InvalidField("`stream` must be a boolean", param="stream", code="invalid_type")
    if "n" in body and (not isinstance(body["n"], int) or body["n"] < 1):
        raise InvalidField("`n` must be a positive integer", param="n", code="invalid_type")
