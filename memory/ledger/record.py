"""A request's bookkeeping, written before its response ends: the audit record and the turn
queued for learning, in one transaction (see `memory.ledger.audit`, `memory.ledger.outbox`).

When the store cannot take a write now (a transient error: the database unreachable, every
pooled connection busy, the disk full), both wait in memory together and the audit flush
loop writes them later, the turn queued at most once; a write refused for its content is
retried apart instead, the record sanitized and the turn dead-lettered with the reason."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from memory.learn.turns import Turn
from memory.ledger.audit import AuditLog, AuditRecord
from memory.ledger.connections import TRANSIENT_ERRORS, Connection
from memory.ledger.outbox import Outbox

log = logging.getLogger("selfmodel.audit")


@dataclass
class Recorded:
    """What `record_request` managed to write."""

    queued: bool = False  # the turn is in the outbox, pending
    audit_failed: bool = False  # the record (and the turn) wait in memory for the flush loop
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
    except TRANSIENT_ERRORS as exc:
        # Trying again at once would wait as long again before the response can end.
        log.error("request %s: bookkeeping kept for retry: %s", record.request_id, exc)
        audit_log.add(record, None if turn is None else _queue_once(outbox, turn))
        return Recorded(audit_failed=True)
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


def _queue_once(outbox: Outbox, turn: Turn) -> Callable[[Connection], object]:
    """The turn's enqueue for the flush loop: never twice, should the first try have
    committed after all (a connection lost at COMMIT)."""

    def queue(conn: Connection) -> object:
        if outbox.has_request(conn, turn.tenant, turn.request_id):
            return None
        return outbox.enqueue(turn, conn)

    return queue
