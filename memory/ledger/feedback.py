"""Feedback rows: a score on a request, from the product."""

from __future__ import annotations

from memory.ledger.connections import Connection


def insert_feedback(
    conn: Connection,
    feedback_id: str,
    request_id: str,
    tenant: str,
    user: str,
    score: float,
    comment: str | None,
    at: str,
) -> None:
    conn.execute(
        "INSERT INTO feedback VALUES (?, ?, ?, ?, ?, ?, ?)",
        (feedback_id, request_id, tenant, user, score, comment, at),
    )


def scores_on_injected(conn: Connection, tenant: str, user: str) -> list[float]:
    """The user's feedback scores on requests that had beliefs injected."""
    return [
        float(r[0])
        for r in conn.execute(
            "SELECT f.score FROM feedback f JOIN audit a ON a.request_id = f.request_id "
            "WHERE f.tenant = ? AND f.user_id = ? AND a.injected != '[]'",
            (tenant, user),
        )
    ]


def delete_user_feedback(conn: Connection, tenant: str, user: str) -> int:
    return conn.execute(
        "DELETE FROM feedback WHERE tenant = ? AND user_id = ?", (tenant, user)
    ).rowcount
