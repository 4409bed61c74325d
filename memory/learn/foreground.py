"""Requests first: in-process learning steps wait for a moment when no request is being
handled, other than waiting for its provider.

Learning in the proxy's own process shares its interpreter with the requests: a learning step
that holds the GIL while a request is planned adds its time to that request's latency. So
between its steps the in-process worker waits until no request is being handled (a request
waiting for its provider does not count), for at most `patience` seconds, so that under
steady load learning still goes on, just later.
Used on the event loop only (no lock needed)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

__all__ = ["Foreground"]

# Long enough to cover a request's planning or recording (a few ms), short enough that a busy
# proxy still learns each turn within a fraction of a second of its reply.
PATIENCE_SECONDS = 0.05


class Foreground:
    def __init__(self, patience: float = PATIENCE_SECONDS) -> None:
        self.patience = patience
        self._busy = 0
        self._quiet = asyncio.Event()
        self._quiet.set()

    @contextlib.contextmanager
    def busy(self) -> Iterator[None]:
        """A request's phase that learning should not compete with."""
        self._enter()
        try:
            yield
        finally:
            self._leave()

    @contextlib.contextmanager
    def idle(self) -> Iterator[None]:
        """Inside `busy`: a wait on something outside the process (the provider's answer),
        which learning may use."""
        self._leave()
        try:
            yield
        finally:
            self._enter()

    def _enter(self) -> None:
        self._busy += 1
        self._quiet.clear()

    def _leave(self) -> None:
        self._busy -= 1
        if not self._busy:
            self._quiet.set()

    async def quiet(self) -> None:
        """Return once no request is busy, or after `patience` seconds."""
        if self._busy:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._quiet.wait(), self.patience)
