"""Request dependencies, declared once so handlers state what they need by type.

Each is `async def`: none blocks, and FastAPI runs a plain `def` dependency in its thread pool,
a hop (and a GIL handoff) per dependency per request, three on every chat call.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from proxy import accesslog
from proxy.errors import Forbidden
from proxy.identity import Principal, authenticate
from proxy.state import AppState


async def get_state(request: Request) -> AppState:
    return request.app.state.selfmodel


INSPECTOR_HEADER = "x-selfmodel-inspector"


async def get_principal(request: Request) -> Principal:
    state: AppState = request.app.state.selfmodel
    principal = authenticate(request.headers, state.config.auth.keys)
    accesslog.note(tenant=principal.tenant)
    if request.headers.get(INSPECTOR_HEADER) and not principal.admin:
        # The inspector shows a whole tenant's users: it is for admin keys only.
        raise Forbidden("The inspector needs an admin key.", code="admin_required")
    return principal


async def get_admin(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if not principal.admin:
        raise Forbidden("this endpoint needs an admin key", code="admin_required")
    return principal


async def get_request_id(request: Request) -> str:
    return request.scope["state"]["request_id"]


State = Annotated[AppState, Depends(get_state)]
Caller = Annotated[Principal, Depends(get_principal)]
Admin = Annotated[Principal, Depends(get_admin)]
RequestId = Annotated[str, Depends(get_request_id)]
