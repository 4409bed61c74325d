"""Audit records: exactly what was injected into each request, and why.

A record is written before its response ends, in the same transaction as the turn's outbox
row (`memory.ledger.record`), so an acknowledged request stays audited through a crash. Should
that write fail (disk full), the record waits in memory and the flush loop retries it; a record
that SQLite refuses for its content is stored with its text made valid and the error noted,
so one bad record never holds back the others.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from memory import secrets
from memory.ledger import Database
from memory.ledger.connections import TRANSIENT_ERRORS, Connection
from memory.ledger.db import iso, utcnow

if TYPE_CHECKING:
    from memory.inject.plan import Injection

log = logging.getLogger("selfmodel.audit")
# What commits in an audit record's transaction (`AuditLog.add`).
Then = Callable[[Connection], object]

_COLUMNS = (
    "request_id",
    "at",
    "tenant",
    "user_id",
    "model",
    "rule",
    "injected",
    "rendered",
    "template",
    "template_sha256",
    "tokens",
    "retrieve_ms",
    "render_ms",
    "upstream_ms",
    "status",
    "error",
    "stream",
    "degraded",
    "degraded_reason",
    "arm",
    "user_message",
    "reply",
)
_REPLACE = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "request_id")
# The turn's text is for reading what happened, not a transcript store: long texts are cut.
TEXT_LIMIT = 16_000


@dataclass
class AuditRecord:
    request_id: str
    tenant: str
    user: str | None
    model: str
    rule: str | None
    injected: list[dict[str, Any]]
    rendered: str | None
    template: str | None
    template_sha256: str | None
    tokens: int
    retrieve_ms: float
    render_ms: float
    upstream_ms: float
    status: int
    error: str | None = None
    stream: bool = False
    degraded_reason: str | None = None
    arm: str | None = None  # "treatment" | "holdout"; None without an end user
    user_message: str | None = None
    reply: str | None = None
    at: str = field(default_factory=lambda: iso(utcnow()))

    @classmethod
    def from_injection(
        cls,
        injection: Injection,
        *,
        request_id: str,
        tenant: str,
        user: str | None,
        model: str,
        status: int,
        error: str | None,
        upstream_ms: float,
        stream: bool,
        user_message: str | None = None,
        reply: str | None = None,
    ) -> AuditRecord:
        return cls(
            request_id=request_id,
            tenant=tenant,
            user=user,
            model=model,
            rule=injection.rule,
            injected=[b.model_dump() for b in injection.beliefs],
            rendered=injection.rendered,
            template=injection.template,
            template_sha256=injection.template_sha256,
            tokens=injection.tokens,
            retrieve_ms=round(injection.retrieve_ms, 3),
            render_ms=round(injection.render_ms, 3),
            upstream_ms=round(upstream_ms, 3),
            status=status,
            error=error,
            stream=stream,
            degraded_reason=injection.degraded_reason,
            arm=injection.arm,
            user_message=user_message,
            reply=reply,
        )

    def row(self, store_rendered: bool) -> tuple[Any, ...]:
        """Values in `_COLUMNS` order (read field by field: `asdict` deep-copies `injected`)."""
        return (
            self.request_id,
            self.at,
            self.tenant,
            self.user,
            self.model,
            self.rule,
            json.dumps(self.injected),
            self.rendered if store_rendered else None,
            self.template,
            self.template_sha256,
            self.tokens,
            self.retrieve_ms,
            self.render_ms,
            self.upstream_ms,
            self.status,
            None if self.error is None else secrets.redact(self.error[:4000])[0],
            int(self.stream),
            int(self.degraded_reason is not None),
            self.degraded_reason,
            self.arm,
            stored_text(self.user_message) if store_rendered else None,
            stored_text(self.reply) if store_rendered else None,
        )


def _valid(text: str | None) -> str | None:
    if text is None:
        return None
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")


def sanitized(record: AuditRecord, error: BaseException) -> AuditRecord:
    """The record with every text valid UTF-8 without NUL, and the failure in `error`."""
    note = f"audit record stored sanitized ({type(error).__name__}: {error})"[:1000]
    return AuditRecord(
        request_id=_valid(record.request_id) or "",
        tenant=_valid(record.tenant) or "",
        user=_valid(record.user),
        model=_valid(record.model) or "",
        rule=_valid(record.rule),
        injected=json.loads(_valid(json.dumps(record.injected)) or "[]"),
        rendered=_valid(record.rendered),
        template=_valid(record.template),
        template_sha256=_valid(record.template_sha256),
        tokens=int(record.tokens),
        retrieve_ms=float(record.retrieve_ms),
        render_ms=float(record.render_ms),
        upstream_ms=float(record.upstream_ms),
        status=int(record.status),
        error=" ".join(filter(None, [_valid(record.error), note])),
        stream=bool(record.stream),
        degraded_reason=_valid(record.degraded_reason),
        arm=_valid(record.arm),
        user_message=_valid(record.user_message),
        reply=_valid(record.reply),
        at=record.at,
    )


def _cut(text: str | None) -> str | None:
    if text is None or len(text) <= TEXT_LIMIT:
        return text
    return text[:TEXT_LIMIT] + " […cut]"


def stored_text(text: str | None) -> str | None:
    """The text as stored: cut, then with secrets redacted (no secret rests on disk)."""
    cut = _cut(text)
    return None if cut is None else secrets.redact(cut)[0]


def last_user_text(messages: list[dict[str, Any]]) -> str | None:
    """The text of the last user message: what drove retrieval for this request."""
    from memory.inject.budget import message_text

    for message in reversed(messages):
        if message.get("role") == "user":
            return message_text(message)
    return None


def record_to_dict(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["user"] = out.pop("user_id")
    out["injected"] = json.loads(out["injected"])
    out["stream"] = bool(out["stream"])
    out["degraded"] = bool(out["degraded"])
    out["latency_ms"] = {
        "retrieve": out.pop("retrieve_ms"),
        "render": out.pop("render_ms"),
        "upstream": out.pop("upstream_ms"),
    }
    return out


class AuditLog:
    def __init__(self, db: Database, store_rendered: bool, retention_days: float) -> None:
        self.db = db
        self.store_rendered = store_rendered
        self.retention_days = retention_days
        # records to write, each with what must commit with it (a request's queued turn)
        self._pending: list[tuple[AuditRecord, Then | None]] = []
        self._lock = threading.Lock()
        # Held across taking a batch and committing it: a reader that flushes first must not
        # look before a batch another thread already took is in the table.
        self._flushing = threading.Lock()

    def add(self, record: AuditRecord, then: Then | None = None) -> None:
        """Keep a record for the flush loop (used when writing it at once failed); `then`
        writes what must commit in the same transaction (a request's queued turn)."""
        with self._lock:
            self._pending.append((record, then))

    def insert(self, conn: Connection, records: list[AuditRecord]) -> None:
        conn.executemany(
            f"INSERT INTO audit ({', '.join(_COLUMNS)}) "
            f"VALUES ({', '.join('?' for _ in _COLUMNS)}) ON CONFLICT (request_id) DO UPDATE "
            f"SET {_REPLACE}",
            [r.row(self.store_rendered) for r in records],
        )

    def write(self, record: AuditRecord, then: Then | None = None) -> None:
        """Write one record now (and `then` in its transaction); one the database refuses
        for its content is stored sanitized, and `then` apart."""
        try:
            with self.db.write(shared=True) as conn:
                self.insert(conn, [record])
                if then is not None:
                    then(conn)
            return
        except TRANSIENT_ERRORS:
            raise  # disk full, I/O, no connection: the caller keeps the record for a retry
        except Exception as exc:  # noqa: BLE001 - content the database cannot take
            log.warning("audit record %s stored sanitized: %s", record.request_id, exc)
            with self.db.write() as conn:
                self.insert(conn, [sanitized(record, exc)])
        if then is not None:
            with self.db.write(shared=True) as conn:
                then(conn)

    def flush(self) -> int:
        with self._flushing:
            with self._lock:
                batch, self._pending = self._pending, []
            if not batch:
                return 0
            try:
                with self.db.write(shared=True) as conn:
                    self.insert(conn, [record for record, _ in batch])
                    for _, then in batch:
                        if then is not None:
                            then(conn)
                return len(batch)
            except Exception:  # noqa: BLE001 - isolate the record(s) at fault
                log.warning("audit batch of %d failed; writing records one by one", len(batch))
            written, kept = 0, []
            for record, then in batch:
                try:
                    self.write(record, then)
                    written += 1
                except TRANSIENT_ERRORS:  # kept for the next flush
                    kept.append((record, then))
                except Exception:  # noqa: BLE001 - its `then` failed for its content
                    log.exception("audit record %s: what it carried failed", record.request_id)
                    written += 1
            if kept:
                with self._lock:
                    self._pending[:0] = kept
                log.warning("%d audit record(s) kept for the next attempt", len(kept))
            return written

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def purge(self) -> int:
        if self.retention_days <= 0:
            return 0
        cutoff = iso(utcnow() - timedelta(days=self.retention_days))
        with self.db.write() as conn:
            return conn.execute("DELETE FROM audit WHERE at < ?", (cutoff,)).rowcount

    def get(self, tenant: str, request_id: str) -> dict[str, Any] | None:
        self.flush()
        row = self.db.conn.execute(
            "SELECT * FROM audit WHERE tenant = ? AND request_id = ?", (tenant, request_id)
        ).fetchone()
        return None if row is None else record_to_dict(dict(row))

    def query(
        self,
        tenant: str,
        *,
        user: str | None = None,
        model: str | None = None,
        rule: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 50,
        before: str | None = None,
    ) -> list[dict[str, Any]]:
        """Newest first; page with `before`, the cursor of the last record seen
        (`at|request_id`, so records sharing a timestamp are never skipped)."""
        self.flush()
        sql, args = "SELECT * FROM audit WHERE tenant = ?", list[Any]([tenant])
        for column, value, op in (
            ("user_id", user, "="),
            ("model", model, "="),
            ("rule", rule, "="),
            ("at", since, ">="),
            ("at", until, "<="),
        ):
            if value is not None:
                sql += f" AND {column} {op} ?"
                args.append(value)
        if before:
            at, _, request_id = before.partition("|")
            if request_id:
                sql += " AND (at < ? OR (at = ? AND request_id < ?))"
                args += [at, at, request_id]
            else:
                sql += " AND at < ?"
                args.append(at)
        sql += " ORDER BY at DESC, request_id DESC LIMIT ?"
        args.append(limit)
        return [record_to_dict(dict(r)) for r in self.db.conn.execute(sql, args)]


def injected_of(
    conn: Connection, tenant: str, request_id: str
) -> tuple[str | None, list[str]] | None:
    """A request's end user and the ids of the beliefs injected into it."""
    row = conn.execute(
        "SELECT user_id, injected FROM audit WHERE tenant = ? AND request_id = ?",
        (tenant, request_id),
    ).fetchone()
    if row is None:
        return None
    return row["user_id"], [b["id"] for b in json.loads(row["injected"])]


def count_injected(conn: Connection, tenant: str, user: str) -> int:
    return int(
        conn.execute(
            "SELECT COUNT(*) FROM audit WHERE tenant = ? AND user_id = ? AND injected != '[]'",
            (tenant, user),
        ).fetchone()[0]
    )


def redact_user(conn: Connection, tenant: str, user: str) -> int:
    """Keep a forgotten user's records (counts, latency) without their text or id."""
    return conn.execute(
        "UPDATE audit SET rendered = NULL, injected = '[]', user_id = '[forgotten]', "
        "error = NULL, tokens = 0, user_message = NULL, reply = NULL "
        "WHERE tenant = ? AND user_id = ?",
        (tenant, user),
    ).rowcount
