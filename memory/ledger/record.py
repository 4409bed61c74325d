"""A request's bookkeeping, written before its response ends: the audit record and the turn
queued for learning, in one transaction (see `memory.ledger.audit`, `memory.ledger.outbox`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from memory.learn.turns import Turn
from memory.ledger.audit import AuditLog, AuditRecord
from memory.ledger.outbox import Outbox

log = logging.getLogger("selfmodel.audit")


@dataclass
class Recorded:
    """What `record_request` managed to write."""

    queued: bool = False  # the turn is in the outbox, pending
    audit_failed: bool = False  # the record waits in memory for the flush loop
    learning_failed: bool = False  # the turn could not be queued (dead-lettered if possible)


def record_request(
    audit_log: AuditLog, outbox: Outbox, record: AuditRecord, turn: Turn | None
) -> Recorded:
    """A request's audit record and its turn (None: nothing to learn) in one transaction,
    durable before the response ends. Never raises: the provider has answered, so on a
    failure the record is written apart (sanitized if SQLite refuses its content) or kept in
    memory for the flush loop, and the turn is dead-lettered with the reason."""
    try:
        with audit_log.db.write(shared=True) as conn:
            audit_log.insert(conn, [record])
            if turn is not None:
                outbox.enqueue(turn, conn)
        return Recorded(queued=turn is not None)
    except Exception as exc:  # noqa: BLE001 - retried apart below
        failure = exc
    log.warning("request %s: bookkeeping write failed: %s", record.request_id, failure)
    done = Recorded()
    try:
        audit_log.write(record)
    except Exception as exc:  # noqa: BLE001 - kept in memory for the flush loop
        done.audit_failed = True
        log.error("audit record %s not written (kept for retry): %s", record.request_id, exc)
        audit_log.add(record)
    if turn is None:
        return done
    done.learning_failed = True
    reason = f"{type(failure).__name__}: {failure}"
    log.error("turn %s not queued for learning: %s", record.request_id, reason)
    try:
        outbox.dead_letter(turn, f"could not be queued: {reason}")
    except Exception as exc:  # noqa: BLE001 - the store is unwritable: the log is all we have
        log.error("dead-lettering turn %s failed too: %s", record.request_id, exc)
    return done
