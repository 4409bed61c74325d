"""The self-model API: /v1/users/{user}/beliefs[...]."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from memory.beliefs import EvidenceIn, check_confidence
from memory.models import Belief
from proxy.body import read_json
from proxy.deps import Caller, State
from proxy.errors import InvalidField
from proxy.identity import validate_id, validate_user_id
from proxy.state import AppState

router = APIRouter(prefix="/v1/users/{user}")


class NewBelief(BaseModel):
    model_config = ConfigDict(extra="forbid")
    statement: str = Field(max_length=4000)
    context: str = Field(max_length=64)
    confidence: float | None = None
    source: str = Field(default="asserted", max_length=32)


class Correction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    statement: str | None = Field(default=None, max_length=4000)
    confidence: float | None = None
    status: str | None = Field(default=None, max_length=32)
    context: str | None = Field(default=None, max_length=64)
    version: int | None = Field(default=None, description="expected current version")


async def parse(request: Request, state: AppState, model: type[BaseModel]) -> Any:
    body = await read_json(request, state.config.server.max_body_bytes)
    try:
        return model.model_validate(body)
    except ValidationError as exc:  # answer in OpenAI's shape
        errors = exc.errors()
        first: Any = errors[0] if errors else {}
        param = ".".join(str(p) for p in first.get("loc", ())) or None
        raise InvalidField(
            f"{param or 'body'}: {first.get('msg', 'invalid')}", param=param, code="invalid_field"
        ) from None


def _if_match(header: str | None) -> int | None:
    if header is None:
        return None
    value = header.strip().strip('"').removeprefix("W/").strip('"')
    if not value.isdigit() or len(value) > 18:
        raise InvalidField("If-Match must be a belief version number", param="If-Match")
    return int(value)


@router.get("/beliefs")
async def list_beliefs(
    user: str,
    state: State,
    caller: Caller,
    context: str | None = Query(default=None, max_length=64),
    status: str | None = Query(default=None, max_length=32),
    min_confidence: float | None = Query(default=None, ge=0, le=1),
    q: str | None = Query(default=None, min_length=1, max_length=1000),
    limit: int | None = Query(default=None, ge=1, le=1000),
    offset: int = Query(default=0, ge=0),
    conflicts: bool = False,
) -> dict[str, Any]:
    validate_user_id(user)
    if conflicts:
        found_conflicts = await state.memory.conflicts(caller.tenant, user)
        return {"object": "list", "user": user, "data": found_conflicts}
    if q is not None:
        limit = min(limit or 20, 200)
        hits = await state.memory.search(caller.tenant, user, q, limit)
        return {
            "object": "list",
            "user": user,
            "data": [
                {
                    **b.model_dump(mode="json", exclude={"evidence", "history"}),
                    "similarity": round(similarity, 4),
                }
                for b, similarity in hits
            ],
        }
    found = await state.memory.list_beliefs(caller.tenant, user, context, status, min_confidence)
    # Pages over the list as ordered (context, then confidence): `total` counts every match.
    page = found[offset : offset + limit] if limit is not None else found[offset:]
    return {
        "object": "list",
        "user": user,
        "data": [b.model_dump(mode="json") for b in page],
        "total": len(found),
        "offset": offset,
        "has_more": offset + len(page) < len(found),
    }


@router.post("/beliefs", status_code=201)
async def create_belief(user: str, request: Request, state: State, caller: Caller) -> Belief:
    validate_user_id(user)
    new = await parse(request, state, NewBelief)
    anchor = check_confidence(new.confidence)
    evidence = EvidenceIn(source=new.source, kind="assertion", anchor=anchor, quote=new.statement)
    return await state.memory.create_belief(
        caller.tenant, user, new.statement, new.context, evidence
    )


@router.get("/beliefs/{belief_id}")
async def get_belief(user: str, belief_id: str, state: State, caller: Caller) -> Belief:
    validate_user_id(user)
    validate_id(belief_id, "belief_id")
    return await state.memory.get_belief(caller.tenant, user, belief_id)


@router.patch("/beliefs/{belief_id}")
async def correct_belief(
    user: str,
    belief_id: str,
    request: Request,
    state: State,
    caller: Caller,
    if_match: str | None = Header(default=None),
) -> Belief:
    validate_user_id(user)
    validate_id(belief_id, "belief_id")
    fix = await parse(request, state, Correction)
    expected = fix.version if fix.version is not None else _if_match(if_match)
    return await state.memory.correct_belief(
        caller.tenant,
        user,
        belief_id,
        statement=fix.statement,
        confidence=fix.confidence,
        status=fix.status,
        context=fix.context,
        expected_version=expected,
    )


@router.delete("/beliefs/{belief_id}")
async def retract_belief(user: str, belief_id: str, state: State, caller: Caller) -> Belief:
    validate_user_id(user)
    validate_id(belief_id, "belief_id")
    return await state.memory.retract_belief(caller.tenant, user, belief_id)
