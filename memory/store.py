"""The only module that touches chromadb: one collection per user.

A per-user collection keeps a user's retrieval independent of how many beliefs
everyone else has (a `where` filter on a shared collection costs 25-130 ms and
grows with the total). Every belief is indexed as one or more *views* (its
statement and the situations it matters in), each a row `belief_id:n`.
The index is derived data: `selfmodel reindex` rebuilds it from SQLite.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from memory.settings import StoreConfig

log = logging.getLogger("selfmodel.store")

EMBEDDER_KEY = "embedding_model"
MAX_VIEWS = 32
_PREFIX = "sm_"


class IndexMismatch(Exception):
    """The vector index was built by another embedding model than the configured one."""


def collection_name(tenant: str, user: str) -> str:
    digest = hashlib.sha256(f"{tenant}\x00{user}".encode()).hexdigest()[:40]
    return _PREFIX + digest


class VectorStore:
    def __init__(self, config: StoreConfig, embedder_name: str) -> None:
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False, allow_reset=True)
        if config.chroma is not None:
            self._client = chromadb.HttpClient(
                host=config.chroma.host, port=config.chroma.port, ssl=config.chroma.ssl,
                headers=config.chroma.headers or None, settings=settings,
            )
            self.location = f"chroma server {config.chroma.host}:{config.chroma.port}"
        else:
            path = Path(config.path) / "chroma"
            path.mkdir(parents=True, exist_ok=True)
            self._client = chromadb.PersistentClient(path=str(path), settings=settings)
            self.location = str(path)
        self.embedder_name = embedder_name
        self._collections: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _collection(self, tenant: str, user: str, create: bool) -> Any | None:
        name = collection_name(tenant, user)
        cached = self._collections.get(name)
        if cached is not None:
            return cached
        with self._lock:
            if name in self._collections:
                return self._collections[name]
            if create:
                collection = self._client.get_or_create_collection(
                    name, embedding_function=None,
                    metadata={EMBEDDER_KEY: self.embedder_name, "hnsw:space": "cosine"},
                )
            else:
                try:
                    collection = self._client.get_collection(name, embedding_function=None)
                except Exception:  # noqa: BLE001 - chroma raises several types for "absent"
                    return None
            built_by = (collection.metadata or {}).get(EMBEDDER_KEY)
            if built_by and built_by != self.embedder_name:
                raise IndexMismatch(
                    f"the vector index was built with {built_by!r} but the config uses "
                    f"{self.embedder_name!r}; run `selfmodel reindex` to rebuild it"
                )
            self._collections[name] = collection
            return collection

    def upsert_many(self, tenant: str, user: str,
                    items: Sequence[tuple[str, Sequence[str], np.ndarray]]) -> None:
        if not items:
            return
        collection = self._collection(tenant, user, create=True)
        ids, embeddings, documents, metadatas = [], [], [], []
        for belief_id, views, vectors in items:
            if len(views) > MAX_VIEWS:
                raise ValueError(f"a belief has at most {MAX_VIEWS} views, got {len(views)}")
            for i, view in enumerate(views):
                ids.append(f"{belief_id}:{i}")
                embeddings.append(vectors[i].astype(np.float32).tolist())
                documents.append(view)
                metadatas.append({"belief_id": belief_id, "view": i})
        collection.upsert(ids=ids, embeddings=embeddings, documents=documents,
                          metadatas=metadatas)

    def remove(self, tenant: str, user: str, belief_ids: Sequence[str]) -> None:
        collection = self._collection(tenant, user, create=False)
        if collection is None or not belief_ids:
            return
        # Deleting by id avoids a metadata filter, which is Chroma's slow path.
        collection.delete(ids=[f"{b}:{i}" for b in belief_ids for i in range(MAX_VIEWS)])

    def user_vectors(self, tenant: str, user: str) -> tuple[list[str], np.ndarray]:
        """Every view of a user's indexed beliefs: (belief id per row, matrix)."""
        collection = self._collection(tenant, user, create=False)
        if collection is None:
            return [], np.zeros((0, 0), dtype=np.float32)
        got = collection.get(include=["embeddings", "metadatas"])
        metadatas = got.get("metadatas") or []
        embeddings = got.get("embeddings")
        if embeddings is None or len(metadatas) == 0:
            return [], np.zeros((0, 0), dtype=np.float32)
        matrix = np.asarray(embeddings, dtype=np.float32)
        return [str(m["belief_id"]) for m in metadatas], matrix

    def belief_vectors(self, tenant: str, user: str,
                       belief_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The view vectors of some beliefs, fetched by id (no metadata filter)."""
        collection = self._collection(tenant, user, create=False)
        if collection is None or not belief_ids:
            return {}
        got = collection.get(ids=[f"{b}:{i}" for b in belief_ids for i in range(MAX_VIEWS)],
                             include=["embeddings", "metadatas"])
        rows: dict[str, list[tuple[int, np.ndarray]]] = {}
        embeddings = got.get("embeddings")
        for meta, vector in zip(got.get("metadatas") or [],
                                [] if embeddings is None else embeddings, strict=True):
            rows.setdefault(str(meta["belief_id"]), []).append((int(meta["view"]), vector))
        return {belief_id: np.asarray([v for _, v in sorted(found, key=lambda x: x[0])],
                                      dtype=np.float32)
                for belief_id, found in rows.items()}

    def drop_user(self, tenant: str, user: str) -> None:
        name = collection_name(tenant, user)
        with self._lock:
            self._collections.pop(name, None)
            try:
                self._client.delete_collection(name)
            except Exception:  # noqa: BLE001 - already absent is fine
                log.debug("no collection to drop for a forgotten user")

    def drop_all(self) -> int:
        with self._lock:
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
            self._client.heartbeat()
        except Exception:  # noqa: BLE001 - any failure means unhealthy
            return False
        return True
