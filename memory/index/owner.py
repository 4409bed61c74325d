"""Who writes an embedded Chroma index when several processes share one store.

An embedded Chroma (`chromadb.PersistentClient`) is safe in one process only. So the process
that opens it holds an exclusive lock on `<store>/chroma.lock` (`fcntl.flock`, released by the
OS when the process dies, however it dies), and it alone syncs the index:

* one box, the default (`extraction.workers` > 0): the proxy takes the lock, as before;
* `extraction.workers: 0` with `selfmodel worker` processes: a proxy never opens the embedded
  index; the first worker to take the lock owns it and the others learn without it, trying
  the lock again each round, so one of them takes over when the owner stops;
* a Chroma server (`store.chroma: {host, port}`): no lock; every process may sync.

A process without the index answers semantic search from the exact vectors SQLite keeps beside
each belief (what retrieval reads anyway); a user it forgets is recorded in `index_drops`, and
the owner drops the user's vectors on its next round.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from memory.index.chroma import VectorStore
from memory.ledger import Database, index_drops

LOCK_FILE = "chroma.lock"


class IndexLock:
    """The embedded index's writer lock: one holder per store, across processes."""

    def __init__(self, store: Path) -> None:
        self.path = store / LOCK_FILE
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None


class DeferredIndex(VectorStore):
    """Stands in for an embedded index this process does not own: it writes nothing to
    Chroma, searches nothing (callers fall back to the exact SQLite vectors), and hands the
    dropping of a forgotten user's vectors to the owner."""

    def __init__(self, db: Database, location: str, embedder_name: str) -> None:
        # No Chroma client: VectorStore.__init__ would open one.
        self.db = db
        self.location = f"{location} (written by the process holding {LOCK_FILE})"
        self.embedded = False
        self.embedder_name = embedder_name

    def upsert(self, tenant: str, items: Sequence[tuple[str, str, str, np.ndarray]]) -> None:
        raise RuntimeError("this process does not own the embedded index")

    def delete(self, tenant: str, belief_ids: Sequence[str]) -> None:
        raise RuntimeError("this process does not own the embedded index")

    def search(
        self, tenant: str, user: str, vector: np.ndarray, limit: int
    ) -> list[tuple[str, float]]:
        return []

    def count_user(self, tenant: str, user: str) -> int:
        return 0

    def drop_user(self, tenant: str, user: str) -> None:
        index_drops.record(self.db, tenant, user)

    def drop_all(self) -> int:
        raise RuntimeError("this process does not own the embedded index")

    def heartbeat(self) -> bool:
        return True


def apply_drops(db: Database, store: VectorStore) -> int:
    """Drop the vectors of users forgotten by processes without the index (owner only)."""
    found = index_drops.pending(db)
    for tenant, user, at in found:
        store.drop_user(tenant, user)
        index_drops.done(db, tenant, user, at)
    return len(found)
