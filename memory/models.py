"""The self-model's data: beliefs, the evidence behind them, and their history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Status = Literal["active", "superseded", "retracted"]
Source = Literal["stated", "inferred", "observed", "asserted", "corrected", "feedback"]
STATUSES: tuple[str, ...] = ("active", "superseded", "retracted")
SOURCES: tuple[str, ...] = ("stated", "inferred", "observed", "asserted", "corrected", "feedback")
MAX_STATEMENT_CHARS = 1000


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


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
