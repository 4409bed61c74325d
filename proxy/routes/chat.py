"""POST /v1/chat/completions, through the one pipeline (`proxy.pipeline`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from proxy.apis.chat import CHAT
from proxy.deps import Caller, RequestId, State
from proxy.pipeline import handle

router = APIRouter()


@router.post("/v1/chat/completions")
async def chat_completions(
    request: Request, state: State, caller: Caller, request_id: RequestId
) -> Response:
    return await handle(CHAT, request, state, caller, request_id)
