"""OpenTelemetry traces, opt-in: `tracing.otlp_endpoint` in the config (off by default).

One server span per HTTP request (`TraceMiddleware`), and under a chat request one span per
pipeline step: `selfmodel.retrieve`, `selfmodel.render`, the upstream call as `chat {model}`
with the GenAI semantic conventions (gen_ai.system, gen_ai.request.model, gen_ai.usage.*),
and `selfmodel.enqueue`. Retrieval and rendering time themselves inside the memory code; their
spans are written from those timings when the upstream call ends (durations exact, placed
back to back before the upstream call). When tracing is off, no middleware is installed and
every hook is one context-variable read. Spans never carry message or belief text unless
`tracing.capture_content` is on (debugging).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Receive, Scope, Send

from proxy.middleware import ResponseStatus

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, Tracer

    from memory.ledger.audit import AuditRecord
    from proxy.config import ModelEntry, TracingConfig

_current: ContextVar[tuple[Tracing, Span] | None] = ContextVar("selfmodel_trace", default=None)


def system_of(litellm_model: str) -> str:
    """gen_ai.system from a litellm model name: its provider prefix (openai/gpt-4o → openai)."""
    prefix, _, rest = litellm_model.partition("/")
    return prefix if rest else "openai"


class Tracing:
    def __init__(
        self,
        config: TracingConfig,
        models: list[ModelEntry],
        exporter: SpanExporter | None = None,
    ) -> None:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

        self.capture_content = config.capture_content
        self.provider = TracerProvider(
            resource=Resource.create({"service.name": config.service_name}),
            shutdown_on_exit=False,
        )
        if exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            otlp = OTLPSpanExporter(endpoint=config.otlp_endpoint, headers=config.headers or None)
            self.provider.add_span_processor(BatchSpanProcessor(otlp))
        else:  # a given exporter (tests: the SDK's in-memory one) sees each span at once
            self.provider.add_span_processor(SimpleSpanProcessor(exporter))
        self.tracer: Tracer = self.provider.get_tracer("selfmodel")
        self.models = {m.model_name: m.litellm_params.model for m in models}

    def shutdown(self) -> None:
        self.provider.shutdown()


def build(
    config: TracingConfig, models: list[ModelEntry], exporter: SpanExporter | None = None
) -> Tracing | None:
    if exporter is None and not config.otlp_endpoint:
        return None
    return Tracing(config, models, exporter)


class TraceMiddleware:
    """The request's server span; continues a caller's trace (W3C traceparent) if sent."""

    def __init__(self, app: ASGIApp, tracing: Tracing) -> None:
        self.app = app
        self.tracing = tracing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from opentelemetry.propagate import extract
        from opentelemetry.trace import SpanKind, Status, StatusCode

        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        span = self.tracing.tracer.start_span(
            scope.get("method", "HTTP"),
            context=extract(carrier),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": scope.get("method", "")},
        )
        token = _current.set((self.tracing, span))
        status = ResponseStatus(send)
        try:
            await self.app(scope, receive, status)
        finally:
            _current.reset(token)
            route = getattr(scope.get("route"), "path", None)
            if route:
                span.update_name(f"{scope.get('method', '')} {route}")
                span.set_attribute("http.route", route)
            span.set_attribute("http.response.status_code", status.code)
            request_id = scope.get("state", {}).get("request_id")
            if request_id:
                span.set_attribute("selfmodel.request_id", request_id)
            if status.code >= 500:
                span.set_status(Status(StatusCode.ERROR))
            span.end()


@contextlib.contextmanager
def step(name: str, **attributes: Any) -> Iterator[None]:
    """A child span of the request around a block (nothing when tracing is off)."""
    current = _current.get()
    if current is None:
        yield
        return
    from opentelemetry.trace import set_span_in_context

    tracing, parent = current
    span = tracing.tracer.start_span(
        name, context=set_span_in_context(parent), attributes=attributes
    )
    try:
        yield
    finally:
        span.end()


def record_turn(
    record: AuditRecord,
    usage: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    reply: str | None = None,
) -> None:
    """The retrieve, render and upstream spans of a chat request, as the upstream call ends."""
    current = _current.get()
    if current is None:
        return
    from opentelemetry.trace import SpanKind, Status, StatusCode, set_span_in_context

    tracing, parent = current
    context = set_span_in_context(parent)
    end = time.time_ns()
    upstream_start = end - int(record.upstream_ms * 1e6)
    render_start = upstream_start - int(record.render_ms * 1e6)
    retrieve_start = render_start - int(record.retrieve_ms * 1e6)
    parent.set_attribute("selfmodel.tenant", record.tenant)
    if record.rule is not None:
        retrieve = tracing.tracer.start_span(
            "selfmodel.retrieve",
            context=context,
            start_time=retrieve_start,
            attributes={
                "selfmodel.rule": record.rule,
                "selfmodel.injected": len(record.injected),
                "selfmodel.degraded": record.degraded_reason is not None,
            },
        )
        retrieve.end(end_time=render_start)
        render = tracing.tracer.start_span(
            "selfmodel.render",
            context=context,
            start_time=render_start,
            attributes={
                "selfmodel.template": record.template or "",
                "selfmodel.tokens": record.tokens,
            },
        )
        render.end(end_time=upstream_start)
    litellm_model = tracing.models.get(record.model, record.model)
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.system": system_of(litellm_model),
        "gen_ai.provider.name": system_of(litellm_model),
        "gen_ai.request.model": record.model,
        "selfmodel.stream": record.stream,
    }
    if response:
        if isinstance(response.get("model"), str):
            attributes["gen_ai.response.model"] = response["model"]
        if isinstance(response.get("id"), str):
            attributes["gen_ai.response.id"] = response["id"]
        reasons = [
            c.get("finish_reason")
            for c in response.get("choices") or []
            if isinstance(c, dict) and isinstance(c.get("finish_reason"), str)
        ]
        if reasons:
            attributes["gen_ai.response.finish_reasons"] = reasons
    usage = usage or (response or {}).get("usage")
    if isinstance(usage, dict):
        for ours, theirs in (
            ("input_tokens", "prompt_tokens"),
            ("output_tokens", "completion_tokens"),
        ):
            if isinstance(usage.get(theirs), int):
                attributes[f"gen_ai.usage.{ours}"] = usage[theirs]
    if tracing.capture_content:
        attributes["gen_ai.input.messages"] = record.user_message or ""
        attributes["gen_ai.output.messages"] = reply or record.reply or ""
    upstream = tracing.tracer.start_span(
        f"chat {record.model}",
        context=context,
        kind=SpanKind.CLIENT,
        start_time=upstream_start,
        attributes=attributes,
    )
    if record.status >= 400:
        upstream.set_attribute("error.type", str(record.status))
        upstream.set_status(Status(StatusCode.ERROR, record.error or ""))
    upstream.end(end_time=end)
