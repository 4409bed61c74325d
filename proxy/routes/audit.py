"""Audit log, feedback, and the extraction queue."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from proxy.deps import Caller, State
from proxy.errors import NotFound
from proxy.identity import MAX_ID_LENGTH, MAX_OFFSET, validate_id, validate_user_id
from proxy.routes.beliefs import parse

router = APIRouter()


class Feedback(BaseModel):
    model_config = ConfigDict(extra="forbid")
    request_id: str = Field(min_length=1, max_length=MAX_ID_LENGTH)
    score: float
    comment: str | None = Field(default=None, max_length=2000)


@router.get("/v1/audit")
async def list_audit(
    state: State,
    caller: Caller,
    user: str | None = None,
    request_id: str | None = Query(default=None, max_length=MAX_ID_LENGTH),
    model: str | None = Query(default=None, max_length=256),
    rule: str | None = Query(default=None, max_length=256),
    since: str | None = Query(default=None, max_length=64),
    until: str | None = Query(default=None, max_length=64),
    before: str | None = Query(default=None, max_length=256),
    limit: int = Query(default=50, ge=1, le=1000),
) -> dict[str, Any]:
    if user is not None:
        validate_user_id(user)
    if request_id is not None:
        record = await state.memory.audit_record(caller.tenant, request_id)
        return {"object": "list", "data": [record] if record else []}
    records = await state.memory.audit_records(
        caller.tenant,
        user=user,
        model=model,
        rule=rule,
        since=since,
        until=until,
        before=before,
        limit=limit,
    )
    return {
        "object": "list",
        "data": records,
        "next_before": (
            f"{records[-1]['at']}|{records[-1]['request_id']}" if len(records) == limit else None
        ),
    }


@router.get("/v1/audit/{request_id}")
async def get_audit(request_id: str, state: State, caller: Caller) -> dict[str, Any]:
    validate_id(request_id, "request_id")
    record = await state.memory.audit_record(caller.tenant, request_id)
    if record is None:
        raise NotFound(f"no audit record {request_id!r}", code="not_found")
    return record


@router.post("/v1/feedback", status_code=201)
async def feedback(request: Request, state: State, caller: Caller) -> dict[str, Any]:
    item = await parse(request, state, Feedback)
    return await state.memory.give_feedback(
        caller.tenant, item.request_id, item.score, item.comment
    )


@router.get("/v1/extraction/jobs")
async def jobs(
    state: State,
    caller: Caller,
    state_filter: str | None = Query(default=None, alias="state", max_length=32),
    limit: int = Query(default=100, ge=1, le=1000),
) -> dict[str, Any]:
    found = await state.memory.jobs(caller.tenant, state_filter, limit)
    return {"object": "list", "data": found, "counts": await state.memory.job_counts(caller.tenant)}


@router.post("/v1/extraction/jobs/retry")
async def retry_dead(
    state: State, caller: Caller, job_id: int | None = Query(default=None, ge=1, le=MAX_OFFSET)
) -> dict[str, Any]:
    count = await state.memory.retry_jobs(caller.tenant, job_id)
    return {"retried": count}
