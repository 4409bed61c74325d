"""Request id, timing and metrics for every HTTP request (pure ASGI, so streams pass through).

Every response carries the request id, errors included: an exception no handler took is
answered here with a 500 in OpenAI's shape (so the connection stays usable), and a NUL in
the path or query string is refused before any route sees it.
"""

from __future__ import annotations

import json
import logging
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from proxy.metrics import Metrics

REQUEST_ID_HEADER = "x-selfmodel-request-id"
log = logging.getLogger("selfmodel.errors")


def new_request_id() -> str:
    return "req_" + uuid.uuid4().hex


def _error_body(message: str, type_: str, code: str) -> bytes:
    return json.dumps(
        {"error": {"message": message, "type": type_, "param": None, "code": code}}
    ).encode()


def _has_nul(scope: Scope) -> bool:
    raw = bytes(scope.get("raw_path") or b"") + b"?" + bytes(scope.get("query_string") or b"")
    return b"%00" in raw.lower() or b"\x00" in raw or "\x00" in scope.get("path", "")


class ResponseStatus:
    """A `send` that passes every message on and keeps the status of the response it starts:
    500 until one starts, so an app that fails before answering counts as a server error."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.code = 500

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.code = message["status"]
        await self._send(message)


class RequestContext:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        async def answer(code: int, body: bytes) -> None:
            await send_with_id(
                {
                    "type": "http.response.start",
                    "status": code,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send_with_id({"type": "http.response.body", "body": body})

        try:
            if _has_nul(scope):
                await answer(
                    400,
                    _error_body(
                        "the path or query string contains a NUL character",
                        "invalid_request_error",
                        "invalid_text",
                    ),
                )
                return
            await self.app(scope, receive, send_with_id)
        except Exception:  # noqa: BLE001 - answered here so the error carries the request id
            log.exception("unhandled error (request %s)", request_id)
            if response_started:
                raise  # a stream already under way: nothing can be said in-band any more
            await answer(500, _error_body("internal error", "api_error", "internal_error"))
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(path, str(status)).inc()
            self.metrics.latency.labels(path).observe(time.perf_counter() - started)
