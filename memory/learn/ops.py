"""Belief operations proposed by an extractor, and parsing them from LLM output.

Ops are validated one by one: a bad op is rejected with its reason, the rest
of the batch still applies.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from memory.errors import ParseError

OpKind = Literal["add", "reinforce", "weaken", "revise", "retract"]
OP_KINDS: tuple[str, ...] = ("add", "reinforce", "weaken", "revise", "retract")
_NEEDS_ID = {"reinforce", "weaken", "revise", "retract"}
_NEEDS_STATEMENT = {"add", "revise"}

OPS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["ops"],
    "properties": {
        "ops": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["op", "id", "statement", "context", "quote", "source"],
                "properties": {
                    "op": {"type": "string", "enum": list(OP_KINDS)},
                    "id": {"type": ["string", "null"]},
                    "statement": {"type": ["string", "null"]},
                    "context": {"type": "string"},
                    "quote": {"type": "string"},
                    "source": {"type": "string", "enum": ["stated", "inferred"]},
                },
            },
        }
    },
}


@dataclass(frozen=True)
class Op:
    op: str
    context: str
    quote: str
    source: str = "stated"
    id: str | None = None
    statement: str | None = None
    # Local extraction names the belief a revise/retract is about in words, not by id;
    # the applier links it. `cue` says what announced the change ("no longer", "moved").
    target: str | None = None
    cue: str | None = None
    # A change reported in words that are not, on their own, a statement about the user ("The
    # trio broke up, so I'm not in any band now"): stored only as the revision of a belief it
    # links to, never as a new belief (memory/learn/change.py).
    anchored: bool = False


@dataclass(frozen=True)
class Rejected:
    index: int
    reason: str
    raw: Any


def _json_candidates(text: str) -> list[str]:
    stripped = text.strip()
    fenced = re.findall(r"```(?:json)?\s*(.*?)```", stripped, re.DOTALL)
    candidates = [stripped, *fenced]
    start, end = stripped.find("{"), stripped.rfind("}")
    if start != -1 and end > start:
        candidates.append(stripped[start : end + 1])
    return candidates


def _repair(text: str) -> str:
    text = re.sub(r",\s*([}\]])", r"\1", text)
    text = re.sub(r"\bNone\b", "null", text)
    text = re.sub(r"\bTrue\b", "true", re.sub(r"\bFalse\b", "false", text))
    return text


def parse_output(text: str) -> Any:
    """JSON from an LLM reply: as is, inside prose or a code fence, or after one repair."""
    for candidate in _json_candidates(text):
        for attempt in (candidate, _repair(candidate)):
            try:
                return json.loads(attempt)
            except json.JSONDecodeError:
                continue
    raise ParseError("extractor output is not valid JSON")


def validate_ops(data: Any, contexts: set[str]) -> tuple[list[Op], list[Rejected]]:
    items = data.get("ops") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ParseError("extractor output has no `ops` list")
    ops: list[Op] = []
    rejected: list[Rejected] = []
    for index, item in enumerate(items):
        reason = _problem(item, contexts)
        if reason:
            rejected.append(Rejected(index, reason, item))
            continue
        ops.append(
            Op(
                op=item["op"],
                context=item["context"],
                quote=str(item.get("quote") or ""),
                source=item.get("source") or "stated",
                id=item.get("id") or None,
                statement=(item.get("statement") or None),
            )
        )
    return ops, rejected


def _problem(item: Any, contexts: set[str]) -> str | None:
    if not isinstance(item, dict):
        return "op is not an object"
    kind = item.get("op")
    if kind not in OP_KINDS:
        return f"unknown op {kind!r}"
    if item.get("context") not in contexts:
        return f"unknown context {item.get('context')!r}"
    if kind in _NEEDS_ID and not isinstance(item.get("id"), str):
        return f"{kind} needs the id of an existing belief"
    if kind in _NEEDS_STATEMENT and not (
        isinstance(item.get("statement"), str) and item["statement"].strip()
    ):
        return f"{kind} needs a statement"
    if item.get("source", "stated") not in ("stated", "inferred"):
        return f"unknown source {item.get('source')!r}"
    return None
