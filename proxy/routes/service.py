"""Operational endpoints: models, health, metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from proxy.deps import Caller, State
from proxy.errors import Forbidden
from proxy.identity import KEY_HEADER, authenticate

router = APIRouter()


@router.get("/v1/models")
async def list_models(state: State, _: Caller) -> dict[str, object]:
    return {
        "object": "list",
        "data": [
            {"id": name, "object": "model", "created": 0, "owned_by": "selfmodel"}
            for name in state.upstream.names
        ],
    }


def _presents_key(request: Request) -> bool:
    return bool(request.headers.get("authorization") or request.headers.get(KEY_HEADER))


@router.get("/healthz")
async def healthz(request: Request, state: State) -> dict[str, Any]:
    """Liveness for anyone ("ok"); the details only for a caller with a key, scoped to its
    tenant (the whole store's queue is on /metrics, for operators)."""
    if not _presents_key(request):
        return {"status": "ok"}
    principal = authenticate(request.headers, state.config.auth.keys)
    return {"status": "ok", **await state.memory.health(principal.tenant)}


@router.get("/metrics")
async def metrics(request: Request, state: State) -> Response:
    if state.config.server.metrics_require_key:
        principal = authenticate(request.headers, state.config.auth.keys)
        if not principal.admin:
            raise Forbidden("/metrics needs an admin key", code="admin_required")
    counts = await state.memory.job_counts()
    state.metrics.outbox_pending.set(counts.get("pending", 0) + counts.get("running", 0))
    state.metrics.sync_counters(state.memory.stats)
    return Response(state.metrics.render(), media_type="text/plain; version=0.0.4")
