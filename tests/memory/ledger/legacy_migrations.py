"""Schema migrations as they were before Alembic, frozen as test data: the stores they made
must still open."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable


def _run(db: sqlite3.Connection, script: str) -> None:
    # executescript would commit the migration's transaction early; run statement by statement.
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def m001_beliefs(db: sqlite3.Connection) -> None:
    _run(
        db,
        """
        CREATE TABLE users (
            tenant TEXT NOT NULL,
            user_id TEXT NOT NULL,
            created_at TEXT NOT NULL,
            revision INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (tenant, user_id)
        );
        CREATE TABLE beliefs (
            id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            user_id TEXT NOT NULL,
            statement TEXT NOT NULL,
            context TEXT NOT NULL,
            status TEXT NOT NULL,
            source TEXT NOT NULL,
            confidence REAL NOT NULL,
            version INTEGER NOT NULL DEFAULT 1,
            supersedes TEXT,
            superseded_by TEXT,
            valid_from TEXT NOT NULL,
            valid_to TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            indexed INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX beliefs_unindexed ON beliefs (indexed, status);
        CREATE INDEX beliefs_by_user ON beliefs (tenant, user_id, status, context);
        CREATE TABLE evidence (
            id TEXT PRIMARY KEY,
            belief_id TEXT NOT NULL REFERENCES beliefs (id) ON DELETE CASCADE,
            source TEXT NOT NULL,
            kind TEXT NOT NULL,
            quote TEXT,
            request_id TEXT,
            observation_id TEXT,
            polarity INTEGER NOT NULL,
            weight REAL NOT NULL,
            anchor REAL,
            at TEXT NOT NULL
        );
        CREATE INDEX evidence_by_belief ON evidence (belief_id, at);
        CREATE INDEX evidence_by_request ON evidence (request_id);
        CREATE TABLE history (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            belief_id TEXT NOT NULL REFERENCES beliefs (id) ON DELETE CASCADE,
            version INTEGER NOT NULL,
            event TEXT NOT NULL,
            statement TEXT NOT NULL,
            status TEXT NOT NULL,
            confidence REAL NOT NULL,
            actor TEXT NOT NULL,
            request_id TEXT,
            observation_id TEXT,
            at TEXT NOT NULL
        );
        CREATE INDEX history_by_belief ON history (belief_id, seq);
        CREATE TABLE observations (
            id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            user_id TEXT NOT NULL,
            text TEXT NOT NULL,
            context TEXT,
            kind TEXT NOT NULL,
            weight REAL NOT NULL,
            at TEXT NOT NULL
        );
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """,
    )


def m002_audit(db: sqlite3.Connection) -> None:
    _run(
        db,
        """
        CREATE TABLE audit (
            request_id TEXT PRIMARY KEY,
            at TEXT NOT NULL,
            tenant TEXT NOT NULL,
            user_id TEXT,
            model TEXT NOT NULL,
            rule TEXT,
            injected TEXT NOT NULL,
            rendered TEXT,
            template TEXT,
            template_sha256 TEXT,
            tokens INTEGER NOT NULL,
            retrieve_ms REAL NOT NULL,
            render_ms REAL NOT NULL,
            upstream_ms REAL NOT NULL,
            status INTEGER NOT NULL,
            error TEXT,
            stream INTEGER NOT NULL,
            degraded INTEGER NOT NULL,
            degraded_reason TEXT
        );
        CREATE INDEX audit_by_time ON audit (tenant, at);
        CREATE INDEX audit_by_user ON audit (tenant, user_id, at);
        CREATE TABLE feedback (
            id TEXT PRIMARY KEY,
            request_id TEXT NOT NULL,
            tenant TEXT NOT NULL,
            user_id TEXT NOT NULL,
            score REAL NOT NULL,
            comment TEXT,
            at TEXT NOT NULL
        );
        CREATE INDEX feedback_by_user ON feedback (tenant, user_id, at);
        """,
    )


def m003_outbox(db: sqlite3.Connection) -> None:
    _run(
        db,
        """
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            request_id TEXT NOT NULL,
            tenant TEXT NOT NULL,
            user_id TEXT NOT NULL,
            payload TEXT NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            last_error TEXT,
            raw_output TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX outbox_ready ON outbox (state, next_attempt_at);
        CREATE INDEX outbox_by_user ON outbox (tenant, user_id);
        """,
    )


def m004_audit_filters(db: sqlite3.Connection) -> None:
    _run(
        db,
        """
        CREATE INDEX audit_by_model ON audit (tenant, model, at);
        CREATE INDEX audit_by_rule ON audit (tenant, rule, at)
        """,
    )


def m005_belief_vectors(db: sqlite3.Connection) -> None:
    _run(
        db,
        """
        CREATE TABLE belief_vectors (
            belief_id TEXT PRIMARY KEY REFERENCES beliefs (id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            vector BLOB NOT NULL,
            situations TEXT NOT NULL
        )
        """,
    )


def m006_embedded_flag(db: sqlite3.Connection) -> None:
    # Finding beliefs that still need vectors must not scan every belief.
    _run(
        db,
        """
        ALTER TABLE beliefs ADD COLUMN embedded INTEGER NOT NULL DEFAULT 0;
        UPDATE beliefs SET embedded = 1 WHERE id IN (SELECT belief_id FROM belief_vectors);
        CREATE INDEX beliefs_unembedded ON beliefs (embedded, status);
        CREATE INDEX audit_by_age ON audit (at)
        """,
    )


def m007_evidence_note(db: sqlite3.Connection) -> None:
    # Why a piece of evidence was recorded (a revision's cue and the belief it linked to).
    _run(db, "ALTER TABLE evidence ADD COLUMN note TEXT")


def m008_worker_leases(db: sqlite3.Connection) -> None:
    # Jobs claimed with a lease (several worker processes share the outbox); a revision clock
    # for the whole store, so that a user forgotten and re-created never reuses a revision
    # another process has cached; forgotten users whose vectors the index owner must drop.
    _run(
        db,
        """
        ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
        ALTER TABLE outbox ADD COLUMN lease_until TEXT;
        CREATE INDEX outbox_leases ON outbox (state, lease_until);
        CREATE INDEX outbox_running_users ON outbox (tenant, user_id, state);
        CREATE TABLE revision_clock (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL);
        INSERT INTO revision_clock VALUES (1, (SELECT COALESCE(MAX(revision), 0) FROM users));
        CREATE TABLE index_drops (
            tenant TEXT NOT NULL,
            user_id TEXT NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (tenant, user_id)
        )
        """,
    )


def m009_audit_arm(db: sqlite3.Connection) -> None:
    # The holdout experiment's arm of each request (issue #17). Records written before it
    # existed had no holdout: their end users were all treated. Insights read recent belief
    # changes by kind and time.
    _run(
        db,
        """
        ALTER TABLE audit ADD COLUMN arm TEXT;
        UPDATE audit SET arm = 'treatment' WHERE user_id IS NOT NULL;
        CREATE INDEX audit_by_arm ON audit (tenant, arm, at);
        CREATE INDEX history_by_event ON history (event, at)
        """,
    )


def m010_audit_turn_text(db: sqlite3.Connection) -> None:
    # The user message that drove retrieval and the reply, kept when audit.store_rendered is on;
    # history rows are looked up by the request they came from.
    _run(
        db,
        """
        ALTER TABLE audit ADD COLUMN user_message TEXT;
        ALTER TABLE audit ADD COLUMN reply TEXT;
        CREATE INDEX IF NOT EXISTS history_by_request ON history (request_id);
        CREATE INDEX IF NOT EXISTS outbox_by_request ON outbox (request_id)
        """,
    )


MIGRATIONS: list[tuple[str, Callable[[sqlite3.Connection], None]]] = [
    ("001_beliefs", m001_beliefs),
    ("002_audit", m002_audit),
    ("003_outbox", m003_outbox),
    ("004_audit_filters", m004_audit_filters),
    ("005_belief_vectors", m005_belief_vectors),
    ("006_embedded_flag", m006_embedded_flag),
    ("007_evidence_note", m007_evidence_note),
    ("008_worker_leases", m008_worker_leases),
    ("009_audit_arm", m009_audit_arm),
    ("010_audit_turn_text", m010_audit_turn_text),
]


def build_store(path: str | object, upto: str) -> sqlite3.Connection:
    """A SQLite store as the hand-rolled list made it, up to migration `upto` (included);
    returns its open connection (autocommit) for the test to add rows."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for name, migration in MIGRATIONS:
        conn.execute("BEGIN")
        migration(conn)
        conn.execute("INSERT INTO schema_migrations VALUES (?, '2026-01-01')", (name,))
        conn.execute("COMMIT")
        if name == upto:
            break
    return conn
