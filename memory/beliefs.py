"""Belief operations: assert, reinforce, weaken, correct, revise, retract, read.

Each write holds the user's lock and one SQLite transaction, recomputes the
belief's confidence from all its evidence, bumps its version, and appends a
history entry; the vector index follows after the commit. A write returns the belief as it
wrote it (no evidence or history: nothing is read again); `get` reads the whole belief.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from memory.core import Core
from memory.errors import ConflictError, InvalidError, NotFoundError
from memory.ledger import Database
from memory.ledger import beliefs as rows
from memory.ledger.db import iso, utcnow
from memory.models import (
    SOURCES,
    STATUSES,
    Belief,
    EvidenceIn,
    belief_row,
    check_confidence,
    clean_statement,
    evidence_row,
)

__all__ = ["Beliefs", "EvidenceIn", "check_confidence", "clean_statement"]


class Beliefs:
    def __init__(self, db: Database, core: Core) -> None:
        self._db = db
        self._core = core
        # What learning reads and locks besides the writes below, straight from the core:
        # similarities to a text, statement vectors, a row as a belief, the embedder's cache
        # filled before a transaction, and the user's write lock for several writes as one.
        self.similar = core.similarities
        self.statement_vectors = core.statement_vectors
        self.embed_text = core.embed_text
        self.from_row = core.to_belief
        self.warm = core.warm
        self.lock = core.lock

    # -- reads -----------------------------------------------------------------------------

    def _row(self, tenant: str, user: str, belief_id: str) -> dict[str, Any]:
        row = rows.get_belief(self._db.conn, tenant, user, belief_id)
        if row is None:
            raise NotFoundError(f"no belief {belief_id!r} for user {user!r}")
        return row

    def get(self, tenant: str, user: str, belief_id: str) -> Belief:
        conn = self._db.conn
        row = self._row(tenant, user, belief_id)
        evidence = rows.evidence_for(conn, [belief_id])[belief_id]
        return self._core.to_belief(row, evidence, rows.history_for(conn, belief_id))

    def find(
        self,
        tenant: str,
        user: str,
        context: str | None = None,
        status: str | None = None,
        min_confidence: float | None = None,
    ) -> list[Belief]:
        conn = self._db.conn
        if not rows.user_exists(conn, tenant, user):
            raise NotFoundError(f"no user {user!r}")
        if context is not None:
            self._core.context(context)
        if status is not None and status not in STATUSES:
            raise InvalidError(f"status must be one of {list(STATUSES)}", param="status")
        found = rows.list_beliefs(
            conn, tenant, user, [context] if context else None, [status] if status else None
        )
        evidence = rows.evidence_for(conn, [r["id"] for r in found])
        now = utcnow()
        beliefs = [self._core.to_belief(r, evidence[r["id"]], now=now) for r in found]
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
        text = self._checked(statement, context, evidence)
        with self._core.lock(tenant, user):
            row = self._insert(
                tenant, user, text, context, evidence, supersedes, actor, now, valid_from
            )
        self._core.embed(tenant, user, [row])
        return self._core.to_belief(row)

    def create_many(
        self,
        tenant: str,
        user: str,
        items: Sequence[tuple[str, str, EvidenceIn]],
        *,
        actor: str = "api",
    ) -> list[str]:
        """Many new beliefs in one transaction and one index write (onboarding, bulk loads)."""
        checked = [(self._checked(s, c, e), c, e) for s, c, e in items]
        with self._core.lock(tenant, user):
            built = [
                self._row_for(tenant, user, text, context, evidence, None, None)
                for text, context, evidence in checked
            ]
            with self._db.write() as conn:
                rows.ensure_user(conn, tenant, user)
                for (row, ev), (_, _, evidence) in zip(built, checked, strict=True):
                    self._write_new(conn, row, ev, evidence, actor)
                rows.bump_revision(conn, tenant, user)
        self._core.embed(tenant, user, [row for row, _ in built])
        return [row["id"] for row, _ in built]

    def _checked(self, statement: str, context: str, evidence: EvidenceIn) -> str:
        text = clean_statement(statement)
        self._core.context(context)
        if evidence.source not in SOURCES:
            raise InvalidError(f"source must be one of {list(SOURCES)}", param="source")
        check_confidence(evidence.anchor)
        return text

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
        row = belief_row(tenant, user, text, context, evidence.source, supersedes, moment)
        if valid_from is not None:
            row["valid_from"] = iso(valid_from)
        ev = evidence_row(row["id"], evidence, moment)
        row["confidence"] = self._core.confidence_of(context, [ev])
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
        with self._db.write() as conn:
            rows.ensure_user(conn, tenant, user)
            self._write_new(conn, row, ev, evidence, actor)
            rows.bump_revision(conn, tenant, user)
        return row

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
        statement: str | None = None,
    ) -> Belief:
        """Reinforce or weaken (or anchor) an active belief; its confidence is recomputed.
        With `statement`, a restatement that says more rewords it (history keeps the old)."""
        with self._core.lock(tenant, user):
            row = self._active_row(tenant, user, belief_id, expected_version)
            moment = iso(utcnow())
            ev = evidence_row(belief_id, evidence, moment)
            all_evidence = [*rows.evidence_for(self._db.conn, [belief_id])[belief_id], ev]
            changes: dict[str, Any] = {
                "confidence": self._core.confidence_of(row["context"], all_evidence)
            }
            if statement is not None:
                changes["statement"] = clean_statement(statement)
                changes["indexed"] = 0  # the index sync re-embeds it in Chroma
            with self._db.write() as conn:
                rows.insert_evidence(conn, ev)
                ids = evidence.request_id, evidence.observation_id
                self._write_change(conn, row, changes, moment, event, actor, *ids)
        if statement is not None:
            self._core.embed(tenant, user, [row])
        return self._core.to_belief(row)

    @staticmethod
    def _check_version(row: dict[str, Any], expected: int | None) -> None:
        if expected is not None and expected != row["version"]:
            raise ConflictError(
                f"belief {row['id']!r} is at version {row['version']}, not {expected}: "
                "it changed since you read it; read it again and retry"
            )

    def _active_row(
        self, tenant: str, user: str, belief_id: str, expected_version: int | None
    ) -> dict[str, Any]:
        row = self._row(tenant, user, belief_id)
        self._check_version(row, expected_version)
        if row["status"] != "active":
            raise ConflictError(f"belief {belief_id!r} is {row['status']}, not active")
        return row

    @staticmethod
    def _write_change(
        conn: Any,
        row: dict[str, Any],
        changes: dict[str, Any],
        moment: str,
        event: str,
        actor: str,
        request_id: str | None,
        observation_id: str | None = None,
    ) -> None:
        """`changes` to the row at its next version, written only if no one has written over
        the version it was read at; a history entry for `event`, a new revision for the user."""
        row.update(changes, version=row["version"] + 1, updated_at=moment)
        fields = {**changes, "version": row["version"], "updated_at": moment}
        rows.update_belief(conn, row["id"], fields, from_version=row["version"] - 1)
        rows.insert_history(conn, row, event, actor, request_id, observation_id)
        rows.bump_revision(conn, row["tenant"], row["user_id"])

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
        with self._core.lock(tenant, user), self._db.transaction():  # the new one and the old
            old = self._active_row(tenant, user, belief_id, expected_version)
            new_context = context or old["context"]
            self._core.context(new_context)
            new = self._insert(
                tenant, user, text, new_context, evidence, belief_id, actor, None, valid_from
            )
            moment = new["created_at"]
            superseded = {
                "status": "superseded",
                "superseded_by": new["id"],
                "valid_to": moment,
                "indexed": 0,  # the index sync removes it from Chroma
            }
            with self._db.write() as conn:
                ids = evidence.request_id, evidence.observation_id
                self._write_change(conn, old, superseded, moment, "superseded", actor, *ids)
        self._core.embed(tenant, user, [new])
        return self._core.to_belief(new)

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
        with self._core.lock(tenant, user):
            row = self._row(tenant, user, belief_id)
            self._check_version(row, expected_version)
            if row["status"] == status:
                return self._core.to_belief(row)
            if row["status"] == "superseded":
                raise ConflictError(
                    f"belief {belief_id!r} was superseded by "
                    f"{row['superseded_by']!r}; change that one instead"
                )
            moment = iso(utcnow())
            valid_to = moment if status == "retracted" else None
            event = "retracted" if status == "retracted" else "restored"
            changes = {
                "status": status,
                "valid_to": valid_to,
                "indexed": 0,  # the index sync follows the new status
            }
            with self._db.write() as conn:
                self._write_change(conn, row, changes, moment, event, actor, request_id)
        if status == "active":
            self._core.embed(tenant, user, [row])
        return self._core.to_belief(row)

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
        return self._core.to_belief(self._row(tenant, user, belief_id))

    def active_rows(
        self, tenant: str, user: str, contexts: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        return rows.list_beliefs(self._db.conn, tenant, user, contexts, ["active"])
