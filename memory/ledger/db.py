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

SQLite connections are one per thread; PostgreSQL's come from a bounded pool per process
(`memory.ledger.pool`, `store.pool_size`), held only for a transaction or a statement.
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
    SqliteConnection,
)
from memory.ledger.pool import PgPool
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
# PostgreSQL connections per process, and how long a thread waits for one when all are taken
# (the defaults of `store.pool_size` and `store.pool_timeout_seconds`).
POOL_SIZE, POOL_TIMEOUT = 10, 10.0
# SQLite copies the write-ahead log into the database (a checkpoint, with its fsyncs) inside
# whichever commit crosses 1,000 pages: one commit in a few hundred took 5-30 ms longer on our
# disks, a request's audit row among them. `Database.checkpoint` does it in the background
# every second instead; a commit still checkpoints past this many pages (~40 MB), so the log
# stays bounded if nothing else runs it.
WAL_BACKSTOP_PAGES = 10_000
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
        self,
        target: Path | str,
        migrate: bool = True,
        busy_seconds: float = BUSY_SECONDS,
        pool_size: int = POOL_SIZE,
        pool_timeout: float = POOL_TIMEOUT,
    ) -> None:
        """`target`: the SQLite file, or a PostgreSQL URL (`postgresql://...`); `pool_size`
        and `pool_timeout` bound a PostgreSQL ledger's connections (`memory.ledger.pool`)."""
        self.busy_seconds = busy_seconds
        self.url = str(target) if is_postgres(target) else None
        self.path = Path("<postgresql>") if self.url else sqlite_path(target)
        self.dialect = POSTGRESQL if self.url else "sqlite"
        if self.url is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self.pool = (
            PgPool(psycopg_url(self.url), pool_size, pool_timeout, busy_seconds)
            if self.url is not None
            else None
        )
        if migrate:
            self.migrate()

    @property
    def where(self) -> str:
        """Where the ledger is, for messages (a URL without its password)."""
        return redact(self.url) if self.url else str(self.path)

    def _connect(self) -> Connection:
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
        conn.execute(f"PRAGMA wal_autocheckpoint={WAL_BACKSTOP_PAGES}")
        return conn

    @property
    def conn(self) -> Connection:
        """This thread's connection. On PostgreSQL: the one it holds inside a transaction,
        else one that borrows a pooled connection for each statement."""
        if self.pool is not None:
            return self.pool.current() or self.pool.shared
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    @contextmanager
    def _held(self) -> Iterator[Connection]:
        """A connection this thread keeps until the block ends (a transaction's)."""
        if self.pool is None:
            yield self.conn
            return
        with self.pool.held() as conn:
            yield conn

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
        outer: _Outer | None = getattr(self._local, "outer", None)
        if outer is not None:
            with self._savepoint(outer) as conn:
                yield conn
            return
        lock: contextlib.AbstractContextManager[Any] = (
            contextlib.nullcontext() if shared and self.url else self._write_lock
        )
        with lock, self._held() as conn:
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

        The write lock (and on PostgreSQL a pooled connection) is taken at the first write,
        so that reads and model runs before it hold neither (an extraction job applies its
        operations and records its outcome this way: a crash in between leaves nothing half
        done)."""
        if getattr(self._local, "outer", None) is not None:
            yield  # already inside one: the outermost commits
            return
        state = _Outer()
        self._local.outer = state
        try:
            yield
        except BaseException:
            if state.conn is not None:
                self._rollback(state.conn)
            raise
        else:
            if state.conn is not None:
                state.conn.execute("COMMIT")
        finally:
            self._local.outer = None
            if state.conn is not None:
                state.held.close()
                self._write_lock.release()

    @contextmanager
    def _savepoint(self, state: _Outer) -> Iterator[Connection]:
        if state.conn is None:
            self._write_lock.acquire()
            try:
                conn = state.held.enter_context(self._held())
                self._begin(conn, exclusive=True)
            except BaseException:
                state.held.close()
                self._write_lock.release()
                raise
            state.conn = conn
        conn = state.conn
        state.savepoints += 1
        name = f"sp{state.savepoints}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield conn
        except BaseException:
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
            raise
        conn.execute(f"RELEASE {name}")

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """One read-only transaction: every statement inside sees the store as it was at the
        first one, whatever other processes commit meanwhile (REPEATABLE READ on PostgreSQL;
        on SQLite a read transaction, which WAL lets writers pass)."""
        with self._held() as conn:
            conn.execute(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
                if self.dialect == POSTGRESQL
                else "BEGIN"
            )
            try:
                yield conn
            finally:
                self._rollback(conn)  # it wrote nothing

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

    def checkpoint(self) -> bool:
        """Copy what the write-ahead log holds into the database file, off the request path
        (SQLite; nothing to do on PostgreSQL), waiting for no reader or writer; False when
        another process is checkpointing the same store at the moment."""
        if self.url is not None:
            return True
        try:
            blocked, _, _ = self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            return False
        return not blocked

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

        Closing another thread's SQLite connection while it runs a statement is a
        use-after-free inside SQLite (a crash, not an exception), and a worker thread may
        still be finishing its last query at shutdown; the others close when their last user
        drops them. PostgreSQL's pool closes its idle connections, and a held one when it is
        given back.
        """
        mine = getattr(self._local, "conn", None)
        self._local = threading.local()
        if mine is not None:
            with contextlib.suppress(Exception):
                mine.close()
        if self.pool is not None:
            self.pool.close()


class _Outer:
    """A `transaction()` of one thread: its connection from its first write on."""

    __slots__ = ("conn", "held", "savepoints")

    def __init__(self) -> None:
        self.conn: Connection | None = None
        self.held = contextlib.ExitStack()
        self.savepoints = 0
