"""Copying a whole store between ledgers (`memory.ledger.copy`)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from memory.ledger import Database
from memory.ledger.audit import AuditLog, AuditRecord
from memory.ledger.copy import copy_store

BOTH_LEDGERS = True


def test_a_large_table_is_copied_in_batches_not_read_whole(tmp_path: Path, ledger_target):
    source = Database(tmp_path / "source.db")
    audit = AuditLog(source, store_rendered=True, retention_days=0)
    with source.write() as conn:
        audit.insert(
            conn,
            [
                AuditRecord(
                    request_id=f"r{i:05d}",
                    tenant="t",
                    user="u",
                    model="m",
                    rule=None,
                    injected=[],
                    rendered="x" * 4000,
                    template=None,
                    template_sha256=None,
                    tokens=0,
                    retrieve_ms=0.0,
                    render_ms=0.0,
                    upstream_ms=0.0,
                    status=200,
                )
                for i in range(6000)
            ],
        )
    source.close()
    tracemalloc.start()
    try:
        copied = copy_store(tmp_path / "source.db", ledger_target)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert copied["audit"] == 6000
    # the table holds 24 MB of text; a batch of it (and its copy on its way) is far less
    assert peak < 14_000_000, peak
    copy = Database(ledger_target)
    assert copy.conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0] == 6000
    copy.close()
