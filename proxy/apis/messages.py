"""Anthropic's Messages API (`POST /v1/messages`) for `anthropic/...` models.

The block goes into `system` (a string or text blocks; before or after the client's, as the
rule's position says; `before_last_user` appends, Anthropic having no system turns). End user:
`metadata.user_id`, else `X-Selfmodel-User`. The turn read back is `system` + `messages` and the
text blocks of the reply.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from memory.inject.plan import Injection
from proxy.apis.common import check_messages, check_model_and_stream, join_text, require, texts_of
from proxy.direct import ANTHROPIC_PREFIX
from proxy.errors import BadRequest, InvalidField, SelfmodelError
from proxy.identity import USER_HEADER, validate_user_id
from proxy.streaming import sse

# The client's request headers the provider reads (API version, beta features).
FORWARDED = ("anthropic-version", "anthropic-beta")
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def _text(content: Any) -> str:
    return "".join(
        str(block.get("text") or "")
        for block in content or ()
        if isinstance(block, dict) and block.get("type") == "text"
    )


class MessagesReader:
    def __init__(self) -> None:
        self.finished = False
        self.failure: str | None = None
        self._parts: list[str] = []

    def add(self, name: str | None, data: Any) -> None:
        if not isinstance(data, dict):
            return
        kind = data.get("type", name)
        if kind == "content_block_delta":
            delta = data.get("delta") or {}
            if delta.get("type") == "text_delta":
                self._parts.append(str(delta.get("text") or ""))
        elif kind == "message_stop":
            self.finished = True
        elif kind == "error":
            error = data.get("error")
            self.failure = str(error.get("message") if isinstance(error, dict) else error)

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def error_frame(self, error: SelfmodelError) -> bytes:
        kind = _ERROR_TYPES.get(error.status, "api_error")
        event = {"type": "error", "error": {"type": kind, "message": error.message}}
        return b"\n" + sse(event, event="error")


class MessagesAdapter:
    api = "messages"
    injects = True

    @staticmethod
    def check(body: dict[str, Any]) -> None:
        check_model_and_stream(body)
        require(body, "messages")
        check_messages(body)
        if "metadata" in body and not isinstance(body["metadata"], dict | None):
            raise InvalidField("`metadata` must be an object", param="metadata")

    @staticmethod
    def check_entry(name: str, provider_model: Callable[[], str]) -> None:
        provider = provider_model()
        if not provider.startswith(ANTHROPIC_PREFIX):
            raise BadRequest(
                f"/v1/messages serves Anthropic models (anthropic/...); `{name}` is "
                f"configured as {provider}: call it through /v1/chat/completions",
                param="model",
                code="model_not_supported",
            )

    @staticmethod
    def end_user(body: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
        user = (body.get("metadata") or {}).get("user_id")
        if user is not None and user != "":
            return validate_user_id(user, "metadata.user_id")
        value = headers.get(USER_HEADER)
        return validate_user_id(value, USER_HEADER) if value else None

    @staticmethod
    def messages(body: dict[str, Any]) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        system = texts_of(body.get("system"), ("text",))
        if system:
            messages.append({"role": "system", "content": system})
        for message in body["messages"]:
            messages.append(
                {"role": message["role"], "content": texts_of(message.get("content"), ("text",))}
            )
        return messages

    @staticmethod
    def place(body: dict[str, Any], injection: Injection, position: str | None) -> dict[str, Any]:
        if not injection.rendered:
            return body
        at_end = position != "system_prepend"
        return {**body, "system": join_text(body.get("system"), injection.rendered, at_end)}

    @staticmethod
    def reply_text(data: dict[str, Any]) -> str:
        return _text(data.get("content"))

    @staticmethod
    def reader() -> MessagesReader:
        return MessagesReader()

    @staticmethod
    def client_headers(headers: Mapping[str, str]) -> dict[str, str]:
        return {name: headers[name] for name in FORWARDED if name in headers}


MESSAGES = MessagesAdapter()
