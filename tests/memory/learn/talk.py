"""A user talking to the local learner on a real store: what the learning tests say and read."""

from __future__ import annotations

import asyncio
from typing import Any

from memory.beliefs import EvidenceIn
from memory.learn.apply import Applier
from memory.learn.extractors import LocalExtractor
from memory.selfmodel import SelfModel

T, U = "default", "bo"

# Beliefs of other kinds that a test user holds, so that a link has to stand out.
OTHERS = [
    "I avoid restaurants with loud music.",
    "I prefer aisle seats on long flights.",
    "I love hiking in the mountains.",
    "I dislike horror movies.",
    "I'm allergic to shellfish.",
    "I read mostly historical novels.",
]


def say(runtime: SelfModel, text: str) -> Any:
    """One user turn, extracted locally and applied as the worker applies it."""
    extraction = asyncio.run(
        LocalExtractor(runtime.classifier).extract(
            [text], "", [], runtime.context_descriptions, "m"
        )
    )
    return Applier(runtime.beliefs).apply(T, U, extraction.ops, request_id=None, known_ids=set())


def active(runtime: SelfModel) -> dict[str, Any]:
    """The user's active beliefs, by statement."""
    return {b.statement: b for b in runtime.beliefs.find(T, U, status="active")}


def seed(runtime: SelfModel, statements: list[str]) -> None:
    for text in statements:
        runtime.beliefs.create(T, U, text, "preferences", EvidenceIn(source="stated", kind="x"))
