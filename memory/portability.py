"""A user's whole self-model as one JSON document, and forgetting a user entirely."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from memory import guard, secrets
from memory.core import Core
from memory.errors import ConflictError, InvalidError, NotFoundError
from memory.index.chroma import VectorStore
from memory.ledger import Database, audit, outbox
from memory.ledger import beliefs as rows
from memory.ledger.db import iso, parse_time, utcnow
from memory.ledger.feedback import delete_user_feedback
from memory.models import SOURCES, STATUSES, clean_statement, new_id
from memory.settings import ContextConfig

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
# Exported when present, optional on import (documents written before it existed lack it).
_EVIDENCE_OPTIONAL = ("note",)
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


def export_user(db: Database, tenant: str, user: str) -> dict[str, Any]:
    conn = db.conn
    if not rows.user_exists(conn, tenant, user):
        raise NotFoundError(f"no user {user!r}")
    found = rows.list_beliefs(conn, tenant, user)
    evidence = rows.evidence_for(conn, [b["id"] for b in found])
    beliefs = []
    for belief in found:
        item = {field: belief[field] for field in _BELIEF_FIELDS}
        item["evidence"] = [
            {f: e.get(f) for f in (*_EVIDENCE_FIELDS, *_EVIDENCE_OPTIONAL)}
            for e in evidence[belief["id"]]
        ]
        item["history"] = [
            {f: h[f] for f in _HISTORY_FIELDS} for h in rows.history_for(conn, belief["id"])
        ]
        beliefs.append(item)
    observations = rows.observations_of(conn, tenant, user)
    return {
        "format": FORMAT,
        "user": user,
        "exported_at": iso(utcnow()),
        "beliefs": beliefs,
        "observations": observations,
    }


_TEXT, _OPT_TEXT, _NUMBER, _OPT_NUMBER, _INT, _TIME, _OPT_TIME = range(7)
_BELIEF_TYPES = {
    "id": _TEXT,
    "statement": _TEXT,
    "context": _TEXT,
    "status": _TEXT,
    "source": _TEXT,
    "confidence": _NUMBER,
    "version": _INT,
    "supersedes": _OPT_TEXT,
    "superseded_by": _OPT_TEXT,
    "valid_from": _OPT_TIME,
    "valid_to": _OPT_TIME,
    "created_at": _TIME,
    "updated_at": _TIME,
}
_EVIDENCE_TYPES = {
    "id": _TEXT,
    "source": _TEXT,
    "kind": _TEXT,
    "quote": _OPT_TEXT,
    "request_id": _OPT_TEXT,
    "observation_id": _OPT_TEXT,
    "polarity": _INT,
    "weight": _NUMBER,
    "anchor": _OPT_NUMBER,
    "at": _TIME,
}
_HISTORY_TYPES = {
    "version": _INT,
    "event": _TEXT,
    "statement": _TEXT,
    "status": _TEXT,
    "confidence": _NUMBER,
    "actor": _TEXT,
    "request_id": _OPT_TEXT,
    "observation_id": _OPT_TEXT,
    "at": _TIME,
}
_OBSERVATION_TYPES = {
    "id": _TEXT,
    "text": _TEXT,
    "context": _OPT_TEXT,
    "kind": _TEXT,
    "weight": _NUMBER,
    "at": _TIME,
}
_MAX_TEXT = 8000


def _check_value(value: Any, kind: int, where: str) -> None:
    optional = kind in (_OPT_TEXT, _OPT_NUMBER, _OPT_TIME)
    if value is None and optional:
        return
    if kind in (_TEXT, _OPT_TEXT, _TIME, _OPT_TIME):
        ok = isinstance(value, str) and 0 < len(value) <= _MAX_TEXT
        if ok and kind in (_TIME, _OPT_TIME):
            try:
                parse_time(value)
            except ValueError:
                ok = False
    elif kind == _INT:
        ok = isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**62
    else:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and abs(value) < 1e12
    if not ok:
        expected = {_TEXT: "a string", _OPT_TEXT: "a string or null", _INT: "an integer"}
        what = expected.get(kind, "a number" if kind in (_NUMBER, _OPT_NUMBER) else "a time")
        raise InvalidError(f"{where}: expected {what}", param=where)


def _check_item(item: Any, types: dict[str, int], where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise InvalidError(f"{where} must be an object", param=where)
    missing = [f for f in types if f not in item]
    if missing:
        raise InvalidError(f"{where}: missing fields {missing}", param=where)
    for name, kind in types.items():
        _check_value(item[name], kind, f"{where}.{name}")
    return item


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidError(f"{where} must be a list", param=where)
    return value


def validate_document(contexts: Mapping[str, ContextConfig], document: Any) -> list[dict[str, Any]]:
    """The document's beliefs, checked field by field, statements cleaned as any write is
    (secrets and instructions refused), quotes and observation texts redacted."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InvalidError(f"not a selfmodel export: expected format {FORMAT!r}", param="format")
    beliefs = document.get("beliefs")
    if not isinstance(beliefs, list):
        raise InvalidError("beliefs must be a list", param="beliefs")
    out = []
    for i, raw in enumerate(beliefs):
        where = f"beliefs.{i}"
        belief = dict(_check_item(raw, _BELIEF_TYPES, where))
        if belief["context"] not in contexts:
            raise InvalidError(
                f"{where}.context: unknown context {belief['context']!r}", param=f"{where}.context"
            )
        if belief["status"] not in STATUSES or belief["source"] not in SOURCES:
            raise InvalidError(f"{where}: unknown status or source", param=where)
        belief["statement"] = clean_statement(belief["statement"], f"{where}.statement")
        belief["evidence"] = [
            {**_check_item(e, _EVIDENCE_TYPES, f"{where}.evidence.{j}")}
            for j, e in enumerate(_list(raw.get("evidence"), f"{where}.evidence"))
        ]
        for e in belief["evidence"]:
            for name in ("quote", "note"):
                if isinstance(e.get(name), str):
                    e[name] = secrets.redact(guard.plain(e[name]))[0]
        belief["history"] = [
            dict(_check_item(h, _HISTORY_TYPES, f"{where}.history.{j}"))
            for j, h in enumerate(_list(raw.get("history"), f"{where}.history"))
        ]
        for j, h in enumerate(belief["history"]):
            h["statement"] = clean_statement(h["statement"], f"{where}.history.{j}.statement")
        out.append(belief)
    observations = [
        dict(_check_item(o, _OBSERVATION_TYPES, f"observations.{j}"))
        for j, o in enumerate(_list(document.get("observations"), "observations"))
    ]
    for o in observations:
        o["text"] = secrets.redact(" ".join(guard.plain(o["text"]).split()))[0]
    document["observations"] = observations
    return out


def _fresh_ids(
    conn: Any, tenant: str, beliefs: list[dict[str, Any]], observations: list[dict[str, Any]]
) -> None:
    """Give new ids to imported rows whose ids another tenant's rows hold, so that an import
    neither fails on nor reveals them; the tenant's own existing beliefs are a conflict."""
    owners = rows.belief_tenants(conn, [b["id"] for b in beliefs])
    if any(owner == tenant for owner in owners.values()):
        raise ConflictError(
            "a belief in this document already exists; forget the user first or import "
            "into a fresh store"
        )
    renamed = {old: new_id("bel") for old in owners}
    evidence = [e for b in beliefs for e in b["evidence"]]
    taken_evidence = rows.taken_ids(conn, "evidence", [e["id"] for e in evidence])
    taken_obs = rows.taken_ids(conn, "observations", [o["id"] for o in observations])
    obs_renamed = {old: new_id("obs") for old in taken_obs}
    for belief in beliefs:
        for name in ("id", "supersedes", "superseded_by"):
            if belief[name] in renamed:
                belief[name] = renamed[belief[name]]
        for e in belief["evidence"]:
            if e["id"] in taken_evidence:
                e["id"] = new_id("ev")
            if e["observation_id"] in obs_renamed:
                e["observation_id"] = obs_renamed[e["observation_id"]]
    for o in observations:
        o["id"] = obs_renamed.get(o["id"], o["id"])


def import_user(db: Database, core: Core, tenant: str, user: str, document: Any) -> dict[str, int]:
    beliefs = validate_document(core.contexts, document)
    observations = document["observations"]
    ids = [b["id"] for b in beliefs]
    if len(set(ids)) != len(ids):
        raise InvalidError("beliefs: an id appears twice", param="beliefs")
    with core.lock(tenant, user), db.write() as conn:
        _fresh_ids(conn, tenant, beliefs, observations)
        rows.ensure_user(conn, tenant, user)
        for belief in beliefs:
            row = {f: belief[f] for f in _BELIEF_FIELDS}
            row.update(tenant=tenant, user_id=user)
            rows.insert_belief(conn, row)
            for e in belief["evidence"]:
                rows.insert_evidence(conn, {**e, "belief_id": belief["id"]})
            for h in belief["history"]:
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
                    "context": o["context"],
                    "kind": o["kind"],
                    "weight": o["weight"],
                    "at": o["at"],
                },
            )
        rows.bump_revision(conn, tenant, user)
    active = [dict(b, user_id=user, tenant=tenant) for b in beliefs if b["status"] == "active"]
    core.embed(tenant, user, active)
    return {"beliefs": len(beliefs), "observations": len(observations)}


def forget_user(
    db: Database, core: Core, index: VectorStore, tenant: str, user: str
) -> dict[str, int]:
    """Delete beliefs, vectors, observations and pending jobs; redact the user's audit text.

    The index is cleared before and after the SQLite delete: if Chroma is down nothing is
    deleted (the call fails and can be retried), and no sync in between can leave rows behind.
    """
    if not rows.user_exists(db.conn, tenant, user):
        raise NotFoundError(f"no user {user!r}")
    index.drop_user(tenant, user)
    with core.lock(tenant, user), db.write() as conn:
        if not rows.user_exists(conn, tenant, user):
            raise NotFoundError(f"no user {user!r}")
        beliefs = rows.delete_user(conn, tenant, user)
        jobs = outbox.delete_user_jobs(conn, tenant, user)
        audited = audit.redact_user(conn, tenant, user)
        delete_user_feedback(conn, tenant, user)
    index.drop_user(tenant, user)
    return {"beliefs": beliefs, "jobs": jobs, "audit_records_redacted": audited}
