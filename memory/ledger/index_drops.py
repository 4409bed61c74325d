"""Forgotten users whose vectors the process that owns the embedded Chroma index must drop."""

from __future__ import annotations

from memory.ledger import Database
from memory.ledger.db import iso, utcnow


def record(db: Database, tenant: str, user: str) -> None:
    with db.write() as conn:
        conn.execute(
            "INSERT INTO index_drops (tenant, user_id, at) VALUES (?, ?, ?) "
            "ON CONFLICT (tenant, user_id) DO UPDATE SET at = excluded.at",
            (tenant, user, iso(utcnow())),
        )


def pending(db: Database, limit: int = 100) -> list[tuple[str, str, str]]:
    """(tenant, user, recorded at), oldest first."""
    return [
        (row[0], row[1], row[2])
        for row in db.conn.execute(
            "SELECT tenant, user_id, at FROM index_drops ORDER BY at LIMIT ?", (limit,)
        )
    ]


def done(db: Database, tenant: str, user: str, at: str) -> None:
    """Clear a drop, unless it was recorded again meanwhile (a second forget)."""
    with db.write() as conn:
        conn.execute(
            "DELETE FROM index_drops WHERE tenant = ? AND user_id = ? AND at = ?",
            (tenant, user, at),
        )
