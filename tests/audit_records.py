"""Audit records for tests and benchmarks that need requests in the audit log, not their text."""

from __future__ import annotations

from typing import Any

from memory.ledger.audit import AuditRecord


def plain_record(request_id: str, **fields: Any) -> AuditRecord:
    """The record of a request that injected nothing and took no time: tenant `t`, user `u`,
    model `m`, no rule, status 200, unless `fields` say otherwise."""
    values: dict[str, Any] = {
        "tenant": "t",
        "user": "u",
        "model": "m",
        "rule": None,
        "injected": [],
        "rendered": None,
        "template": None,
        "template_sha256": None,
        "tokens": 0,
        "retrieve_ms": 0,
        "render_ms": 0,
        "upstream_ms": 0,
        "status": 200,
    }
    return AuditRecord(request_id=request_id, **{**values, **fields})
