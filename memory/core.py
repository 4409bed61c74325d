"""What every self-model operation shares: opening the stores, per-user locks, belief rows as
domain objects with their confidence, and the embedding step of a write.

`Core` holds no store a collaborator could reach through: each collaborator is handed the
database, embedder or index it uses when it is built (`memory.selfmodel`).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from memory import confidence as conf
from memory.errors import IndexMismatch, InvalidError
from memory.index.chroma import EMBEDDER_KEY, VectorStore
from memory.index.embed import (
    QUERY_TEXTS,
    Embedder,
    LocalEmbedder,
    build_embedder,
    embedder_name,
)
from memory.index.sync import IndexSync
from memory.index.views import DEFAULT_TABLE, SituationTable, index_views, situation_texts
from memory.ledger import Database, vectors
from memory.ledger import beliefs as rows
from memory.ledger.db import database_path, parse_time, utcnow
from memory.models import Belief, Evidence, HistoryEntry
from memory.settings import ContextConfig, EmbeddingConfig, MemoryConfig, StoreConfig

log = logging.getLogger("selfmodel.memory")


def ledger_target(store: StoreConfig) -> str | Path:
    """The ledger's location: `store.database` when set, else SQLite inside `store.path`."""
    return store.database or database_path(store.path)


def open_database(store: StoreConfig, migrate: bool = True) -> Database:
    return Database(
        ledger_target(store),
        migrate=migrate,
        pool_size=store.pool_size,
        pool_timeout=store.pool_timeout_seconds,
    )


def open_embedder(embedding: EmbeddingConfig) -> Embedder:
    return build_embedder(embedding.model, dict(embedding.params), embedding.batch_size)


def check_index_model(db: Database, embedder: Embedder) -> None:
    """The store's vectors were made by the configured model (recorded on first use)."""
    recorded = db.get_meta(EMBEDDER_KEY)
    if recorded is None:
        db.set_meta(EMBEDDER_KEY, embedder.name)
    elif recorded != embedder.name:
        raise IndexMismatch(
            f"the vector index of {db.where} was built with {recorded!r} but the config "
            f"uses {embedder.name!r}; run `selfmodel reindex` to rebuild it with the new model"
        )


def index_problem(config: MemoryConfig) -> str | None:
    """What would stop a server from starting on this store: an index another model built."""
    if config.store.database is None and not database_path(config.store.path).exists():
        return None
    try:
        db = open_database(config.store, migrate=False)
    except Exception:  # noqa: BLE001 - an unreachable database is the start-up's to report
        return None
    try:
        recorded = None if db.revision() is None else db.get_meta(EMBEDDER_KEY)
    finally:
        db.close()
    wanted = embedder_name(config.embedding.model, dict(config.embedding.params))
    if recorded is not None and recorded != wanted:
        return (
            f"the vector index in {config.store.path} was built with {recorded!r} but the "
            f"config uses {wanted!r}: run `selfmodel reindex` to rebuild it"
        )
    return None


def stored_beliefs(config: MemoryConfig) -> int:
    """How many beliefs the store holds (the doctor's check that SQLite opens)."""
    db = open_database(config.store)
    try:
        return rows.count_beliefs(db.conn)
    finally:
        db.close()


def embedder_for(config: MemoryConfig) -> Embedder:
    return open_embedder(config.embedding)


def index_heartbeat(config: MemoryConfig) -> tuple[bool, str]:
    """Whether the configured Chroma index answers, and where it is."""
    name = embedder_name(config.embedding.model, dict(config.embedding.params))
    index = VectorStore(config.store, name)
    return index.heartbeat(), index.location


class UserLocks:
    """One lock per user: writes to one self-model are serialized, others run freely."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[tuple[str, str], threading.RLock] = (
            weakref.WeakValueDictionary()
        )
        self._guard = threading.Lock()

    def __call__(self, tenant: str, user: str) -> threading.RLock:
        with self._guard:
            lock = self._locks.get((tenant, user))
            if lock is None:
                lock = threading.RLock()
                self._locks[(tenant, user)] = lock
            return lock


def signals_of(evidence: Sequence[dict[str, Any]]) -> list[conf.Signal]:
    return [
        conf.Signal(
            source=e["source"],
            polarity=e["polarity"],
            at=parse_time(e["at"]),
            weight=e["weight"],
            anchor=e["anchor"],
        )
        for e in evidence
    ]


class Core:
    def __init__(
        self, db: Database, embedder: Embedder, contexts: dict[str, ContextConfig]
    ) -> None:
        self._db = db
        self._embedder = embedder
        self.contexts = contexts
        self.lock = UserLocks()
        self._situations: np.ndarray | None = None
        self._table: SituationTable = DEFAULT_TABLE

    @property
    def situation_table(self) -> SituationTable:
        return self._table

    def use_situations(self, table: SituationTable) -> None:
        """Index beliefs written from now on under `table` (the eval's leave-one-topic-out)."""
        self._table = table
        self._situations = None

    def context(self, name: str) -> ContextConfig:
        try:
            return self.contexts[name]
        except KeyError:
            raise InvalidError(
                f"unknown context {name!r}; declared contexts: {sorted(self.contexts)}",
                param="context",
            ) from None

    def confidence_of(
        self, context: str, evidence: Sequence[dict[str, Any]], now: datetime | None = None
    ) -> float:
        settings = self.contexts.get(context) or ContextConfig(description="")
        signals = signals_of(evidence)
        return conf.confidence(
            signals,
            prior=settings.prior,
            half_life_days=settings.half_life_days,
            now=now or utcnow(),
        )

    def to_belief(
        self,
        row: dict[str, Any],
        evidence: Sequence[dict[str, Any]] | None = None,
        history: Sequence[dict[str, Any]] | None = None,
        now: datetime | None = None,
    ) -> Belief:
        now = now or utcnow()
        items: list[Evidence] = []
        value = row["confidence"]
        if evidence is not None:
            value = self.confidence_of(row["context"], evidence, now)
            items = self._explained(row["context"], evidence, now)
        return Belief(
            id=row["id"],
            tenant=row["tenant"],
            user=row["user_id"],
            statement=row["statement"],
            context=row["context"],
            confidence=round(value, 4),
            status=row["status"],
            source=row["source"],
            version=row["version"],
            supersedes=row["supersedes"],
            superseded_by=row["superseded_by"],
            valid_from=parse_time(row["valid_from"]),
            valid_to=parse_time(row["valid_to"]) if row["valid_to"] else None,
            created=parse_time(row["created_at"]),
            updated=parse_time(row["updated_at"]),
            evidence=items,
            history=[
                HistoryEntry(
                    version=h["version"],
                    event=h["event"],
                    statement=h["statement"],
                    status=h["status"],
                    confidence=h["confidence"],
                    actor=h["actor"],
                    request_id=h["request_id"],
                    observation_id=h["observation_id"],
                    at=parse_time(h["at"]),
                )
                for h in history or []
            ],
        )

    def _explained(
        self, context: str, evidence: Sequence[dict[str, Any]], now: datetime
    ) -> list[Evidence]:
        settings = self.contexts.get(context) or ContextConfig(description="")
        steps = conf.explain(
            signals_of(evidence),
            prior=settings.prior,
            half_life_days=settings.half_life_days,
            now=now,
        )
        by_index = {step.index: step for step in steps}
        out = []
        for i, e in enumerate(evidence):
            step = by_index.get(i)
            out.append(
                Evidence(
                    id=e["id"],
                    source=e["source"],
                    kind=e["kind"],
                    quote=e["quote"],
                    request_id=e["request_id"],
                    observation_id=e["observation_id"],
                    polarity=e["polarity"],
                    weight=e["weight"],
                    anchor=e["anchor"],
                    note=e.get("note"),
                    at=parse_time(e["at"]),
                    delta=round(step.delta_logodds, 4) if step else None,
                    confidence_after=round(step.confidence_after, 4) if step else None,
                )
            )
        return out

    def situation_matrix(self) -> np.ndarray:
        if self._situations is None:
            self._situations = self._embedder.embed(situation_texts(self._table))
        return self._situations

    def views_of(
        self,
        beliefs: Sequence[dict[str, Any]],
    ) -> list[tuple[np.ndarray, list[int]]]:
        """Each belief's statement vector and the situation views it is indexed under."""
        statements = self._embedder.embed([b["statement"] for b in beliefs])
        situations = self.situation_matrix()
        position = {text: i for i, text in enumerate(self._table.situations)}
        out = []
        for belief, vector in zip(beliefs, statements, strict=True):
            views = index_views(
                belief["statement"],
                belief["context"],
                statement_vector=vector,
                situation_matrix=situations,
                table=self._table,
            )
            out.append((vector, [position[v] for v in views[1:]]))
        return out

    def embed(self, tenant: str, user: str, beliefs: Sequence[dict[str, Any]]) -> None:
        """Embed beliefs into SQLite (retrievable at once); Chroma follows in the background.

        If embedding fails the beliefs stay without vectors and are retried later."""
        if not beliefs:
            return
        try:
            computed = self.views_of(beliefs)
        except Exception:  # noqa: BLE001 - SQLite holds the truth; indexing is retried
            log.warning("embedding %d belief(s) failed; will retry", len(beliefs), exc_info=True)
            return
        with self._db.write() as conn:
            vectors.save(
                conn,
                self._embedder.name,
                [
                    (b["id"], vector, situations)
                    for b, (vector, situations) in zip(beliefs, computed, strict=True)
                ],
            )
            vectors.mark_embedded(conn, [b["id"] for b in beliefs])
            rows.bump_revision(conn, tenant, user)

    def embed_pending(self) -> int:
        """Embed beliefs whose embedding failed earlier (the embedder was down)."""
        found = rows.unembedded(self._db.conn)
        by_user: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for row in found:
            by_user.setdefault((row["tenant"], row["user_id"]), []).append(row)
        for (tenant, user), items in by_user.items():
            self.embed(tenant, user, items)
        return len(found)

    def warm(self, statements: Sequence[str]) -> None:
        """Fill the local embedder's cache with statements about to be written, so that a
        transaction embedding them later holds the database's write lock for less time."""
        texts = list(statements)[:QUERY_TEXTS]  # only this many go through its cache
        if texts and isinstance(self._embedder, LocalEmbedder):
            self._embedder.embed(texts)

    def statement_vectors(
        self,
        tenant: str,
        user: str,
        contexts: Sequence[str] | None = None,
    ) -> tuple[list[str], np.ndarray]:
        """The ids of a user's active beliefs with vectors, and their statement vectors."""
        return vectors.load_statements(self._db.conn, tenant, user, contexts)

    def embed_text(self, text: str) -> np.ndarray:
        return self._embedder.embed([text])[0]

    def similarities(
        self, tenant: str, user: str, text: str, contexts: Sequence[str] | None = None
    ) -> tuple[list[str], np.ndarray]:
        """The ids of a user's active beliefs with vectors, and each one's cosine to `text`
        (nothing is embedded when the user has no such belief)."""
        found, matrix = self.statement_vectors(tenant, user, contexts)
        if not found:
            return [], np.zeros(0, dtype=np.float32)
        return found, matrix @ self.embed_text(text)


def reindex(config: MemoryConfig) -> dict[str, Any]:
    """Re-embed every active belief from SQLite and rebuild the Chroma index from scratch
    (offline: no server may hold the store)."""
    started = time.perf_counter()
    db = open_database(config.store)
    embedder = open_embedder(config.embedding)
    chroma = VectorStore(config.store, embedder.name)
    dropped = chroma.drop_all()
    with db.write() as conn:
        vectors.reset_all(conn)
    db.set_meta(EMBEDDER_KEY, embedder.name)
    core = Core(db, embedder, config.contexts)
    users = rows.users_with_active_beliefs(db.conn)
    for tenant, user in users:
        core.embed(tenant, user, rows.list_beliefs(db.conn, tenant, user, None, ["active"]))
    synced = IndexSync(db, chroma).run()
    embedded = vectors.count_vectors(db.conn)
    active = rows.count_beliefs(db.conn, "active")
    db.close()
    return {
        "embedding_model": embedder.name,
        "collections_dropped": dropped,
        "users": len(users),
        "beliefs_indexed": embedded,
        "failed": active - embedded,
        "index_rows_synced": synced,
        "seconds": round(time.perf_counter() - started, 2),
    }
