"""The ledger on SQLite and PostgreSQL: Alembic migrations from an empty database and from a
store made before Alembic, applied once, by one of several processes starting together."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading

import pytest

from memory.ledger import Database
from memory.ledger.migrations import head
from tests.memory.ledger import legacy_migrations

BOTH_LEDGERS = True
BELIEF_COLUMNS = {
    "id",
    "tenant",
    "user_id",
    "statement",
    "context",
    "confidence",
    "status",
    "source",
    "version",
    "supersedes",
    "superseded_by",
    "valid_from",
    "valid_to",
    "indexed",
    "embedded",
}


def _columns(db: Database, table: str) -> set[str]:
    return {c[0] for c in db.conn.execute(f"SELECT * FROM {table} LIMIT 0").description}


def test_migrations_create_the_schema_once(ledger_target, ledger):
    db = Database(ledger_target)
    assert db.revision() == head()
    assert _columns(db, "beliefs") >= BELIEF_COLUMNS
    assert {"arm", "user_message", "reply"} <= _columns(db, "audit")
    assert db.migrate() == []
    if ledger == "sqlite":
        assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_processes_starting_together_migrate_once(ledger_target):
    # Replicas start at once: one migrates, the others wait for its lock and find the work done.
    script = (
        "import json, sys; from memory.ledger import Database; "
        "db = Database(sys.argv[1], migrate=False); print(json.dumps(db.migrate()))"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(ledger_target)], stdout=subprocess.PIPE)
        for _ in range(3)
    ]
    applied = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sorted(bool(a) for a in applied) == [False, False, True]
    assert Database(ledger_target).revision() == head()


@pytest.mark.parametrize("upto", ["008_worker_leases", "010_audit_turn_text"])
def test_a_store_made_before_alembic_is_upgraded_keeping_its_data(tmp_path, upto):
    path = tmp_path / "old.db"
    conn = legacy_migrations.build_store(path, upto)
    conn.execute(
        "INSERT INTO beliefs (id, tenant, user_id, statement, context, status, source, "
        "confidence, valid_from, created_at, updated_at) VALUES ('b1', 't', 'u', "
        "'I am vegetarian.', 'constraints', 'active', 'asserted', 0.9, 'x', 'x', 'x')"
    )
    conn.close()
    db = Database(path)
    assert db.revision() == head()
    row = db.conn.execute("SELECT statement, embedded FROM beliefs WHERE id = 'b1'").fetchone()
    assert (row["statement"], row["embedded"]) == ("I am vegetarian.", 0)
    assert {"user_message", "reply"} <= _columns(db, "audit")
    assert db.migrate() == []
    db.close()


def test_audit_cursor_never_skips_equal_timestamps(ledger_target):
    from memory.ledger.audit import AuditLog
    from tests.audit_records import plain_record

    db = Database(ledger_target)
    log = AuditLog(db, store_rendered=True, retention_days=30)
    for i in range(5):
        log.add(plain_record(f"req_{i}", at="2026-01-01T00:00:00.000000+00:00"))
    seen, before = [], None
    while True:
        page = log.query("t", limit=2, before=before)
        if not page:
            break
        seen += [r["request_id"] for r in page]
        before = f"{page[-1]['at']}|{page[-1]['request_id']}"
    assert sorted(seen) == [f"req_{i}" for i in range(5)]
    db.close()


def test_a_store_at_an_older_revision_is_upgraded_keeping_its_data(ledger_target):
    from memory.ledger import migrations

    target = str(ledger_target)
    assert migrations.upgrade(target, to="007_evidence_note")[-1] == "007_evidence_note"
    old = Database(ledger_target, migrate=False)
    assert old.revision() == "007_evidence_note"
    with old.write() as conn:
        conn.execute("INSERT INTO users VALUES ('t', 'ana', 'then', 40)")
        conn.execute(
            "INSERT INTO audit (request_id, at, tenant, user_id, model, injected, tokens, "
            "retrieve_ms, render_ms, upstream_ms, status, stream, degraded) "
            "VALUES ('r1', 'then', 't', 'ana', 'm', '[]', 0, 0, 0, 0, 200, 0, 0)"
        )
    old.close()
    db = Database(ledger_target)
    assert db.revision() == head()
    # 008 starts the store-wide clock above the revisions already handed out; 009 marks
    # requests made before the holdout existed as treated
    assert db.conn.execute("SELECT value FROM revision_clock").fetchone()[0] == 40
    assert db.conn.execute("SELECT arm FROM audit WHERE request_id = 'r1'").fetchone()[0] == (
        "treatment"
    )
    db.close()


def test_a_sqlite_writer_waits_out_another_processs_lock(tmp_path):
    # Another process's writer holds SQLite's lock for a while: our write waits, then commits.
    path = tmp_path / "x.db"
    db = Database(path)
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO meta (key, value) VALUES ('holder', 'x')")
    release = threading.Timer(0.3, lambda: holder.execute("COMMIT"))
    release.start()
    db.set_meta("k", "v")  # blocks until the holder commits
    release.join()
    assert db.get_meta("holder") == "x" and db.get_meta("k") == "v"
    # and the busy handler is back on for every other statement
    assert db.conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30000
    holder.close()
    db.close()


def test_a_belief_changed_by_another_process_in_between_is_not_overwritten(ledger_target):
    from memory.errors import ConflictError
    from memory.ledger import beliefs as rows

    a, b = Database(ledger_target), Database(ledger_target)  # two processes
    row = dict.fromkeys(("supersedes", "superseded_by", "valid_to"))
    row |= {"id": "b1", "tenant": "t", "user_id": "u", "statement": "I am vegetarian."}
    row |= {"context": "constraints", "status": "active", "source": "stated"}
    row |= {"confidence": 0.8, "version": 1, "valid_from": "x", "created_at": "x"}
    row["updated_at"] = "x"
    with a.write() as conn:
        rows.insert_belief(conn, row)
    # both read version 1; b writes first; a's write, computed from what it read, is refused
    with b.write() as conn:
        rows.update_belief(conn, "b1", {"confidence": 0.9, "version": 2}, from_version=1)
    with pytest.raises(ConflictError), a.write() as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('a-was-here', 'x')")
        rows.update_belief(conn, "b1", {"confidence": 0.5, "version": 2}, from_version=1)
    found = a.conn.execute("SELECT confidence, version FROM beliefs WHERE id = 'b1'").fetchone()
    assert (found[0], found[1]) == (0.9, 2)
    assert a.get_meta("a-was-here") is None  # the whole transaction rolled back
    a.close()
    b.close()
