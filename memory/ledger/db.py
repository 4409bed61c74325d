"""The SQLite connection: WAL, one connection per thread, serialized writes.

The database owns its thread hop, as datasette's does: async callers hand a function of a
connection to `execute_fn` (reads) or `execute_write_fn` (one transaction), and it runs in a
worker thread, so no caller writes `to_thread` around SQL.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import anyio

from memory.ledger.migrations import MIGRATIONS

# The ledger's file inside the store directory (`store.path`).
DB_FILE = "selfmodel.db"
T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def database_path(store_dir: str | Path) -> Path:
    return Path(store_dir) / DB_FILE


class Database:
    """Blocking methods for code already off the event loop; `execute_fn` and
    `execute_write_fn` for async callers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self.migrate()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        with self._connections_lock:
            self._connections.append(conn)
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One transaction, serialized with every other writer of this process.

        Inside `transaction()` it is a savepoint of that one transaction instead: a failure
        undoes only its own writes, and nothing commits before the transaction does."""
        outer: list[int] | None = getattr(self._local, "outer", None)
        if outer is not None:
            with self._savepoint(outer) as conn:
                yield conn
            return
        with self._write_lock:
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

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
                self.conn.execute("ROLLBACK")
            raise
        else:
            if state[0]:
                self.conn.execute("COMMIT")
        finally:
            self._local.outer = None
            if state[0]:
                self._write_lock.release()

    @contextmanager
    def _savepoint(self, state: list[int]) -> Iterator[sqlite3.Connection]:
        conn = self.conn
        if not state[0]:
            self._write_lock.acquire()
            try:
                conn.execute("BEGIN IMMEDIATE")
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

    async def execute_fn(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(connection)` in a worker thread: a read, or a call that opens its own
        transactions."""
        return await anyio.to_thread.run_sync(lambda: fn(self.conn))

    async def execute_write_fn(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(connection)` in a worker thread inside one write transaction."""

        def write() -> T:
            with self.write() as conn:
                return fn(conn)

        return await anyio.to_thread.run_sync(write)

    def migrate(self) -> list[str]:
        applied: list[str] = []
        with self._write_lock:
            conn = self.conn
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            done = {row[0] for row in conn.execute("SELECT name FROM schema_migrations")}
            for name, migration in MIGRATIONS:
                if name in done:
                    continue
                conn.execute("BEGIN IMMEDIATE")
                try:
                    migration(conn)
                    conn.execute(
                        "INSERT INTO schema_migrations VALUES (?, ?)", (name, iso(utcnow()))
                    )
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
                applied.append(name)
        return applied

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
        with self._connections_lock:
            self._connections.clear()
        self._local = threading.local()
        if mine is not None:
            with contextlib.suppress(sqlite3.Error):
                mine.close()
