"""The one async facade the HTTP side calls: beliefs, users, audit, jobs, insights.

Built on `Assembled` (construction, lifecycle, the chat path).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from memory import core as stores
from memory import portability
from memory.beliefs import EvidenceIn
from memory.errors import NotFoundError
from memory.index.views import SituationTable
from memory.inject.ranking import Weights
from memory.insights.service import Insights
from memory.learn.conflicts import open_conflicts
from memory.ledger import beliefs as rows
from memory.ledger import lineage
from memory.models import Belief
from memory.selfmodel.assembled import Assembled

__all__ = ["SelfModel"]


class SelfModel(Assembled):
    """Everything the HTTP side needs, as coroutines (see `Assembled` for how it is built)."""

    # -- beliefs -----------------------------------------------------------------------------

    async def list_beliefs(
        self,
        tenant: str,
        user: str,
        context: str | None = None,
        status: str | None = None,
        min_confidence: float | None = None,
    ) -> list[Belief]:
        return await self._blocking(
            self.beliefs.find, tenant, user, context, status, min_confidence
        )

    async def get_belief(self, tenant: str, user: str, belief_id: str) -> Belief:
        return await self._blocking(self.beliefs.get, tenant, user, belief_id)

    async def create_belief(
        self, tenant: str, user: str, statement: str, context: str, evidence: EvidenceIn
    ) -> Belief:
        def create() -> Belief:
            made = self.beliefs.create(tenant, user, statement, context, evidence, actor="api")
            return self.beliefs.get(tenant, user, made.id)

        return await self._blocking(create)

    async def add_beliefs(
        self, tenant: str, user: str, items: Sequence[tuple[str, str, EvidenceIn]], actor: str
    ) -> list[str]:
        """Many new beliefs in one transaction (bulk loads, the eval); their ids."""
        return await self._blocking(self.beliefs.create_many, tenant, user, items, actor=actor)

    async def correct_belief(
        self, tenant: str, user: str, belief_id: str, **correction: Any
    ) -> Belief:
        """A user's correction (`statement`, `confidence`, `status`, `context`,
        `expected_version`); the whole belief as it is now."""

        def correct() -> Belief:
            done = self.beliefs.correct(tenant, user, belief_id, **correction)
            return self.beliefs.get(tenant, user, done.id)

        return await self._blocking(correct)

    async def retract_belief(self, tenant: str, user: str, belief_id: str) -> Belief:
        def retract() -> Belief:
            self.beliefs.set_status(tenant, user, belief_id, "retracted", actor="user")
            return self.beliefs.get(tenant, user, belief_id)

        return await self._blocking(retract)

    async def active_beliefs(self, tenant: str, user: str) -> list[dict[str, Any]]:
        return await self._blocking(self.beliefs.active_rows, tenant, user)

    # -- evaluation knobs (`selfmodel eval`'s leave-one-topic-out) ---------------------------

    def set_weights(self, weights: Weights) -> None:
        """Score with other weights from the next plan on."""
        self.injector.weights = weights

    def use_situations(self, table: SituationTable) -> None:
        """Index beliefs written from now on under another situation table."""
        self.core.use_situations(table)

    async def conflicts(self, tenant: str, user: str) -> list[dict[str, Any]]:
        """A user's open contradictions, each with the belief the resolution rules keep."""

        def read() -> list[dict[str, Any]]:
            if not rows.user_exists(self.db.conn, tenant, user):
                raise NotFoundError(f"no user {user!r}")
            return open_conflicts(self.beliefs, tenant, user)

        return await self._blocking(read)

    async def search(
        self, tenant: str, user: str, text: str, limit: int
    ) -> list[tuple[Belief, float]]:
        return await self._blocking(self._search, tenant, user, text, limit)

    def _search(self, tenant: str, user: str, text: str, limit: int) -> list[tuple[Belief, float]]:
        """Semantic search over a user's active beliefs, through the Chroma index.

        Chroma's filtered HNSW search can return short lists when one user's rows are a tiny
        share of a large tenant; then the exact scores from SQLite answer instead.
        """
        if not rows.user_exists(self.db.conn, tenant, user):
            raise NotFoundError(f"no user {user!r}")
        self.sync_index()
        query = self.embedder.embed([text])[0]
        hits = self.chroma.search(tenant, user, query, limit)
        ids, matrix = self.core.statement_vectors(tenant, user)
        if len(hits) < min(limit, len(ids)):
            exact = matrix @ query
            hits = [(ids[int(i)], float(exact[i])) for i in exact.argsort()[::-1][:limit]]
        found: list[tuple[Belief, float]] = []
        for belief_id, similarity in hits:
            try:
                found.append((self.beliefs.get(tenant, user, belief_id), similarity))
            except NotFoundError:
                continue  # deleted since the index was written
        return found

    # -- users -------------------------------------------------------------------------------

    async def list_users(
        self, tenant: str, query: str | None, limit: int, offset: int
    ) -> list[dict[str, Any]]:
        return await self.db.execute_fn(
            lambda conn: rows.list_users(conn, tenant, query, limit, offset)
        )

    async def forget(self, tenant: str, user: str) -> dict[str, int]:
        def forget() -> dict[str, int]:
            removed = portability.forget_user(self.db, self.core, self.chroma, tenant, user)
            self.snapshots.invalidate(tenant, user)  # nothing of the user stays in memory
            return removed

        return await self._blocking(forget)

    async def export_user(self, tenant: str, user: str) -> dict[str, Any]:
        return await self.db.execute_fn(lambda _: portability.export_user(self.db, tenant, user))

    async def import_user(self, tenant: str, user: str, document: Any) -> dict[str, int]:
        return await self._blocking(
            portability.import_user, self.db, self.core, tenant, user, document
        )

    async def observe(
        self, tenant: str, user: str, text: str, context: str | None, kind: str, weight: float
    ) -> dict[str, Any]:
        return await self._blocking(
            self.feedback.observe, tenant, user, text, context, kind, weight
        )

    async def summary(self, tenant: str, user: str) -> dict[str, Any]:
        return await self._blocking(self.feedback.summary, tenant, user)

    # -- audit, feedback, jobs, health -------------------------------------------------------

    async def audit_record(self, tenant: str, request_id: str) -> dict[str, Any] | None:
        return await self._blocking(self.audit_log.get, tenant, request_id)

    async def audit_records(self, tenant: str, **filters: Any) -> list[dict[str, Any]]:
        """Newest first; filters as `AuditLog.query` takes them."""
        return await self._blocking(self.audit_log.query, tenant, **filters)

    async def give_feedback(
        self, tenant: str, request_id: str, score: float, comment: str | None
    ) -> dict[str, Any]:
        def give() -> dict[str, Any]:
            self.audit_log.flush()  # the request's record may still be queued
            return self.feedback.feedback(tenant, request_id, score, comment)

        return await self._blocking(give)

    async def jobs(
        self, tenant: str | None, state: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        return await self._blocking(self.outbox.jobs, tenant, state, limit)

    async def job_counts(self, tenant: str | None = None) -> dict[str, int]:
        """Jobs per state: the tenant's, or (None, for the operator) the whole store's."""
        return await self._blocking(self.outbox.counts, tenant)

    async def retry_jobs(self, tenant: str | None, job_id: int | None = None) -> int:
        count = await self._blocking(self.outbox.retry, tenant, job_id)
        self.worker.wakeup.set()
        return count

    async def health(self, tenant: str | None = None) -> dict[str, Any]:
        store_ok = await self._blocking(self.chroma.heartbeat)
        return {
            "store": "ok" if store_ok else "unreachable",
            "embedding": self.embedder.name,
            "outbox": await self.job_counts(tenant),
        }

    async def store_ready(self) -> bool:
        """Whether the vector store answers (readiness)."""
        return await self._blocking(self.chroma.heartbeat)

    async def some_user(self) -> tuple[str, str] | None:
        return await self.db.execute_fn(rows.any_user)

    async def has_users(self, tenant: str) -> bool:
        found = await self.db.execute_fn(lambda conn: rows.list_users(conn, tenant, None, 1, 0))
        return bool(found)

    async def learned(self, tenant: str, request_id: str) -> dict[str, Any]:
        """A request's audit record, its extraction jobs and the belief changes made from it."""

        def read() -> dict[str, Any]:
            conn = self.db.conn
            return {
                "record": self.audit_log.get(tenant, request_id),
                "jobs": lineage.jobs_of_request(conn, tenant, request_id),
                "changes": lineage.changes_of_request(conn, tenant, request_id),
            }

        return await self._blocking(read)

    @property
    def store_location(self) -> str:
        return self.chroma.location

    # -- insights (issue #17): the holdout experiment, themes, churn risk ----------------------

    @functools.cached_property
    def insights(self) -> Insights:
        return Insights(self.db, self.config, self.audit_log.flush)

    async def experiment(self, tenant: str, rule: str | None, since: str | None) -> dict[str, Any]:
        return await self._blocking(self.insights.experiment, tenant, rule, since)

    async def belief_themes(self, tenant: str, context: str | None) -> dict[str, Any]:
        return await self._blocking(self.insights.beliefs, tenant, context)

    async def at_risk(
        self, tenant: str, days: float | None, min_risk: float, limit: int
    ) -> dict[str, Any]:
        return await self._blocking(self.insights.at_risk, tenant, days, min_risk, limit)

    # -- offline maintenance (the CLI's `reindex`, `serve` and `doctor`; no facade is open) --

    reindex = staticmethod(stores.reindex)
    index_problem = staticmethod(stores.index_problem)
    stored_beliefs = staticmethod(stores.stored_beliefs)
    index_heartbeat = staticmethod(stores.index_heartbeat)
    open_embedder = staticmethod(stores.embedder_for)
