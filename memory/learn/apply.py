"""Applying extracted operations to a user's self-model, op by op.

Guards run here whatever the extractor: unknown ids, instructions posing as
facts, third parties, and secrets are rejected per op; an `add` that nearly
repeats an existing belief becomes a reinforcement of it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from memory import secrets
from memory.beliefs import Beliefs, EvidenceIn
from memory.errors import MemoryFault
from memory.learn.local import is_about_third_party
from memory.learn.ops import Op, Rejected
from memory.models import NEAR_DUPLICATE
from memory.prompts import BLOCK_TAG

_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget)\b.{0,40}\b(instructions?|rules?|prompts?|above)\b"
    r"|\b(you|assistant|the model|ai)\s+(must|should|shall|will)\s+(always|never|now)\b"
    r"|\b(system prompt|jailbreak|developer mode)\b"
    r"|^\s*(always|never|do not|don't)\s+(say|tell|reveal|answer|respond|mention|use)\b"
    rf"|</?\s*{BLOCK_TAG}\b",
    re.IGNORECASE,
)


@dataclass
class Applied:
    applied: list[tuple[str, str]] = field(default_factory=list)  # (op, belief id)
    rejected: list[Rejected] = field(default_factory=list)


def looks_like_instruction(text: str) -> bool:
    return bool(_INSTRUCTION.search(text))


def _check_text(op: Op) -> str | None:
    text = op.statement or ""
    if op.statement is not None:
        if looks_like_instruction(text):
            return "statement is an instruction to the assistant, not a fact about the user"
        if is_about_third_party(text):
            return "statement is about someone other than the user"
        if secrets.contains_secret(text):
            return "statement contains a secret"
    return None


class Applier:
    def __init__(self, beliefs: Beliefs) -> None:
        self.beliefs = beliefs

    def _near_duplicate(self, tenant: str, user: str, statement: str, context: str) -> str | None:
        found, sims = self.beliefs.similar(tenant, user, statement, [context])
        if not found:
            return None
        best = int(np.argmax(sims))
        return found[best] if float(sims[best]) >= NEAR_DUPLICATE else None

    def apply(
        self,
        tenant: str,
        user: str,
        ops: Sequence[Op],
        *,
        request_id: str | None,
        known_ids: set[str],
        actor: str = "extraction",
    ) -> Applied:
        result = Applied()
        for index, op in enumerate(ops):
            problem = _check_text(op)
            if problem is None and op.id is not None and op.id not in known_ids:
                problem = f"unknown belief id {op.id!r}"
            if problem:
                result.rejected.append(Rejected(index, problem, op))
                continue
            try:
                belief_id = self._apply_one(tenant, user, op, request_id, actor)
            except MemoryFault as exc:
                result.rejected.append(Rejected(index, str(exc), op))
                continue
            result.applied.append((op.op, belief_id))
        return result

    def _apply_one(self, tenant: str, user: str, op: Op, request_id: str | None, actor: str) -> str:
        evidence = EvidenceIn(
            source=op.source, kind="turn", polarity=1, quote=op.quote, request_id=request_id
        )
        if op.op == "add":
            duplicate = self._near_duplicate(tenant, user, op.statement or "", op.context)
            if duplicate is None:
                return self.beliefs.create(
                    tenant, user, op.statement or "", op.context, evidence, actor=actor
                ).id
            op = Op(
                op="reinforce", context=op.context, quote=op.quote, source=op.source, id=duplicate
            )
        assert op.id is not None
        if op.op in ("reinforce", "weaken"):
            polarity = 1 if op.op == "reinforce" else -1
            weakened = EvidenceIn(
                source=op.source,
                kind="turn",
                polarity=polarity,
                quote=op.quote,
                request_id=request_id,
            )
            return self.beliefs.add_evidence(
                tenant,
                user,
                op.id,
                weakened,
                event=f"{op.op}d" if op.op == "reinforce" else "weakened",
                actor=actor,
            ).id
        if op.op == "revise":
            return self.beliefs.revise(
                tenant, user, op.id, op.statement or "", evidence, actor=actor, context=op.context
            ).id
        return self.beliefs.set_status(
            tenant, user, op.id, "retracted", actor=actor, request_id=request_id
        ).id


def top_related(similarities: np.ndarray, ids: Sequence[str], limit: int) -> list[str]:
    """The ids of the beliefs closest to a turn, for the extractor's context."""
    if not ids or limit <= 0:
        return []
    order = np.argsort(-similarities, kind="stable")[:limit]
    return [ids[int(i)] for i in order]
