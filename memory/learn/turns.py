"""A chat turn waiting for extraction, as written to the outbox."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from memory import secrets
from memory.ledger.db import iso, utcnow
from memory.models import content_parts

# Extraction reads the user's words after the last assistant reply, and the reply: a cap per
# text keeps a 4 MB request from costing seconds of redaction, gating and extraction.
MAX_TEXT_CHARS = 8000
MAX_MESSAGES = 8


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

    def compact(self) -> Turn:
        """The turn as stored: the user's messages after the last assistant message, and the
        reply, as capped text with secrets redacted.

        The earlier assistant message is not kept: extraction reads only the user's words and
        the reply (`user_texts`), and redacting an answer of ~1,300 characters took ~2.5 ms
        of a kept turn's request."""
        last = max(
            (i for i, m in enumerate(self.messages) if m.get("role") == "assistant"), default=-1
        )
        kept = [m for m in self.messages[last + 1 :] if m.get("role") == "user"]
        return replace(
            self,
            messages=[
                {"role": m["role"], "content": _clean(" ".join(content_parts(m.get("content"))))}
                for m in kept[-MAX_MESSAGES:]
            ],
            reply=_clean(self.reply),
            injected_ids=list(self.injected_ids),
        )


def _clean(text: str) -> str:
    return secrets.redact(text[:MAX_TEXT_CHARS])[0]
