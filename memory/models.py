"""The self-model's data: beliefs, the evidence behind them, their history, and the checks a
statement passes before it is stored; what a chat message's content says as text."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from memory import guard, secrets
from memory.errors import InvalidError

Status = Literal["active", "superseded", "retracted"]
Source = Literal["stated", "inferred", "observed", "asserted", "corrected", "feedback"]
STATUSES: tuple[str, ...] = ("active", "superseded", "retracted")
SOURCES: tuple[str, ...] = ("stated", "inferred", "observed", "asserted", "corrected", "feedback")
MAX_STATEMENT_CHARS = 1000
# Two statements whose vectors are at least this close say the same thing: retrieval keeps
# the better-ranked one, and learning reinforces the existing belief instead of adding one.
NEAR_DUPLICATE = 0.92


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


@dataclass(frozen=True)
class EvidenceIn:
    source: str
    kind: str
    polarity: int = 1
    weight: float = 1.0
    quote: str | None = None
    anchor: float | None = None
    request_id: str | None = None
    observation_id: str | None = None
    note: str | None = None  # why it was recorded: a revision's cue, the belief it revised


def clean_statement(statement: object, param: str = "statement") -> str:
    if not isinstance(statement, str) or not statement.strip():
        raise InvalidError("statement must be a non-empty string", param=param)
    # Stored as seen: normalised, without hidden characters (zero-width, bidi, separators).
    text = " ".join(guard.plain(statement).split())
    if not text:
        raise InvalidError("statement must be a non-empty string", param=param)
    if len(text) > MAX_STATEMENT_CHARS:
        raise InvalidError(
            f"statement is longer than {MAX_STATEMENT_CHARS} characters", param=param
        )
    if secrets.contains_secret(text):
        kinds = sorted({m.kind for m in secrets.find_secrets(text)})
        raise InvalidError(
            f"statement contains a secret ({', '.join(kinds)}); secrets are "
            "never stored as beliefs",
            param=param,
        )
    if guard.looks_like_instruction(text):
        raise InvalidError(
            "statement reads as an instruction to the assistant, not a fact about the user; "
            "instructions are never stored as beliefs",
            param=param,
        )
    return text


def check_confidence(value: object, param: str = "confidence") -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise InvalidError("confidence must be a number between 0 and 1", param=param)
    return float(value)


def safe_quote(quote: str | None) -> str | None:
    return None if quote is None else secrets.redact(quote)[0][:2000]


def belief_row(
    tenant: str,
    user: str,
    text: str,
    context: str,
    source: str,
    supersedes: str | None,
    moment: str,
) -> dict[str, Any]:
    """The ledger row of a new active belief (its confidence is set from its evidence)."""
    return {
        "id": new_id("bel"),
        "tenant": tenant,
        "user_id": user,
        "statement": text,
        "context": context,
        "status": "active",
        "source": source,
        "confidence": 0.0,
        "version": 1,
        "supersedes": supersedes,
        "superseded_by": None,
        "valid_from": moment,
        "valid_to": None,
        "created_at": moment,
        "updated_at": moment,
    }


def evidence_row(belief_id: str, e: EvidenceIn, moment: str) -> dict[str, Any]:
    """The ledger row of one piece of evidence (quotes stored redacted and capped)."""
    return {
        "id": new_id("evi"),
        "belief_id": belief_id,
        "source": e.source,
        "kind": e.kind,
        "quote": safe_quote(e.quote),
        "request_id": e.request_id,
        "observation_id": e.observation_id,
        "polarity": 1 if e.polarity >= 0 else -1,
        "weight": max(0.0, float(e.weight)),
        "anchor": e.anchor,
        "note": e.note,
        "at": moment,
    }


def content_parts(content: Any) -> list[str]:
    """The text parts of a chat message's content (a string, or a list of typed parts)."""
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        ]
    return []


def content_text(content: Any) -> str:
    """A chat message's content as one text (its text parts joined by a space)."""
    return content if isinstance(content, str) else " ".join(content_parts(content))


class Evidence(BaseModel):
    id: str
    source: Source
    kind: str
    quote: str | None = None
    request_id: str | None = None
    observation_id: str | None = None
    polarity: int = 1
    weight: float = 1.0
    anchor: float | None = None
    note: str | None = None
    at: datetime
    delta: float | None = None
    confidence_after: float | None = None


class HistoryEntry(BaseModel):
    version: int
    event: str
    statement: str
    status: Status
    confidence: float
    actor: str
    request_id: str | None = None
    observation_id: str | None = None
    at: datetime


class Belief(BaseModel):
    id: str
    tenant: str
    user: str
    statement: str
    context: str
    confidence: float
    status: Status
    source: Source
    version: int
    supersedes: str | None = None
    superseded_by: str | None = None
    valid_from: datetime
    valid_to: datetime | None = None
    created: datetime
    updated: datetime
    evidence: list[Evidence] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)


class ScoredBelief(BaseModel):
    id: str
    statement: str
    context: str
    confidence: float
    score: float
    # Why it was chosen: "via" ("score" or "core"), its rank and score parts
    # (memory.inject.ranking.Scored.parts); the last injected belief also carries "cut".
    why: dict[str, Any] | None = None
