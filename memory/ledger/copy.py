"""Move a whole store from one ledger to another: SQLite to PostgreSQL, or back.

Both ends are brought to the newest schema first, so the tables match column for column. The
source is read in one snapshot (`Database.snapshot`), so a proxy or worker still writing to it
meanwhile changes nothing of what is copied: every table is as it was at the first read, and
evidence never names a belief the copy lacks. The copy is one transaction on the destination
(all or nothing), and refuses a destination that already holds a self-model. Beliefs are
marked unsynced there, so the destination's vector index (a Chroma server, or a new embedded
one) is filled from the copied vectors by its index owner, without re-embedding anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from memory.errors import InvalidError
from memory.ledger.connections import POSTGRESQL, Connection, PgConnection
from memory.ledger.db import Database
from memory.ledger.schema import SERIAL_KEYS, TABLES

BATCH = 1000
# Rows the migrations themselves write (the revision clock's one row), replaced by the source's.
_SEEDED = ("meta", "revision_clock")
_USER_DATA = ("users", "beliefs", "audit", "outbox", "feedback", "observations")


def _columns(conn: Connection, table: str) -> list[str]:
    cursor = conn.execute(f"SELECT * FROM {table} LIMIT 0")
    return [column[0] for column in cursor.description]


def _holds_data(conn: Connection) -> str | None:
    for table in _USER_DATA:
        if conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone():
            return table
    return None


def _batches(conn: Connection, sql: str) -> Iterator[list[Any]]:
    """The rows of `sql`, a batch at a time: a table (the audit log) may not fit in memory.
    `conn` is inside the snapshot's transaction."""
    if isinstance(conn, PgConnection):
        # psycopg's ordinary cursor receives the whole result at once; a server-side one
        # (inside the transaction) sends it a batch at a time
        with conn.raw.cursor(name="selfmodel_copy") as cursor:
            cursor.execute(sql)
            while batch := cursor.fetchmany(BATCH):
                yield batch
        return
    cursor = conn.execute(sql)
    while batch := cursor.fetchmany(BATCH):
        yield batch


def copy_store(
    source: str | Path,
    destination: str | Path,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Copy every table of `source` into `destination`; returns the rows copied per table."""
    src = Database(source)
    dst = Database(destination)
    try:
        if src.where == dst.where:
            raise InvalidError("--from and --to name the same store")
        taken = _holds_data(dst.conn)
        if taken is not None:
            raise InvalidError(
                f"the destination {dst.where} already holds data (table {taken}): copy into "
                "an empty database"
            )
        copied: dict[str, int] = {}
        with src.snapshot() as source_rows, dst.write() as out:
            for table in _SEEDED:
                out.execute(f"DELETE FROM {table}")
            for table in TABLES:
                columns = _columns(source_rows, table)
                insert = (
                    f"INSERT INTO {table} ({', '.join(columns)}) "
                    f"VALUES ({', '.join('?' for _ in columns)})"
                )
                copied[table] = 0
                for batch in _batches(source_rows, f"SELECT {', '.join(columns)} FROM {table}"):
                    out.executemany(insert, [tuple(r) for r in batch])
                    copied[table] += len(batch)
                if progress is not None:
                    progress(table, copied[table])
            out.execute("UPDATE beliefs SET indexed = 0")
            if out.dialect == POSTGRESQL:
                for table, key in SERIAL_KEYS.items():
                    # the next id the database assigns comes after the copied ones
                    out.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', '{key}'), "
                        f"COALESCE(MAX({key}), 1), MAX({key}) IS NOT NULL) FROM {table}"
                    )
        return copied
    finally:
        src.close()
        dst.close()
