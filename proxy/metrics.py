"""Prometheus metrics, one registry per app (no process-wide globals)."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "selfmodel_requests_total", "HTTP requests", ["route", "status"], registry=r
        )
        self.latency = Histogram(
            "selfmodel_request_seconds",
            "HTTP request latency",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.upstream_errors = Counter(
            "selfmodel_upstream_errors_total", "Upstream errors by status", ["status"], registry=r
        )
        self.upstream_latency = Histogram(
            "selfmodel_upstream_seconds",
            "Upstream call latency",
            ["model"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.memory_latency = Histogram(
            "selfmodel_memory_seconds",
            "Retrieve + budget + render time on the hot path",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.injected = Histogram(
            "selfmodel_injected_beliefs",
            "Beliefs injected per request",
            buckets=(0, 1, 2, 4, 8, 16, 32),
            registry=r,
        )
        self.degraded = Counter(
            "selfmodel_degraded_total", "Requests forwarded without memory", ["reason"], registry=r
        )
        self.extraction_jobs = Counter(
            "selfmodel_extraction_jobs_total", "Extraction jobs by outcome", ["outcome"], registry=r
        )
        self.gate_skipped = Counter(
            "selfmodel_gate_skipped_total",
            "Turns the gate judged to carry nothing about the user",
            registry=r,
        )
        self.belief_ops = Counter(
            "selfmodel_belief_ops_total", "Belief operations applied", ["op"], registry=r
        )
        self.extraction_llm_calls = Counter(
            "selfmodel_extraction_llm_calls_total", "LLM calls made by extraction", registry=r
        )
        self.bookkeeping_failures = Counter(
            "selfmodel_bookkeeping_failures_total",
            "Audit or learning writes that failed after the provider answered (the client "
            "still got its answer; the turn is dead-lettered with the reason)",
            ["what"],
            registry=r,
        )
        self.snapshot_lookups = Counter(
            "selfmodel_snapshot_lookups_total",
            "Per-user snapshot lookups: served from memory (hit), rebuilt "
            "from the rows changed since (changed) or read whole (full)",
            ["result"],
            registry=r,
        )
        self.outbox_pending = Gauge(
            "selfmodel_outbox_pending", "Extraction jobs waiting", registry=r
        )

    def sync_counters(self, stats: Mapping[str, int]) -> None:
        """Bring the counters up to the memory layer's running totals."""
        targets = {
            "jobs_done": self.extraction_jobs.labels("done"),
            "jobs_skipped": self.extraction_jobs.labels("skipped"),
            "jobs_retried": self.extraction_jobs.labels("retried"),
            "jobs_dead": self.extraction_jobs.labels("dead"),
            "gate_skipped": self.gate_skipped,
            "ops_rejected": self.belief_ops.labels("rejected"),
            "llm_calls": self.extraction_llm_calls,
            "learning_failed": self.bookkeeping_failures.labels("learning"),
            "audit_failed": self.bookkeeping_failures.labels("audit"),
            "audit_sanitized": self.bookkeeping_failures.labels("audit_sanitized"),
            "snapshot_hit": self.snapshot_lookups.labels("hit"),
            "snapshot_changed": self.snapshot_lookups.labels("changed"),
            "snapshot_full": self.snapshot_lookups.labels("full"),
        }
        for key, value in stats.items():
            counter = targets.get(key)
            if counter is None and key.startswith("op_"):
                counter = self.belief_ops.labels(key[3:])
            if counter is None:
                continue
            behind = value - counter._value.get()
            if behind > 0:
                counter.inc(behind)

    def render(self) -> bytes:
        return generate_latest(self.registry)
