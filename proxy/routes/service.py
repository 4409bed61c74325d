"""Operational endpoints: models, health, metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response

from proxy.deps import Caller, State

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


@router.get("/healthz")
async def healthz(state: State) -> dict[str, object]:
    return {"status": "ok", **await state.memory.health()}


@router.get("/metrics")
async def metrics(state: State) -> Response:
    counts = await state.memory.job_counts()
    state.metrics.outbox_pending.set(counts.get("pending", 0) + counts.get("running", 0))
    state.metrics.sync_counters(state.memory.stats)
    return Response(state.metrics.render(), media_type="text/plain; version=0.0.4")
