"""The one statement text both databases take: `?` markers and literal `%` for psycopg, values
PostgreSQL would refuse adapted, rows read by position and by name."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any
from urllib.parse import quote

import numpy as np
import pytest

from memory.ledger import Database
from memory.ledger.connections import INTEGRITY_ERRORS, TRANSIENT_ERRORS, to_psycopg
from memory.ledger.urls import redact, scrub, sqlalchemy_url

BOTH_LEDGERS = True


def test_markers_become_psycopgs_and_quoted_text_is_left_alone():
    assert to_psycopg("SELECT ? WHERE a LIKE '%?%' AND b = ?") == (
        "SELECT %s WHERE a LIKE '%%?%%' AND b = %s"
    )
    assert to_psycopg("SELECT 'it''s ?', ?") == "SELECT 'it''s ?', %s"


def test_values_and_rows_read_alike_on_both(ledger_target):
    db = Database(ledger_target)
    with db.write() as conn:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)", ("100% sure?", str(np.float32(0.5)))
        )
        conn.execute(
            "INSERT INTO feedback (id, request_id, tenant, user_id, score, comment, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            ("f1", "r1", "t", "u", np.float64(0.25), None, "2026-01-01"),
        )
    row = db.conn.execute("SELECT key, value FROM meta WHERE key LIKE '100%'").fetchone()
    assert (row[0], row["value"]) == ("100% sure?", "0.5")
    assert dict(row) == {"key": "100% sure?", "value": "0.5"}
    score = db.conn.execute("SELECT score FROM feedback WHERE id = ?", ("f1",)).fetchone()[0]
    assert score == 0.25 and isinstance(score, float)
    # a write that fails undoes the whole transaction, and the connection stays usable
    with contextlib.suppress(*INTEGRITY_ERRORS), db.write() as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", ("k", "v"))
        conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", ("k", "v"))
    assert db.get_meta("k") is None
    db.set_meta("k", "w")
    assert db.get_meta("k") == "w"
    db.close()


def test_a_url_is_shown_without_its_password():
    url = "postgresql://app:s3cret@db.internal:5432/selfmodel"
    assert redact(url) == "postgresql://app:***@db.internal:5432/selfmodel"
    assert scrub("login failed for s3cret", url) == "login failed for ***"
    assert sqlalchemy_url(url).startswith("postgresql+psycopg://app:s3cret@")
    assert sqlalchemy_url("/tmp/x.db") == "sqlite:////tmp/x.db"


def test_a_write_that_waited_for_another_sees_what_it_committed(ledger, ledger_target):
    # Serializing writes is what keeps a user's beliefs free of duplicates: the second writer
    # must read the first one's rows, whatever isolation the server defaults to.
    if ledger != "postgresql":
        pytest.skip("SQLite's BEGIN IMMEDIATE reads after taking the lock")
    # the server's default isolation, as a DBA may set it (libpq's options, space escaped)
    url = ledger_target + quote(" -c default_transaction_isolation=repeatable\\ read")
    first, second = Database(url), Database(url)
    seen: list[Any] = []

    def later() -> None:
        with second.write() as conn:
            seen.append(conn.execute("SELECT value FROM meta WHERE key = 'k'").fetchone())

    with first.write() as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('k', 'first')")
        waiter = threading.Thread(target=later)
        waiter.start()
        while not first.conn.execute(
            "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        ).fetchone():
            time.sleep(0.01)
    waiter.join()
    assert seen[0] is not None and seen[0][0] == "first"
    first.close()
    second.close()


def test_a_writer_that_cannot_get_the_lock_gives_up_as_a_transient_error(ledger_target):
    # SQLite's busy timeout ends the wait for another process's write; on PostgreSQL the
    # wait for the write lock ends the same way, instead of hanging the request for good.
    holder, waiter = Database(ledger_target), Database(ledger_target, busy_seconds=0.5)
    failed: list[BaseException] = []

    def write() -> None:
        try:
            with waiter.write() as conn:
                conn.execute("INSERT INTO meta (key, value) VALUES ('w', 'x')")
        except TRANSIENT_ERRORS as exc:
            failed.append(exc)

    with holder.write() as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('h', 'x')")
        thread = threading.Thread(target=write)
        thread.start()
        thread.join(timeout=20)
        gave_up = not thread.is_alive()
    thread.join()
    assert gave_up and len(failed) == 1
    assert waiter.get_meta("w") is None and waiter.get_meta("h") == "x"
    holder.close()
    waiter.close()


def test_the_write_ahead_log_is_copied_back_in_the_background_not_by_a_commit(tmp_path):
    from memory.ledger.db import WAL_BACKSTOP_PAGES

    db = Database(tmp_path / "selfmodel.db")
    wal = tmp_path / "selfmodel.db-wal"
    try:
        conn = db.conn
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == WAL_BACKSTOP_PAGES
        conn.execute("CREATE TABLE filler (body TEXT)")
        for n in range(1_500):  # more pages than SQLite's own default threshold (1,000)
            with db.write() as writing:
                writing.execute("INSERT INTO filler VALUES (?)", ("x" * 4_000 + str(n),))
        size = tmp_path.joinpath("selfmodel.db").stat().st_size
        assert wal.stat().st_size > 1_400 * 4_096  # no commit checkpointed
        assert db.checkpoint()
        assert tmp_path.joinpath("selfmodel.db").stat().st_size > size + 1_500 * 4_000
        with db.write() as writing:  # the log starts over once everything is copied back
            writing.execute("INSERT INTO filler VALUES ('after')")
        assert conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1] <= 3
    finally:
        db.close()
