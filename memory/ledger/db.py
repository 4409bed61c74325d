"""The ledger's database: SQLite (WAL) or PostgreSQL, one connection per thread, serialized
writes.

The database owns its thread hop, as datasette's does: async callers hand a function of a
connection to `execute_fn` (reads) or `execute_write_fn` (one transaction), and it runs in a
worker thread, so no caller writes `to_thread` around SQL.

Writes are serialized store-wide, whichever process makes them: SQLite's `BEGIN IMMEDIATE`
takes the file's write lock; on PostgreSQL a write transaction takes one advisory lock
(`WRITE_LOCK`). That is what keeps a user's beliefs free of duplicates and their jobs in order
across proxies and workers. Appends that read nothing back (an audit record, a queued turn)
ask for `write(shared=True)` and skip the lock on PostgreSQL, so the hot path never waits for
a worker's transaction.
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import anyio

from memory.ledger.connections import (
    POSTGRESQL,
    Connection,
    PgConnection,
    SqliteConnection,
)
from memory.ledger.urls import is_postgres, psycopg_url, redact, sqlite_path

# The ledger's file inside the store directory (`store.path`).
DB_FILE = "selfmodel.db"
# The sleeps between a SQLite writer's tries for the lock.
_FIRST_RETRY, _LAST_RETRY = 0.0002, 0.002
# The advisory lock every exclusive write transaction holds on PostgreSQL.
WRITE_LOCK = 7_316_011
# How long a write waits for another process's before failing as a transient error (SQLite's
# busy timeout; PostgreSQL's lock timeout, else the wait for the write lock never ends).
BUSY_SECONDS = 30.0
T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _begin_immediate(conn: Connection, busy_seconds: float) -> None:
    """SQLite's write lock, waited for in short sleeps.

    Another process's writer (a `selfmodel worker`) holds the lock for a few milliseconds at a
    time; SQLite's own busy handler backs off 1, 2, 5, 10, 15, 20, 25 ms between tries, so a
    proxy waited several times longer than the lock was held (benchmarks/sqlite_lock_wait.py).
    The busy handler is off for this one statement and on for every other."""
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        delay, deadline = _FIRST_RETRY, time.monotonic() + busy_seconds
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(delay * (0.5 + random.random()))  # jitter: waiters do not move in step
            delay = min(delay * 1.5, _LAST_RETRY)
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_seconds * 1000)}")


def database_path(store_dir: str | Path) -> Path:
    return Path(store_dir) / DB_FILE


class Database:
    """Blocking methods for code already off the event loop; `execute_fn` and
    `execute_write_fn` for async callers."""

    def __init__(
        self, target: Path | str, migrate: bool = True, busy_seconds: float = BUSY_SECONDS
    ) -> None:
        """`target`: the SQLite file, or a PostgreSQL URL (`postgresql://...`)."""
        self.busy_seconds = busy_seconds
        self.url = str(target) if is_postgres(target) else None
        self.path = Path("<postgresql>") if self.url else sqlite_path(target)
        self.dialect = POSTGRESQL if self.url else "sqlite"
        if self.url is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.RLock()
        # every thread's PostgreSQL connection, with its thread: one whose thread ended (anyio
        # retires idle worker threads) is closed at the next connect, not kept open for good
        self._pg_connections: list[tuple[threading.Thread, PgConnection]] = []
        self._pg_lock = threading.Lock()
        if migrate:
            self.migrate()

    @property
    def where(self) -> str:
        """Where the ledger is, for messages (a URL without its password)."""
        return redact(self.url) if self.url else str(self.path)

    def _connect(self) -> Connection:
        if self.url is not None:
            pg = PgConnection.connect(psycopg_url(self.url))
            pg.execute(f"SET lock_timeout = {int(self.busy_seconds * 1000)}")
            with self._pg_lock:
                ended = [c for t, c in self._pg_connections if not t.is_alive() or c.broken]
                self._pg_connections = [
                    (t, c) for t, c in self._pg_connections if t.is_alive() and not c.broken
                ]
                self._pg_connections.append((threading.current_thread(), pg))
            for gone in ended:
                with contextlib.suppress(Exception):
                    gone.close()
            return pg
        conn = sqlite3.connect(
            self.path,
            timeout=self.busy_seconds,
            isolation_level=None,
            check_same_thread=False,
            factory=SqliteConnection,
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA busy_timeout={int(self.busy_seconds * 1000)}")
        return conn

    @property
    def conn(self) -> Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or (isinstance(conn, PgConnection) and conn.broken):
            # A PostgreSQL connection the server dropped (a restart, a failover) is replaced
            # at the next use; the statement that found it broken failed as a transient error.
            conn = self._local.conn = self._connect()
        return conn

    def _begin(self, conn: Connection, exclusive: bool) -> None:
        if self.url is None:
            _begin_immediate(conn, self.busy_seconds)
            return
        # Read committed whatever the server defaults to: each statement after the lock then
        # reads what the writer it waited for committed (under repeatable read the snapshot
        # would be taken by the lock's statement, before the wait).
        conn.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        if exclusive:
            try:
                conn.execute(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    @contextmanager
    def write(self, shared: bool = False) -> Iterator[Connection]:
        """One transaction, serialized with every other writer of the store.

        `shared`: an append that reads nothing back, which on PostgreSQL need not wait for
        the other writers. Inside `transaction()` it is a savepoint of that one transaction
        instead: a failure undoes only its own writes, and nothing commits before the
        transaction does."""
        outer: list[int] | None = getattr(self._local, "outer", None)
        if outer is not None:
            with self._savepoint(outer) as conn:
                yield conn
            return
        lock: contextlib.AbstractContextManager[Any] = (
            contextlib.nullcontext() if shared and self.url else self._write_lock
        )
        with lock:
            conn = self.conn
            self._begin(conn, exclusive=not shared)
            try:
                yield conn
            except BaseException:
                self._rollback(conn)
                raise
            conn.execute("COMMIT")

    @staticmethod
    def _rollback(conn: Connection) -> None:
        # A broken connection cannot roll back; the server already did.
        with contextlib.suppress(Exception):
            conn.execute("ROLLBACK")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Every `write()` of this thread inside it commits at its end, or none does.

        The write lock is taken at the first write, so that reads and model runs before it
        hold no lock (an extraction job applies its operations and records its outcome this
        way: a crash in between leaves nothing half done)."""
        if getattr(self._local, "outer", None) is not None:
            yield  # already inside one: the outermost commits
            return
        state = [0]  # savepoints opened so far; 0: not begun
        self._local.outer = state
        try:
            yield
        except BaseException:
            if state[0]:
                self._rollback(self.conn)
            raise
        else:
            if state[0]:
                self.conn.execute("COMMIT")
        finally:
            self._local.outer = None
            if state[0]:
                self._write_lock.release()

    @contextmanager
    def _savepoint(self, state: list[int]) -> Iterator[Connection]:
        conn = self.conn
        if not state[0]:
            self._write_lock.acquire()
            try:
                self._begin(conn, exclusive=True)
            except BaseException:
                self._write_lock.release()
                raise
        state[0] += 1
        name = f"sp{state[0]}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield conn
        except BaseException:
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
            raise
        conn.execute(f"RELEASE {name}")

    async def execute_fn(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn(connection)` in a worker thread: a read, or a call that opens its own
        transactions."""
        return await anyio.to_thread.run_sync(lambda: fn(self.conn))

    async def execute_write_fn(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn(connection)` in a worker thread inside one write transaction."""

        def write() -> T:
            with self.write() as conn:
                return fn(conn)

        return await anyio.to_thread.run_sync(write)

    def migrate(self) -> list[str]:
        """Bring the schema to the newest revision (see `memory.ledger.migrations`)."""
        from memory.ledger import migrations  # Alembic loads only when a store is opened

        with self._write_lock:
            if self.revision() == migrations.head():
                return []
            return migrations.upgrade(self.url or str(self.path))

    def revision(self) -> str | None:
        """The schema revision the store is at (None: not migrated by Alembic yet)."""
        try:
            row = self.conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except Exception:  # noqa: BLE001 - no such table (either dialect's error)
            return None
        return None if row is None else str(row[0])

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        with self.write() as conn:
            conn.execute(
                "INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
                "SET value = excluded.value",
                (key, value),
            )

    def close(self) -> None:
        """Close this thread's connection and let go of the others.

        Closing another thread's connection while it runs a statement is a use-after-free
        inside SQLite (a crash, not an exception), and a worker thread may still be finishing
        its last query at shutdown; the others close when their last user drops them.
        """
        mine = getattr(self._local, "conn", None)
        self._local = threading.local()
        with self._pg_lock:  # PostgreSQL's server-side sessions are closed, every thread's
            others, self._pg_connections = self._pg_connections, []
        for conn in [mine, *(c for _, c in others)]:
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()
