"""Embeddings (`POST /v1/embeddings`): passed through, nothing planned or injected, nothing
learned; audited like any call (with no beliefs)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from memory.inject.plan import Injection
from proxy.apis.chat import ChatReader
from proxy.apis.common import NoClientHeaders, check_model_and_stream, require
from proxy.identity import end_user


class EmbeddingsAdapter(NoClientHeaders):
    api = "embeddings"
    injects = False

    @staticmethod
    def check(body: dict[str, Any]) -> None:
        check_model_and_stream(body)
        require(body, "input")

    @staticmethod
    def end_user(body: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
        return end_user(body, headers)

    @staticmethod
    def messages(body: dict[str, Any]) -> list[dict[str, Any]]:
        return []

    @staticmethod
    def place(body: dict[str, Any], injection: Injection, position: str | None) -> dict[str, Any]:
        return body

    @staticmethod
    def reply_text(data: dict[str, Any]) -> str:
        return ""

    @staticmethod
    def reader() -> ChatReader:
        return ChatReader()  # embeddings do not stream; a provider that did is read as chat


EMBEDDINGS = EmbeddingsAdapter()
