"""How long a writer waits for SQLite's write lock when another *process* holds it.

The proxy writes each request's audit record (and its turn for learning) before the response
ends. In one process, writers queue on a lock of ours and start the moment it is free; a
`selfmodel worker` in another process holds SQLite's lock itself, and a waiting connection then
sleeps in SQLite's busy handler, which backs off 1, 2, 5, 10, 15, 20, 25 ... ms between tries,
far longer than the holder's transaction. This script measures the wait of `BEGIN IMMEDIATE`
(alone; against another process holding 3 ms transactions 40% of the time, through SQLite's
busy_timeout; and the same with a retry loop of short sleeps instead), to size what learning in
a worker process costs a proxy on SQLite (issue #15). Run from the repo root:

    python benchmarks/sqlite_lock_wait.py
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HOLD_SECONDS, GAP_SECONDS = 0.003, 0.0045  # the other process: 3 ms transactions, 40% busy
WRITES = 300


def _connect(path: Path, timeout: float) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=timeout)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def _holder(path: Path, until: float) -> None:
    conn = _connect(path, 30)
    while time.time() < until:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t VALUES (1)")
        time.sleep(HOLD_SECONDS)
        conn.execute("COMMIT")
        time.sleep(GAP_SECONDS)


def _busy_timeout(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")  # SQLite's own busy handler (the connection's timeout)


def _retrying(conn: sqlite3.Connection, deadline: float = 30.0) -> None:
    started, delay = time.perf_counter(), 0.0002
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.perf_counter() - started > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 1.5, 0.002)


def _measure(
    path: Path, begin: Callable[[sqlite3.Connection], None], timeout: float, contended: bool
) -> list[float]:
    conn = _connect(path, timeout)
    other = None
    if contended:
        other = multiprocessing.Process(target=_holder, args=(path, time.time() + 60))
        other.start()
        time.sleep(0.2)
    waits = []
    try:
        for _ in range(WRITES):
            started = time.perf_counter()
            begin(conn)
            waits.append((time.perf_counter() - started) * 1000)
            conn.execute("INSERT INTO t VALUES (2)")
            conn.execute("COMMIT")
            time.sleep(0.005)
    finally:
        if other is not None:
            other.terminate()
            other.join()
        conn.close()
    return sorted(waits)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lock.db"
        _connect(path, 30).execute("CREATE TABLE t (x)")
        cases = (
            ("alone", _busy_timeout, 30.0, False),
            ("another process, SQLite busy_timeout", _busy_timeout, 30.0, True),
            ("another process, retry every 0.2-2 ms", _retrying, 0.0, True),
        )
        print(f"BEGIN IMMEDIATE wait, ms ({WRITES} writes each)")
        for name, begin, timeout, contended in cases:
            w = _measure(path, begin, timeout, contended)
            print(
                f"  {name:40s} p50 {statistics.median(w):6.2f}  p90 {w[int(0.9 * len(w))]:6.2f}"
                f"  p99 {w[int(0.99 * len(w))]:6.2f}  max {w[-1]:6.2f}"
            )


if __name__ == "__main__":
    main()
