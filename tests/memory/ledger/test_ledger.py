"""The SQLite ledger: migrations apply in order on an empty database, once."""

from __future__ import annotations

from memory.ledger import Database
from memory.ledger.migrations import MIGRATIONS


def test_migrations_create_the_schema_once(tmp_path):
    db = Database(tmp_path / "x.db")
    names = [row[0] for row in db.conn.execute("SELECT name FROM schema_migrations")]
    assert names == [name for name, _ in MIGRATIONS]
    columns = {row[1] for row in db.conn.execute("PRAGMA table_info(beliefs)")}
    assert {
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
    } <= columns
    assert db.migrate() == []
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_audit_cursor_never_skips_equal_timestamps(tmp_path):
    from memory.ledger.audit import AuditLog, AuditRecord

    db = Database(tmp_path / "x.db")
    log = AuditLog(db, store_rendered=True, retention_days=30)
    for i in range(5):
        log.add(
            AuditRecord(
                request_id=f"req_{i}",
                tenant="t",
                user="u",
                model="m",
                rule=None,
                injected=[],
                rendered=None,
                template=None,
                template_sha256=None,
                tokens=0,
                retrieve_ms=0,
                render_ms=0,
                upstream_ms=0,
                status=200,
                at="2026-01-01T00:00:00.000000+00:00",
            )
        )
    seen, before = [], None
    while True:
        page = log.query("t", limit=2, before=before)
        if not page:
            break
        seen += [r["request_id"] for r in page]
        before = f"{page[-1]['at']}|{page[-1]['request_id']}"
    assert sorted(seen) == [f"req_{i}" for i in range(5)]
    db.close()
