"""The self-model, assembled: stores, services, hot path and background work.

Built once in the app's lifespan (`SelfModel.open`), closed at shutdown.
Every blocking call runs in a worker thread so the event loop never waits on
SQLite, Chroma or the embedding model.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio

from memory.beliefs import Beliefs
from memory.core import Core
from memory.errors import NotFoundError
from memory.feedback import Signals
from memory.index import sync as indexer
from memory.index.batching import BatchingEmbedder, query_embedder
from memory.index.chroma import EMBEDDER_KEY, IndexMismatch, VectorStore
from memory.index.embed import Embedder, build_embedder
from memory.inject.plan import Injection, Injector, MemoryDegraded
from memory.inject.snapshot import SnapshotCache
from memory.insights.service import Insights
from memory.learn.extractors import Complete, Extractor, LLMExtractor, LocalExtractor
from memory.learn.gate import gate
from memory.learn.turns import Turn
from memory.learn.worker import ExtractionWorker
from memory.ledger import Database
from memory.ledger import beliefs as rows
from memory.ledger.audit import AuditLog, AuditRecord
from memory.ledger.outbox import Outbox
from memory.models import Belief
from memory.portability import forget_user
from memory.prompts import PromptLibrary
from memory.settings import MemoryConfig

log = logging.getLogger("selfmodel.runtime")

AUDIT_FLUSH_SECONDS = 0.25
MAINTENANCE_SECONDS = 30.0
INDEX_SYNC_SECONDS = 1.0
# The embedded Chroma client holds the GIL while it writes (~30 ms for a small batch here),
# which stalls every request in flight. So its index is written when no chat request has come
# for a moment, and at the latest after a few minutes; a search syncs first, so it never misses
# a belief, and retrieval never reads Chroma.
SYNC_WHEN_IDLE_SECONDS = 0.5
SYNC_AT_LATEST_SECONDS = 300.0


def check_index_model(db: Database, embedder: Embedder) -> None:
    recorded = db.get_meta(EMBEDDER_KEY)
    if recorded is None:
        db.set_meta(EMBEDDER_KEY, embedder.name)
    elif recorded != embedder.name:
        raise IndexMismatch(
            f"the vector index in {db.path.parent} was built with {recorded!r} but the config "
            f"uses {embedder.name!r}; run `selfmodel reindex` to rebuild it with the new model"
        )


class SelfModel:
    def __init__(
        self,
        config: MemoryConfig,
        *,
        embedder: Embedder | None = None,
        complete: Complete | None = None,
    ) -> None:
        self.config = config
        root = Path(config.store.path)
        self.db = Database(root / "selfmodel.db")
        self.embedder = embedder or build_embedder(
            config.embedding.model, dict(config.embedding.params), config.embedding.batch_size
        )
        check_index_model(self.db, self.embedder)
        self.vectors = VectorStore(config.store, self.embedder.name)
        self.core = Core(self.db, self.vectors, self.embedder, config.contexts)
        self.beliefs = Beliefs(self.core)
        self.signals = Signals(self.beliefs)
        self.prompts = PromptLibrary(config.prompts_dir)
        self.snapshots = SnapshotCache(
            self.core, config.store.user_cache_size, int(config.store.user_cache_mb * 2**20)
        )
        # Queries from concurrent requests may share model runs; writes embed directly.
        self.query_embedder = query_embedder(self.embedder)
        self.injector = Injector(config, self.snapshots, self.query_embedder, self.prompts)
        self.audit_log = AuditLog(self.db, config.audit.store_rendered, config.audit.retention_days)
        self.outbox = Outbox(
            self.db, config.extraction.max_attempts, config.extraction.backoff_seconds
        )
        self.stats: Counter[str] = Counter()
        self.worker = ExtractionWorker(
            self.outbox,
            self.beliefs,
            self._extractor(complete),
            self.context_descriptions,
            use_gate=config.extraction.gate,
            related_limit=config.extraction.related_beliefs,
            stats=self.stats,
            on_applied=self.snapshots.refresh,
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._sync_lock = threading.Lock()
        self._last_request = self._last_sync = time.monotonic()

    @property
    def context_descriptions(self) -> dict[str, str]:
        allowed = self.config.extraction.contexts
        return {
            name: c.description
            for name, c in self.config.contexts.items()
            if allowed is None or name in allowed
        }

    def _extractor(self, complete: Complete | None) -> Extractor:
        if self.config.extraction.mode == "llm":
            if complete is None:
                raise ValueError("extraction.mode 'llm' needs a completion function")
            return LLMExtractor(complete, self.prompts, self.config.extraction.model)
        return LocalExtractor()

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, *, workers: bool = True) -> None:
        recovered = await anyio.to_thread.run_sync(self.outbox.recover)
        if recovered:
            log.info("resuming %d extraction job(s) left running by a previous process", recovered)
        self._tasks.append(asyncio.create_task(self._flush_loop()))
        self._tasks.append(asyncio.create_task(self._maintenance_loop()))
        if workers and self.config.extraction.enabled:
            for _ in range(self.config.extraction.workers):
                self._tasks.append(asyncio.create_task(self.worker.run()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        await anyio.to_thread.run_sync(self.audit_log.flush)
        if isinstance(self.query_embedder, BatchingEmbedder):
            self.query_embedder.close()
        self.db.close()

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(AUDIT_FLUSH_SECONDS)
            try:
                await anyio.to_thread.run_sync(self.audit_log.flush)
            except Exception:  # noqa: BLE001 - keep the records for the next attempt
                log.exception("writing audit records failed")

    def _sync_due(self, now: float) -> bool:
        if not self.vectors.embedded:
            return True
        return (
            now - self._last_request >= SYNC_WHEN_IDLE_SECONDS
            or now - self._last_sync >= SYNC_AT_LATEST_SECONDS
        )

    async def _maintenance_loop(self) -> None:
        rounds = 0
        while True:
            try:
                await anyio.to_thread.run_sync(self.index_pending)
                if self._sync_due(time.monotonic()):
                    await anyio.to_thread.run_sync(self.sync_index)
                    self._last_sync = time.monotonic()
                if rounds % int(MAINTENANCE_SECONDS / INDEX_SYNC_SECONDS) == 0:
                    await anyio.to_thread.run_sync(self.audit_log.purge)
            except Exception:  # noqa: BLE001 - retried on the next round
                log.warning("maintenance failed; retrying", exc_info=True)
            rounds += 1
            await asyncio.sleep(INDEX_SYNC_SECONDS)

    def sync_index(self) -> int:
        with self._sync_lock:
            return indexer.sync_all(self.db, self.vectors)

    def index_pending(self) -> int:
        """Embed beliefs whose embedding failed earlier (the embedder was down)."""
        found = [
            dict(r)
            for r in self.db.conn.execute(
                "SELECT * FROM beliefs WHERE embedded = 0 AND status = 'active' LIMIT 500"
            )
        ]
        by_user: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for row in found:
            by_user.setdefault((row["tenant"], row["user_id"]), []).append(row)
        for (tenant, user), items in by_user.items():
            self.core.index(tenant, user, items)
        return len(found)

    # -- hot path ----------------------------------------------------------------------------

    async def plan(
        self,
        *,
        tenant: str,
        user: str | None,
        model: str,
        messages: list[dict[str, Any]],
        headers: Mapping[str, str],
        model_info: Mapping[str, Any] | None = None,
    ) -> Injection:
        self._last_request = time.monotonic()
        try:
            return await self.injector.plan(
                tenant=tenant,
                user=user,
                model=model,
                messages=messages,
                headers=headers,
                model_info=model_info,
            )
        except MemoryDegraded as exc:
            self.stats["degraded"] += 1
            if self.config.injection.fail_closed:
                raise
            # Retrieval runs only in the treatment arm.
            return Injection(messages=messages, degraded_reason=str(exc), arm="treatment")

    def forget(self, tenant: str, user: str) -> dict[str, int]:
        removed = forget_user(self.core, tenant, user)
        self.snapshots.invalidate(tenant, user)  # nothing of the user stays in memory either
        return removed

    def audit(self, record: AuditRecord) -> None:
        self.audit_log.add(record)

    async def enqueue_turn(self, turn: Turn) -> None:
        if not self.config.extraction.enabled:
            return
        if await anyio.to_thread.run_sync(self._write_turn, turn):
            self.worker.wakeup.set()

    def _write_turn(self, turn: Turn) -> bool:
        if self.config.extraction.gate and not gate(turn.user_texts()).keep:
            # Nothing in it about the user: the worker would only mark the job skipped, so the
            # request path spares the write (and the worker its claim and finish).
            self.stats["gate_skipped"] += 1
            self.stats["jobs_skipped"] += 1
            return False
        self.outbox.enqueue(turn)
        return True

    async def health(self) -> dict[str, Any]:
        store_ok = await anyio.to_thread.run_sync(self.vectors.heartbeat)
        counts = await anyio.to_thread.run_sync(self.outbox.counts)
        return {
            "store": "ok" if store_ok else "unreachable",
            "embedding": self.embedder.name,
            "outbox": counts,
        }

    def search(self, tenant: str, user: str, text: str, limit: int) -> list[tuple[Belief, float]]:
        """Semantic search over a user's active beliefs, through the Chroma index.

        Chroma's filtered HNSW search can return short lists when one user's rows are a tiny
        share of a large tenant; then the exact scores from SQLite answer instead.
        """
        self.sync_index()
        query = self.embedder.embed([text])[0]
        hits = self.vectors.search(tenant, user, query, limit)
        found, matrix = self.core.statement_vectors(tenant, user)
        if len(hits) < min(limit, len(found)):
            exact = matrix @ query
            hits = [(found[int(i)], float(exact[i])) for i in exact.argsort()[::-1][:limit]]
        found = []
        for belief_id, similarity in hits:
            try:
                found.append((self.beliefs.get(tenant, user, belief_id), similarity))
            except NotFoundError:
                continue  # deleted since the index was written
        return found

    def user_exists(self, tenant: str, user: str) -> bool:
        return rows.user_exists(self.db.conn, tenant, user)

    # -- insights (issue #17): the holdout experiment, themes, churn risk ----------------------

    @functools.cached_property
    def insights(self) -> Insights:
        return Insights(self.db, self.config, self.audit_log.flush)

    def experiment(self, tenant: str, rule: str | None, since: str | None) -> dict[str, Any]:
        return self.insights.experiment(tenant, rule, since)

    def belief_themes(self, tenant: str, context: str | None) -> dict[str, Any]:
        return self.insights.beliefs(tenant, context)

    def at_risk(
        self, tenant: str, days: float | None, min_risk: float, limit: int
    ) -> dict[str, Any]:
        return self.insights.at_risk(tenant, days, min_risk, limit)
