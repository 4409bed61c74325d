"""OpenAI's Responses API (`POST /v1/responses`).

The block goes into `instructions` (before or after the client's, as the rule's position says),
or, for `before_last_user`, into an input item of its own before the latest user item (a
leading one when there is none). `previous_response_id`, `store` and every other field go to
the provider untouched. The turn read back is `instructions` + `input` as chat messages and the
text of the `output` messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from memory.inject.plan import Injection
from proxy.apis.common import NoClientHeaders, check_model_and_stream, join_text, texts_of
from proxy.errors import InvalidField, SelfmodelError
from proxy.identity import USER_HEADER, validate_user_id
from proxy.streaming import sse

ROLES = ("user", "assistant", "system", "developer")
TEXT_PARTS = ("input_text", "output_text", "text")
TERMINAL = ("response.completed", "response.incomplete")
FAILED = ("response.failed", "error")


def _output_text(response: Mapping[str, Any]) -> str:
    parts = []
    for item in response.get("output") or ():
        if isinstance(item, dict) and item.get("type") == "message":
            for part in item.get("content") or ():
                if isinstance(part, dict) and part.get("type") == "output_text":
                    parts.append(str(part.get("text") or ""))
    return "".join(parts)


class ResponsesReader:
    def __init__(self) -> None:
        self.finished = False
        self.failure: str | None = None
        self._parts: list[str] = []
        self._final: str | None = None
        self._sequence = -1

    def add(self, name: str | None, data: Any) -> None:
        if not isinstance(data, dict):
            return
        kind = data.get("type")
        if isinstance(data.get("sequence_number"), int):
            self._sequence = data["sequence_number"]
        if kind == "response.output_text.delta":
            self._parts.append(str(data.get("delta") or ""))
        elif kind in TERMINAL:
            self.finished = True
            response = data.get("response")
            if isinstance(response, dict):
                self._final = _output_text(response)
        elif kind in FAILED:
            error = data.get("error") if kind == "error" else (data.get("response") or {})
            self.failure = str(
                data.get("message") or (error.get("error") if isinstance(error, dict) else error)
            )

    @property
    def text(self) -> str:
        return self._final if self._final is not None else "".join(self._parts)

    def error_frame(self, error: SelfmodelError) -> bytes:
        # The Responses API's own error event.
        event = {
            "type": "error",
            "code": error.code,
            "message": error.message,
            "param": error.param,
            "sequence_number": self._sequence + 1,
        }
        return b"\n" + sse(event, event="error")


class ResponsesAdapter(NoClientHeaders):
    api = "responses"
    injects = True

    @staticmethod
    def check(body: dict[str, Any]) -> None:
        check_model_and_stream(body)
        if "input" in body and not isinstance(body["input"], str | list):
            raise InvalidField(
                "`input` must be a string or an array of input items",
                param="input",
                code="invalid_type",
            )
        if "instructions" in body and not isinstance(body["instructions"], str | None):
            raise InvalidField(
                "`instructions` must be a string", param="instructions", code="invalid_type"
            )

    @staticmethod
    def end_user(body: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
        for param in ("user", "safety_identifier"):
            value = body.get(param)
            if value is not None and value != "":
                return validate_user_id(value, param)
        value = headers.get(USER_HEADER)
        return validate_user_id(value, USER_HEADER) if value else None

    @staticmethod
    def messages(body: dict[str, Any]) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        if isinstance(body.get("instructions"), str) and body["instructions"]:
            messages.append({"role": "system", "content": body["instructions"]})
        given = body.get("input")
        if isinstance(given, str):
            messages.append({"role": "user", "content": given})
            return messages
        for item in given or ():
            # Messages only (`type` "message" or none); tool calls and outputs say nothing
            # about the user in their own words.
            if (
                isinstance(item, dict)
                and item.get("role") in ROLES
                and item.get("type", "message") == "message"
            ):
                content = texts_of(item.get("content"), TEXT_PARTS)
                messages.append({"role": item["role"], "content": content})
        return messages

    @staticmethod
    def place(body: dict[str, Any], injection: Injection, position: str | None) -> dict[str, Any]:
        text = injection.rendered
        if not text:
            return body
        if position != "before_last_user":
            at_end = position == "system_append"
            return {**body, "instructions": join_text(body.get("instructions"), text, at_end)}
        given = body.get("input")
        items = (
            [{"role": "user", "content": given}] if isinstance(given, str) else list(given or ())
        )
        last_user = max(
            (i for i, it in enumerate(items) if isinstance(it, dict) and it.get("role") == "user"),
            default=0,
        )
        items.insert(last_user, {"role": "system", "content": text})
        return {**body, "input": items}

    @staticmethod
    def reply_text(data: dict[str, Any]) -> str:
        return _output_text(data)

    @staticmethod
    def reader() -> ResponsesReader:
        return ResponsesReader()


RESPONSES = ResponsesAdapter()
