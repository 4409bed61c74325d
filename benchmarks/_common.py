"""Benchmark helpers: child processes on loopback, a bounded HTTP load generator, percentiles.

Everything here talks to 127.0.0.1 only. Child processes run in their own session so that
stopping one stops exactly the process group we started, and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

HOST = "127.0.0.1"
REQUEST_TIMEOUT = 30.0
REPO = Path(__file__).resolve().parents[1]


def begin() -> None:
    """What a benchmark's run does first: a plain `kill` of it still runs the `finally` blocks
    that stop its children, and the report opens with the command line."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"$ {' '.join([Path(sys.executable).name, *sys.argv])}")


def load_note() -> str:
    """The machine's load: shared cores inflate every figure, so each report states it."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# -- child processes ----------------------------------------------------------------------------


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class Children:
    """The processes this benchmark started; `stop_all` (also on exit) ends each one by id."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: list[Child] = []

    def start(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Child:
        log = self.log_dir / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                list(argv),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=cwd,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )
        child = Child(name, proc, log)
        self.children.append(child)
        return child

    def stop(self, child: Child, grace: float = 10.0) -> None:
        if child.proc.poll() is None:
            # Its own session: the group id is its pid, so this reaches only what it spawned.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.proc.pid, signal.SIGTERM)
            try:
                child.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.proc.pid, signal.SIGKILL)
                child.proc.wait(timeout=grace)
        if child in self.children:
            self.children.remove(child)

    def stop_all(self) -> None:
        for child in list(reversed(self.children)):
            with contextlib.suppress(Exception):
                self.stop(child)

    def __enter__(self) -> Children:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop_all()


def wait_ready(
    child: Child, url: str, timeout: float, headers: Mapping[str, str] | None = None
) -> float:
    """Poll `url` until it answers below 500; returns the seconds it took."""
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        if child.proc.poll() is not None:
            raise RuntimeError(f"{child.name} exited with {child.proc.returncode}:\n{child.tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, headers=dict(headers or {}), timeout=2).status_code < 500:
                return time.monotonic() - started
        time.sleep(0.25)
    raise RuntimeError(f"{child.name} not ready after {timeout:.0f} s:\n{child.tail()}")


# -- the fake upstream --------------------------------------------------------------------------


def serve_fake(port: int, answers: Sequence[str] = ()) -> None:
    """tests/fake_upstream.py on loopback: the child a benchmark starts as `--serve-fake PORT`;
    `answers`, when given, are its replies in turn (each made unique)."""
    import uvicorn

    from tests.fake_upstream import FakeUpstream, build_app

    fake = FakeUpstream(answers=list(answers))
    uvicorn.run(build_app(fake), host=HOST, port=port, log_level="warning", access_log=False)


def start_fake_upstream(
    kids: Children, script: str, name: str, timeout: float, extra: Sequence[str] = ()
) -> str:
    """`script --serve-fake PORT [extra...]` as a child named `name`; its base URL once it
    answers."""
    port = free_port()
    argv = [sys.executable, script, "--serve-fake", str(port), *extra]
    fake = kids.start(name, argv, cwd=REPO)
    wait_ready(fake, f"http://{HOST}:{port}/v1/models", timeout)
    return f"http://{HOST}:{port}/v1"


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo and len(found) < 256:
        current = todo.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(p) for p in (task / "children").read_text().split()]
    return found


def learner_of(pid: int) -> int | None:
    """The learning process `selfmodel serve` started (`extraction.learner: process`)."""
    for each in _descendants(pid)[1:]:
        with contextlib.suppress(OSError):
            argv = Path(f"/proc/{each}/cmdline").read_bytes().split(b"\0")
            if b"worker" in argv and b"--parent" in argv:
                return each
    return None


def cpu_seconds(pid: int, without: int | None = None) -> float:
    """User + system CPU time of a process and its descendants, all threads included, but
    for the descendant `without` and its own."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    skipped = set(_descendants(without)) if without is not None else set()
    for each in _descendants(pid):
        if each in skipped:
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def rss_mb(pid: int, without: int | None = None) -> float | None:
    """VmRSS of a process plus its descendants (a CLI may run the server in a child), but for
    the descendant `without` and its own."""
    total_kb = 0
    skipped = set(_descendants(without)) if without is not None else set()
    for each in _descendants(pid):
        if each in skipped:
            continue
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
    return total_kb / 1024 if total_kb else None


# -- load ---------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: with 300 samples p99 is the 297th)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Stats:
    label: str
    concurrency: int
    latencies: list[float] = field(default_factory=list)  # seconds (TTFB when streaming)
    errors: int = 0
    elapsed: float = 0.0
    injected: list[int] = field(default_factory=list)
    first_error: str | None = None

    @property
    def ok(self) -> int:
        return len(self.latencies)

    def p(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000

    @property
    def rps(self) -> float:
        return self.ok / self.elapsed if self.elapsed > 0 else math.nan

    @property
    def injected_avg(self) -> float:
        return sum(self.injected) / len(self.injected) if self.injected else math.nan

    def line(self) -> str:
        errors = f", {self.errors} errors ({self.first_error})" if self.errors else ""
        return (
            f"{self.label:<34} c={self.concurrency:<3} n={self.ok:<5} "
            f"p50={self.p(50):7.2f} ms  p99={self.p(99):7.2f} ms  {self.rps:7.1f} req/s"
            f"{errors}"
        )


Body = Callable[[int], dict[str, Any]]


async def _one(
    client: httpx.AsyncClient, url: str, body: dict[str, Any], stream: bool, stats: Stats
) -> None:
    started = time.perf_counter()
    try:
        if stream:
            async with client.stream("POST", url, json=body) as response:
                first = None
                async for line in response.aiter_lines():
                    if first is None and line.startswith("data:"):
                        first = time.perf_counter() - started
                if response.status_code != 200 or first is None:
                    raise RuntimeError(f"HTTP {response.status_code}, no data chunk")
                latency = first
        else:
            response = await client.post(url, json=body)
            if response.status_code != 200:
                raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
            latency = time.perf_counter() - started
    except Exception as exc:  # noqa: BLE001 - counted and reported, the run goes on
        stats.errors += 1
        stats.first_error = stats.first_error or f"{type(exc).__name__}: {exc}"[:200]
        return
    stats.latencies.append(latency)
    injected = response.headers.get("x-selfmodel-injected")
    if injected is not None:
        stats.injected.append(int(injected))


async def run_load(
    label: str,
    url: str,
    body: Body,
    n: int,
    concurrency: int,
    headers: Mapping[str, str] | None = None,
    stream: bool = False,
    start: int = 0,
) -> Stats:
    """Send exactly `n` requests (body(start + i)) with `concurrency` in flight; bounded."""
    stats = Stats(label, concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    timeout = httpx.Timeout(REQUEST_TIMEOUT)
    async with httpx.AsyncClient(
        limits=limits, timeout=timeout, headers=dict(headers or {})
    ) as client:
        counter = iter(range(start, start + n))

        async def worker() -> None:
            for i in counter:  # a shared iterator: each index is sent once
                await _one(client, url, body(i), stream, stats)

        began = time.perf_counter()
        await asyncio.wait_for(
            asyncio.gather(*(worker() for _ in range(concurrency))),
            timeout=REQUEST_TIMEOUT * (n / concurrency + 2),
        )
        stats.elapsed = time.perf_counter() - began
    return stats


@contextlib.contextmanager
def timed(what: str) -> Iterator[None]:
    began = time.perf_counter()
    print(f"... {what}", flush=True)
    yield
    print(f"    done in {time.perf_counter() - began:.1f} s", flush=True)
