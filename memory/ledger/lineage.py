"""What one request led to: its extraction job and the belief changes made from it.

The audit record, the outbox job and the beliefs' history all carry the request id; these
queries join them so a reader can go from "what was injected" to "what was learned".
"""

from __future__ import annotations

from typing import Any

from memory.ledger.connections import Connection

JOB_FIELDS = "id, state, attempts, last_error, created_at, updated_at"


def jobs_of_request(conn: Connection, tenant: str, request_id: str) -> list[dict[str, Any]]:
    return [
        dict(row)
        for row in conn.execute(
            f"SELECT {JOB_FIELDS} FROM outbox WHERE tenant = ? AND request_id = ? ORDER BY id",
            (tenant, request_id),
        )
    ]


def changes_of_request(conn: Connection, tenant: str, request_id: str) -> list[dict[str, Any]]:
    """Each history event recorded with this request id, oldest first, with its belief."""
    return [
        dict(row)
        for row in conn.execute(
            "SELECT h.belief_id, h.event, h.version, h.statement, h.confidence, h.actor, h.at, "
            "b.user_id AS user, b.context, b.status, b.supersedes "
            "FROM history h JOIN beliefs b ON b.id = h.belief_id "
            "WHERE h.request_id = ? AND b.tenant = ? ORDER BY h.seq",
            (request_id, tenant),
        )
    ]
