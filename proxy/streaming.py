"""Relaying a provider stream to the client as Server-Sent Events.

The provider's bytes are written as they arrive, never buffered or re-encoded; on the side they
are split into SSE events for the API's `StreamReader` (the reply text, whether the stream
finished). A stream the provider ends before it is complete (no `[DONE]` or finish reason, no
`response.completed`, no `message_stop`) or whose connection drops stays cut: the client gets
one error event in the API's own shape, and the outcome carries the error, so the call is
audited as failed and not learned from. When the client goes away, Starlette cancels this
generator, whose `finally` closes the upstream call and still runs the completion hook.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import anyio

from proxy.direct import RawStream
from proxy.errors import SelfmodelError, UpstreamError

log = logging.getLogger("selfmodel.streaming")

DONE = b"data: [DONE]\n\n"
# One SSE event: its `event:` name (None when it has none) and its data, parsed when JSON.
Event = tuple[str | None, Any]


class StreamReader(Protocol):
    """What an API adapter reads from the events of its stream."""

    finished: bool  # the provider ended the answer properly
    failure: str | None  # the provider reported an error in-band (passed on as it sent it)

    def add(self, name: str | None, data: Any) -> None: ...

    @property
    def text(self) -> str: ...

    def error_frame(self, error: SelfmodelError) -> bytes:
        """The API's own error event, for a failure the provider did not report itself."""
        ...


def sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


def _parse(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", "replace")


class SSEParser:
    """Splits a byte stream into complete SSE events, however the bytes were chunked.

    By hand: aiohttp's own line reader refuses lines over 512 KiB, and one SSE event (a large
    tool-call argument, a whole answer from a provider that does not really stream) can be
    longer than that.
    """

    def __init__(self) -> None:
        self._parts: list[bytes] = []  # of a line not finished yet; joined once, when it is
        self._name: str | None = None
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[Event]:
        events: list[Event] = []
        *complete, rest = chunk.split(b"\n")
        for piece in complete:
            if self._parts:
                piece = b"".join([*self._parts, piece])
                self._parts.clear()
            self._line(piece.rstrip(b"\r"), events)
        if rest:
            self._parts.append(rest)
        return events

    def _line(self, line: bytes, events: list[Event]) -> None:
        if not line:
            if self._data:
                events.append((self._name, _parse(b"\n".join(self._data))))
                self._data = []
            self._name = None
        elif line.startswith(b"data:"):
            value = line[5:]
            self._data.append(value[1:] if value.startswith(b" ") else value)
        elif line.startswith(b"event:"):
            self._name = line[6:].strip().decode("utf-8", "replace")
        # `:` keep-alive comments, `id:` and `retry:` fields carry nothing we read.


@dataclass
class StreamOutcome:
    """What the stream produced, handed to the completion hook."""

    reader: StreamReader
    disconnected: bool = False
    error: SelfmodelError | None = None

    @property
    def text(self) -> str:
        return self.reader.text

    @property
    def finished(self) -> bool:
        return self.reader.finished and self.error is None

    @property
    def status(self) -> int:
        if self.error is not None:
            return self.error.status
        return 499 if self.disconnected else 200


def stream_cut() -> UpstreamError:
    return UpstreamError(
        "the provider ended the stream before the answer was complete",
        status=502,
        code="upstream_stream_cut",
    )


async def relay(
    stream: RawStream,
    reader: StreamReader,
    on_complete: Callable[[StreamOutcome], Awaitable[None]],
) -> AsyncIterator[bytes]:
    outcome = StreamOutcome(reader)
    parser = SSEParser()
    completed = False

    async def complete() -> None:
        nonlocal completed
        if completed:
            return
        completed = True
        await complete()

    try:
        async for chunk in stream.chunks:
            for name, data in parser.feed(chunk):
                reader.add(name, data)
            if reader.finished and reader.failure is None:
                # Recorded before the client reads the end of the answer, so a finished
                # stream is audited even if the process dies right after.
                await complete()
            yield chunk
        if reader.failure is not None:
            # Already on the wire as the provider sent it: only the outcome needs it.
            outcome.error = UpstreamError(
                f"upstream failed mid-stream: {reader.failure}", code="upstream_error"
            )
        elif not reader.finished:
            raise stream_cut()
    except SelfmodelError as exc:
        # Headers are gone already: report the failure in-band, the way the API does.
        outcome.error = exc
        yield reader.error_frame(exc)
    except BaseException:
        outcome.disconnected = True
        raise
    finally:
        close = getattr(stream.chunks, "aclose", None)
        if close is not None:
            try:
                with anyio.CancelScope(shield=True):
                    await close()
            except Exception:  # noqa: BLE001 - the client is gone; nothing to report to
                log.debug("closing upstream stream failed", exc_info=True)
        # A disconnect cancels this scope; shield the hook so the turn is still recorded.
        with anyio.CancelScope(shield=True):
            try:
                await on_complete(outcome)
            except Exception:  # noqa: BLE001 - a hook failure must not break the relay
                log.exception("stream completion hook failed")
