"""A small OpenAI-compatible server standing in for the provider (tests and benchmarks).

It records every request and answers from a script: a queue of canned replies,
else an echo. It runs for real on a loopback port, so the proxy's whole HTTP
path (litellm, httpx, SSE) is exercised.
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


@dataclass
class FakeUpstream:
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    replies: deque[Reply] = field(default_factory=deque)
    extraction_replies: deque[str] = field(default_factory=deque)
    stream_chunks: int = 3
    cancelled: int = 0
    stream_closed_early: int = 0

    def reset(self) -> None:
        self.requests.clear()
        self.headers.clear()
        self.replies.clear()
        self.extraction_replies.clear()
        self.cancelled = 0
        self.stream_closed_early = 0

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if not _is_extraction(r)]

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


def build_app(fake: FakeUpstream) -> Starlette:
    async def chat(request: Request) -> Response:
        body = await request.json()
        fake.requests.append(body)
        fake.headers.append(dict(request.headers))
        if _is_extraction(body):
            text = fake.extraction_replies.popleft() if fake.extraction_replies else '{"ops": []}'
            return JSONResponse(_completion(body, Reply(content=text)))
        reply = fake.replies.popleft() if fake.replies else Reply()
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.status != 200:
            return JSONResponse(
                {
                    "error": {
                        "message": reply.error or "upstream says no",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": None,
                    }
                },
                status_code=reply.status,
            )
        if not body.get("stream"):
            return JSONResponse(_completion(body, reply))

        async def events() -> Any:
            finished = False
            try:
                yield _chunk(body, {"role": "assistant", "content": ""}, None)
                words = (reply.content or "").split(" ")
                per = max(1, len(words) // fake.stream_chunks)
                for start in range(0, len(words), per):
                    if reply.chunk_delay:
                        await asyncio.sleep(reply.chunk_delay)
                    piece = " ".join(words[start : start + per])
                    yield _chunk(body, {"content": piece if start == 0 else " " + piece}, None)
                yield _chunk(body, {}, "stop")
                if (body.get("stream_options") or {}).get("include_usage"):
                    usage = {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion.chunk",
                        "created": 1700000000,
                        "model": body.get("model"),
                        "choices": [],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                    }
                    yield b"data: " + json.dumps(usage).encode() + b"\n\n"
                yield b"data: [DONE]\n\n"
                finished = True
            finally:
                if not finished:
                    fake.stream_closed_early += 1

        return StreamingResponse(events(), media_type="text/event-stream")

    async def models(_: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": "fake", "object": "model"}]})

    return Starlette(
        routes=[Route("/v1/chat/completions", chat, methods=["POST"]), Route("/v1/models", models)]
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
