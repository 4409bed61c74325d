"""What every self-model operation shares: the stores, per-user locks, and row mapping."""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np

from memory import confidence as conf
from memory.errors import InvalidError
from memory.index.chroma import VectorStore
from memory.index.embed import Embedder
from memory.index.views import DEFAULT_TABLE, SituationTable, index_views, situation_texts
from memory.ledger import Database, vectors
from memory.ledger import beliefs as rows
from memory.ledger.db import parse_time, utcnow
from memory.models import Belief, Evidence, HistoryEntry
from memory.settings import ContextConfig

log = logging.getLogger("selfmodel.memory")


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
        self,
        db: Database,
        vectors: VectorStore,
        embedder: Embedder,
        contexts: dict[str, ContextConfig],
    ) -> None:
        self.db = db
        self.vectors = vectors
        self.embedder = embedder
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
                    at=parse_time(e["at"]),
                    delta=round(step.delta_logodds, 4) if step else None,
                    confidence_after=round(step.confidence_after, 4) if step else None,
                )
            )
        return out

    def situation_matrix(self) -> np.ndarray:
        if self._situations is None:
            self._situations = self.embedder.embed(situation_texts(self._table))
        return self._situations

    def views_of(
        self,
        beliefs: Sequence[dict[str, Any]],
    ) -> list[tuple[np.ndarray, list[int]]]:
        """Each belief's statement vector and the situation views it is indexed under."""
        statements = self.embedder.embed([b["statement"] for b in beliefs])
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

    def index(self, tenant: str, user: str, beliefs: Sequence[dict[str, Any]]) -> None:
        """Embed beliefs into SQLite (retrievable at once); Chroma follows in the background.

        If embedding fails the beliefs stay without vectors and are retried later."""
        if not beliefs:
            return
        try:
            computed = self.views_of(beliefs)
        except Exception:  # noqa: BLE001 - SQLite holds the truth; indexing is retried
            log.warning("embedding %d belief(s) failed; will retry", len(beliefs), exc_info=True)
            return
        with self.db.write() as conn:
            vectors.save(
                conn,
                self.embedder.name,
                [
                    (b["id"], vector, situations)
                    for b, (vector, situations) in zip(beliefs, computed, strict=True)
                ],
            )
            for belief in beliefs:
                rows.update_belief(conn, belief["id"], {"indexed": 0, "embedded": 1})
            rows.bump_revision(conn, tenant, user)

    def unindex(self, tenant: str, user: str, belief_ids: Sequence[str]) -> None:
        """Beliefs that left the active set: the index sync removes them from Chroma."""
        with self.db.write() as conn:
            for belief_id in belief_ids:
                rows.update_belief(conn, belief_id, {"indexed": 0})

    def statement_vectors(
        self,
        tenant: str,
        user: str,
        contexts: Sequence[str] | None = None,
    ) -> tuple[list[str], np.ndarray]:
        """The ids of a user's active beliefs with vectors, and their statement vectors."""
        return vectors.load_statements(self.db.conn, tenant, user, contexts)
