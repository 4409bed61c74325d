"""Belief operations: assert, reinforce, weaken, correct, revise, retract, read.

Each write holds the user's lock and one SQLite transaction, recomputes the
belief's confidence from all its evidence, bumps its version, and appends a
history entry; the vector index follows after the commit.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from memory import secrets
from memory.core import Core
from memory.errors import ConflictError, InvalidError, NotFoundError
from memory.ledger import beliefs as rows
from memory.ledger.db import iso, utcnow
from memory.models import MAX_STATEMENT_CHARS, SOURCES, STATUSES, Belief, new_id


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
    text = " ".join(statement.split())
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
    return text


def check_confidence(value: object, param: str = "confidence") -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise InvalidError("confidence must be a number between 0 and 1", param=param)
    return float(value)


def _safe_quote(quote: str | None) -> str | None:
    return None if quote is None else secrets.redact(quote)[0][:2000]


class Beliefs:
    def __init__(self, core: Core) -> None:
        self.core = core

    # -- reads -----------------------------------------------------------------------------

    def _row(self, tenant: str, user: str, belief_id: str) -> dict[str, Any]:
        row = rows.get_belief(self.core.db.conn, tenant, user, belief_id)
        if row is None:
            raise NotFoundError(f"no belief {belief_id!r} for user {user!r}")
        return row

    def get(self, tenant: str, user: str, belief_id: str) -> Belief:
        conn = self.core.db.conn
        row = self._row(tenant, user, belief_id)
        evidence = rows.evidence_for(conn, [belief_id])[belief_id]
        return self.core.to_belief(row, evidence, rows.history_for(conn, belief_id))

    def list(
        self,
        tenant: str,
        user: str,
        context: str | None = None,
        status: str | None = None,
        min_confidence: float | None = None,
    ) -> list[Belief]:
        conn = self.core.db.conn
        if not rows.user_exists(conn, tenant, user):
            raise NotFoundError(f"no user {user!r}")
        if context is not None:
            self.core.context(context)
        if status is not None and status not in STATUSES:
            raise InvalidError(f"status must be one of {list(STATUSES)}", param="status")
        found = rows.list_beliefs(
            conn, tenant, user, [context] if context else None, [status] if status else None
        )
        evidence = rows.evidence_for(conn, [r["id"] for r in found])
        now = utcnow()
        beliefs = [self.core.to_belief(r, evidence[r["id"]], now=now) for r in found]
        for belief in beliefs:
            belief.evidence = []
        if min_confidence is not None:
            beliefs = [b for b in beliefs if b.confidence >= min_confidence]
        return sorted(beliefs, key=lambda b: (b.context, -b.confidence))

    # -- writes ----------------------------------------------------------------------------

    def create(
        self,
        tenant: str,
        user: str,
        statement: str,
        context: str,
        evidence: EvidenceIn,
        *,
        supersedes: str | None = None,
        actor: str = "api",
        now: datetime | None = None,
        valid_from: datetime | None = None,
    ) -> Belief:
        text = clean_statement(statement)
        self.core.context(context)
        if evidence.source not in SOURCES:
            raise InvalidError(f"source must be one of {list(SOURCES)}", param="source")
        check_confidence(evidence.anchor)
        with self.core.lock(tenant, user):
            row = self._insert(
                tenant, user, text, context, evidence, supersedes, actor, now, valid_from
            )
        self.core.index(tenant, user, [row])
        return self.get(tenant, user, row["id"])

    def create_many(
        self,
        tenant: str,
        user: str,
        items: Sequence[tuple[str, str, EvidenceIn]],
        *,
        actor: str = "api",
    ) -> list[str]:
        """Many new beliefs in one transaction and one index write (onboarding, bulk loads)."""
        checked = []
        for statement, context, evidence in items:
            self.core.context(context)
            if evidence.source not in SOURCES:
                raise InvalidError(f"source must be one of {list(SOURCES)}", param="source")
            check_confidence(evidence.anchor)
            checked.append((clean_statement(statement), context, evidence))
        with self.core.lock(tenant, user):
            built = [
                self._row_for(tenant, user, text, context, evidence, None, None)
                for text, context, evidence in checked
            ]
            with self.core.db.write() as conn:
                rows.ensure_user(conn, tenant, user)
                for (row, ev), (_, _, evidence) in zip(built, checked, strict=True):
                    self._write_new(conn, row, ev, evidence, actor)
                rows.bump_revision(conn, tenant, user)
        self.core.index(tenant, user, [row for row, _ in built])
        return [row["id"] for row, _ in built]

    def _row_for(
        self,
        tenant: str,
        user: str,
        text: str,
        context: str,
        evidence: EvidenceIn,
        supersedes: str | None,
        now: datetime | None,
        valid_from: datetime | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        moment = iso(now or utcnow())
        row = {
            "id": new_id("bel"),
            "tenant": tenant,
            "user_id": user,
            "statement": text,
            "context": context,
            "status": "active",
            "source": evidence.source,
            "confidence": 0.0,
            "version": 1,
            "supersedes": supersedes,
            "superseded_by": None,
            "valid_from": iso(valid_from) if valid_from else moment,
            "valid_to": None,
            "created_at": moment,
            "updated_at": moment,
        }
        ev = self._evidence_row(row["id"], evidence, moment)
        row["confidence"] = self.core.confidence_of(context, [ev])
        return row, ev

    @staticmethod
    def _write_new(
        conn: Any, row: dict[str, Any], ev: dict[str, Any], evidence: EvidenceIn, actor: str
    ) -> None:
        rows.insert_belief(conn, row)
        rows.insert_evidence(conn, ev)
        rows.insert_history(
            conn, row, "created", actor, evidence.request_id, evidence.observation_id
        )

    def _insert(
        self,
        tenant: str,
        user: str,
        text: str,
        context: str,
        evidence: EvidenceIn,
        supersedes: str | None,
        actor: str,
        now: datetime | None,
        valid_from: datetime | None = None,
    ) -> dict[str, Any]:
        row, ev = self._row_for(tenant, user, text, context, evidence, supersedes, now, valid_from)
        with self.core.db.write() as conn:
            rows.ensure_user(conn, tenant, user)
            self._write_new(conn, row, ev, evidence, actor)
            rows.bump_revision(conn, tenant, user)
        return row

    @staticmethod
    def _evidence_row(belief_id: str, e: EvidenceIn, moment: str) -> dict[str, Any]:
        return {
            "id": new_id("evi"),
            "belief_id": belief_id,
            "source": e.source,
            "kind": e.kind,
            "quote": _safe_quote(e.quote),
            "request_id": e.request_id,
            "observation_id": e.observation_id,
            "polarity": 1 if e.polarity >= 0 else -1,
            "weight": max(0.0, float(e.weight)),
            "anchor": e.anchor,
            "note": e.note,
            "at": moment,
        }

    def add_evidence(
        self,
        tenant: str,
        user: str,
        belief_id: str,
        evidence: EvidenceIn,
        *,
        event: str,
        actor: str,
        expected_version: int | None = None,
    ) -> Belief:
        """Reinforce or weaken (or anchor) an active belief; its confidence is recomputed."""
        with self.core.lock(tenant, user):
            row = self._row(tenant, user, belief_id)
            self._check_version(row, expected_version)
            if row["status"] != "active":
                raise ConflictError(f"belief {belief_id!r} is {row['status']}, not active")
            moment = iso(utcnow())
            ev = self._evidence_row(belief_id, evidence, moment)
            conn = self.core.db.conn
            all_evidence = [*rows.evidence_for(conn, [belief_id])[belief_id], ev]
            row.update(
                confidence=self.core.confidence_of(row["context"], all_evidence),
                version=row["version"] + 1,
                updated_at=moment,
            )
            with self.core.db.write() as conn:
                rows.insert_evidence(conn, ev)
                rows.update_belief(
                    conn,
                    belief_id,
                    {
                        "confidence": row["confidence"],
                        "version": row["version"],
                        "updated_at": moment,
                    },
                )
                rows.insert_history(
                    conn, row, event, actor, evidence.request_id, evidence.observation_id
                )
                rows.bump_revision(conn, tenant, user)
        return self.get(tenant, user, belief_id)

    @staticmethod
    def _check_version(row: dict[str, Any], expected: int | None) -> None:
        if expected is not None and expected != row["version"]:
            raise ConflictError(
                f"belief {row['id']!r} is at version {row['version']}, not {expected}: "
                "it changed since you read it; read it again and retry"
            )

    def revise(
        self,
        tenant: str,
        user: str,
        belief_id: str,
        statement: str,
        evidence: EvidenceIn,
        *,
        actor: str,
        context: str | None = None,
        expected_version: int | None = None,
        valid_from: datetime | None = None,
    ) -> Belief:
        """Supersede a belief by a new one; the old one keeps its history and gets valid_to."""
        text = clean_statement(statement)
        with self.core.lock(tenant, user):
            old = self._row(tenant, user, belief_id)
            self._check_version(old, expected_version)
            if old["status"] != "active":
                raise ConflictError(f"belief {belief_id!r} is {old['status']}, not active")
            new_context = context or old["context"]
            self.core.context(new_context)
            new = self._insert(
                tenant, user, text, new_context, evidence, belief_id, actor, None, valid_from
            )
            moment = new["created_at"]
            old.update(
                status="superseded",
                superseded_by=new["id"],
                valid_to=moment,
                version=old["version"] + 1,
                updated_at=moment,
            )
            with self.core.db.write() as conn:
                rows.update_belief(
                    conn,
                    belief_id,
                    {
                        "status": "superseded",
                        "superseded_by": new["id"],
                        "valid_to": moment,
                        "version": old["version"],
                        "updated_at": moment,
                    },
                )
                rows.insert_history(
                    conn, old, "superseded", actor, evidence.request_id, evidence.observation_id
                )
                rows.bump_revision(conn, tenant, user)
        self.core.unindex(tenant, user, [belief_id])
        self.core.index(tenant, user, [new])
        return self.get(tenant, user, new["id"])

    def set_status(
        self,
        tenant: str,
        user: str,
        belief_id: str,
        status: str,
        *,
        actor: str,
        request_id: str | None = None,
        expected_version: int | None = None,
    ) -> Belief:
        """Retract an active belief, or restore a retracted one."""
        if status not in ("active", "retracted"):
            raise InvalidError("status can be set to 'active' or 'retracted'", param="status")
        with self.core.lock(tenant, user):
            row = self._row(tenant, user, belief_id)
            self._check_version(row, expected_version)
            if row["status"] == status:
                return self.get(tenant, user, belief_id)
            if row["status"] == "superseded":
                raise ConflictError(
                    f"belief {belief_id!r} was superseded by "
                    f"{row['superseded_by']!r}; change that one instead"
                )
            moment = iso(utcnow())
            valid_to = moment if status == "retracted" else None
            row.update(
                status=status, valid_to=valid_to, version=row["version"] + 1, updated_at=moment
            )
            with self.core.db.write() as conn:
                rows.update_belief(
                    conn,
                    belief_id,
                    {
                        "status": status,
                        "valid_to": valid_to,
                        "version": row["version"],
                        "updated_at": moment,
                    },
                )
                rows.insert_history(
                    conn,
                    row,
                    "retracted" if status == "retracted" else "restored",
                    actor,
                    request_id,
                )
                rows.bump_revision(conn, tenant, user)
        if status == "retracted":
            self.core.unindex(tenant, user, [belief_id])
        else:
            self.core.index(tenant, user, [row])
        return self.get(tenant, user, belief_id)

    def correct(
        self,
        tenant: str,
        user: str,
        belief_id: str,
        *,
        statement: str | None = None,
        confidence: float | None = None,
        status: str | None = None,
        context: str | None = None,
        expected_version: int | None = None,
    ) -> Belief:
        """A user's correction: recorded as evidence from the user, and it wins."""
        if statement is None and confidence is None and status is None and context is None:
            raise InvalidError("give at least one of statement, confidence, status, context")
        anchor = check_confidence(confidence)
        if status is not None:
            current = self.set_status(
                tenant, user, belief_id, status, actor="user", expected_version=expected_version
            )
            if status == "retracted":
                return current
            expected_version = None
        correction = EvidenceIn(
            source="corrected", kind="correction", anchor=anchor, quote=statement
        )
        if statement is not None or context is not None:
            current_row = self._row(tenant, user, belief_id)
            return self.revise(
                tenant,
                user,
                belief_id,
                statement or current_row["statement"],
                correction,
                actor="user",
                context=context,
                expected_version=expected_version,
            )
        if anchor is not None:
            return self.add_evidence(
                tenant,
                user,
                belief_id,
                correction,
                event="corrected",
                actor="user",
                expected_version=expected_version,
            )
        return self.get(tenant, user, belief_id)

    def active_rows(
        self, tenant: str, user: str, contexts: Sequence[str] | None = None
    ) -> builtins.list[dict[str, Any]]:  # `list` here is the method above
        return rows.list_beliefs(self.core.db.conn, tenant, user, contexts, ["active"])
