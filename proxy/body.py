"""Reading and checking a JSON request body before anything else touches it."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

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
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object", code="invalid_json")
    return body


def check_chat_body(body: dict[str, Any]) -> None:
    """The few fields the proxy itself relies on; the rest goes upstream untouched."""
    for field in ("model", "messages"):
        if field not in body:
            raise BadRequest(
                f"you must provide a `{field}` parameter",
                param=field,
                code="missing_required_parameter",
            )
    if not isinstance(body["model"], str) or not body["model"].strip():
        raise InvalidField("`model` must be a non-empty string", param="model", code="invalid_type")
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        raise InvalidField(
            "`messages` must be a non-empty array", param="messages", code="invalid_type"
        )
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise InvalidField(
                f"messages[{index}] must be an object with a string `role`",
                param=f"messages.{index}",
                code="invalid_type",
            )
    if "stream" in body and not isinstance(body["stream"], bool):
        raise InvalidField("`stream` must be a boolean", param="stream", code="invalid_type")
    if "n" in body and (not isinstance(body["n"], int) or body["n"] < 1):
        raise InvalidField("`n` must be a positive integer", param="n", code="invalid_type")
