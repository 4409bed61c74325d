"""Keeping the Chroma index in step with SQLite, in batches, off the request path.

Every belief write marks the belief `indexed = 0`; this sync upserts active beliefs and
deletes the others, one Chroma write per tenant per batch, then marks them `indexed = 1`
(only if the belief did not change meanwhile). A failure leaves the marks for the next round.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from memory.index.chroma import VectorStore
from memory.ledger import Database, vectors

BATCH = 500


def sync(db: Database, store: VectorStore, limit: int = BATCH) -> int:
    found = [
        dict(r)
        for r in db.conn.execute(
            "SELECT b.id, b.tenant, b.user_id, b.context, b.status, b.version, v.vector "
            "FROM beliefs b LEFT JOIN belief_vectors v ON v.belief_id = b.id "
            "WHERE b.indexed = 0 LIMIT ?",
            (limit,),
        )
    ]
    upserts: dict[str, list[tuple[str, str, str, Any]]] = defaultdict(list)
    deletes: dict[str, list[str]] = defaultdict(list)
    done: list[tuple[str, int]] = []
    for row in found:
        if row["status"] == "active":
            if row["vector"] is None:
                continue  # not embedded yet: the embedding retry comes first
            upserts[row["tenant"]].append(
                (row["id"], row["user_id"], row["context"], vectors.unpack(row["vector"]))
            )
        else:
            deletes[row["tenant"]].append(row["id"])
        done.append((row["id"], row["version"]))
    for tenant, items in upserts.items():
        store.upsert(tenant, items)
    for tenant, ids in deletes.items():
        store.delete(tenant, ids)
    if done:
        with db.write() as conn:
            conn.executemany("UPDATE beliefs SET indexed = 1 WHERE id = ? AND version = ?", done)
    return len(done)


def sync_all(db: Database, store: VectorStore) -> int:
    total = 0
    while count := sync(db, store):
        total += count
        if count < BATCH:
            break
    return total
