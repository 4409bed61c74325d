"""One request pipeline for every client API: identify → plan → render → forward → audit →
enqueue.

What differs between Chat Completions, the Responses API, Anthropic's Messages API and
embeddings is an `Adapter` (`proxy.apis`): which fields it needs, who the end user is, the
conversation as chat messages (what planning and learning read), where the rendered block
goes, how the reply and the stream are read back. Everything else happens here, once.

The provider's answer goes to the client as the upstream layer returned it (on the direct
path, the provider's bytes): body, status, the allow-listed headers, and its errors too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from memory.inject.plan import Injection, MemoryDegraded
from memory.learn.turns import Turn
from memory.ledger.audit import AuditRecord, last_user_text
from memory.selfmodel import Prepared
from proxy import accesslog, tracing
from proxy.body import read_json
from proxy.config import ModelEntry
from proxy.direct import ProviderError
from proxy.errors import MemoryUnavailable, SelfmodelError, UpstreamError
from proxy.identity import Principal
from proxy.state import AppState
from proxy.streaming import StreamOutcome, StreamReader, relay

INJECTED_HEADER = "X-Selfmodel-Injected"
DEGRADED_HEADER = "X-Selfmodel-Degraded"
JSON = "application/json"
log = logging.getLogger("selfmodel.pipeline")


class Adapter(Protocol):
    """The API-specific part of a call (one instance per API, stateless)."""

    api: str  # the upstream API: chat | responses | messages | embeddings
    injects: bool  # whether the self-model is planned into the call and the turn learned

    def check(self, body: dict[str, Any]) -> None:
        """The few fields the proxy relies on; raise an OpenAI-shaped error otherwise."""

    def check_entry(self, name: str, provider_model: Callable[[], str]) -> None:
        """Refuse a model this API cannot reach (`provider_model()`: e.g. `openai/gpt-4o`)."""

    def end_user(self, body: Mapping[str, Any], headers: Mapping[str, str]) -> str | None: ...

    def messages(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """The conversation as chat messages: what planning ranks on and learning reads."""
        ...

    def place(
        self, body: dict[str, Any], injection: Injection, position: str | None
    ) -> dict[str, Any]:
        """The body to forward, with the rendered block where this API takes it."""
        ...

    def reply_text(self, data: dict[str, Any]) -> str: ...

    def reader(self) -> StreamReader: ...

    def client_headers(self, headers: Mapping[str, str]) -> dict[str, str] | None:
        """Request headers of the client's that the provider needs (e.g. API versions)."""
        ...


def response_headers(injection: Injection) -> dict[str, str]:
    headers = {INJECTED_HEADER: str(len(injection.beliefs))}
    if injection.degraded_reason:
        headers[DEGRADED_HEADER] = "1"
    return headers


def rule_position(state: AppState, rule_name: str | None) -> str | None:
    for rule in state.config.injection.rules:
        if rule.name == rule_name:
            return rule.position
    return None


class Call:
    """The bookkeeping of one request: its audit record and its outbox turn."""

    def __init__(
        self,
        state: AppState,
        principal: Principal,
        request_id: str,
        model: str,
        messages: list[dict[str, Any]],
        user: str | None,
        injection: Injection,
        learns: bool,
        preparing: asyncio.Future[Prepared] | None = None,
    ) -> None:
        self.state = state
        self.principal = principal
        self.request_id = request_id
        self.model = model
        self.messages = messages
        self.user = user
        self.injection = injection
        self.preparing = preparing
        # Reading the reply back costs a parse: only when the turn will be learned from.
        self.learns = learns and user is not None and state.memory.config.extraction.enabled
        self.upstream_started = time.perf_counter()

    @property
    def reads_reply(self) -> bool:
        """Whether the reply is read back: to learn from it, or to keep it in the audit."""
        return self.learns or self.state.memory.config.audit.store_rendered

    async def finish(
        self,
        status: int,
        error: str | None = None,
        stream: bool = False,
        reply: str | None = None,
        response: dict[str, Any] | None = None,
        usage: dict[str, Any] | None = None,
    ) -> None:
        """Audit the request, and queue its turn for learning when it has a reply, durably and
        before the response ends. Never raises: the provider has answered, so a failure of
        this bookkeeping is counted and logged, never the client's error."""
        try:
            upstream_ms = (time.perf_counter() - self.upstream_started) * 1000
            self.state.metrics.upstream_latency.labels(self.model).observe(upstream_ms / 1000)
            if status >= 400:
                self.state.metrics.upstream_errors.labels(str(status)).inc()
            record = AuditRecord.from_injection(
                self.injection,
                request_id=self.request_id,
                tenant=self.principal.tenant,
                user=self.user,
                model=self.model,
                status=status,
                error=error,
                upstream_ms=upstream_ms,
                stream=stream,
                user_message=last_user_text(self.messages),
                reply=reply,
            )
            accesslog.note_record(record)
            tracing.record_turn(record, usage=usage, response=response, reply=reply)
            turn = None
            if self.learns and self.user is not None and reply is not None:
                turn = Turn(
                    request_id=self.request_id,
                    tenant=self.principal.tenant,
                    user=self.user,
                    model=self.model,
                    messages=self.messages,
                    reply=reply,
                    injected_ids=[b.id for b in self.injection.beliefs],
                )
            prepared = await self.preparing if self.preparing is not None else None
            with tracing.step("selfmodel.enqueue"):
                await self.state.memory.record(record, turn, prepared, inline=self.state.alone)
            self.state.metrics.sync_counters(self.state.memory.stats)
        except Exception:  # noqa: BLE001 - see the docstring
            log.exception("bookkeeping of request %s failed", self.request_id)

    async def on_stream_complete(self, outcome: StreamOutcome) -> None:
        error = outcome.error
        await self.finish(
            outcome.status,
            error=error.message if error else None,
            stream=True,
            # A cut or failed stream is not a turn to learn from.
            reply=outcome.text if error is None else None,
            usage=getattr(outcome.reader, "usage", None),
        )


async def _plan(
    state: AppState,
    caller: Principal,
    user: str | None,
    model: str,
    messages: list[dict[str, Any]],
    headers: Mapping[str, str],
    entry: ModelEntry,
) -> Injection:
    try:
        injection = await state.memory.plan(
            tenant=caller.tenant,
            user=user,
            model=model,
            messages=messages,
            headers=headers,
            model_info=entry.model_info or None,
            inline=state.alone,
        )
    except MemoryDegraded as exc:
        raise MemoryUnavailable(f"memory is unavailable and fail_closed is set: {exc}") from None
    if injection.degraded_reason:
        state.metrics.degraded.labels("memory").inc()
    state.metrics.memory_latency.observe((injection.retrieve_ms + injection.render_ms) / 1000)
    state.metrics.injected.observe(len(injection.beliefs))
    return injection


async def handle(
    adapter: Adapter, request: Request, state: AppState, caller: Principal, request_id: str
) -> Response:
    state.in_pipeline += 1
    try:
        # In-process learning waits while a request is handled, except for its provider.
        with state.memory.foreground.busy():
            return await _handle(adapter, request, state, caller, request_id)
    finally:
        state.in_pipeline -= 1


async def _handle(
    adapter: Adapter, request: Request, state: AppState, caller: Principal, request_id: str
) -> Response:
    body = await read_json(request, state.config.server.max_body_bytes)
    adapter.check(body)
    model = body["model"]
    entry = state.upstream.resolve(model)
    adapter.check_entry(model, lambda: state.upstream.provider_model(entry, model))
    user = adapter.end_user(body, request.headers)
    messages = adapter.messages(body)
    # Started first, it runs beside the plan and the provider's answer, not after them.
    preparing = asyncio.ensure_future(
        state.memory.prepare(messages, adapter.injects and user is not None)
    )
    if adapter.injects:
        injection = await _plan(state, caller, user, model, messages, request.headers, entry)
        position = rule_position(state, injection.rule) if injection.rendered else None
        forward = adapter.place(body, injection, position)
    else:
        injection, forward = Injection(messages=messages), body
    call = Call(
        state, caller, request_id, model, messages, user, injection, adapter.injects, preparing
    )
    headers = response_headers(injection)
    stream = body.get("stream") is True
    client_headers = adapter.client_headers(request.headers)
    try:
        with state.memory.foreground.idle():
            if stream:
                raw = await state.upstream.open_stream(
                    entry, forward, caller.client_key, adapter.api, client_headers
                )
            else:
                answer = await state.upstream.complete(
                    entry, forward, caller.client_key, adapter.api, client_headers
                )
    except ProviderError as exc:
        # The provider's own error, as it sent it (status, body, retry-after, ...).
        await call.finish(exc.status, error=exc.message, stream=stream)
        sent = exc.answer
        return Response(sent.body, sent.status, {**sent.headers, **headers}, media_type=JSON)
    except SelfmodelError as exc:
        await call.finish(exc.status, error=exc.message, stream=stream)
        raise
    if stream:
        return StreamingResponse(
            relay(raw, adapter.reader(), call.on_stream_complete),
            media_type="text/event-stream",
            headers={**raw.headers, **headers},
        )
    reply: str | None = None
    response: dict[str, Any] | None = None
    if call.reads_reply:
        try:
            response = answer.json()
            reply = adapter.reply_text(response)
        except UpstreamError:
            pass  # not a JSON object: passed on as sent, nothing to learn from or keep
    await call.finish(answer.status, reply=reply, response=response)
    return Response(answer.body, answer.status, {**answer.headers, **headers}, media_type=JSON)
