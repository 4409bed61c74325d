"""OpenTelemetry traces through the real server, read with the SDK's in-memory exporter."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import MODEL, Proxy, base_config, merge

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)

from proxy.config import parse_config  # noqa: E402

TEXT = "I keep my bike in the basement and I am vegetarian"


class TracedProxy(Proxy):
    def __init__(self, config, embedder, exporter) -> None:
        from proxy.app import create_app
        from tests.fake_upstream import ServerThread

        self.config = config
        self.app = create_app(config, workers=False, embedder=embedder, span_exporter=exporter)
        self.server = ServerThread(self.app).start()
        self.url = self.server.url


@pytest.fixture
def traced(tmp_path, upstream_url, embedder):
    exporter = InMemorySpanExporter()
    started = []

    def make(override=None):
        raw = merge(base_config(tmp_path / "store", upstream_url), override or {})
        proxy = TracedProxy(parse_config(raw), embedder, exporter)
        started.append(proxy)
        return proxy

    yield make, exporter
    for proxy in started:
        proxy.stop()


def _chat(url: str, stream: bool = False) -> httpx.Response:
    return httpx.post(
        url + "/v1/chat/completions",
        json={
            "model": MODEL,
            "user": "ana",
            "stream": stream,
            "messages": [{"role": "user", "content": TEXT}],
        },
        timeout=30,
    )


def test_one_span_per_step_with_genai_conventions(traced, upstream):
    make, exporter = traced
    proxy = make()
    httpx.post(
        proxy.url + "/v1/users/ana/beliefs",
        json={"statement": "Is vegetarian", "context": "constraints"},
    )
    exporter.clear()
    response = _chat(proxy.url)
    assert response.status_code == 200
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert {
        "POST /v1/chat/completions",
        "selfmodel.retrieve",
        "selfmodel.render",
        f"chat {MODEL}",
        "selfmodel.enqueue",
    } <= spans.keys()
    root = spans["POST /v1/chat/completions"]
    assert root.attributes["http.response.status_code"] == 200
    assert root.attributes["selfmodel.request_id"] == response.headers["x-selfmodel-request-id"]
    for name in ("selfmodel.retrieve", "selfmodel.render", f"chat {MODEL}", "selfmodel.enqueue"):
        assert spans[name].parent.span_id == root.context.span_id
        assert spans[name].context.trace_id == root.context.trace_id
    upstream_span = spans[f"chat {MODEL}"]
    attributes = upstream_span.attributes
    assert attributes["gen_ai.system"] == "openai"
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.request.model"] == MODEL
    assert attributes["gen_ai.usage.input_tokens"] > 0
    assert attributes["gen_ai.usage.output_tokens"] > 0
    assert spans["selfmodel.retrieve"].attributes["selfmodel.injected"] == 1
    retrieve, render = spans["selfmodel.retrieve"], spans["selfmodel.render"]
    assert (
        retrieve.end_time <= render.start_time + 1
        and render.end_time <= upstream_span.start_time + 1
    )
    everything = " ".join(str(dict(s.attributes)) for s in exporter.get_finished_spans())
    assert "vegetarian" not in everything and "basement" not in everything  # no text by default
    assert "sk-provider-secret" not in everything


def test_a_caller_trace_is_continued_and_streams_are_traced(traced, upstream):
    make, exporter = traced
    proxy = make()
    exporter.clear()
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    response = httpx.post(
        proxy.url + "/v1/chat/completions",
        headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"},
        json={
            "model": MODEL,
            "user": "ana",
            "stream": True,
            "messages": [{"role": "user", "content": "hi"}],
        },
        timeout=30,
    )
    assert response.status_code == 200
    spans = exporter.get_finished_spans()
    assert {format(s.context.trace_id, "032x") for s in spans} == {trace_id}
    upstream_span = next(s for s in spans if s.name == f"chat {MODEL}")
    assert upstream_span.attributes["selfmodel.stream"] is True


def test_capture_content_is_a_debug_option(traced, upstream):
    make, exporter = traced
    proxy = make({"tracing": {"capture_content": True}})
    exporter.clear()
    _chat(proxy.url)
    upstream_span = next(s for s in exporter.get_finished_spans() if s.name == f"chat {MODEL}")
    assert upstream_span.attributes["gen_ai.input.messages"] == TEXT


def test_tracing_is_off_by_default(make_proxy):
    from proxy.tracing import TraceMiddleware

    proxy = make_proxy(workers=False)
    assert proxy.config.tracing.otlp_endpoint is None
    assert all(m.cls is not TraceMiddleware for m in proxy.app.user_middleware)
