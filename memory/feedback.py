"""Evidence from outside the chat: behavioural observations, feedback, and the summary.

Alignment score (per user): how well responses that used the self-model landed.
Inputs: feedback scores (-1..1) on requests that had beliefs injected, and user
corrections of beliefs (each counts as a -1: we had the user wrong). It is
    0.5 + 0.5 * (sum of those inputs) / (their count + 2)
so it starts at 0.5 with no data, moves toward 1 with good feedback and toward
0 with bad feedback and corrections, and one input cannot swing it to an extreme.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np

from memory import guard, secrets
from memory.beliefs import Beliefs, EvidenceIn
from memory.core import Core
from memory.errors import InvalidError, NotFoundError
from memory.learn.contexts import ContextClassifier
from memory.learn.polarity import content_stems
from memory.ledger import Database, audit
from memory.ledger import beliefs as rows
from memory.ledger import feedback as feedback_rows
from memory.ledger.db import iso, utcnow
from memory.models import new_id

OBSERVATION_MATCH = 0.55
OBSERVATION_WITH_WORDS = 0.3
DRIFT_EVENTS = ("superseded", "retracted", "corrected", "weakened")


class Feedback:
    """Observations, feedback scores and the per-user summary (alignment, drift)."""

    def __init__(
        self,
        db: Database,
        beliefs: Beliefs,
        core: Core,
        classifier: ContextClassifier | None = None,
    ) -> None:
        self._db = db
        self._beliefs = beliefs
        self._core = core
        self._classifier = classifier or ContextClassifier(None)

    def observe(
        self, tenant: str, user: str, text: str, context: str | None, kind: str, weight: float
    ) -> dict[str, Any]:
        """A behavioural signal: evidence for the closest belief, or a new observed belief."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidError("text must be a non-empty string", param="text")
        if not -1 <= weight <= 1 or weight == 0:
            raise InvalidError(
                "weight must be in [-1, 1] and not 0 (negative contradicts)", param="weight"
            )
        if context is not None:
            self._core.context(context)
        # Checked before anything is written: a refused observation leaves no trace.
        text = " ".join(guard.plain(text).split())
        if not text:
            raise InvalidError("text must be a non-empty string", param="text")
        if secrets.contains_secret(text):
            kinds = sorted({m.kind for m in secrets.find_secrets(text)})
            raise InvalidError(
                f"text contains a secret ({', '.join(kinds)}); secrets are never stored",
                param="text",
            )
        if guard.looks_like_instruction(text):
            raise InvalidError(
                "text reads as an instruction to the assistant, not an observation of the "
                "user; instructions are never stored",
                param="text",
            )
        observation: dict[str, Any] = {
            "id": new_id("obs"),
            "tenant": tenant,
            "user_id": user,
            "text": text,
            "context": context,
            "kind": kind,
            "weight": weight,
            "at": iso(utcnow()),
        }
        target = self._closest(tenant, user, text, context)
        with self._db.write() as conn:
            rows.ensure_user(conn, tenant, user)
            rows.insert_observation(conn, observation)
        evidence = EvidenceIn(
            source="observed",
            kind=kind,
            polarity=1 if weight > 0 else -1,
            weight=abs(weight),
            quote=text,
            observation_id=observation["id"],
        )
        if target is not None:
            self._beliefs.add_evidence(
                tenant,
                user,
                target,
                evidence,
                actor="observation",
                event="reinforced" if weight > 0 else "weakened",
            )
            belief = self._beliefs.get(tenant, user, target)
            return {"observation_id": observation["id"], "belief": belief, "created": False}
        if weight < 0:
            return {"observation_id": observation["id"], "belief": None, "created": False}
        chosen = context or self._classifier.choose(
            text, {n: c.description for n, c in self._core.contexts.items()}
        )
        created = self._beliefs.create(tenant, user, text, chosen, evidence, actor="observation")
        belief = self._beliefs.get(tenant, user, created.id)
        return {"observation_id": observation["id"], "belief": belief, "created": True}

    def _closest(self, tenant: str, user: str, text: str, context: str | None) -> str | None:
        found, sims = self._beliefs.similar(tenant, user, text, [context] if context else None)
        if not found:
            return None
        statements = {r["id"]: r["statement"] for r in self._beliefs.active_rows(tenant, user)}
        words = content_stems(text)
        # A behaviour is worded unlike a statement ("clicked on 3 vegetarian recipes" against
        # "I'm vegetarian"): a shared content word makes a weaker cosine enough.
        for i in np.argsort(-sims, kind="stable")[:3]:
            similarity = float(sims[int(i)])
            shares = bool(words & content_stems(statements.get(found[int(i)], "")))
            if similarity >= OBSERVATION_MATCH or (shares and similarity >= OBSERVATION_WITH_WORDS):
                return found[int(i)]
        return None

    def feedback(
        self, tenant: str, request_id: str, score: float, comment: str | None
    ) -> dict[str, Any]:
        if isinstance(score, bool) or not isinstance(score, int | float) or not -1 <= score <= 1:
            raise InvalidError("score must be a number between -1 and 1", param="score")
        found = audit.injected_of(self._db.conn, tenant, request_id)
        user = found[0] if found else None
        if found is None or user is None or user == "[forgotten]":
            raise NotFoundError(f"no request {request_id!r} with an end user")
        injected = found[1]
        feedback_id = new_id("fb")
        if comment is not None:
            comment = secrets.redact(comment)[0]
        with self._db.write() as conn:
            feedback_rows.insert_feedback(
                conn, feedback_id, request_id, tenant, user, float(score), comment, iso(utcnow())
            )
        moved = []
        if score != 0:
            evidence = EvidenceIn(
                source="feedback",
                kind="feedback",
                polarity=1 if score > 0 else -1,
                weight=abs(float(score)),
                quote=comment,
                request_id=request_id,
            )
            for belief_id in injected:
                current = rows.get_belief(self._db.conn, tenant, user, belief_id)
                if current is None or current["status"] != "active":
                    continue
                self._beliefs.add_evidence(
                    tenant,
                    user,
                    belief_id,
                    evidence,
                    actor="feedback",
                    event="reinforced" if score > 0 else "weakened",
                )
                moved.append(belief_id)
        return {
            "id": feedback_id,
            "request_id": request_id,
            "user": user,
            "score": score,
            "beliefs_updated": moved,
        }

    def summary(self, tenant: str, user: str, drift_days: float = 30) -> dict[str, Any]:
        conn = self._db.conn
        if not rows.user_exists(conn, tenant, user):
            raise NotFoundError(f"no user {user!r}")
        counts = rows.statuses_by_context(conn, tenant, user)
        since = iso(utcnow() - timedelta(days=drift_days))
        drift = rows.recent_history(conn, tenant, user, since, DRIFT_EVENTS)
        return {
            "user": user,
            "contexts": counts,
            "alignment": self.alignment(tenant, user),
            "drift": {
                "window_days": drift_days,
                "changes": len(drift),
                "events": [
                    {
                        "belief_id": h["belief_id"],
                        "event": h["event"],
                        "statement": h["statement"],
                        "context": h["context"],
                        "actor": h["actor"],
                        "at": h["at"],
                    }
                    for h in drift[:50]
                ],
            },
        }

    def alignment(self, tenant: str, user: str) -> dict[str, Any]:
        conn = self._db.conn
        scores = feedback_rows.scores_on_injected(conn, tenant, user)
        corrections = rows.user_corrections(conn, tenant, user)
        total = sum(scores) - corrections
        count = len(scores) + corrections
        return {
            "score": round(0.5 + 0.5 * total / (count + 2), 4),
            "inputs": {
                "feedback_count": len(scores),
                "feedback_mean": round(sum(scores) / len(scores), 4) if scores else None,
                "corrections": corrections,
                "injected_requests": audit.count_injected(conn, tenant, user),
            },
        }
