"""POST /v1/messages (Anthropic's Messages API), through the pipeline.

Anthropic's SDK sends its key as `x-api-key`, not as a bearer token: here that header counts
as the bearer (the selfmodel key, or the provider key for `forward_client_key` models).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from proxy.apis.messages import MESSAGES
from proxy.deps import RequestId, State
from proxy.identity import Principal, authenticate
from proxy.pipeline import handle

router = APIRouter()


async def anthropic_principal(request: Request) -> Principal:
    headers = dict(request.headers)
    if "authorization" not in headers and headers.get("x-api-key"):
        headers["authorization"] = f"Bearer {headers['x-api-key']}"
    return authenticate(headers, request.app.state.selfmodel.config.auth.keys)


@router.post("/v1/messages")
async def messages(
    request: Request,
    state: State,
    caller: Annotated[Principal, Depends(anthropic_principal)],
    request_id: RequestId,
) -> Response:
    return await handle(MESSAGES, request, state, caller, request_id)
