"""What the adapters share: field checks in OpenAI's error shape, and placing text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from proxy.errors import BadRequest, InvalidField


def require(body: dict[str, Any], *fields: str) -> None:
    for name in fields:
        if name not in body:
            raise BadRequest(
                f"you must provide a `{name}` parameter",
                param=name,
                code="missing_required_parameter",
            )


def check_model_and_stream(body: dict[str, Any]) -> None:
    require(body, "model")
    if not isinstance(body["model"], str) or not body["model"].strip():
        raise InvalidField("`model` must be a non-empty string", param="model", code="invalid_type")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise InvalidField("`stream` must be a boolean", param="stream", code="invalid_type")


def check_messages(body: dict[str, Any]) -> None:
    """`messages` (present) is a non-empty array of objects, each with a string `role`."""
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


def join_text(existing: Any, text: str, at_end: bool) -> Any:
    """`text` before or after an instruction that is a string, a list of parts or nothing."""
    if existing is None or existing == "":
        return text
    if isinstance(existing, str):
        return f"{existing}\n\n{text}" if at_end else f"{text}\n\n{existing}"
    if isinstance(existing, list):
        part = {"type": "text", "text": text}
        return [*existing, part] if at_end else [part, *existing]
    return existing


def texts_of(content: Any, kinds: tuple[str, ...]) -> Any:
    """A content that is a string as is; a list of parts as chat `text` parts of `kinds`."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return [
            {"type": "text", "text": part["text"]}
            for part in content
            if isinstance(part, dict)
            and part.get("type", "text") in kinds
            and isinstance(part.get("text"), str)
        ]
    return ""


class NoClientHeaders:
    @staticmethod
    def client_headers(headers: Any) -> None:
        return None

    @staticmethod
    def check_entry(name: str, provider_model: Callable[[], str]) -> None:
        return None
