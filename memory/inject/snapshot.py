"""An in-process cache of each user's retrievable beliefs and their vectors.

A request for a cached user costs one indexed SQLite read (the user's revision)
plus a matrix product; a miss loads the user's active beliefs and their vectors
from SQLite (one indexed query). Every write bumps the user's
revision, so a snapshot is never served stale, even across processes.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from types import MappingProxyType
from typing import Any

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
    # Entry index -> what tells this state of the belief from a later one (`_key`).
    keys: list[tuple[Any, ...]] = field(default_factory=list)

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

    @cached_property
    def positions(self) -> dict[tuple[Any, ...], int]:
        """Entry index by key: the entries a later build of the same user can keep."""
        return {key: index for index, key in enumerate(self.keys)}

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


def _key(row: Any) -> tuple[Any, ...]:
    # Everything a write changes (the version counts evidence and corrections; the vector
    # model, a re-embedding): a belief matching on all of it has the same vector and evidence.
    return (
        row["id"],
        row["version"],
        row["statement"],
        row["context"],
        row["updated_at"],
        row["model"],
    )


def _arrays(
    order: list[tuple[bool, int]],
    previous: Snapshot | None,
    statements: np.ndarray,
    situation_lists: list[list[int]],
    revised: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The statement, situation and predecessor arrays of a build whose rows come, in `order`,
    from `previous` (True, its row) or from the rows just read (False, their index)."""
    kept = [index for from_previous, index in order if from_previous]
    read = [index for from_previous, index in order if not from_previous]
    at_kept = [n for n, (from_previous, _) in enumerate(order) if from_previous]
    at_read = [n for n, (from_previous, _) in enumerate(order) if not from_previous]
    dim = previous.statements.shape[1] if previous is not None and kept else statements.shape[1]
    merged = np.zeros((len(order), dim), dtype=np.float32)
    predecessors = np.zeros_like(merged)
    slots = max((len(situation_lists[index]) for index in read), default=0)
    if previous is not None and kept:
        slots = max(slots, previous.situations.shape[1])
    # int32: the situation table has a few hundred rows; half the memory of int64.
    situations = np.full((len(order), slots), -1, dtype=np.int32)
    if previous is not None and kept:
        merged[at_kept] = previous.statements[kept]
        if previous.previous is not None:
            predecessors[at_kept] = previous.previous[kept]
        situations[at_kept, : previous.situations.shape[1]] = previous.situations[kept]
    if read:
        merged[at_read] = statements[read]
        predecessors[at_read] = revised[read]
        for at, index in zip(at_read, read, strict=True):
            situations[at, : len(situation_lists[index])] = situation_lists[index]
    return merged, situations, predecessors if predecessors.any() else None


class SnapshotCache:
    """Recently used users' snapshots, bounded by count and by bytes (least recent goes)."""

    def __init__(
        self,
        db: Database,
        core: Core,
        capacity: int,
        max_bytes: int | None = None,
        stats: Counter[str] | None = None,
    ) -> None:
        self._db = db
        # Lookups by result: snapshot_hit, snapshot_changed (rebuilt from the changed rows),
        # snapshot_full (every row read).
        self.stats: Counter[str] = Counter() if stats is None else stats
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
                self.stats["snapshot_hit"] += 1
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
        """Read the user's rows. With `previous`, only the rows of beliefs changed since it was
        built are read whole: the others keep their entries, vectors and situations (after a
        learned turn, one or two of a hundred), so a write to one belief neither re-reads
        the user's vectors nor recomputes the confidence of all the others."""
        conn = self._db.conn
        order: list[tuple[bool, int]] | None = None  # (kept from `previous`, its row or index)
        if previous is not None and previous.entries:
            listed = vectors.load_keys(conn, tenant, user)
            kept = [previous.positions.get(_key(row), -1) for row in listed]
            changed = [row["id"] for row, at in zip(listed, kept, strict=True) if at < 0]
            if len(changed) <= len(listed) // 2:
                order = [(at >= 0, at) for at in kept]
        if order is None:
            found, statements, situation_lists, revised = vectors.load_compact(conn, tenant, user)
            order = [(False, index) for index in range(len(found))]
        else:
            found, statements, situation_lists, revised = (
                vectors.load_compact(conn, tenant, user, ids=changed)
                if changed
                else ([], np.zeros((0, 1), np.float32), [], np.zeros((0, 1), np.float32))
            )
            fetched = {row["id"]: index for index, row in enumerate(found)}
            # Retrieval order is the listing's. A changed row that a write in between ended is
            # left out: the revision read before this load is older, so the next get reloads.
            order = [
                (True, at) if from_previous else (False, fetched.get(row["id"], -1))
                for row, (from_previous, at) in zip(listed, order, strict=True)
            ]
            order = [(from_previous, at) for from_previous, at in order if at >= 0]
        read = [found[index] for from_previous, index in order if not from_previous]
        evidence = rows.evidence_for(conn, [row["id"] for row in read])
        now = utcnow()
        entries: list[Entry] = []
        keys: list[tuple[Any, ...]] = []
        for from_previous, index in order:
            if from_previous and previous is not None:
                entries.append(previous.entries[index])
                keys.append(previous.keys[index])
            else:
                entries.append(self._entry(found[index], evidence, now))
                keys.append(_key(found[index]))
        reused = previous is not None and len(read) < len(order)
        self.stats["snapshot_changed" if reused else "snapshot_full"] += 1
        merged, situations, predecessors = _arrays(
            order, previous, statements, situation_lists, revised
        )
        return Snapshot(
            revision,
            entries,
            merged,
            situations,
            # Kept confidences date from the previous build: the hourly recompute counts from it.
            previous.built if reused and previous is not None else now,
            rows.count_unembedded(conn, tenant, user),
            predecessors,
            keys,
        )

    def _entry(self, row: Any, evidence: dict[str, list[dict[str, Any]]], now: datetime) -> Entry:
        return Entry(
            id=row["id"],
            statement=row["statement"],
            context=row["context"],
            confidence=self._core.confidence_of(row["context"], evidence[row["id"]], now),
            updated=parse_time(row["updated_at"]),
            version=row["version"],
            shown=shown(row["statement"]),
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
