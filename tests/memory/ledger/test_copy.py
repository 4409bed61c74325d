"""Copying a whole store between ledgers (`memory.ledger.copy`)."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import httpx
import pytest

from memory.ledger import Database
from memory.ledger.audit import AuditLog, AuditRecord
from memory.ledger.copy import copy_store

BOTH_LEDGERS = True


def _fill_audit(target: Path | str, rows: int) -> None:
    """`rows` audit records of 4 KB of text each."""
    db = Database(target)
    audit = AuditLog(db, store_rendered=True, retention_days=0)
    with db.write() as conn:
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
                for i in range(rows)
            ],
        )
    db.close()


def test_a_large_table_is_copied_in_batches_not_read_whole(tmp_path: Path, ledger_target):
    _fill_audit(tmp_path / "source.db", 6000)
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


# Copies `argv[1]` into `argv[2]` and prints how far the process's peak memory grew meanwhile
# (what the database driver holds in C is invisible to tracemalloc).
_MEASURE = """
import json, sys
from memory.ledger import Database
from memory.ledger.copy import copy_store
def peak_kb():  # this program's own peak (getrusage's carries the parent's across exec)
    status = open("/proc/self/status").read()
    return int(status.split("VmHWM:")[1].split()[0])
for target in sys.argv[1:]:
    Database(target).close()
before = peak_kb()
copied = copy_store(sys.argv[1], sys.argv[2])
print(json.dumps({"audit": copied["audit"], "grown_kb": peak_kb() - before}))
"""


def test_a_large_postgresql_table_is_read_through_a_server_side_cursor(
    tmp_path: Path, ledger, ledger_target
):
    if ledger != "postgresql":
        pytest.skip("the SQLite source is the test above")
    _fill_audit(ledger_target, 15000)  # 60 MB of text
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(ledger_target), str(tmp_path / "copy.db")],
        capture_output=True,
        text=True,
        check=True,
    )
    measured = json.loads(done.stdout)
    assert measured["audit"] == 15000
    assert measured["grown_kb"] < 30_000, measured


def test_a_store_still_written_to_is_copied_as_of_one_moment(
    make_proxy, ledger, tmp_path: Path, request: pytest.FixtureRequest
):
    # `selfmodel migrate --from A --to B` while a proxy still serves A: each table read at a
    # different moment would copy evidence of beliefs the copy lacks (a broken foreign key).
    proxy = make_proxy()
    memory = proxy.state.memory
    source = memory.db.url or memory.db.path
    destination: str | Path = (
        request.getfixturevalue("pg_cluster").fresh()
        if ledger == "sqlite"
        else tmp_path / "copy.db"
    )

    def write(statement: str) -> None:
        created = httpx.post(
            proxy.url + "/v1/users/ana/beliefs",
            json={"statement": statement, "context": "preferences"},
            timeout=30,
        )
        assert created.status_code == 201, created.text

    write("Likes green tea.")
    written_during: list[str] = []

    def progress(table: str, _rows: int) -> None:
        # the proxy writes between the copy's reads of two tables, after each one
        statement = f"Likes a drink named after the {table} table."
        write(statement)
        written_during.append(statement)

    copied = copy_store(source, destination, progress=progress)
    assert "Likes a drink named after the beliefs table." in written_during
    assert copied["beliefs"] == 1 and copied["evidence"] == 1 and copied["history"] == 1
    copy = Database(destination)
    assert [r[0] for r in copy.conn.execute("SELECT statement FROM beliefs")] == [
        "Likes green tea."
    ]
    orphans = copy.conn.execute(
        "SELECT COUNT(*) FROM evidence WHERE belief_id NOT IN (SELECT id FROM beliefs)"
    ).fetchone()[0]
    assert orphans == 0
    copy.close()
    # the source kept every write
    listed = httpx.get(proxy.url + "/v1/users/ana/beliefs").json()["data"]
    assert len(listed) == 1 + len(written_during)
