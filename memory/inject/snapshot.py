"""An in-process cache of each user's retrievable beliefs and their vectors.

A request for a cached user costs one indexed SQLite read (the user's revision)
plus a matrix product; a miss loads the user's active beliefs and their vectors
from SQLite (one indexed query). Every write bumps the user's
revision, so a snapshot is never served stale, even across processes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

import numpy as np

from memory import guard
from memory.core import Core
from memory.inject.ranking import FeatureArrays, crowding
from memory.ledger import Database, vectors
from memory.ledger import beliefs as rows
from memory.ledger.db import parse_time, utcnow

# Confidence decays over days; recomputing it hourly is exact enough.
_RECOMPUTE_AFTER_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    statement: str
    context: str
    confidence: float
    updated: datetime
    version: int = 0  # every write to a belief (evidence, correction) bumps it
    # The statement as the injected block shows it (`guard.for_prompt`): cleaned once when
    # the snapshot is built, not on every request that injects it.
    shown: str = ""


# What an entry costs beyond its strings: the object, its datetime, the arrays' per-belief share.
_ENTRY_OVERHEAD_BYTES = 250


@dataclass
class Snapshot:
    revision: int
    entries: list[Entry]
    statements: np.ndarray  # entry index -> its statement vector
    situations: np.ndarray  # entry index -> its situation views (rows of the shared table), -1 pad
    built: datetime
    unembedded: int = 0  # active beliefs still waiting for their vectors
    # Entry index -> the statement vector of the belief it revised (a zero row if none): a
    # revision is the current answer to whatever its old state answered.
    previous: np.ndarray | None = None

    def __post_init__(self) -> None:
        # Pairs of entries (i < j) already read for a contradiction, and the answer: a pair's
        # statements and vectors never change within a snapshot, and the same beliefs come up
        # request after request (the text check cost ~0.5 ms a request).
        self.contradicting: dict[tuple[int, int], bool] = {}
        # Arrays once per snapshot, so that a request scores its beliefs without a Python loop.
        self._confidence = np.array([e.confidence for e in self.entries], dtype=np.float64)
        self._updated = np.array([e.updated.timestamp() for e in self.entries], dtype=np.float64)
        self._contexts = np.array([e.context for e in self.entries], dtype=object)
        # How crowded each belief's neighbourhood is: the user's beliefs alone decide it.
        self.crowded = crowding(self.statements).astype(np.float32)
        self.nbytes = (
            self.statements.nbytes
            + (0 if self.previous is None else self.previous.nbytes)
            + self.situations.nbytes
            + sum(
                len(e.statement) + len(e.shown) + len(e.id) + _ENTRY_OVERHEAD_BYTES
                for e in self.entries
            )
        )

    def features(self, now: datetime) -> FeatureArrays:
        ages = np.maximum(0.0, (now.timestamp() - self._updated) / 86400)
        return FeatureArrays(self._confidence, ages)

    def in_contexts(self, allowed: set[str]) -> np.ndarray:
        return np.isin(self._contexts, list(allowed))


def shown(statement: str) -> str:
    """`guard.for_prompt(statement)`, without its per-character pass for the usual statement:
    printable ASCII with no entity, no angle bracket and single spaces is already plain (NFKC
    leaves ASCII alone, and it holds no hidden character); ~1 us against ~0.1 ms a belief."""
    if (
        statement.isascii()
        and statement.isprintable()
        and "&" not in statement
        and "<" not in statement
        and ">" not in statement
        and "  " not in statement
        and statement == statement.strip()
    ):
        return statement
    return guard.for_prompt(statement)


def _key(
    belief_id: str, version: int, statement: str, context: str, updated: datetime
) -> tuple[str, int, str, str, datetime]:
    # Everything a write changes: a belief matching on all of it has the same evidence.
    return belief_id, version, statement, context, updated


class SnapshotCache:
    """Recently used users' snapshots, bounded by count and by bytes (least recent goes)."""

    def __init__(
        self, db: Database, core: Core, capacity: int, max_bytes: int | None = None
    ) -> None:
        self._db = db
        self._core = core
        self.capacity = capacity
        self.max_bytes = max_bytes
        self.nbytes = 0
        self._items: OrderedDict[tuple[str, str], Snapshot] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def cached(self) -> Mapping[tuple[str, str], Snapshot]:
        """The snapshots held now, by (tenant, user), least recently used first (a live,
        read-only view)."""
        return MappingProxyType(self._items)

    def get(self, tenant: str, user: str) -> Snapshot | None:
        """The user's snapshot, or None for a user we know nothing about."""
        revision = rows.revision(self._db.conn, tenant, user)
        if revision is None:
            return None
        key = (tenant, user)
        with self._lock:
            cached = self._items.get(key)
            fresh = (
                cached is not None
                and (utcnow() - cached.built).total_seconds() < _RECOMPUTE_AFTER_SECONDS
            )
            if fresh and cached is not None and cached.revision == revision:
                self._items.move_to_end(key)
                return cached
        snapshot = self._load(tenant, user, revision, cached if fresh else None)
        if self.capacity > 0:
            with self._lock:
                replaced = self._items.pop(key, None)
                if replaced is not None:
                    self.nbytes -= replaced.nbytes
                self._items[key] = snapshot
                self.nbytes += snapshot.nbytes
                while len(self._items) > 1 and (
                    len(self._items) > self.capacity
                    or (self.max_bytes is not None and self.nbytes > self.max_bytes)
                ):
                    self.nbytes -= self._items.popitem(last=False)[1].nbytes
        return snapshot

    def _load(
        self, tenant: str, user: str, revision: int, previous: Snapshot | None = None
    ) -> Snapshot:
        """Read the user's rows; beliefs unchanged since `previous` keep their entries, so a
        write to one belief does not recompute the confidence of all the others."""
        conn = self._db.conn
        found, statements, situation_lists, revised = vectors.load_compact(conn, tenant, user)
        unembedded = rows.count_unembedded(conn, tenant, user)
        kept = (
            {_key(e.id, e.version, e.statement, e.context, e.updated): e for e in previous.entries}
            if previous
            else {}
        )
        keys = [
            _key(r["id"], r["version"], r["statement"], r["context"], parse_time(r["updated_at"]))
            for r in found
        ]
        changed = [r["id"] for r, key in zip(found, keys, strict=True) if key not in kept]
        evidence = rows.evidence_for(conn, changed)
        now = utcnow()
        entries = [
            kept.get(key)
            or Entry(
                id=r["id"],
                statement=r["statement"],
                context=r["context"],
                confidence=self._core.confidence_of(r["context"], evidence[r["id"]], now),
                updated=key[4],
                version=r["version"],
                shown=shown(r["statement"]),
            )
            for r, key in zip(found, keys, strict=True)
        ]
        # Kept confidences date from the previous build: the hourly recompute counts from it.
        if previous is not None and len(changed) < len(found):
            now = previous.built
        slots = max((len(s) for s in situation_lists), default=0)
        # int32: the situation table has a few hundred rows; half the memory of int64.
        situations = np.full((len(found), slots), -1, dtype=np.int32)
        for index, listed in enumerate(situation_lists):
            situations[index, : len(listed)] = listed
        return Snapshot(
            revision,
            entries,
            statements,
            situations,
            now,
            unembedded,
            revised if revised.any() else None,
        )

    def refresh(self, tenant: str, user: str) -> None:
        """Bring a cached user's snapshot up to date after a write, so that the user's next
        request does not pay for the reload (background learning calls this)."""
        with self._lock:
            cached = (tenant, user) in self._items
        if cached:
            self.get(tenant, user)

    def invalidate(self, tenant: str, user: str) -> None:
        with self._lock:
            dropped = self._items.pop((tenant, user), None)
            if dropped is not None:
                self.nbytes -= dropped.nbytes
