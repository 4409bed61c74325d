"""POST /v1/responses (OpenAI's Responses API) and POST /v1/embeddings, through the pipeline."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from proxy.apis.embeddings import EMBEDDINGS
from proxy.apis.responses import RESPONSES
from proxy.deps import Caller, RequestId, State
from proxy.pipeline import handle

router = APIRouter()


@router.post("/v1/responses")
async def responses(
    request: Request, state: State, caller: Caller, request_id: RequestId
) -> Response:
    return await handle(RESPONSES, request, state, caller, request_id)


@router.post("/v1/embeddings")
async def embeddings(
    request: Request, state: State, caller: Caller, request_id: RequestId
) -> Response:
    return await handle(EMBEDDINGS, request, state, caller, request_id)
