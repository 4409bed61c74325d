"""Open contradictions among a user's active beliefs, and the rule that settles each.

Learning resolves most contradictions as they arrive (a negation revises the old belief);
what is left (two inferences, beliefs written through the API, imports) shows here. The rule:
a user's correction beats everything, what the user said or asserted beats an inference or
an observation, and otherwise the newer statement beats the older one.
"""

from __future__ import annotations

from typing import Any

from memory.beliefs import Beliefs
from memory.learn import revise

_RANK = {"corrected": 3, "stated": 2, "asserted": 2, "observed": 1, "feedback": 1, "inferred": 0}


def winner(a: dict[str, Any], b: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Which of two contradicting beliefs the rule keeps, and why."""
    ra, rb = _RANK.get(a["source"], 0), _RANK.get(b["source"], 0)
    if ra != rb:
        best = a if ra > rb else b
        if best["source"] == "corrected":
            return best, "a user correction beats everything"
        return best, f"{best['source']} beats {(b if best is a else a)['source']}"
    best = a if a["updated_at"] >= b["updated_at"] else b
    return best, "the newer statement beats the older one"


def open_conflicts(beliefs: Beliefs, tenant: str, user: str) -> list[dict[str, Any]]:
    rows = {r["id"]: r for r in beliefs.active_rows(tenant, user)}
    ids, matrix = beliefs.statement_vectors(tenant, user)
    out = []
    for a, b, similarity in revise.conflicts(ids, matrix, rows):
        keep, rule = winner(rows[a], rows[b])
        out.append(
            {
                "beliefs": [
                    beliefs.from_row(rows[a]).model_dump(
                        mode="json", exclude={"evidence", "history"}
                    ),
                    beliefs.from_row(rows[b]).model_dump(
                        mode="json", exclude={"evidence", "history"}
                    ),
                ],
                "similarity": round(similarity, 4),
                "winner": keep["id"],
                "rule": rule,
            }
        )
    return out
