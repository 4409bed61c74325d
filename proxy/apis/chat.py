"""Chat Completions: the block goes into the messages (the rule's position); the reply is the
first choice's message."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from memory.inject.plan import Injection
from proxy.apis.common import NoClientHeaders
from proxy.body import check_chat_body
from proxy.errors import SelfmodelError
from proxy.identity import end_user
from proxy.streaming import sse


class ChatReader:
    def __init__(self) -> None:
        self.finished = False
        self.failure: str | None = None
        self._parts: list[str] = []

    def add(self, name: str | None, data: Any) -> None:
        if data == "[DONE]":
            self.finished = True
            return
        if not isinstance(data, dict):
            return
        if isinstance(data.get("error"), dict):
            self.failure = str(data["error"].get("message"))
            return
        for choice in data.get("choices") or ():
            if choice.get("index", 0) == 0:
                content = (choice.get("delta") or {}).get("content")
                if content:
                    self._parts.append(content)
            if choice.get("finish_reason"):
                self.finished = True

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def error_frame(self, error: SelfmodelError) -> bytes:
        return sse(error.body())  # what OpenAI sends in-band; the SDK raises it


class ChatAdapter(NoClientHeaders):
    api = "chat"
    injects = True

    @staticmethod
    def check(body: dict[str, Any]) -> None:
        check_chat_body(body)

    @staticmethod
    def end_user(body: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
        return end_user(body, headers)

    @staticmethod
    def messages(body: dict[str, Any]) -> list[dict[str, Any]]:
        return body["messages"]

    @staticmethod
    def place(body: dict[str, Any], injection: Injection, position: str | None) -> dict[str, Any]:
        # The planner placed the block in the messages already.
        return {**body, "messages": injection.messages}

    @staticmethod
    def reply_text(data: dict[str, Any]) -> str:
        choices = data.get("choices") or []
        message = (choices[0].get("message") or {}) if choices else {}
        content = message.get("content")
        return content if isinstance(content, str) else ""

    @staticmethod
    def reader() -> ChatReader:
        return ChatReader()


CHAT = ChatAdapter()
