"""Keeping the Chroma index in step with SQLite, in batches, off the request path.

Every belief write marks the belief `indexed = 0`; this sync upserts active beliefs and
deletes the others, one Chroma write per tenant per batch, then marks them `indexed = 1`
(only if the belief did not change meanwhile). A failure leaves the marks for the next round.

The embedded Chroma client holds the GIL while it writes (~30 ms for a small batch here),
which stalls every request in flight. So its index is written when no chat request has come
for a moment, and at the latest after a few minutes (`SyncPolicy`); a search syncs first, so
it never misses a belief, and retrieval never reads Chroma.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any

from memory.index.chroma import VectorStore
from memory.ledger import Database, vectors

BATCH = 500
SYNC_WHEN_IDLE_SECONDS = 0.5
SYNC_AT_LATEST_SECONDS = 300.0


def sync(db: Database, store: VectorStore, limit: int = BATCH) -> int:
    found = vectors.pending_sync(db.conn, limit)
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
            vectors.mark_synced(conn, done)
    return len(done)


def sync_all(db: Database, store: VectorStore) -> int:
    total = 0
    while count := sync(db, store):
        total += count
        if count < BATCH:
            break
    return total


class SyncPolicy:
    """When the background loop writes the Chroma index: a Chroma server any time; the
    embedded one in a quiet moment, or when it has waited too long."""

    def __init__(self, embedded: bool) -> None:
        self.embedded = embedded
        self.last_request = self.last_sync = time.monotonic()

    def request_came(self) -> None:
        self.last_request = time.monotonic()

    def synced(self) -> None:
        self.last_sync = time.monotonic()

    def due(self, now: float) -> bool:
        if not self.embedded:
            return True
        return (
            now - self.last_request >= SYNC_WHEN_IDLE_SECONDS
            or now - self.last_sync >= SYNC_AT_LATEST_SECONDS
        )


class IndexSync:
    """The Chroma index's sync, one at a time (the loop's and a search's)."""

    def __init__(self, db: Database, index: VectorStore) -> None:
        self._db = db
        self._index = index
        self._lock = threading.Lock()
        self.policy = SyncPolicy(index.embedded)

    def run(self) -> int:
        with self._lock:
            return sync_all(self._db, self._index)
