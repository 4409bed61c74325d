"""Streaming: chunks relayed as they come, disconnects cancel upstream, turns still recorded."""

from __future__ import annotations

import time

import httpx

from tests.conftest import MODEL
from tests.fake_upstream import Reply

BOTH_UPSTREAM_PATHS = True  # see tests/conftest.py


def _stream_chat(proxy, content: str, user: str | None = None):
    """A streamed chat completion of one user message, as `with ... as response`."""
    body = {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": content}]}
    if user is not None:
        body["user"] = user
    return httpx.stream("POST", proxy.url + "/v1/chat/completions", timeout=30, json=body)


def test_chunks_arrive_before_the_stream_ends(proxy, upstream):
    upstream.stream_chunks = 4
    upstream.replies.append(Reply(content="a b c d", chunk_delay=0.4))
    started = time.monotonic()
    arrivals = []
    with _stream_chat(proxy, "x") as response:
        for line in response.iter_lines():
            if line.startswith("data: ") and '"content"' in line:
                arrivals.append(time.monotonic() - started)
    # Relayed, not buffered: the first content arrives well before the last one.
    assert arrivals[-1] - arrivals[0] >= 0.8


def test_client_disconnect_cancels_upstream_and_keeps_the_turn(proxy, upstream):
    upstream.stream_chunks = 20
    upstream.replies.append(Reply(content=" ".join(["word"] * 20), chunk_delay=0.25))
    with _stream_chat(proxy, "I'm vegetarian. Tell me a story.", user="ana") as response:
        request_id = response.headers["x-selfmodel-request-id"]
        for line in response.iter_lines():
            if '"content"' in line:
                break
    deadline = time.monotonic() + 10
    while upstream.stream_closed_early == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert upstream.stream_closed_early == 1
    memory = proxy.state.memory
    deadline = time.monotonic() + 10
    record = None
    while record is None and time.monotonic() < deadline:
        memory.audit_log.flush()
        record = memory.audit_log.get("default", request_id)
        time.sleep(0.05)
    assert record["status"] == 499 and record["stream"] is True
    jobs = memory.outbox.jobs("default")
    assert [job["request_id"] for job in jobs] == [request_id]


def test_streaming_with_injection(proxy, http, upstream):
    http.post(
        "/v1/users/ana/beliefs", json={"statement": "I am vegetarian.", "context": "constraints"}
    )
    with _stream_chat(proxy, "Dinner ideas?", user="ana") as response:
        assert response.headers["x-selfmodel-injected"] == "1"
        list(response.iter_lines())
    assert "vegetarian" in upstream.chat_requests[-1]["messages"][0]["content"]


def test_metrics_count_requests_latency_and_upstream_errors(proxy, upstream):
    httpx.post(
        proxy.url + "/v1/chat/completions",
        json={"model": MODEL, "messages": [{"role": "user", "content": "x"}]},
    )
    upstream.replies.append(Reply(status=429, error="slow"))
    httpx.post(
        proxy.url + "/v1/chat/completions",
        json={"model": MODEL, "messages": [{"role": "user", "content": "x"}]},
    )
    text = httpx.get(proxy.url + "/metrics").text
    assert 'selfmodel_requests_total{route="/v1/chat/completions",status="200"} 1.0' in text
    assert 'selfmodel_requests_total{route="/v1/chat/completions",status="429"} 1.0' in text
    assert 'selfmodel_upstream_errors_total{status="429"} 1.0' in text
    assert 'selfmodel_request_seconds_bucket{le="0.25",route="/v1/chat/completions"}' in text
    assert "selfmodel_upstream_seconds_count" in text
