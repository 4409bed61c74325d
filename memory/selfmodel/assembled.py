"""The self-model assembled: collaborators, the lifecycle and the chat path.

The facade the HTTP side calls, `memory.selfmodel.SelfModel`, adds the rest of the API on top.

Built once in the app's lifespan (`SelfModel(config)`, `start()`), closed by `stop()`. Blocking
work runs in a worker thread (the database's `execute_fn`, or `_blocking` for an operation that
also embeds or locks), so the event loop never waits on SQLite, Chroma or the embedding model.
Collaborators are built here and handed what they use; none reaches through another.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import anyio

from memory.beliefs import Beliefs
from memory.core import Core, check_index_model, open_database, open_embedder
from memory.errors import MemoryDegraded
from memory.feedback import Feedback
from memory.index.batching import BatchingEmbedder, query_embedder
from memory.index.chroma import VectorStore
from memory.index.embed import Embedder
from memory.index.owner import DeferredIndex, IndexLock, apply_drops
from memory.index.sync import IndexSync
from memory.inject.plan import Injection, Injector
from memory.inject.snapshot import SnapshotCache
from memory.learn.contexts import ContextClassifier
from memory.learn.extractors import Complete, Extractor, LLMExtractor, LocalExtractor
from memory.learn.foreground import Foreground
from memory.learn.gate import gate
from memory.learn.turns import Turn
from memory.learn.worker import ExtractionWorker
from memory.ledger.audit import AuditLog, AuditRecord, last_user_text, stored_text
from memory.ledger.outbox import Outbox
from memory.ledger.record import record_request
from memory.models import ScoredBelief
from memory.prompts import PromptLibrary
from memory.settings import InjectionRule, MemoryConfig

__all__ = ["Assembled", "Prepared"]

log = logging.getLogger("selfmodel.runtime")

AUDIT_FLUSH_SECONDS = 0.25
MAINTENANCE_SECONDS = 30.0
INDEX_SYNC_SECONDS = 1.0
T = TypeVar("T")


@dataclass(frozen=True)
class Prepared:
    """A request's bookkeeping worked out ahead (`Assembled.prepare`)."""

    learn: bool | None  # None: preparing failed, `record` decides as if unprepared
    gated: bool = False  # the gate found nothing about the user in the turn


class Assembled:
    """The collaborators, built once and wired; the lifecycle and the chat path."""

    def __init__(
        self,
        config: MemoryConfig,
        *,
        embedder: Embedder | None = None,
        complete: Complete | None = None,
        index_owner: bool | None = None,
    ) -> None:
        self.config = config
        self.db = open_database(config.store)
        self.embedder = embedder or open_embedder(config.embedding)
        check_index_model(self.db, self.embedder)
        # -- which process writes the vector index (memory/index/owner.py) ------------------
        # A proxy that learns in-process owns an embedded index, as does a `selfmodel worker`;
        # a proxy that only enqueues (extraction.workers: 0) never opens it. A Chroma server
        # is everyone's. Without the index, search reads the exact vectors in SQLite.
        self.index_lock: IndexLock | None = None
        wants_index = config.extraction.workers > 0 if index_owner is None else index_owner
        if config.store.chroma is not None:
            self.chroma: VectorStore = VectorStore(config.store, self.embedder.name)
        else:
            root = Path(config.store.path)
            self.index_lock = IndexLock(root) if wants_index else None
            self.chroma = DeferredIndex(self.db, str(root / "chroma"), self.embedder.name)
        self.index_sync = IndexSync(self.db, self.chroma)
        self.take_index()
        self.core = Core(self.db, self.embedder, config.contexts)
        self.beliefs = Beliefs(self.db, self.core)
        # Statements are filed under the configured context whose description they are closest to.
        self.classifier = ContextClassifier(self.embedder)
        self.feedback = Feedback(self.db, self.beliefs, self.core, self.classifier)
        self.prompts = PromptLibrary(config.prompts_dir)
        self.stats: Counter[str] = Counter()
        self.snapshots = SnapshotCache(
            self.db,
            self.core,
            config.store.user_cache_size,
            int(config.store.user_cache_mb * 2**20),
            self.stats,
        )
        # Queries from concurrent requests may share model runs; writes embed directly.
        self.query_embedder = query_embedder(self.embedder)
        self.injector = Injector(
            config,
            self.snapshots,
            self.query_embedder,
            self.prompts,
            self.core.situation_matrix,
            lambda: self.core.situation_table.situations,
        )
        self.audit_log = AuditLog(self.db, config.audit.store_rendered, config.audit.retention_days)
        self.outbox = Outbox(
            self.db,
            config.extraction.max_attempts,
            config.extraction.backoff_seconds,
            config.extraction.lease_seconds,
        )
        self.foreground = Foreground()
        self.worker = ExtractionWorker(
            self.outbox,
            self.beliefs,
            self._extractor(complete),
            self.context_descriptions,
            related_limit=config.extraction.related_beliefs,
            stats=self.stats,
            on_applied=self.snapshots.refresh,
            foreground=self.foreground,
        )
        self._tasks: list[asyncio.Task[None]] = []

    def take_index(self) -> bool:
        """Open the embedded index if this process may and no other process holds it (a
        worker on standby takes over this way when the owner stops)."""
        if not isinstance(self.chroma, DeferredIndex):
            return True
        if self.index_lock is None or not self.index_lock.acquire():
            return False
        self.chroma = VectorStore(self.config.store, self.embedder.name)
        self.index_sync = IndexSync(self.db, self.chroma)
        log.info("this process now writes the embedded vector index %s", self.chroma.location)
        return True

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
        return LocalExtractor(self.classifier)

    @staticmethod
    async def _blocking(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """An operation that embeds or takes a user's lock besides its SQL, in a thread."""
        return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs))

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, *, workers: bool = True, consumers: int | None = None) -> None:
        recovered = await self._blocking(self.outbox.recover)
        if recovered:
            log.info("resuming %d extraction job(s) left running by a previous process", recovered)
        await anyio.to_thread.run_sync(self.classifier.warm, self.context_descriptions)
        self._tasks.append(asyncio.create_task(self._flush_loop()))
        self._tasks.append(asyncio.create_task(self._maintenance_loop()))
        if workers and self.config.extraction.enabled:
            count = self.config.extraction.workers if consumers is None else consumers
            for _ in range(count):
                self._tasks.append(asyncio.create_task(self.worker.run()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        await self._blocking(self.audit_log.flush)
        if isinstance(self.query_embedder, BatchingEmbedder):
            self.query_embedder.close()
        self.db.close()
        if self.index_lock is not None:
            self.index_lock.release()

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(AUDIT_FLUSH_SECONDS)
            try:
                await self._blocking(self.audit_log.flush)
            except Exception:  # noqa: BLE001 - keep the records for the next attempt
                log.exception("writing audit records failed")

    async def _maintenance_loop(self) -> None:
        rounds = 0
        while True:
            try:
                await self._blocking(self.embed_pending)
                await self._blocking(self.db.checkpoint)
                if isinstance(self.chroma, DeferredIndex) and self.index_lock is not None:
                    await self._blocking(self.take_index)
                if self.index_sync.policy.due(time.monotonic()):
                    await self._blocking(self.sync_index)
                    self.index_sync.policy.synced()
                if rounds % int(MAINTENANCE_SECONDS / INDEX_SYNC_SECONDS) == 0:
                    await self._blocking(self.audit_log.purge)
            except Exception:  # noqa: BLE001 - retried on the next round
                log.warning("maintenance failed; retrying", exc_info=True)
            rounds += 1
            await asyncio.sleep(INDEX_SYNC_SECONDS)

    def sync_index(self) -> int:
        """Bring the Chroma index up to date now (blocking)."""
        if isinstance(self.chroma, DeferredIndex):
            return 0  # another process writes the index
        return self.index_sync.run() + apply_drops(self.db, self.chroma)

    def embed_pending(self) -> int:
        """Embed beliefs whose embedding failed earlier (the embedder was down)."""
        return self.core.embed_pending()

    # -- the chat path -----------------------------------------------------------------------

    async def plan(
        self,
        *,
        tenant: str,
        user: str | None,
        model: str,
        messages: list[dict[str, Any]],
        headers: Mapping[str, str],
        model_info: Mapping[str, Any] | None = None,
        inline: bool = False,
    ) -> Injection:
        """What to inject into this request, and why. `inline`: on the caller's thread (the
        event loop) instead of a worker thread, for a request that has the process to itself:
        two thread hand-overs fewer (~0.9 ms of a request's added latency, measured), and no
        other request is kept waiting by it."""
        self.index_sync.policy.request_came()
        try:
            with self.foreground.busy():
                return await self.injector.plan(
                    tenant=tenant,
                    user=user,
                    model=model,
                    messages=messages,
                    headers=headers,
                    model_info=model_info,
                    inline=inline,
                )
        except MemoryDegraded as exc:
            self.stats["degraded"] += 1
            if self.config.injection.fail_closed:
                raise
            # Retrieval runs only in the treatment arm.
            return Injection(messages=messages, degraded_reason=str(exc), arm="treatment")

    async def retrieve(
        self, tenant: str, user: str, rule: InjectionRule, messages: list[dict[str, Any]]
    ) -> list[ScoredBelief]:
        """What `rule` would pick for these messages, best first, before the token budget."""
        return await self._blocking(self.injector.retrieve, tenant, user, rule, messages)

    def audit(self, record: AuditRecord) -> None:
        """Queue an audit record (written in the background; never waits)."""
        self.audit_log.add(record)

    async def prepare(self, messages: list[dict[str, Any]], learns: bool) -> Prepared:
        """What a request's bookkeeping needs from its messages alone, worked out while the
        request is planned and the provider answers rather than after: the gate's verdict on
        the user's words, and their redaction as the audit row and the queued turn store
        them (which `record` then finds in `memory.secrets`' cache). Never raises."""
        with self.foreground.busy():
            return await self._blocking(self._prepare, messages, learns)

    def _prepare(self, messages: list[dict[str, Any]], learns: bool) -> Prepared:
        try:
            if self.config.audit.store_rendered:
                stored_text(last_user_text(messages))
            if not learns or not self.config.extraction.enabled:
                return Prepared(learn=False)
            turn = Turn(request_id="", tenant="", user="", model="", messages=messages, reply="")
            if self.config.extraction.gate and not gate(_stored_user_texts(turn)).keep:
                return Prepared(learn=False, gated=True)
            turn.compact()  # the user's words, redacted once
            return Prepared(learn=True)
        except Exception:  # noqa: BLE001 - `record` gates and redacts the turn itself
            log.warning("preparing a request's bookkeeping failed", exc_info=True)
            return Prepared(learn=None)

    async def record(
        self,
        record: AuditRecord,
        turn: Turn | None = None,
        prepared: Prepared | None = None,
        inline: bool = False,
    ) -> None:
        """Write a request's audit record, and its turn for learning, durably before the
        response ends (`record_request`). Never raises: failures are counted. `inline` as for
        `plan`."""
        with self.foreground.busy():
            queued = (
                self._record(record, turn, prepared)
                if inline
                else await self._blocking(self._record, record, turn, prepared)
            )
        if queued:
            self.worker.wakeup.set()

    def _record(self, record: AuditRecord, turn: Turn | None, prepared: Prepared | None) -> bool:
        try:
            learn = turn is not None and self._learnable(turn, prepared)
        except Exception:  # noqa: BLE001 - the gate failed: the worker decides instead
            log.warning("gating turn %s failed", record.request_id, exc_info=True)
            learn = turn is not None and self.config.extraction.enabled
        done = record_request(self.audit_log, self.outbox, record, turn if learn else None)
        self.stats["audit_failed"] += done.audit_failed
        self.stats["learning_failed"] += done.learning_failed
        return done.queued

    def _learnable(self, turn: Turn, prepared: Prepared | None = None) -> bool:
        if not self.config.extraction.enabled:
            return False
        if prepared is not None and prepared.learn is not None:
            keep, gated = prepared.learn, prepared.gated
        else:
            # The only gate of a turn: one with nothing in it about the user is never
            # written, so the worker has no job to claim, skip and finish (gated on the text
            # as it is stored).
            gated = self.config.extraction.gate and not gate(_stored_user_texts(turn)).keep
            keep = not gated
        if gated:
            self.stats["gate_skipped"] += 1
            self.stats["jobs_skipped"] += 1
        return keep

    async def enqueue_turn(self, turn: Turn) -> None:
        if not self.config.extraction.enabled:
            return
        if await self._blocking(self._write_turn, turn):
            self.worker.wakeup.set()

    def _write_turn(self, turn: Turn) -> bool:
        if not self._learnable(turn):
            return False
        self.outbox.enqueue(turn)
        return True


def _stored_user_texts(turn: Turn) -> list[str]:
    """The user's words of `turn` as the outbox would store them (`Turn.compact`), without
    redacting the reply: it is long (~1,300 characters in a realistic chat: 2.5 ms of secret
    scanning), and two turns in three are gated out, so only a kept turn pays for it, once,
    when written."""
    return replace(turn, reply="").compact().user_texts()
