"""`selfmodel serve`'s learning, in a `selfmodel worker` child process it starts and watches.

Learning in the proxy's own interpreter competes with the requests for the GIL: a learning
step that holds it while a request is planned adds its time to that request, and with a fast
provider the step of one turn runs into the next request (added latency p50 +8.3 to +9.2 ms
against +6.3 to +7.7 with learning in a worker process, `benchmarks/overhead.py`). So by
default (`extraction.learner: process`) `serve` only enqueues, as with `extraction.workers:
0`, and runs one child `selfmodel worker` on the same config with `extraction.workers`
consumers. The child is restarted when it dies (after a pause that grows while it keeps
dying), stopped with the proxy, and stops by itself when the proxy dies without stopping it:
a worker killed at any moment loses and repeats nothing (memory/ledger/outbox.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time

__all__ = ["Learner", "watch_parent"]

log = logging.getLogger("selfmodel.learner")

# Pauses before restarting a child that died, growing while it keeps dying soon after start.
RESTART_PAUSES = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
# A child that ran this long before dying was healthy: the next restart starts over.
HEALTHY_SECONDS = 60.0
STOP_SECONDS = 10.0
PARENT_POLL_SECONDS = 1.0
_PR_SET_PDEATHSIG = 1


class Learner:
    """One supervised `selfmodel worker` child. Used on the proxy's event loop."""

    def __init__(self, config_source: str | None, consumers: int) -> None:
        self.config_source = config_source
        self.consumers = consumers
        self.restarts = 0
        self._process: asyncio.subprocess.Process | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def argv(self) -> list[str]:
        argv = [sys.executable, "-c", "from proxy.cli import main; main()", "worker"]
        if self.config_source is not None:
            argv += ["--config", self.config_source]
        return [*argv, "--concurrency", str(self.consumers), "--parent", str(os.getpid())]

    async def start(self) -> None:
        await self._spawn()
        self._watcher = asyncio.create_task(self._watch(), name="selfmodel-learner")

    async def _spawn(self) -> None:
        # Its own session: a Ctrl-C in the terminal reaches the proxy, which stops the child,
        # instead of both at once (and the watcher restarting a child the user meant to stop).
        self._process = await asyncio.create_subprocess_exec(
            *self.argv(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
        log.info("learning in process %d (%d consumer(s))", self._process.pid, self.consumers)

    async def _watch(self) -> None:
        failures = 0
        while not self._stopping:
            assert self._process is not None
            started = time.monotonic()
            code = await self._process.wait()
            if self._stopping:
                return
            failures = 0 if time.monotonic() - started > HEALTHY_SECONDS else failures + 1
            pause = RESTART_PAUSES[min(failures, len(RESTART_PAUSES)) - 1] if failures else 0.0
            log.error(
                "the learning process %d exited (code %s); restarting it in %.1f s: turns wait "
                "in the outbox meanwhile, none is lost",
                self._process.pid,
                code,
                pause,
            )
            await asyncio.sleep(pause)
            if self._stopping:
                return
            self.restarts += 1
            with contextlib.suppress(OSError):
                await self._spawn()

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL after STOP_SECONDS; waits until the child is gone."""
        self._stopping = True
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        process = self._process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), STOP_SECONDS)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


def watch_parent(parent: int, stop: asyncio.Event) -> asyncio.Task[None]:
    """In the child: set `stop` once the proxy that started it is gone.

    On Linux the kernel sends SIGTERM when the parent dies (the worker's handler sets `stop`);
    elsewhere, and for a parent gone before that was set up, the parent id is polled."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    async def poll() -> None:
        while not stop.is_set():
            if os.getppid() != parent:
                log.warning("the proxy (process %d) is gone: stopping", parent)
                stop.set()
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), PARENT_POLL_SECONDS)

    return asyncio.create_task(poll(), name="selfmodel-parent-watch")
