"""A user's whole self-model as one JSON document, and forgetting a user entirely."""

from __future__ import annotations

from typing import Any

from memory.core import Core
from memory.errors import ConflictError, InvalidError, NotFoundError
from memory.ledger import beliefs as rows
from memory.ledger.db import iso, utcnow

FORMAT = "selfmodel.export/v1"
_BELIEF_FIELDS = (
    "id",
    "statement",
    "context",
    "status",
    "source",
    "confidence",
    "version",
    "supersedes",
    "superseded_by",
    "valid_from",
    "valid_to",
    "created_at",
    "updated_at",
)
_EVIDENCE_FIELDS = (
    "id",
    "source",
    "kind",
    "quote",
    "request_id",
    "observation_id",
    "polarity",
    "weight",
    "anchor",
    "at",
)
_HISTORY_FIELDS = (
    "version",
    "event",
    "statement",
    "status",
    "confidence",
    "actor",
    "request_id",
    "observation_id",
    "at",
)


def export_user(core: Core, tenant: str, user: str) -> dict[str, Any]:
    conn = core.db.conn
    if not rows.user_exists(conn, tenant, user):
        raise NotFoundError(f"no user {user!r}")
    found = rows.list_beliefs(conn, tenant, user)
    evidence = rows.evidence_for(conn, [b["id"] for b in found])
    beliefs = []
    for belief in found:
        item = {field: belief[field] for field in _BELIEF_FIELDS}
        item["evidence"] = [{f: e[f] for f in _EVIDENCE_FIELDS} for e in evidence[belief["id"]]]
        item["history"] = [
            {f: h[f] for f in _HISTORY_FIELDS} for h in rows.history_for(conn, belief["id"])
        ]
        beliefs.append(item)
    observations = [
        dict(r)
        for r in conn.execute(
            "SELECT id, text, context, kind, weight, at FROM observations "
            "WHERE tenant = ? AND user_id = ? ORDER BY at",
            (tenant, user),
        )
    ]
    return {
        "format": FORMAT,
        "user": user,
        "exported_at": iso(utcnow()),
        "beliefs": beliefs,
        "observations": observations,
    }


def _require(item: dict[str, Any], fields: tuple[str, ...], where: str) -> None:
    missing = [f for f in fields if f not in item]
    if missing:
        raise InvalidError(f"{where}: missing fields {missing}", param=where)


def validate_document(core: Core, document: Any) -> list[dict[str, Any]]:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InvalidError(f"not a selfmodel export: expected format {FORMAT!r}", param="format")
    beliefs = document.get("beliefs")
    if not isinstance(beliefs, list):
        raise InvalidError("beliefs must be a list", param="beliefs")
    for i, belief in enumerate(beliefs):
        if not isinstance(belief, dict):
            raise InvalidError(f"beliefs.{i} must be an object", param=f"beliefs.{i}")
        _require(belief, _BELIEF_FIELDS, f"beliefs.{i}")
        if belief["context"] not in core.contexts:
            raise InvalidError(
                f"beliefs.{i}.context: unknown context {belief['context']!r}",
                param=f"beliefs.{i}.context",
            )
        for j, e in enumerate(belief.get("evidence") or []):
            _require(e, _EVIDENCE_FIELDS, f"beliefs.{i}.evidence.{j}")
        for j, h in enumerate(belief.get("history") or []):
            _require(h, _HISTORY_FIELDS, f"beliefs.{i}.history.{j}")
    return beliefs


def import_user(core: Core, tenant: str, user: str, document: Any) -> dict[str, int]:
    beliefs = validate_document(core, document)
    observations = document.get("observations") or []
    with core.lock(tenant, user), core.db.write() as conn:
        for belief in beliefs:
            if conn.execute("SELECT 1 FROM beliefs WHERE id = ?", (belief["id"],)).fetchone():
                raise ConflictError(
                    f"belief {belief['id']!r} already exists; forget the user "
                    "first or import into a fresh store"
                )
        rows.ensure_user(conn, tenant, user)
        for belief in beliefs:
            row = {f: belief[f] for f in _BELIEF_FIELDS}
            row.update(tenant=tenant, user_id=user)
            rows.insert_belief(conn, row)
            for e in belief.get("evidence") or []:
                rows.insert_evidence(conn, {**e, "belief_id": belief["id"]})
            for h in belief.get("history") or []:
                rows.insert_history(
                    conn,
                    {
                        "id": belief["id"],
                        "version": h["version"],
                        "statement": h["statement"],
                        "status": h["status"],
                        "confidence": h["confidence"],
                        "updated_at": h["at"],
                    },
                    h["event"],
                    h["actor"],
                    h["request_id"],
                    h["observation_id"],
                )
        for o in observations:
            rows.insert_observation(
                conn,
                {
                    "id": o["id"],
                    "tenant": tenant,
                    "user_id": user,
                    "text": o["text"],
                    "context": o.get("context"),
                    "kind": o.get("kind", "observation"),
                    "weight": o.get("weight", 1.0),
                    "at": o["at"],
                },
            )
        rows.bump_revision(conn, tenant, user)
    active = [dict(b, user_id=user, tenant=tenant) for b in beliefs if b["status"] == "active"]
    core.index(tenant, user, active)
    return {"beliefs": len(beliefs), "observations": len(observations)}


def forget_user(core: Core, tenant: str, user: str) -> dict[str, int]:
    """Delete beliefs, vectors, observations and pending jobs; redact the user's audit text.

    The index is cleared before and after the SQLite delete: if Chroma is down nothing is
    deleted (the call fails and can be retried), and no sync in between can leave rows behind.
    """
    if not rows.user_exists(core.db.conn, tenant, user):
        raise NotFoundError(f"no user {user!r}")
    core.vectors.drop_user(tenant, user)
    with core.lock(tenant, user), core.db.write() as conn:
        if not rows.user_exists(conn, tenant, user):
            raise NotFoundError(f"no user {user!r}")
        beliefs = rows.delete_user(conn, tenant, user)
        jobs = conn.execute(
            "DELETE FROM outbox WHERE tenant = ? AND user_id = ?", (tenant, user)
        ).rowcount
        audited = conn.execute(
            "UPDATE audit SET rendered = NULL, injected = '[]', user_id = '[forgotten]', "
            "error = NULL, tokens = 0, user_message = NULL, reply = NULL "
            "WHERE tenant = ? AND user_id = ?",
            (tenant, user),
        ).rowcount
        conn.execute("DELETE FROM feedback WHERE tenant = ? AND user_id = ?", (tenant, user))
    core.vectors.drop_user(tenant, user)
    return {"beliefs": beliefs, "jobs": jobs, "audit_records_redacted": audited}
