"""What in-process learning costs per learned turn: the worker's steps, one by one, in CPU.

In the proxy's default deployment (learning in-process) the extraction worker shares the
interpreter and the two cores with the requests, so its CPU per turn is what it takes from
them. This script queues the turns of the realistic requests `request_cpu.py` runs (30 users x
100 beliefs, unseen questions; about one in three passes the gate), then drains the outbox and
prints, per step of `ExtractionWorker._process`, the CPU it took:

- related: the beliefs near the turn (the local extractor reads none: nothing to do);
- extract: the local extractor (sentences, cues, statements, their context);
- apply: the ops checked, linked and written (embeddings, similar beliefs, SQLite);
- refresh: the user's snapshot reloaded for retrieval after a change.

It ends with a digest of every learned belief, so that a change meant to save CPU can show it
learns exactly the same. `--profile FILE` writes a cProfile of the drain.

Run from the repo root:
    python benchmarks/learn_cpu.py
    python benchmarks/learn_cpu.py --requests 300 --profile /tmp/learn.prof
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from threadpoolctl import threadpool_limits  # noqa: E402

from benchmarks import overhead  # noqa: E402
from benchmarks._common import load_note  # noqa: E402
from benchmarks.request_cpu import one_request  # noqa: E402
from memory.offline import configure_offline  # noqa: E402
from memory.selfmodel import SelfModel  # noqa: E402
from proxy.cli import GIL_SWITCH_SECONDS  # noqa: E402
from proxy.config import load_config  # noqa: E402


class Timed:
    """CPU seconds per call of the wrapped callables (sync or async)."""

    def __init__(self) -> None:
        self.cpu: dict[str, list[float]] = {}

    def sync(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.cpu.setdefault(name, []).append(time.process_time() - start)

        return wrapped

    def coro(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        async def wrapped(*args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            try:
                return await fn(*args, **kwargs)
            finally:
                self.cpu.setdefault(name, []).append(time.process_time() - start)

        return wrapped

    def table(self, turns: int) -> str:
        lines = [f"{'step':10s} {'calls':>6s} {'CPU mean':>9s} {'CPU p50':>8s} {'per turn':>9s}"]
        for name, cpu in self.cpu.items():
            lines.append(
                f"{name:10s} {len(cpu):6d} {1000 * statistics.mean(cpu):9.2f} "
                f"{1000 * statistics.median(cpu):8.2f} {1000 * sum(cpu) / max(turns, 1):9.2f}"
            )
        return "\n".join(lines)


def instrument(memory: SelfModel, timed: Timed) -> None:
    worker = memory.worker
    worker._related = timed.sync("related", worker._related)  # type: ignore[method-assign]
    worker._apply = timed.sync("apply", worker._apply)  # type: ignore[method-assign]
    worker.extractor.extract = timed.coro("extract", worker.extractor.extract)  # type: ignore[method-assign]
    if worker.on_applied is not None:
        worker.on_applied = timed.sync("refresh", worker.on_applied)


def digest(memory: SelfModel, users: Sequence[str]) -> tuple[int, str]:
    """How many beliefs are active, and a hash of them all (statement, context, confidence)."""
    rows = []
    for user in users:
        for row in memory.beliefs.active_rows(overhead.TENANT, user):
            rows.append(f"{user}|{row['statement']}|{row['context']}|{row['confidence']:.6f}")
    rows.sort()
    return len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16]


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return f"p50 {1000 * statistics.median(ordered):.2f} / p99 {1000 * p99:.2f} ms"


async def _requests(memory: SelfModel, bodies: list[dict[str, Any]]) -> list[float]:
    """Requests one at a time, as the proxy runs them at c=1 (inline, busy), 1 ms apart."""
    walls = []
    for body in bodies:
        start = time.perf_counter()
        with memory.foreground.busy():
            await one_request(memory, body, False, None, inline=True)
        walls.append(time.perf_counter() - start)
        await asyncio.sleep(0.001)
    return walls


async def alongside(memory: SelfModel, shape: Any, requests: int) -> None:
    """Requests while the worker learns the turns of as many earlier ones, then as many
    requests alone: their memory steps' wall time (the added latency less the HTTP work)."""
    for i in range(20_000, 20_000 + requests):
        await one_request(memory, shape(i), True, None)

    bodies = [shape(i) for i in range(30_000, 30_000 + 2 * requests)]
    cpu = time.process_time()
    learning = asyncio.create_task(memory.worker.drain())
    together = await _requests(memory, bodies[:requests])
    turns = await learning
    cpu_together = time.process_time() - cpu
    cpu = time.process_time()
    alone = await _requests(memory, bodies[requests:])
    cpu_alone = time.process_time() - cpu
    print(f"\nrequests while learning {turns} turns: {_ms(together)}, {cpu_together:.2f} s CPU")
    print(f"requests alone:                     {_ms(alone)}, {cpu_alone:.2f} s CPU")


async def run(args: argparse.Namespace) -> None:
    pool = overhead.load_pool()
    store = overhead.ensure_store(args.users, args.beliefs, pool)
    with tempfile.TemporaryDirectory(prefix="selfmodel-learn-cpu-") as tmp:
        work = Path(tmp)
        shutil.copytree(store, work / "store")
        config_path = overhead.selfmodel_config(
            work / "config.yaml", work / "store", "http://127.0.0.1:9/v1", "in-process"
        )
        memory = SelfModel(load_config(config_path).memory)
        await memory.start(workers=False)
        users = [overhead.user_id(i) for i in range(args.users)]
        try:
            shape = pool.shape(users=users)
            for i in range(10_000, 10_000 + args.requests):
                await one_request(memory, shape(i), True, None)
            if args.alongside:
                await alongside(memory, shape, args.alongside)
            timed = Timed()
            instrument(memory, timed)
            profile = cProfile.Profile() if args.profile else None
            cpu, wall = time.process_time(), time.perf_counter()
            if profile:
                profile.enable()
            turns = await memory.worker.drain()
            if profile:
                profile.disable()
                profile.dump_stats(args.profile)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            sync_cpu = time.process_time()
            synced = await asyncio.to_thread(memory.sync_index)
            sync_cpu = time.process_time() - sync_cpu
            count, hashed = digest(memory, users)
        finally:
            await memory.stop()
    print(f"\n{args.requests} requests, {turns} learned turns, {count} active beliefs ({hashed})")
    print(timed.table(turns))
    print(f"drain: {1000 * cpu / max(turns, 1):.2f} ms CPU per turn ({wall:.1f} s wall)")
    print(f"index sync: {synced} beliefs, {1000 * sync_cpu / max(turns, 1):.2f} ms CPU per turn")
    print(load_note())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--beliefs", type=int, default=100)
    parser.add_argument("--profile", type=Path, default=None)
    parser.add_argument(
        "--alongside", type=int, default=0, help="first, N requests while learning, N alone"
    )
    args = parser.parse_args(argv)
    configure_offline()
    threadpool_limits(1, user_api="blas")  # as `selfmodel serve` (proxy/app.py)
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
