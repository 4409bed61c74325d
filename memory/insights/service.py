"""`Insights`: the three reads behind `GET /v1/insights/*`, scoped to one tenant, cached.

Callers run these blocking methods off the event loop (they read SQLite and compute).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from memory.errors import InvalidError
from memory.insights import experiment as exp
from memory.insights import risk, themes
from memory.insights.cache import InsightsCache
from memory.ledger import Database
from memory.ledger import insights as sql
from memory.ledger.db import iso, parse_time, utcnow
from memory.settings import HoldoutConfig, MemoryConfig


def parse_since(since: str | None) -> str | None:
    if since is None or since == "":
        return None
    try:
        return iso(parse_time(since))
    except (TypeError, ValueError):
        raise InvalidError(
            "since must be an ISO 8601 date or time, e.g. 2026-01-31 or 2026-01-31T12:00:00Z",
            param="since",
        ) from None


class Insights:
    def __init__(self, db: Database, config: MemoryConfig, flush: Callable[[], Any]) -> None:
        self.db = db
        self.config = config
        self.settings = config.insights
        self.flush = flush  # audit records still in the writer's queue
        self.cache = InsightsCache(self.settings.cache_seconds)

    def _stamp(self) -> tuple[Any, ...]:
        self.flush()
        return sql.stamp(self.db.conn)

    def holdout(self, rule: str | None) -> HoldoutConfig:
        for r in self.config.injection.rules:
            if r.name == rule and r.holdout is not None:
                return r.holdout
        return self.config.injection.holdout

    def experiment(self, tenant: str, rule: str | None, since: str | None) -> dict[str, Any]:
        moment = parse_since(since)

        def compute() -> dict[str, Any]:
            started = time.perf_counter()
            conn = self.db.conn
            body = exp.summarize(
                sql.arm_requests(conn, tenant, rule, moment),
                sql.arm_feedback(conn, tenant, rule, moment),
                sql.user_corrections(conn, tenant, moment),
                sql.daily_requests(conn, tenant, rule, moment),
                self.settings.confidence,
            )
            holdout = self.holdout(rule)
            return {
                "object": "insights.experiment",
                "holdout_percent": holdout.percent,
                "salt": holdout.salt,
                "rule": rule,
                "since": moment,
                **body,
                "computed_at": iso(utcnow()),
                "compute_ms": round((time.perf_counter() - started) * 1000, 1),
            }

        return self.cache.get(("experiment", tenant, rule, moment), self._stamp, compute)

    def beliefs(self, tenant: str, context: str | None) -> dict[str, Any]:
        if context is not None and context not in self.config.contexts:
            raise InvalidError(
                f"unknown context {context!r} (declared: {sorted(self.config.contexts)})",
                param="context",
            )
        contexts = [context] if context else None

        def compute() -> dict[str, Any]:
            started = time.perf_counter()
            now = utcnow()
            conn = self.db.conn
            ids, users, statements, found, created, vectors = sql.active_vectors(
                conn, tenant, contexts
            )
            since = iso(now - timedelta(days=7 * self.settings.weeks))
            body = themes.themes(
                ids,
                users,
                statements,
                found,
                created,
                vectors,
                sql.changes_since(conn, tenant, contexts, since),
                k=self.settings.min_users,
                similarity=self.settings.theme_similarity,
                weeks=self.settings.weeks,
                now=now,
            )
            return {
                "object": "insights.beliefs",
                "context": context,
                "min_users": self.settings.min_users,
                "weeks": self.settings.weeks,
                **body,
                "computed_at": iso(now),
                "compute_ms": round((time.perf_counter() - started) * 1000, 1),
            }

        return self.cache.get(("beliefs", tenant, context), self._stamp, compute)

    def at_risk(
        self, tenant: str, days: float | None, min_risk: float, limit: int
    ) -> dict[str, Any]:
        window = days if days is not None else self.settings.risk_window_days
        if not 0 < window <= 365:
            raise InvalidError("days must be in (0, 365]", param="days")

        def compute() -> dict[str, Any]:
            started = time.perf_counter()
            now = utcnow()
            since, middle = now - timedelta(days=window), now - timedelta(days=window / 2)
            signals = sql.risk_signals(self.db.conn, tenant, iso(since), iso(middle))
            users = risk.at_risk(signals, min_risk=min_risk, limit=limit)
            return {
                "object": "list",
                "window_days": window,
                "halves": {"earlier_from": iso(since), "later_from": iso(middle)},
                "min_risk": min_risk,
                "users_with_signals": len(signals),
                "data": users,
                "computed_at": iso(now),
                "compute_ms": round((time.perf_counter() - started) * 1000, 1),
            }

        return self.cache.get(("at-risk", tenant, window, min_risk, limit), self._stamp, compute)
