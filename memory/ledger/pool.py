"""A bounded pool of PostgreSQL connections per process (`store.pool_size`).

A proxy runs its statements in anyio's worker threads (up to 40), a worker process in its
consumers' threads. A connection of their own each would take ~40 of PostgreSQL's default
`max_connections` of 100 per process, so three replicas and their workers would exceed it.
Instead each process keeps at most `pool_size` connections (psycopg_pool), and a thread holds
one only while it needs one:

- a write transaction (`Database.write`, `Database.transaction` from its first write on)
  holds one from `BEGIN` to `COMMIT`; every statement of that thread inside it runs there;
- any other statement (a read, outside a transaction) borrows one for itself alone, and its
  rows are read before the connection goes back, so a read never keeps one.

When all are taken a thread waits at most `pool_timeout` seconds, then fails with
`PoolExhausted`, a `psycopg.OperationalError`: a transient error, as a lost server is.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from memory.ledger.connections import POSTGRESQL, PgConnection, row_factory

# The connections a pool keeps open when idle (it grows to `pool_size` on demand).
MIN_IDLE = 1


class PoolExhausted(PoolTimeout):
    """Every connection of this process's pool stayed taken for the whole wait."""


class Buffered:
    """A cursor's result read whole, so that its connection can go back to the pool."""

    def __init__(self, cursor: Any) -> None:
        self.description = cursor.description
        self.rowcount: int = cursor.rowcount
        self._rows: list[Any] = cursor.fetchall() if cursor.description is not None else []
        self._at = 0

    def fetchone(self) -> Any:
        if self._at >= len(self._rows):
            return None
        self._at += 1
        return self._rows[self._at - 1]

    def fetchmany(self, size: int = 1) -> list[Any]:
        rows = self._rows[self._at : self._at + size]
        self._at += len(rows)
        return rows

    def fetchall(self) -> list[Any]:
        rows = self._rows[self._at :]
        self._at = len(self._rows)
        return rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class PgPool:
    """The process's connections to one PostgreSQL ledger, and the one each thread holds."""

    def __init__(self, url: str, size: int, timeout: float, lock_timeout: float) -> None:
        self.url = url  # libpq's form
        self.size = size
        self.timeout = timeout
        self._lock_timeout_ms = int(lock_timeout * 1000)
        self._pool: ConnectionPool[psycopg.Connection[Any]] | None = None
        self._guard = threading.Lock()
        self._local = threading.local()
        self.shared = PooledConnection(self)

    def current(self) -> PgConnection | None:
        """The connection this thread holds (inside a transaction), if any."""
        held: PgConnection | None = getattr(self._local, "conn", None)
        return held

    def _configure(self, raw: psycopg.Connection[Any]) -> None:
        # a write waits for the write lock at most busy_seconds, then fails as transient
        raw.execute(f"SET lock_timeout = {self._lock_timeout_ms}")

    def _open(self) -> ConnectionPool[psycopg.Connection[Any]]:
        with self._guard:
            if self._pool is None:
                # One connection of our own first: an unreachable server or a refused login
                # fails here with libpq's own message (the pool would only time out).
                psycopg.connect(self.url, autocommit=True).close()
                self._pool = ConnectionPool(
                    self.url,
                    min_size=min(MIN_IDLE, self.size),
                    max_size=self.size,
                    timeout=self.timeout,
                    kwargs={"autocommit": True, "row_factory": row_factory},
                    configure=self._configure,
                    name="selfmodel",
                    open=True,
                )
            return self._pool

    @contextlib.contextmanager
    def held(self) -> Iterator[PgConnection]:
        """A connection for this thread until the block ends (the one it holds already, if
        it holds one)."""
        current = self.current()
        if current is not None:
            yield current
            return
        pool = self._pool or self._open()
        try:
            raw = pool.getconn()
        except PoolTimeout as exc:
            raise PoolExhausted(
                f"all {self.size} PostgreSQL connections of this process (store.pool_size) "
                f"stayed busy for {self.timeout:g} s (store.pool_timeout_seconds)"
            ) from exc
        conn = self._local.conn = PgConnection(raw)
        try:
            yield conn
        finally:
            self._local.conn = None
            pool.putconn(raw)  # a broken one is discarded, one left in a transaction rolled back

    def stats(self) -> dict[str, int]:
        """psycopg_pool's counters (`pool_size`, `pool_available`, `requests_waiting`, ...)."""
        return dict(self._pool.get_stats()) if self._pool is not None else {}

    def close(self) -> None:
        """Close the idle connections; one still held closes when it is given back. The pool
        opens again at the next use."""
        with self._guard:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()


class PooledConnection:
    """What `Database.conn` is on PostgreSQL: a statement runs on the connection this thread
    holds, else on one borrowed for that statement alone."""

    dialect = POSTGRESQL

    def __init__(self, pool: PgPool) -> None:
        self._pool = pool

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Any:
        current = self._pool.current()
        if current is not None:
            return current.execute(sql, parameters)
        with self._pool.held() as conn:
            return Buffered(conn.execute(sql, parameters))

    def executemany(self, sql: str, seq_of_parameters: Iterable[Sequence[Any]]) -> Any:
        current = self._pool.current()
        if current is not None:
            return current.executemany(sql, seq_of_parameters)
        with self._pool.held() as conn:
            return Buffered(conn.executemany(sql, seq_of_parameters))
