"""The outbox shared by several processes: leases, per-user order, lost leases, one commit
for a job's writes and its end. Two `Outbox`es on two connections stand for two processes
(`process` is the identity a process's leases carry)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from memory.learn.turns import Turn
from memory.ledger import Database
from memory.ledger import beliefs as rows
from memory.ledger.db import iso, utcnow
from memory.ledger.outbox import LeaseLost, Outbox
from tests.memory.ledger import legacy_migrations

BOTH_LEDGERS = True
Target = Path | str


def turn(user: str, n: int) -> Turn:
    return Turn(f"req-{user}-{n}", "default", user, "m", [{"role": "user", "content": "hi"}], "ok")


def two(target: Path | str) -> tuple[Outbox, Outbox]:
    first = Outbox(Database(target), max_attempts=3, backoff_seconds=0)
    second = Outbox(Database(target), max_attempts=3, backoff_seconds=0)
    first.process, second.process = "host-a:101", "host-b:202"
    return first, second


def test_a_users_jobs_run_one_at_a_time_in_order_across_processes(
    ledger_target: Path | str,
) -> None:
    a, b = two(ledger_target)
    for n in range(2):
        a.enqueue(turn("ana", n))
    a.enqueue(turn("bo", 0))
    got_a = a.claim(8)
    got_b = b.claim(8)
    assert [t.request_id for _, t, _ in got_a] == ["req-ana-0", "req-bo-0"]
    assert got_b == []  # ana's second turn waits for her first, wherever it runs
    a.finish(got_a[0][0])
    assert [t.request_id for _, t, _ in b.claim(8)] == ["req-ana-1"]


def test_a_lease_that_ran_out_is_claimed_again_as_an_attempt_and_the_old_claim_is_void(
    ledger_target: Path | str,
) -> None:
    a, b = two(ledger_target)
    job = a.enqueue(turn("ana", 0))
    assert a.claim(1)
    assert b.claim(1) == []  # a live lease is left alone
    with a.db.write() as conn:  # host-a stopped renewing: its lease ran out
        conn.execute("UPDATE outbox SET lease_until = ? WHERE id = ?", (iso(utcnow()), job))
    [(claimed, _, attempts)] = b.claim(1)
    assert (claimed, attempts) == (job, 1)
    assert a.renew([job]) == [job]
    with pytest.raises(LeaseLost):
        a.finish(job)
    assert a.fail(job, "late") == "gone"
    b.finish(job)
    assert b.counts() == {"done": 1}


def test_a_job_whose_lease_keeps_running_out_goes_dead(ledger_target: Target) -> None:
    a, b = two(ledger_target)
    job = a.enqueue(turn("ana", 0))
    for claimant in (a, b, a):
        assert claimant.claim(1), claimant.process
        with claimant.db.write() as conn:
            conn.execute("UPDATE outbox SET lease_until = ? WHERE id = ?", (iso(utcnow()), job))
    assert b.claim(1) == []
    [row] = a.jobs(None)
    assert (row["state"], row["attempts"]) == ("dead", 3)
    assert "lease ran out" in row["last_error"]


def test_a_job_and_its_writes_commit_together_or_not_at_all(ledger_target: Target) -> None:
    a, b = two(ledger_target)
    job = a.enqueue(turn("ana", 0))
    a.claim(1)
    with a.db.write() as conn:  # the lease ran out and b took the job
        conn.execute("UPDATE outbox SET lease_until = ? WHERE id = ?", (iso(utcnow()), job))
    b.claim(1)
    with pytest.raises(LeaseLost), a.db.transaction():
        with a.db.write() as conn:
            rows.bump_revision(conn, "default", "ana")  # a write of the job
        a.finish(job)
    assert rows.revision(b.db.conn, "default", "ana") is None  # rolled back with it
    with b.db.transaction():
        with b.db.write() as conn:
            rows.bump_revision(conn, "default", "ana")
        b.finish(job)
    assert rows.revision(a.db.conn, "default", "ana") is not None
    assert a.counts() == {"done": 1}


def test_recover_frees_only_the_jobs_of_dead_processes_of_this_host(
    ledger_target: Path | str,
) -> None:
    here = Outbox(Database(ledger_target), max_attempts=3, backoff_seconds=0)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    host = here.process.partition(":")[0]
    owners = {
        "dead": f"{host}:{dead.stdout.strip()}:x",
        "alive": f"{host}:{os.getppid()}:y",  # this test's parent: alive
        "elsewhere": "another-host:1:z",
    }
    for user, owner in owners.items():
        job = here.enqueue(turn(user, 0))
        with here.db.write() as conn:
            conn.execute(
                "UPDATE outbox SET state = 'running', lease_owner = ?, lease_until = ? "
                "WHERE id = ?",
                (owner, "9999", job),
            )
    assert here.recover() == 1
    states = {r["user"]: r["state"] for r in here.jobs(None)}
    assert states == {"dead": "pending", "alive": "running", "elsewhere": "running"}


def test_revisions_never_repeat_across_a_forget(ledger_target: Target) -> None:
    db = Database(ledger_target)
    seen = []
    for _ in range(3):
        with db.write() as conn:
            rows.bump_revision(conn, "default", "ana")
            rows.bump_revision(conn, "default", "ana")
        seen.append(rows.revision(db.conn, "default", "ana"))
        with db.write() as conn:
            rows.delete_user(conn, "default", "ana")
            conn.execute("DELETE FROM users")
    assert len(set(seen)) == 3 and seen == sorted(seen)


def test_the_clock_starts_above_the_revisions_of_an_older_store(tmp_path: Path) -> None:
    path = tmp_path / "old.db"  # a store from before the clock (SQLite), with revision 40
    conn = legacy_migrations.build_store(path, "007_evidence_note")
    conn.execute("INSERT INTO users VALUES ('default', 'ana', 'now', 40)")
    conn.close()
    db = Database(path)
    with db.write() as conn:
        rows.bump_revision(conn, "default", "bo")
    assert rows.revision(db.conn, "default", "bo") == 41
