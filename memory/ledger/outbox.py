"""The durable extraction queue in SQLite.

A turn is written here before its response completes; workers claim jobs,
retry failures with exponential backoff, and park a job that keeps failing in
the `dead` state, where it stays visible and can be retried by hand.
States: pending → running → done | skipped | dead (dead → pending on retry).

Any number of processes share it. A claim is a lease (`lease_owner`, `lease_until`), renewed
while the job runs (`renew`); a job whose lease ran out (its process died) is claimed again,
and counts as an attempt. A user's jobs run one at a time across all processes, in order.
Ending a job checks the lease is still the caller's, so a job that was claimed again after
its lease ran out is ended once (`LeaseLost` for the other), and the job's writes roll back
with it when they share its transaction (`Database.transaction`).

What is stored is only what extraction reads (the user's latest messages and the reply, each
capped), with secrets redacted before the write (`Turn.compact`); a processed turn's payload is
purged (its row, the metadata, stays). A row no worker can read is parked as dead.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import uuid
from datetime import timedelta
from typing import Any

from memory import secrets
from memory.learn.turns import Turn
from memory.ledger import Database
from memory.ledger.connections import TRANSIENT_ERRORS, Connection
from memory.ledger.db import iso, utcnow

log = logging.getLogger("selfmodel.outbox")
PURGED = "{}"
# PostgreSQL: a claim passes over rows another transaction holds (a job being renewed or
# ended) instead of waiting for it; a user's order is kept by the store's write lock.
_SKIP_LOCKED = {"postgresql": " FOR UPDATE OF o SKIP LOCKED"}


def payload_of(turn: Turn) -> str:
    return json.dumps(turn.compact().to_json())


class LeaseLost(Exception):
    """The job is no longer this process's: its lease ran out and another claim took it."""


def process_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_dead(owner: str, here: str) -> bool:
    """True when the lease owner was a process on this host that no longer runs."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != here.partition(":")[0] or not pid.isdigit():
        return False
    if f"{host}:{pid}" == here:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Outbox:
    def __init__(
        self,
        db: Database,
        max_attempts: int,
        backoff_seconds: float,
        lease_seconds: float = 30.0,
    ) -> None:
        self.db = db
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.lease_seconds = lease_seconds
        self.process = process_id()
        self._leases: dict[int, str] = {}  # job id -> this process's lease on it

    def enqueue(self, turn: Turn, conn: Connection | None = None) -> int:
        """Queue a turn; inside `conn`'s transaction when given (the audit row shares it)."""
        if conn is None:
            with self.db.write(shared=True) as own:
                return self._insert(own, turn, payload_of(turn), "pending", None)
        return self._insert(conn, turn, payload_of(turn), "pending", None)

    @staticmethod
    def has_request(conn: Connection, tenant: str, request_id: str) -> bool:
        """Whether a turn of this request is in the outbox, whatever its state."""
        found = conn.execute(
            "SELECT 1 FROM outbox WHERE request_id = ? AND tenant = ? LIMIT 1",
            (request_id, tenant),
        ).fetchone()
        return found is not None

    def dead_letter(self, turn: Turn, reason: str) -> int:
        """A turn that could not be queued, parked as dead with the reason (retryable if its
        payload could be kept, else kept as metadata only)."""
        try:
            payload = payload_of(turn)
        except Exception:  # noqa: BLE001 - the payload itself is what failed
            payload = PURGED
        with self.db.write(shared=True) as conn:
            return self._insert(conn, turn, payload, "dead", secrets.redact(reason)[0][:2000])

    @staticmethod
    def _insert(conn: Connection, turn: Turn, payload: str, state: str, error: str | None) -> int:
        now = iso(utcnow())
        row = conn.execute(
            "INSERT INTO outbox (request_id, tenant, user_id, payload, state, last_error, "
            "next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "RETURNING id",
            (turn.request_id, turn.tenant, turn.user, payload, state, error, now, now, now),
        ).fetchone()
        return int(row[0])

    def recover(self) -> int:
        """Jobs left running by a process of this host that died go back to pending now
        (another host's lie there until their lease runs out)."""
        with self.db.write() as conn:
            found = conn.execute(
                "SELECT id, lease_owner FROM outbox WHERE state = 'running'"
            ).fetchall()
            dead = [r["id"] for r in found if _owner_dead(r["lease_owner"] or "", self.process)]
            conn.executemany(
                "UPDATE outbox SET state = 'pending', lease_owner = NULL, lease_until = NULL "
                "WHERE id = ? AND state = 'running'",
                [(job_id,) for job_id in dead],
            )
        return len(dead)

    def claim(self, limit: int = 8) -> list[tuple[int, Turn, int]]:
        """Up to `limit` ready jobs, each of a user who has no job running anywhere (the
        oldest of that user's first). A job whose lease ran out counts as an attempt; after
        `max_attempts` it is dead. A store that cannot answer now (a transient error) has no
        job for this poll: the jobs wait for the next one, and the worker keeps polling."""
        try:
            return self._claim(limit)
        except TRANSIENT_ERRORS as exc:
            log.warning("claiming extraction jobs failed, trying again at the next poll: %s", exc)
            return []

    def _claim(self, limit: int) -> list[tuple[int, Turn, int]]:
        now = utcnow()
        stamp = iso(now)
        until = iso(now + timedelta(seconds=self.lease_seconds))
        claimed: list[tuple[int, Turn, int]] = []
        leases: dict[int, str] = {}  # kept once the claim committed
        # A read first: idle workers poll, and must not take the write lock from the proxies.
        if not self.db.conn.execute(
            "SELECT 1 FROM outbox WHERE (state = 'pending' AND next_attempt_at <= ?) "
            "OR (state = 'running' AND lease_until < ?) LIMIT 1",
            (stamp, stamp),
        ).fetchone():
            return claimed
        with self.db.write() as conn:
            # A lease that ran out is taken back unless this process still runs its job.
            held = set(self._leases.values())
            expired = [
                row
                for row in conn.execute(
                    "SELECT id, attempts, lease_owner FROM outbox WHERE state = 'running' "
                    "AND lease_until < ?",
                    (stamp,),
                ).fetchall()
                if row["lease_owner"] not in held
            ]
            for row in expired:
                attempts = row["attempts"] + 1
                dead = attempts >= self.max_attempts
                conn.execute(
                    "UPDATE outbox SET state = ?, attempts = ?, lease_owner = NULL, "
                    "lease_until = NULL, last_error = ?, updated_at = ? WHERE id = ? "
                    "AND state = 'running' AND lease_until < ?",
                    (
                        "dead" if dead else "pending",
                        attempts,
                        "the worker running it stopped (its lease ran out)",
                        stamp,
                        row["id"],
                        stamp,
                    ),
                )
            found = conn.execute(
                "SELECT o.id, o.payload, o.attempts FROM outbox o WHERE o.state = 'pending' "
                "AND o.next_attempt_at <= ? AND NOT EXISTS (SELECT 1 FROM outbox r "
                "WHERE r.tenant = o.tenant AND r.user_id = o.user_id AND r.state = 'running') "
                "AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.tenant = o.tenant "
                "AND e.user_id = o.user_id AND e.state = 'pending' AND e.id < o.id) "
                "ORDER BY o.id LIMIT ?" + _SKIP_LOCKED.get(conn.dialect, ""),
                (stamp, limit),
            ).fetchall()
            for row in found:
                try:
                    turn = Turn.from_json(json.loads(row["payload"]))
                except (ValueError, TypeError) as exc:
                    # A row no worker can read is parked, not retried forever.
                    conn.execute(
                        "UPDATE outbox SET state = 'dead', last_error = ?, updated_at = ? "
                        "WHERE id = ?",
                        (f"unreadable payload: {exc}"[:2000], stamp, row["id"]),
                    )
                    continue
                lease = f"{self.process}:{uuid.uuid4().hex[:12]}"
                conn.execute(
                    "UPDATE outbox SET state = 'running', lease_owner = ?, lease_until = ?, "
                    "updated_at = ? WHERE id = ?",
                    (lease, until, stamp, row["id"]),
                )
                leases[row["id"]] = lease
                claimed.append((row["id"], turn, row["attempts"]))
        self._leases.update(leases)
        return claimed

    def abandon(self, job_id: int) -> None:
        """Stop holding a job that could not be ended (the store failed as it was): once its
        lease runs out a claim, here or in another process, runs it again."""
        self._leases.pop(job_id, None)

    def renew(self, job_ids: list[int]) -> list[int]:
        """Extend this process's leases on running jobs; returns the ids it no longer holds."""
        until = iso(utcnow() + timedelta(seconds=self.lease_seconds))
        lost = []
        with self.db.write() as conn:
            for job_id in job_ids:
                lease = self._leases.get(job_id)
                updated = conn.execute(
                    "UPDATE outbox SET lease_until = ? WHERE id = ? AND state = 'running' "
                    "AND lease_owner = ?",
                    (until, job_id, lease),
                ).rowcount
                if not updated:
                    lost.append(job_id)
        return lost

    def finish(self, job_id: int, state: str = "done") -> None:
        """End a job this process claimed; `LeaseLost` when the claim is no longer its own.
        Done or skipped: the turn's text is no longer needed, so it is purged."""
        with self.db.write() as conn:
            updated = conn.execute(
                "UPDATE outbox SET state = ?, updated_at = ?, last_error = NULL, payload = ?, "
                "lease_owner = NULL, lease_until = NULL WHERE id = ? AND state = 'running' "
                "AND lease_owner = ?",
                (state, iso(utcnow()), PURGED, job_id, self._leases.get(job_id)),
            ).rowcount
            if not updated:
                raise LeaseLost(f"extraction job {job_id} is no longer this worker's")
        self._leases.pop(job_id, None)

    def fail(
        self, job_id: int, error: str, raw_output: str | None = None, permanent: bool = False
    ) -> str:
        lease = self._leases.pop(job_id, None)
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT attempts FROM outbox WHERE id = ? AND state = 'running' "
                "AND lease_owner = ?",
                (job_id, lease),
            ).fetchone()
            if row is None:
                return "gone"  # forgotten, or claimed again after this lease ran out
            attempts = row["attempts"] + 1
            dead = permanent or attempts >= self.max_attempts
            delay = self.backoff_seconds * (2 ** (attempts - 1))
            conn.execute(
                "UPDATE outbox SET state = ?, attempts = ?, last_error = ?, raw_output = ?, "
                "next_attempt_at = ?, updated_at = ?, lease_owner = NULL, lease_until = NULL "
                "WHERE id = ?",
                (
                    "dead" if dead else "pending",
                    attempts,
                    secrets.redact(error[:2000])[0],
                    None if raw_output is None else secrets.redact(raw_output[:20000])[0],
                    iso(utcnow() + timedelta(seconds=delay)),
                    iso(utcnow()),
                    job_id,
                ),
            )
            return "dead" if dead else "retry"

    def retry(self, tenant: str | None, job_id: int | None = None) -> int:
        sql = (
            "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ? "
            "WHERE state = 'dead' AND payload != ?"
        )
        args: list[Any] = [iso(utcnow()), PURGED]
        if tenant is not None:
            sql += " AND tenant = ?"
            args.append(tenant)
        if job_id is not None:
            sql += " AND id = ?"
            args.append(job_id)
        with self.db.write() as conn:
            return conn.execute(sql, args).rowcount

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """One transaction for a job's writes and its end (see `Database.transaction`)."""
        return self.db.transaction()

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

    def counts(self, tenant: str | None = None) -> dict[str, int]:
        """Jobs per state: the tenant's, or (None, for the operator) the whole store's."""
        sql, args = "SELECT state, COUNT(*) FROM outbox", list[Any]()
        if tenant is not None:
            sql += " WHERE tenant = ?"
            args.append(tenant)
        return {row[0]: row[1] for row in self.db.conn.execute(sql + " GROUP BY state", args)}


def delete_user_jobs(conn: Connection, tenant: str, user: str) -> int:
    return conn.execute(
        "DELETE FROM outbox WHERE tenant = ? AND user_id = ?", (tenant, user)
    ).rowcount
