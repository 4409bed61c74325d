"""Readiness, and what a request led to (the inspector's "why did the model say that?")."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from proxy.deps import Caller, State
from proxy.errors import NotFound
from proxy.identity import validate_id

router = APIRouter()

READY_FLAG = "selfmodel_ready"


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """200 once the store is open and the hot path is warm; 503 before (and if the store fails)."""
    if not getattr(request.app.state, READY_FLAG, False):
        return JSONResponse({"status": "starting"}, status_code=503)
    state = request.app.state.selfmodel
    store_ok = await state.memory.store_ready()
    if not store_ok:
        return JSONResponse({"status": "unavailable", "store": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ready"})


@router.get("/v1/audit/{request_id}/learned")
async def learned(request_id: str, state: State, caller: Caller) -> dict[str, Any]:
    """The extraction job of a request and the belief changes made from it."""
    validate_id(request_id, "request_id")
    memory = state.memory
    found = await memory.learned(caller.tenant, request_id)
    record, jobs, changes = found["record"], found["jobs"], found["changes"]
    if record is None and not jobs and not changes:
        raise NotFound(f"no audit record {request_id!r}", code="not_found")
    return {
        "object": "turn.learned",
        "request_id": request_id,
        "extraction_enabled": memory.config.extraction.enabled,
        "jobs": jobs,
        "changes": changes,
    }
