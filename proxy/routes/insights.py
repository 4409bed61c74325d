"""GET /v1/insights/*: the holdout experiment, themes across users, churn risk.

Admin keys only (they read across a tenant's users), scoped to the caller's tenant, computed
in a worker thread and cached until the store changes.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from proxy.deps import Admin, State

router = APIRouter()


@router.get("/v1/insights/experiment")
async def experiment(
    state: State, caller: Admin, rule: str | None = None, since: str | None = None
) -> dict[str, Any]:
    return await state.memory.experiment(caller.tenant, rule or None, since)


@router.get("/v1/insights/beliefs")
async def beliefs(state: State, caller: Admin, context: str | None = None) -> dict[str, Any]:
    return await state.memory.belief_themes(caller.tenant, context or None)


@router.get("/v1/insights/at-risk")
async def at_risk(
    state: State,
    caller: Admin,
    days: float | None = Query(default=None, gt=0, le=365),
    min_risk: float = Query(default=0.2, ge=0, le=1),
    limit: int = Query(default=50, ge=1, le=1000),
) -> dict[str, Any]:
    return await state.memory.at_risk(caller.tenant, days, min_risk, limit)
