"""POST /v1/chat/completions: identify → inject → forward → audit → enqueue."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from memory.inject.plan import Injection, MemoryDegraded
from memory.learn.turns import Turn
from memory.ledger.audit import AuditRecord, last_user_text
from proxy import accesslog, tracing
from proxy.body import check_chat_body, read_json
from proxy.deps import Caller, RequestId, State
from proxy.errors import MemoryUnavailable, SelfmodelError
from proxy.identity import Principal, end_user
from proxy.state import AppState
from proxy.streaming import StreamOutcome, relay

router = APIRouter()

INJECTED_HEADER = "X-Selfmodel-Injected"
DEGRADED_HEADER = "X-Selfmodel-Degraded"


def _response_headers(injection: Injection) -> dict[str, str]:
    headers = {INJECTED_HEADER: str(len(injection.beliefs))}
    if injection.degraded_reason:
        headers[DEGRADED_HEADER] = "1"
    return headers


def _assistant_text(response: dict[str, Any]) -> str:
    choices = response.get("choices") or []
    message = (choices[0].get("message") or {}) if choices else {}
    content = message.get("content")
    return content if isinstance(content, str) else ""


class ChatCall:
    """The bookkeeping of one chat request: audit record and outbox turn."""

    def __init__(
        self,
        state: AppState,
        principal: Principal,
        request_id: str,
        body: dict[str, Any],
        user: str | None,
        injection: Injection,
    ) -> None:
        self.state = state
        self.principal = principal
        self.request_id = request_id
        self.body = body
        self.user = user
        self.injection = injection
        self.upstream_started = time.perf_counter()

    def audit(
        self,
        status: int,
        error: str | None = None,
        stream: bool = False,
        reply: str | None = None,
        response: dict[str, Any] | None = None,
        usage: dict[str, Any] | None = None,
    ) -> None:
        upstream_ms = (time.perf_counter() - self.upstream_started) * 1000
        self.state.metrics.upstream_latency.labels(self.body["model"]).observe(upstream_ms / 1000)
        if status >= 400:
            self.state.metrics.upstream_errors.labels(str(status)).inc()
        record = AuditRecord.from_injection(
            self.injection,
            request_id=self.request_id,
            tenant=self.principal.tenant,
            user=self.user,
            model=self.body["model"],
            status=status,
            error=error,
            upstream_ms=upstream_ms,
            stream=stream,
            user_message=last_user_text(self.body["messages"]),
            reply=reply,
        )
        accesslog.note_record(record)
        tracing.record_turn(record, usage=usage, response=response, reply=reply)
        self.state.memory.audit(record)

    async def enqueue(self, reply: str) -> None:
        if self.user is None:
            return
        with tracing.step("selfmodel.enqueue"):
            await self.state.memory.enqueue_turn(
                Turn(
                    request_id=self.request_id,
                    tenant=self.principal.tenant,
                    user=self.user,
                    model=self.body["model"],
                    messages=self.body["messages"],
                    reply=reply,
                    injected_ids=[b.id for b in self.injection.beliefs],
                )
            )

    async def on_stream_complete(self, outcome: StreamOutcome) -> None:
        status = outcome.error.status if outcome.error else (499 if outcome.disconnected else 200)
        self.audit(
            status,
            error=outcome.error.message if outcome.error else None,
            stream=True,
            reply=outcome.text if outcome.error is None else None,
            usage=outcome.usage,
        )
        if outcome.error is None:
            await self.enqueue(outcome.text)


@router.post("/v1/chat/completions")
async def chat_completions(
    request: Request, state: State, caller: Caller, request_id: RequestId
) -> Any:
    body = await read_json(request, state.config.server.max_body_bytes)
    check_chat_body(body)
    entry = state.upstream.resolve(body["model"])
    user = end_user(body, request.headers)
    try:
        injection = await state.memory.plan(
            tenant=caller.tenant,
            user=user,
            model=body["model"],
            messages=body["messages"],
            headers=request.headers,
            model_info=entry.model_info or None,
        )
    except MemoryDegraded as exc:
        raise MemoryUnavailable(f"memory is unavailable and fail_closed is set: {exc}") from None
    if injection.degraded_reason:
        state.metrics.degraded.labels("memory").inc()
    state.metrics.memory_latency.observe((injection.retrieve_ms + injection.render_ms) / 1000)
    state.metrics.injected.observe(len(injection.beliefs))
    forward = {**body, "messages": injection.messages}
    call = ChatCall(state, caller, request_id, body, user, injection)
    headers = _response_headers(injection)
    try:
        if body.get("stream"):
            chunks = await state.upstream.open_stream(entry, forward, caller.client_key)
        else:
            response = await state.upstream.complete(entry, forward, caller.client_key)
    except SelfmodelError as exc:
        call.audit(exc.status, error=exc.message, stream=bool(body.get("stream")))
        raise
    if body.get("stream"):
        return StreamingResponse(
            relay(chunks, call.on_stream_complete), media_type="text/event-stream", headers=headers
        )
    reply = _assistant_text(response)
    call.audit(200, reply=reply, response=response)
    await call.enqueue(reply)
    return JSONResponse(response, headers=headers)
