"""Each belief's statement vector and index views, kept in SQLite beside the belief.

A belief is indexed under its statement and the everyday situations it matters in
(`memory.index.views`). The statement vector is stored as float32 bytes; a situation view is stored
as its position in the situation list, whose vectors are embedded once per process. Reading a
user's ~100 rows is one indexed query (about a millisecond), so retrieval never waits on Chroma.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from memory.ledger.connections import Connection


def pack(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def unpack(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)


def save(
    conn: Connection, model: str, rows: Iterable[tuple[str, np.ndarray, Sequence[int]]]
) -> None:
    conn.executemany(
        "INSERT INTO belief_vectors (belief_id, model, vector, situations) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(belief_id) DO UPDATE SET model = excluded.model, vector = excluded.vector, "
        "situations = excluded.situations",
        [
            (belief_id, model, pack(vector), json.dumps(list(situations)))
            for belief_id, vector, situations in rows
        ],
    )


def _matrix(blobs: list[bytes]) -> np.ndarray:
    """Statement vectors stored as float32 bytes, as one (rows, dim) block."""
    if not blobs:
        return np.zeros((0, 1), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), -1).copy()


_ACTIVE_WITH_VECTORS = (
    "FROM beliefs b JOIN belief_vectors v ON v.belief_id = b.id "
    "WHERE b.tenant = ? AND b.user_id = ? AND b.status = 'active'"
)


def load_statements(
    conn: Connection, tenant: str, user: str, contexts: Sequence[str] | None = None
) -> tuple[list[str], np.ndarray]:
    """The ids of a user's active beliefs that have vectors, and their statement vectors."""
    sql = "SELECT b.id, v.vector " + _ACTIVE_WITH_VECTORS
    args: list[Any] = [tenant, user]
    if contexts:
        sql += f" AND b.context IN ({', '.join('?' for _ in contexts)})"
        args += list(contexts)
    found = conn.execute(sql + " ORDER BY b.created_at, b.id", args).fetchall()
    return [row[0] for row in found], _matrix([row[1] for row in found])


def load_keys(conn: Connection, tenant: str, user: str) -> list[Any]:
    """What tells one state of a user's retrievable beliefs from another, in retrieval order:
    each active belief with a vector, its version, statement, context, write time and vector
    model, without the vectors and situation lists (a snapshot keeps those of the beliefs
    unchanged since it was built)."""
    return conn.execute(
        "SELECT b.id, b.version, b.statement, b.context, b.updated_at, v.model "
        + _ACTIVE_WITH_VECTORS
        + " ORDER BY b.created_at, b.id",
        (tenant, user),
    ).fetchall()


def load_compact(
    conn: Connection,
    tenant: str,
    user: str,
    ids: Sequence[str] | None = None,
) -> tuple[list[Any], np.ndarray, list[list[int]], np.ndarray]:
    """The columns retrieval needs of a user's active beliefs that have vectors (of those in
    `ids` only, when given): the rows, their statement vectors as one matrix, their situation
    lists, and the statement vector of the belief each one revised (a zero row where it
    revised none).

    The hot path loads a user this way: only the columns it reads, and the vectors copied
    once into one block instead of an array per row.
    """
    sql = (
        "SELECT b.id, b.statement, b.context, b.version, b.updated_at, v.model, "
        "v.vector AS vector_blob, v.situations AS situation_list, p.vector AS previous_blob, "
        "p.situations AS previous_situations "
        "FROM beliefs b JOIN belief_vectors v ON v.belief_id = b.id "
        "LEFT JOIN belief_vectors p ON p.belief_id = b.supersedes "
        "WHERE b.tenant = ? AND b.user_id = ? AND b.status = 'active'"
    )
    args: list[Any] = [tenant, user]
    if ids is not None:
        sql += f" AND b.id IN ({', '.join('?' for _ in ids)})"
        args += list(ids)
    found = conn.execute(sql + " ORDER BY b.created_at, b.id", args).fetchall()
    statements = _matrix([row["vector_blob"] for row in found])
    previous = np.zeros_like(statements)
    for index, row in enumerate(found):
        blob = row["previous_blob"]
        if blob is not None and len(blob) == statements.shape[1] * 4:
            previous[index] = np.frombuffer(blob, dtype=np.float32)
    return found, statements, [_situations_of(row) for row in found], previous


def _situations_of(row: Any) -> list[int]:
    """A belief's situations, then those of the belief it revised that it lacks: the new state
    answers what the old one answered, as its statement match does (`memory.inject.ranking`)."""
    own: list[int] = json.loads(row["situation_list"])
    if row["previous_situations"] is None:
        return own
    return own + [s for s in json.loads(row["previous_situations"]) if s not in own]


def pending_sync(conn: Connection, limit: int) -> list[dict[str, Any]]:
    """Beliefs changed since the Chroma index last saw them, with their vectors (if any)."""
    return [
        dict(r)
        for r in conn.execute(
            "SELECT b.id, b.tenant, b.user_id, b.context, b.status, b.version, v.vector "
            "FROM beliefs b LEFT JOIN belief_vectors v ON v.belief_id = b.id "
            "WHERE b.indexed = 0 LIMIT ?",
            (limit,),
        )
    ]


def mark_synced(conn: Connection, done: Iterable[tuple[str, int]]) -> None:
    """(belief id, version) pairs now in Chroma; a belief changed meanwhile stays marked."""
    conn.executemany("UPDATE beliefs SET indexed = 1 WHERE id = ? AND version = ?", list(done))


def mark_embedded(conn: Connection, belief_ids: Iterable[str]) -> None:
    conn.executemany(
        "UPDATE beliefs SET indexed = 0, embedded = 1 WHERE id = ?", [(i,) for i in belief_ids]
    )


def reset_all(conn: Connection) -> None:
    """Forget every vector: each belief waits to be embedded and indexed again."""
    conn.execute("DELETE FROM belief_vectors")
    conn.execute("UPDATE beliefs SET indexed = 0, embedded = 0")


def count_vectors(conn: Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM belief_vectors").fetchone()[0])
