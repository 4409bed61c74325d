"""Whole-user endpoints: list, forget, export/import, observations, preview, summary."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from proxy.body import check_chat_body, read_json
from proxy.deps import Caller, State
from proxy.identity import MAX_OFFSET, validate_user_id
from proxy.routes.beliefs import parse
from proxy.state import AppState

router = APIRouter()
MAX_OBSERVATION_CHARS = 8000


class Observation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=MAX_OBSERVATION_CHARS)
    context: str | None = Field(default=None, max_length=64)
    kind: str = Field(default="observation", min_length=1, max_length=64)
    weight: float = 1.0


@router.get("/v1/users")
async def list_users(
    state: State,
    caller: Caller,
    q: str | None = Query(default=None, max_length=256),
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0, le=MAX_OFFSET),
) -> dict[str, Any]:
    found = await state.memory.list_users(caller.tenant, q, limit, offset)
    return {
        "object": "list",
        "data": [
            {"user": r["user_id"], "created": r["created_at"], "active_beliefs": r["active"]}
            for r in found
        ],
    }


@router.delete("/v1/users/{user}")
async def forget(user: str, state: State, caller: Caller) -> dict[str, Any]:
    validate_user_id(user)
    removed = await state.memory.forget(caller.tenant, user)
    return {"user": user, "forgotten": True, **removed}


@router.get("/v1/users/{user}/export")
async def export(user: str, state: State, caller: Caller) -> dict[str, Any]:
    validate_user_id(user)
    return await state.memory.export_user(caller.tenant, user)


@router.post("/v1/users/{user}/import", status_code=201)
async def import_(user: str, request: Request, state: State, caller: Caller) -> dict[str, Any]:
    validate_user_id(user)
    document = await read_json(request, state.config.server.max_body_bytes * 16)
    counts = await state.memory.import_user(caller.tenant, user, document)
    return {"user": user, "imported": counts}


@router.post("/v1/users/{user}/observations", status_code=201)
async def observe(user: str, request: Request, state: State, caller: Caller) -> dict[str, Any]:
    validate_user_id(user)
    obs = await parse(request, state, Observation)
    result = await state.memory.observe(
        caller.tenant, user, obs.text, obs.context, obs.kind, obs.weight
    )
    belief = result["belief"]
    return {**result, "belief": belief.model_dump(mode="json") if belief else None}


@router.post("/v1/users/{user}/preview")
async def preview(user: str, request: Request, state: State, caller: Caller) -> dict[str, Any]:
    validate_user_id(user)
    body = await read_json(request, state.config.server.max_body_bytes)
    check_chat_body(body)
    entry = state.upstream.resolve(body["model"])
    # A fail-closed degraded plan raises MemoryDegraded: answered 503 by the error handler.
    injection = await state.memory.plan(
        tenant=caller.tenant,
        user=user,
        model=body["model"],
        messages=body["messages"],
        headers=request.headers,
        model_info=entry.model_info or None,
    )
    return {
        "rule": injection.rule,
        "beliefs": [b.model_dump() for b in injection.beliefs],
        "rendered": injection.rendered or "",
        "tokens": injection.tokens,
        "template": injection.template,
        "position": _position(state, injection.rule),
        "degraded": injection.degraded_reason,
        "cut": injection.cut,
    }


def _position(state: AppState, rule_name: str | None) -> str | None:
    for rule in state.config.injection.rules:
        if rule.name == rule_name:
            return rule.position
    return None


@router.get("/v1/users/{user}/summary")
async def summary(user: str, state: State, caller: Caller) -> dict[str, Any]:
    validate_user_id(user)
    return await state.memory.summary(caller.tenant, user)
