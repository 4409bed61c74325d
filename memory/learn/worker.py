"""The outbox consumer: extract → apply, with retries and a dead-letter state.

The gate ran before the turn was written (`SelfModel.enqueue_turn`): a turn with nothing in it
about the user never reaches the outbox, so the worker does not gate it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

import anyio
import numpy as np

from memory.beliefs import Beliefs
from memory.learn.apply import Applied, Applier
from memory.learn.extractors import ExtractionFailed, Extractor, Related
from memory.learn.foreground import Foreground
from memory.learn.ops import Op
from memory.learn.turns import Turn
from memory.ledger.db import parse_time
from memory.ledger.outbox import LeaseLost, Outbox

log = logging.getLogger("selfmodel.worker")


class ExtractionWorker:
    def __init__(
        self,
        outbox: Outbox,
        beliefs: Beliefs,
        extractor: Extractor,
        contexts: Mapping[str, str],
        *,
        related_limit: int,
        stats: Counter[str],
        poll_seconds: float = 0.2,
        on_applied: Callable[[str, str], object] | None = None,
        foreground: Foreground | None = None,
    ) -> None:
        self.outbox = outbox
        self.beliefs = beliefs
        self.applier = Applier(beliefs)
        self.extractor = extractor
        self.contexts = dict(contexts)
        self.related_limit = related_limit
        self.stats = stats
        self.poll_seconds = poll_seconds
        self.wakeup = asyncio.Event()
        # Called (in a worker thread) after a job changed a user's self-model.
        self.on_applied = on_applied
        # In the proxy's process: its requests' phases, which each step waits out.
        self.foreground = foreground

    async def run(self) -> None:
        while True:
            try:
                # One job at a time, so several workers share a burst instead of one hoarding it.
                jobs = await anyio.to_thread.run_sync(self.outbox.claim, 1)
                for job_id, turn, _ in jobs:
                    await self.process(job_id, turn)
            except Exception:  # noqa: BLE001 - e.g. the store down while a failure is recorded
                # The loop outlives it: the job keeps its lease until it runs out, and then
                # is claimed again, so nothing is lost; learning resumes with the store.
                self.stats["worker_errors"] += 1
                log.exception("the extraction loop failed; it goes on after a pause")
                jobs = []
            if not jobs:
                self.wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wakeup.wait(), self.poll_seconds)

    async def drain(self) -> int:
        """Process every job that is ready now (tests, CLI, shutdown)."""
        done = 0
        while jobs := await anyio.to_thread.run_sync(self.outbox.claim):
            for job_id, turn, _ in jobs:
                await self.process(job_id, turn)
                done += 1
        return done

    async def process(self, job_id: int, turn: Turn) -> None:
        # The lease is renewed while the job runs (an LLM call may outlast it).
        heartbeat = asyncio.create_task(self._renew(job_id))
        try:
            await self._process(job_id, turn)
        except LeaseLost:
            # Claimed again elsewhere after this lease ran out: that claim ends the job, and
            # this one's writes were rolled back with the transaction that found out.
            self.stats["jobs_lost"] += 1
            log.warning("extraction job %s was claimed by another worker; dropped", job_id)
        except Exception:
            # Not ended: its failure could not be recorded. Its lease runs out, and a later
            # claim runs it again (`ExtractionWorker.run` goes on meanwhile).
            self.outbox.abandon(job_id)
            raise
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _renew(self, job_id: int) -> None:
        while True:
            await asyncio.sleep(self.outbox.lease_seconds / 3)
            with contextlib.suppress(Exception):  # the next beat, or the lease runs out
                await anyio.to_thread.run_sync(self.outbox.renew, [job_id])

    async def _process(self, job_id: int, turn: Turn) -> None:
        texts = turn.user_texts()
        try:
            await self._yield()
            related = await anyio.to_thread.run_sync(self._related, turn, texts)
            await self._yield()
            extraction = await self.extractor.extract(
                texts, turn.reply, related, self.contexts, turn.model
            )
            self.stats["llm_calls"] += extraction.llm_calls
            await self._yield()
            applied = await anyio.to_thread.run_sync(
                self._apply, job_id, turn, extraction.ops, {r.id for r in related}
            )
        except LeaseLost:
            raise
        except ExtractionFailed as failed:
            self.stats["jobs_dead"] += 1
            message, raw = str(failed), failed.raw
            await anyio.to_thread.run_sync(
                lambda: self.outbox.fail(job_id, message, raw, permanent=True)
            )
            return
        except Exception as exc:  # noqa: BLE001 - any failure is retried, then dead-lettered
            log.warning("extraction job %s failed: %s", job_id, exc)
            outcome = await anyio.to_thread.run_sync(
                self.outbox.fail, job_id, f"{type(exc).__name__}: {exc}"
            )
            self.stats["jobs_dead" if outcome == "dead" else "jobs_retried"] += 1
            return
        for op, _ in applied.applied:
            self.stats[f"op_{op}"] += 1
        self.stats["ops_rejected"] += len(applied.rejected) + len(extraction.rejected)
        for rejected in [*extraction.rejected, *applied.rejected]:
            log.info("extraction op rejected (job %s): %s", job_id, rejected.reason)
        self.stats["jobs_done"] += 1
        if applied.applied and self.on_applied is not None:
            await anyio.to_thread.run_sync(self.on_applied, turn.tenant, turn.user)

    async def _yield(self) -> None:
        if self.foreground is not None:
            await self.foreground.quiet()

    def _related(self, turn: Turn, texts: list[str]) -> list[Related]:
        if not self.extractor.uses_related:
            return []
        active = {r["id"]: r for r in self.beliefs.active_rows(turn.tenant, turn.user)}
        if not active:
            return []
        ids: list[str] = []
        if texts:
            found, sims = self.beliefs.similar(turn.tenant, turn.user, " ".join(texts)[-2000:])
            ids = top_related(sims, found, self.related_limit)
        ids += [i for i in turn.injected_ids if i in active and i not in ids]
        return [Related(i, active[i]["statement"], active[i]["context"]) for i in ids]

    def _apply(self, job_id: int, turn: Turn, ops: list[Op], known: set[str]) -> Applied:
        # The job's writes and its end commit together: a crash before the commit leaves the
        # job to be claimed again with nothing applied, a crash after it leaves it done.
        # Embedded now, the statements' vectors come from the embedder's cache inside the
        # transaction, which then holds the database's write lock for less time.
        self.beliefs.warm([op.statement for op in ops if op.statement])
        # The user's lock first, as every writer takes it before the database's.
        with self.beliefs.lock(turn.tenant, turn.user), self.outbox.transaction():
            applied = self.applier.apply(
                turn.tenant,
                turn.user,
                ops,
                request_id=turn.request_id,
                known_ids=known,
                at=parse_time(turn.at),
            )
            self.outbox.finish(job_id, "done")
        return applied


def top_related(similarities: np.ndarray, ids: Sequence[str], limit: int) -> list[str]:
    """The ids of the beliefs closest to a turn, for the extractor's context."""
    if not ids or limit <= 0:
        return []
    order = np.argsort(-similarities, kind="stable")[:limit]
    return [ids[int(i)] for i in order]
