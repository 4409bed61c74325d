"""A small provider standing in for OpenAI and Anthropic (tests and benchmarks).

It speaks Chat Completions, the Responses API and embeddings (under /v1) and Anthropic's
Messages API (/v1/messages), each streamed and not. It records every request (body, headers,
path) and the exact bytes it answered, and answers from a script: a queue of canned replies,
else a fixed text. A reply can be an error with the provider's own body and headers, or a
stream the provider cuts (`cut="eof"`: ends cleanly but early; `cut="drop"`: the connection
is aborted). It runs for real on a loopback port, so the proxy's whole HTTP path (litellm,
aiohttp, SSE) is exercised.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


@dataclass
class Reply:
    content: str | None = "Hello from the fake upstream."
    tool_calls: list[dict[str, Any]] | None = None
    status: int = 200
    error: str | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)  # sent with the answer
    error_type: str = "invalid_request_error"
    error_code: str | None = None
    cut: str | None = None  # a stream ended early: "eof" (cleanly) or "drop" (aborted)


RESPONSE_HEADERS = {
    "x-request-id": "req_fake",
    "openai-processing-ms": "3",
    "x-ratelimit-remaining-requests": "99",
    "x-fake-internal": "not for clients",  # outside the allow-list: never passed on
}


@dataclass
class FakeUpstream:
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    sent: list[bytes | bytearray] = field(default_factory=list)  # each body, exactly as sent
    replies: deque[Reply] = field(default_factory=deque)
    extraction_replies: deque[str] = field(default_factory=deque)
    stream_chunks: int = 3
    cancelled: int = 0
    stream_closed_early: int = 0
    # Answers given in turn when no reply is queued (benchmarks: replies as long as real
    # ones, each different, so that nothing downstream caches them); empty: Reply()'s.
    answers: list[str] = field(default_factory=list)
    answered: int = 0

    def default_reply(self) -> Reply:
        if not self.answers:
            return Reply()
        self.answered += 1
        text = self.answers[self.answered % len(self.answers)]
        return Reply(content=f"{text}\n\n(Answer {self.answered}.)")

    def reset(self) -> None:
        self.requests.clear()
        self.headers.clear()
        self.paths.clear()
        self.sent.clear()
        self.replies.clear()
        self.extraction_replies.clear()
        self.cancelled = 0
        self.stream_closed_early = 0

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        return [
            r
            for r, p in zip(self.requests, self.paths, strict=False)
            if p.endswith("/chat/completions") and not _is_extraction(r)
        ]

    def requests_to(self, suffix: str) -> list[dict[str, Any]]:
        return [r for r, p in zip(self.requests, self.paths, strict=False) if p.endswith(suffix)]

    @property
    def extraction_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if _is_extraction(r)]


def _is_extraction(body: dict[str, Any]) -> bool:
    messages = body.get("messages") or []
    first = messages[0].get("content") if messages else ""
    return isinstance(first, str) and "You maintain a model of ONE user" in first


def _completion(body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    n = body.get("n") or 1
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.tool_calls:
        message = {"role": "assistant", "content": None, "tool_calls": reply.tool_calls}
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1700000000,
        "model": body.get("model", "fake"),
        "choices": [
            {
                "index": i,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if reply.tool_calls else "stop",
            }
            for i in range(n)
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def _chunk(body: dict[str, Any], delta: dict[str, Any], finish: str | None) -> bytes:
    data = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(data).encode() + b"\n\n"


def _sse(name: str | None, data: Any) -> bytes:
    head = f"event: {name}\n".encode() if name else b""
    return (
        head
        + b"data: "
        + (data if isinstance(data, bytes) else json.dumps(data).encode())
        + b"\n\n"
    )


def _response_object(body: dict[str, Any], status: str, text: str | None) -> dict[str, Any]:
    output = []
    if text is not None:
        output = [
            {
                "type": "message",
                "id": "msg_fake",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        ]
    return {
        "id": "resp_fake",
        "object": "response",
        "created_at": 1700000000,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "model": body.get("model", "fake"),
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": body.get("previous_response_id"),
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": 10,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 5,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 15,
        },
    }


def _pieces(text: str, n: int) -> list[str]:
    words = text.split(" ")
    per = max(1, len(words) // max(1, n))
    return [
        (" " if start else "") + " ".join(words[start : start + per])
        for start in range(0, len(words), per)
    ]


def _chat_events(body: dict[str, Any], reply: Reply, n: int) -> list[bytes]:
    events = [_chunk(body, {"role": "assistant", "content": ""}, None)]
    events += [_chunk(body, {"content": p}, None) for p in _pieces(reply.content or "", n)]
    events.append(_chunk(body, {}, "stop"))
    if (body.get("stream_options") or {}).get("include_usage"):
        usage = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": body.get("model"),
            "choices": [],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
        events.append(b"data: " + json.dumps(usage).encode() + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    return events


def _responses_events(body: dict[str, Any], reply: Reply, n: int) -> list[bytes]:
    text = reply.content or ""
    kinds: list[tuple[str, dict[str, Any]]] = [
        ("response.created", {"response": _response_object(body, "in_progress", None)}),
        ("response.in_progress", {"response": _response_object(body, "in_progress", None)}),
    ]
    kinds += [
        (
            "response.output_text.delta",
            {"item_id": "msg_fake", "output_index": 0, "content_index": 0, "delta": p},
        )
        for p in _pieces(text, n)
    ]
    kinds += [
        (
            "response.output_text.done",
            {"item_id": "msg_fake", "output_index": 0, "content_index": 0, "text": text},
        ),
        ("response.completed", {"response": _response_object(body, "completed", text)}),
    ]
    return [
        _sse(kind, {"type": kind, **fields, "sequence_number": i})
        for i, (kind, fields) in enumerate(kinds)
    ]


def _message(body: dict[str, Any], text: str) -> dict[str, Any]:
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "fake"),
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }


def _messages_events(body: dict[str, Any], reply: Reply, n: int) -> list[bytes]:
    start = {**_message(body, ""), "content": [], "stop_reason": None}
    events = [
        _sse("message_start", {"type": "message_start", "message": start}),
        _sse(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        _sse("ping", {"type": "ping"}),
    ]
    events += [
        _sse(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}},
        )
        for p in _pieces(reply.content or "", n)
    ]
    return [
        *events,
        _sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        _sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 5},
            },
        ),
        _sse("message_stop", {"type": "message_stop"}),
    ]


def _vector(text: str) -> list[float]:
    return [((sum(text.encode()) * (k + 3)) % 256 - 128) / 128 for k in range(8)]


def build_app(fake: FakeUpstream) -> Starlette:
    def error(reply: Reply, anthropic: bool) -> Response:
        message = reply.error or "upstream says no"
        if anthropic:
            body: dict[str, Any] = {
                "type": "error",
                "error": {"type": reply.error_type, "message": message},
            }
        else:
            body = {
                "error": {
                    "message": message,
                    "type": reply.error_type,
                    "param": None,
                    "code": reply.error_code,
                }
            }
        raw = json.dumps(body).encode()
        fake.sent.append(raw)
        return Response(
            raw, reply.status, {**RESPONSE_HEADERS, **reply.headers}, media_type="application/json"
        )

    def stream(request: Request, reply: Reply, events: list[bytes]) -> Response:
        sent = bytearray()  # grows as the events are written
        fake.sent.append(sent)
        if reply.cut:
            events = events[: max(2, len(events) // 2)]

        async def body() -> Any:
            finished = False
            try:
                for event in events:
                    if reply.chunk_delay:
                        await asyncio.sleep(reply.chunk_delay)
                    sent.extend(event)
                    yield event
                if reply.cut == "drop":
                    await asyncio.sleep(0.05)
                    raise ConnectionAbortedError("the fake provider drops the connection")
                finished = True
            finally:
                if not finished and reply.cut != "drop":
                    fake.stream_closed_early += 1

        return StreamingResponse(
            body(), media_type="text/event-stream", headers={**RESPONSE_HEADERS, **reply.headers}
        )

    async def answer(request: Request) -> Response:
        body = await request.json()
        path = request.url.path
        fake.requests.append(body)
        fake.headers.append(dict(request.headers))
        fake.paths.append(path)
        if path.endswith("/chat/completions") and _is_extraction(body):
            text = fake.extraction_replies.popleft() if fake.extraction_replies else '{"ops": []}'
            return JSONResponse(_completion(body, Reply(content=text)))
        reply = fake.replies.popleft() if fake.replies else fake.default_reply()
        if reply.delay:
            await asyncio.sleep(reply.delay)
        anthropic = path.endswith("/messages")
        if reply.status != 200:
            return error(reply, anthropic)
        if path.endswith("/embeddings"):
            given = body.get("input")
            texts = [given] if isinstance(given, str) else list(given or [])
            document: dict[str, Any] = {
                "object": "list",
                "data": [
                    {"object": "embedding", "index": i, "embedding": _vector(str(t))}
                    for i, t in enumerate(texts)
                ],
                "model": body.get("model"),
                "usage": {"prompt_tokens": 4, "total_tokens": 4},
            }
        elif not body.get("stream"):
            if anthropic:
                document = _message(body, reply.content or "")
            elif path.endswith("/responses"):
                document = _response_object(body, "completed", reply.content or "")
            else:
                document = _completion(body, reply)
        else:
            make = (
                _messages_events
                if anthropic
                else _responses_events
                if path.endswith("/responses")
                else _chat_events
            )
            return stream(request, reply, make(body, reply, fake.stream_chunks))
        raw = json.dumps(document).encode()
        fake.sent.append(raw)
        return Response(
            raw, 200, {**RESPONSE_HEADERS, **reply.headers}, media_type="application/json"
        )

    async def models(_: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": "fake", "object": "model"}]})

    paths = ("/v1/chat/completions", "/v1/responses", "/v1/embeddings", "/v1/messages")
    return Starlette(
        routes=[*(Route(p, answer, methods=["POST"]) for p in paths), Route("/v1/models", models)]
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerThread:
    """Run an ASGI app with uvicorn on a loopback port in a background thread."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
