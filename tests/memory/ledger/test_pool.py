"""PostgreSQL connections per process are bounded (`store.pool_size`): a thread holds one only
for a transaction or a statement, waits a bounded time when all are taken, and then fails as
a transient error, which the proxy answers 503 without losing the request's bookkeeping."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from memory.ledger import Database
from memory.ledger.connections import TRANSIENT_ERRORS
from memory.ledger.db import WRITE_LOCK
from memory.ledger.pool import PoolExhausted
from tests.conftest import MODEL


def _sessions(url: str, name: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = %s", (name,)
        ).fetchone()
    return int(row[0]) if row else 0


def test_many_threads_share_at_most_pool_size_connections(pg_cluster):
    # anyio runs up to 40 threads; each used to open a connection of its own
    name = f"pool_{uuid.uuid4().hex[:8]}"
    url = f"{pg_cluster.fresh()}&application_name={name}"
    db = Database(url, pool_size=3, pool_timeout=30)
    peak, done = 0, threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _sessions(pg_cluster.admin_url, name))
            time.sleep(0.01)

    def work(i: int) -> None:
        for j in range(5):
            with db.write(shared=j % 2 == 0) as conn:
                conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (f"{i}.{j}", "v"))
            assert db.get_meta(f"{i}.{j}") == "v"
            with db.transaction():
                db.conn.execute("SELECT COUNT(*) FROM meta").fetchone()  # before: no lock
                with db.write() as conn:
                    conn.execute("UPDATE meta SET value = ? WHERE key = ?", ("w", f"{i}.{j}"))
                assert (
                    db.conn.execute(  # the transaction's own connection sees its write
                        "SELECT value FROM meta WHERE key = ?", (f"{i}.{j}",)
                    ).fetchone()[0]
                    == "w"
                )

    watcher = threading.Thread(target=watch)
    watcher.start()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    watcher.join()
    assert db.conn.execute("SELECT COUNT(*) FROM meta WHERE value = 'w'").fetchone()[0] == 200
    assert 1 <= peak <= 3, peak
    db.close()
    deadline = time.monotonic() + 10  # a closed session's server process takes a while to go
    while _sessions(pg_cluster.admin_url, name) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _sessions(pg_cluster.admin_url, name) == 0


def test_a_thread_waits_for_a_connection_then_fails_as_a_transient_error(pg_cluster):
    db = Database(pg_cluster.fresh(), pool_size=1, pool_timeout=0.3)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with db.write() as conn:
            conn.execute("INSERT INTO meta (key, value) VALUES ('held', 'x')")
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(30)
    started = time.monotonic()
    with pytest.raises(PoolExhausted) as failed:
        db.get_meta("held")
    assert time.monotonic() - started >= 0.25  # it waited for one first
    assert isinstance(failed.value, TRANSIENT_ERRORS)
    assert "store.pool_size" in str(failed.value)
    release.set()
    holder.join()
    assert db.get_meta("held") == "x"  # the connection went back and serves again
    db.close()
    assert db.get_meta("held") == "x"  # a closed pool opens again at the next use
    db.close()


def test_an_unreachable_server_fails_at_once_with_its_own_message():
    db = Database("postgresql://nobody@127.0.0.1:9/none", migrate=False, pool_timeout=30)
    started = time.monotonic()
    with pytest.raises(psycopg.OperationalError) as failed:
        db.get_meta("k")
    assert time.monotonic() - started < 10 and "couldn't get a connection" not in str(failed.value)
    db.close()


# Through real servers ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_cluster() -> Iterator[Any]:
    """A server of its own with room for 20 sessions (3 reserved for superusers): three
    proxies that each opened a connection per anyio thread would exceed it."""
    from benchmarks.pg_cluster import running, server_binaries

    if server_binaries() is None and not os.environ.get("CI"):
        pytest.skip("no PostgreSQL server binaries")
    with running(max_connections=20, own=True) as cluster:
        yield cluster


def _chat(url: str, user: str, text: str) -> httpx.Response:
    body = {"model": MODEL, "user": user, "messages": [{"role": "user", "content": text}]}
    return httpx.post(url + "/v1/chat/completions", json=body, timeout=60)


def _drained(db: Database, timeout: float = 60) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        counts = {
            r[0]: r[1] for r in db.conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state")
        }
        if not counts.get("pending") and not counts.get("running"):
            return counts
        if time.monotonic() > deadline:
            raise AssertionError(f"outbox did not drain: {counts}")
        time.sleep(0.1)


def test_three_proxies_and_many_clients_fit_a_small_server(make_proxy, small_cluster, tmp_path):
    database = small_cluster.fresh()
    proxies = [
        make_proxy(
            {
                "store": {"database": database, "pool_size": 4},
                "extraction": {"workers": 2 if i == 0 else 0},
            },
            store=tmp_path / f"p{i}",
        )
        for i in range(3)
    ]
    peak, done, statuses = 0, threading.Event(), []
    lock = threading.Lock()

    def watch() -> None:
        nonlocal peak
        with psycopg.connect(small_cluster.admin_url, autocommit=True) as conn:
            while not done.is_set():
                row = conn.execute(
                    "SELECT COUNT(*) FROM pg_stat_activity "
                    "WHERE usename = 'selfmodel' AND pid <> pg_backend_pid()"  # not this one
                ).fetchone()
                peak = max(peak, int(row[0]) if row else 0)
                time.sleep(0.02)

    def client(i: int) -> None:
        url, user = proxies[i % 3].url, f"u{i}"
        for j in range(4):
            got = [
                httpx.post(
                    url + f"/v1/users/{user}/beliefs",
                    json={"statement": f"Prefers tea number {j}.", "context": "preferences"},
                    timeout=60,
                ).status_code,
                _chat(url, user, f"I love hiking and I am a nurse, day {j}.").status_code,
                httpx.get(url + f"/v1/users/{user}/beliefs", timeout=60).status_code,
            ]
            with lock:
                statuses.extend(got)

    watcher = threading.Thread(target=watch)
    watcher.start()
    clients = [threading.Thread(target=client, args=(i,)) for i in range(12)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    db = proxies[0].state.memory.db
    counts = _drained(db)
    done.set()
    watcher.join()
    assert sorted(set(statuses)) == [200, 201] and len(statuses) == 12 * 4 * 3
    audited = db.conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0]
    assert audited == 12 * 4  # every chat request audited
    assert counts.get("dead", 0) == 0 and counts.get("done") == 12 * 4, counts
    stated = db.conn.execute("SELECT COUNT(*) FROM beliefs WHERE source = 'asserted'")
    assert stated.fetchone()[0] == 12 * 4
    assert peak <= 3 * 4, peak  # the three pools, whatever the threads
    print(f"peak PostgreSQL sessions of 3 proxies under 12 clients: {peak}")


def test_an_exhausted_pool_answers_503_and_loses_nothing(make_proxy, pg_cluster, upstream):
    database = pg_cluster.fresh()
    proxy = make_proxy(
        {"store": {"database": database, "pool_size": 1, "pool_timeout_seconds": 0.5}}
    )
    admin = psycopg.connect(database, autocommit=True)
    admin.execute("SELECT pg_advisory_lock(%s)", (WRITE_LOCK,))  # another process's writer
    written: list[httpx.Response] = []
    writer = threading.Thread(
        target=lambda: written.append(
            httpx.post(
                proxy.url + "/v1/users/ana/beliefs",
                json={"statement": "I am vegetarian.", "context": "constraints"},
                timeout=60,
            )
        )
    )
    try:
        writer.start()  # its transaction holds the pool's one connection, waiting for the lock
        deadline = time.monotonic() + 30
        while not admin.execute(
            "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        ).fetchone():
            assert time.monotonic() < deadline, "the write never waited for the lock"
            time.sleep(0.02)
        busy = httpx.get(proxy.url + "/v1/users/ana/beliefs", timeout=30)
        assert busy.status_code == 503, busy.text
        error = busy.json()["error"]
        assert error["type"] == "service_unavailable" and error["code"] == "store_unavailable"
        assert "store.pool_size" in error["message"]
        chat = _chat(proxy.url, "ana", "I love hiking in the mountains. Any trail ideas?")
        assert chat.status_code == 200 and chat.json()["choices"]  # the provider answered
        request_id = chat.headers["x-selfmodel-request-id"]
    finally:
        admin.execute("SELECT pg_advisory_unlock(%s)", (WRITE_LOCK,))
        writer.join()
        admin.close()
    assert written[0].status_code == 201  # the waiting write went through
    db = proxy.state.memory.db
    deadline = time.monotonic() + 30
    audited = "SELECT 1 FROM audit WHERE request_id = ?"
    while db.conn.execute(audited, (request_id,)).fetchone() is None:
        assert time.monotonic() < deadline, "the kept audit record never landed"
        time.sleep(0.1)
    counts = _drained(db)
    assert counts == {"done": 1}, counts  # its turn was kept with it, and learned once
    statements = {r[0] for r in db.conn.execute("SELECT statement FROM beliefs")}
    assert "I am vegetarian." in statements and any("hiking" in s for s in statements)
