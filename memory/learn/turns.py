"""A chat turn waiting for extraction, as written to the outbox."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from memory.ledger.db import iso, utcnow
from memory.models import content_parts


@dataclass
class Turn:
    request_id: str
    tenant: str
    user: str
    model: str
    messages: list[dict[str, Any]]
    reply: str
    injected_ids: list[str] = field(default_factory=list)
    at: str = field(default_factory=lambda: iso(utcnow()))  # when the user said it

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Turn:
        return cls(**data)

    def user_texts(self) -> list[str]:
        """The user's words of this turn: the messages after the last assistant reply."""
        last_assistant = max(
            (i for i, m in enumerate(self.messages) if m.get("role") == "assistant"), default=-1
        )
        texts = []
        for message in self.messages[last_assistant + 1 :]:
            if message.get("role") != "user":
                continue
            texts.extend(content_parts(message.get("content")))
        return texts
