"""The durable extraction queue in SQLite.

A turn is written here before its response completes; workers claim jobs,
retry failures with exponential backoff, and park a job that keeps failing in
the `dead` state, where it stays visible and can be retried by hand.
States: pending → running → done | skipped | dead (dead → pending on retry).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from typing import Any

from memory.learn.turns import Turn
from memory.ledger import Database
from memory.ledger.db import iso, utcnow


class Outbox:
    def __init__(self, db: Database, max_attempts: int, backoff_seconds: float) -> None:
        self.db = db
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds

    def enqueue(self, turn: Turn) -> int:
        now = iso(utcnow())
        with self.db.write() as conn:
            cursor = conn.execute(
                "INSERT INTO outbox (request_id, tenant, user_id, payload, state, "
                "next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)",
                (
                    turn.request_id,
                    turn.tenant,
                    turn.user,
                    json.dumps(turn.to_json()),
                    now,
                    now,
                    now,
                ),
            )
            return int(cursor.lastrowid or 0)

    def recover(self) -> int:
        """Jobs a crashed process left running go back to pending."""
        with self.db.write() as conn:
            return conn.execute(
                "UPDATE outbox SET state = 'pending' WHERE state = 'running'"
            ).rowcount

    def claim(self, limit: int = 8) -> list[tuple[int, Turn, int]]:
        now = iso(utcnow())
        with self.db.write() as conn:
            found = conn.execute(
                "SELECT id, payload, attempts FROM outbox WHERE state = 'pending' "
                "AND next_attempt_at <= ? ORDER BY id LIMIT ?",
                (now, limit),
            ).fetchall()
            for row in found:
                conn.execute(
                    "UPDATE outbox SET state = 'running', updated_at = ? WHERE id = ?",
                    (now, row["id"]),
                )
        return [
            (row["id"], Turn.from_json(json.loads(row["payload"])), row["attempts"])
            for row in found
        ]

    def finish(self, job_id: int, state: str = "done") -> None:
        with self.db.write() as conn:
            conn.execute(
                "UPDATE outbox SET state = ?, updated_at = ?, last_error = NULL WHERE id = ?",
                (state, iso(utcnow()), job_id),
            )

    def fail(
        self, job_id: int, error: str, raw_output: str | None = None, permanent: bool = False
    ) -> str:
        with self.db.write() as conn:
            row = conn.execute("SELECT attempts FROM outbox WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                return "gone"
            attempts = row["attempts"] + 1
            dead = permanent or attempts >= self.max_attempts
            delay = self.backoff_seconds * (2 ** (attempts - 1))
            conn.execute(
                "UPDATE outbox SET state = ?, attempts = ?, last_error = ?, raw_output = ?, "
                "next_attempt_at = ?, updated_at = ? WHERE id = ?",
                (
                    "dead" if dead else "pending",
                    attempts,
                    error[:2000],
                    raw_output,
                    iso(utcnow() + timedelta(seconds=delay)),
                    iso(utcnow()),
                    job_id,
                ),
            )
            return "dead" if dead else "retry"

    def retry(self, tenant: str | None, job_id: int | None = None) -> int:
        sql = (
            "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ? "
            "WHERE state = 'dead'"
        )
        args: list[Any] = [iso(utcnow())]
        if tenant is not None:
            sql += " AND tenant = ?"
            args.append(tenant)
        if job_id is not None:
            sql += " AND id = ?"
            args.append(job_id)
        with self.db.write() as conn:
            return conn.execute(sql, args).rowcount

    def jobs(
        self, tenant: str | None, state: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM outbox WHERE 1 = 1", list[Any]()
        if tenant is not None:
            sql += " AND tenant = ?"
            args.append(tenant)
        if state is not None:
            sql += " AND state = ?"
            args.append(state)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        out = []
        for row in self.db.conn.execute(sql, args):
            item = dict(row)
            item["user"] = item.pop("user_id")
            item.pop("payload")
            out.append(item)
        return out

    def counts(self) -> dict[str, int]:
        return {
            row[0]: row[1]
            for row in self.db.conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state")
        }


def delete_user_jobs(conn: sqlite3.Connection, tenant: str, user: str) -> int:
    return conn.execute(
        "DELETE FROM outbox WHERE tenant = ? AND user_id = ?", (tenant, user)
    ).rowcount
