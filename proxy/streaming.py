"""Relaying a provider stream to the client as Server-Sent Events.

Chunks are written as they arrive, never buffered. When the client goes away,
Starlette cancels this generator, whose `finally` closes the upstream call and
still runs the completion hook so the turn is not lost.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio

from proxy.errors import SelfmodelError

log = logging.getLogger("selfmodel.streaming")

DONE = b"data: [DONE]\n\n"


@dataclass
class StreamOutcome:
    """What the stream produced, handed to the completion hook."""

    text_by_choice: dict[int, list[str]] = field(default_factory=dict)
    finished: bool = False
    disconnected: bool = False
    error: SelfmodelError | None = None
    usage: dict[str, Any] | None = None

    def add(self, chunk: dict[str, Any]) -> None:
        for choice in chunk.get("choices") or []:
            content = (choice.get("delta") or {}).get("content")
            if content:
                self.text_by_choice.setdefault(choice.get("index", 0), []).append(content)
        if chunk.get("usage"):
            self.usage = chunk["usage"]

    @property
    def text(self) -> str:
        return "".join(self.text_by_choice.get(0, []))


def sse(data: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


async def relay(
    chunks: AsyncIterator[dict[str, Any]],
    on_complete: Callable[[StreamOutcome], Awaitable[None]],
) -> AsyncIterator[bytes]:
    outcome = StreamOutcome()
    try:
        async for chunk in chunks:
            outcome.add(chunk)
            yield sse(chunk)
        outcome.finished = True
        yield DONE
    except SelfmodelError as exc:
        # Headers are gone already: report the failure the way OpenAI does, in-band.
        outcome.error = exc
        yield sse(exc.body())
        yield DONE
    except BaseException:
        outcome.disconnected = True
        raise
    finally:
        close = getattr(chunks, "aclose", None)
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
