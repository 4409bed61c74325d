"""The only module that touches chromadb: the searchable vector index, one collection per tenant.

Layout, and why. Retrieval for one request needs a single user's ~100 beliefs, which a matrix
product scores exactly in microseconds; that path reads the vectors SQLite keeps beside each
belief (`memory.ledger.vectors`), so no request waits on Chroma, whatever the total. Chroma holds
every active belief's statement vector with its user and context as metadata, one collection
per tenant, written in batches by `memory.index.sync` (an embedded Chroma flushes to disk on each
write, ~40 ms, and keeps each open collection's index in memory, ~3 MB, so per-user collections
or per-belief writes do not scale). It answers semantic search over a user's beliefs and is the
index a Chroma server shares between proxy processes. It is derived data: `selfmodel reindex`
rebuilds it from SQLite.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from memory.errors import IndexMismatch
from memory.settings import StoreConfig

log = logging.getLogger("selfmodel.store")

EMBEDDER_KEY = "embedding_model"
_PREFIX = "sm_"


def collection_name(tenant: str) -> str:
    return _PREFIX + hashlib.sha256(tenant.encode()).hexdigest()[:40]


class VectorStore:
    def __init__(self, config: StoreConfig, embedder_name: str) -> None:
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False, allow_reset=True)
        if config.chroma is not None:
            self._client = chromadb.HttpClient(
                host=config.chroma.host,
                port=config.chroma.port,
                ssl=config.chroma.ssl,
                headers=config.chroma.headers or None,
                settings=settings,
            )
            self.location = f"chroma server {config.chroma.host}:{config.chroma.port}"
            self.embedded = False
        else:
            path = Path(config.path) / "chroma"
            path.mkdir(parents=True, exist_ok=True)
            self._client = chromadb.PersistentClient(path=str(path), settings=settings)
            self.location = str(path)
            # The embedded client runs in this process and holds the GIL while it writes.
            self.embedded = True
        self.embedder_name = embedder_name
        self._collections: dict[str, Any] = {}
        self._lock = threading.Lock()
        # One Chroma call at a time: none is on the request path, and concurrent writes from
        # the sync loop and API threads into the native client are not worth the risk.
        self._io = threading.RLock()

    def _collection(self, tenant: str) -> Any:
        name = collection_name(tenant)
        cached = self._collections.get(name)
        if cached is not None:
            return cached
        with self._lock:
            if name not in self._collections:
                collection = self._client.get_or_create_collection(
                    name,
                    embedding_function=None,
                    metadata={EMBEDDER_KEY: self.embedder_name, "hnsw:space": "cosine"},
                )
                built_by = (collection.metadata or {}).get(EMBEDDER_KEY)
                if built_by and built_by != self.embedder_name:
                    raise IndexMismatch(
                        f"the vector index was built with {built_by!r} but the config uses "
                        f"{self.embedder_name!r}; run `selfmodel reindex` to rebuild it"
                    )
                self._collections[name] = collection
            return self._collections[name]

    def upsert(self, tenant: str, items: Sequence[tuple[str, str, str, np.ndarray]]) -> None:
        """(belief id, user, context, statement vector) rows, in one write."""
        if not items:
            return
        with self._io:
            self._upsert(tenant, items)

    def _upsert(self, tenant: str, items: Sequence[tuple[str, str, str, np.ndarray]]) -> None:
        self._collection(tenant).upsert(
            ids=[belief_id for belief_id, _, _, _ in items],
            embeddings=np.stack([v for _, _, _, v in items]).astype(np.float32).tolist(),
            metadatas=[{"user": user, "context": context} for _, user, context, _ in items],
        )

    def delete(self, tenant: str, belief_ids: Sequence[str]) -> None:
        if belief_ids:
            with self._io:
                self._collection(tenant).delete(ids=list(belief_ids))

    def search(
        self, tenant: str, user: str, vector: np.ndarray, limit: int
    ) -> list[tuple[str, float]]:
        """A user's beliefs nearest to `vector`: (belief id, cosine similarity)."""
        with self._io:
            found = self._collection(tenant).query(
                query_embeddings=[vector.astype(np.float32).tolist()],
                n_results=limit,
                where={"user": user},
                include=["distances"],
            )
        ids = (found.get("ids") or [[]])[0]
        distances = (found.get("distances") or [[]])[0]
        return [(i, 1.0 - float(d)) for i, d in zip(ids, distances, strict=True)]

    def count_user(self, tenant: str, user: str) -> int:
        with self._io:
            got = self._collection(tenant).get(where={"user": user}, include=[])
        return len(got.get("ids") or [])

    def drop_user(self, tenant: str, user: str) -> None:
        with self._io:
            self._collection(tenant).delete(where={"user": user})

    def drop_all(self) -> int:
        with self._io, self._lock:
            self._collections.clear()
            dropped = 0
            for collection in self._client.list_collections():
                name = collection if isinstance(collection, str) else collection.name
                if name.startswith(_PREFIX):
                    self._client.delete_collection(name)
                    dropped += 1
            return dropped

    def heartbeat(self) -> bool:
        try:
            with self._io:
                self._client.heartbeat()
        except Exception:  # noqa: BLE001 - any failure means unhealthy
            return False
        return True
