"""An in-process cache of each user's retrievable beliefs and their vectors.

A request for a cached user costs one indexed SQLite read (the user's revision)
plus a matrix product; a miss loads the user's active beliefs from SQLite and
their vectors from the user's Chroma collection. Every write bumps the user's
revision, so a snapshot is never served stale, even across processes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from memory.core import Core
from memory.ledger import beliefs as rows
from memory.ledger.db import parse_time, utcnow
from memory.ranking import Features

# Confidence decays over days; recomputing it hourly is exact enough.
_RECOMPUTE_AFTER_SECONDS = 3600


@dataclass(frozen=True)
class Entry:
    id: str
    statement: str
    context: str
    confidence: float
    updated: datetime


@dataclass
class Snapshot:
    revision: int
    entries: list[Entry]
    view_owner: np.ndarray  # row of view_matrix -> index into entries
    view_matrix: np.ndarray
    built: datetime
    vectors: dict[str, np.ndarray]  # belief id -> its view vectors, reused on the next load
    statements: np.ndarray  # entry index -> its statement's vector (the first view)

    def features(self, now: datetime) -> list[Features]:
        return [Features(confidence=e.confidence,
                         age_days=max(0.0, (now - e.updated).total_seconds() / 86400),
                         context=e.context) for e in self.entries]


class SnapshotCache:
    def __init__(self, core: Core, capacity: int) -> None:
        self.core = core
        self.capacity = capacity
        self._items: OrderedDict[tuple[str, str], Snapshot] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, tenant: str, user: str) -> Snapshot | None:
        """The user's snapshot, or None for a user we know nothing about."""
        revision = rows.revision(self.core.db.conn, tenant, user)
        if revision is None:
            return None
        key = (tenant, user)
        with self._lock:
            cached = self._items.get(key)
            if cached is not None and cached.revision == revision and (
                    utcnow() - cached.built).total_seconds() < _RECOMPUTE_AFTER_SECONDS:
                self._items.move_to_end(key)
                return cached
        snapshot = self._load(tenant, user, revision, cached)
        if self.capacity > 0:
            with self._lock:
                self._items[key] = snapshot
                self._items.move_to_end(key)
                while len(self._items) > self.capacity:
                    self._items.popitem(last=False)
        return snapshot

    def _load(self, tenant: str, user: str, revision: int,
              previous: Snapshot | None) -> Snapshot:
        conn = self.core.db.conn
        active = rows.list_beliefs(conn, tenant, user, statuses=["active"])
        evidence = rows.evidence_for(conn, [r["id"] for r in active])
        now = utcnow()
        entries = [Entry(id=r["id"], statement=r["statement"], context=r["context"],
                         confidence=self.core.confidence_of(r["context"], evidence[r["id"]], now),
                         updated=parse_time(r["updated_at"])) for r in active]
        vectors = self._vectors(tenant, user, [e.id for e in entries], previous)
        owners: list[int] = []
        blocks: list[np.ndarray] = []
        for index, entry in enumerate(entries):
            block = vectors.get(entry.id)
            if block is not None and len(block):
                owners.extend([index] * len(block))
                blocks.append(block)
        if blocks:
            view_owner = np.asarray(owners, dtype=np.int64)
            view_matrix = np.vstack(blocks)
            statements = np.zeros((len(entries), view_matrix.shape[1]), dtype=np.float32)
            for index, entry in enumerate(entries):
                block = vectors.get(entry.id)
                if block is not None and len(block):
                    statements[index] = block[0]
        else:
            view_owner = np.zeros(0, dtype=np.int64)
            view_matrix = np.zeros((0, 1), dtype=np.float32)
            statements = np.zeros((len(entries), 1), dtype=np.float32)
        return Snapshot(revision, entries, view_owner, view_matrix, now, vectors, statements)

    def _vectors(self, tenant: str, user: str, ids: list[str],
                 previous: Snapshot | None) -> dict[str, np.ndarray]:
        """Reuse what the last snapshot and recent writes hold; fetch only the rest by id."""
        known = previous.vectors if previous is not None else {}
        found: dict[str, np.ndarray] = {}
        missing = []
        for belief_id in ids:
            block = known.get(belief_id)
            if block is None:
                block = self.core.recent_vectors.get(belief_id)
            if block is None:
                missing.append(belief_id)
            else:
                found[belief_id] = block
        if missing:
            found.update(self.core.vectors.belief_vectors(tenant, user, missing))
        return found

    def invalidate(self, tenant: str, user: str) -> None:
        with self._lock:
            self._items.pop((tenant, user), None)
