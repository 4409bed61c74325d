"""Where an injected request's CPU goes: the memory steps of the request path, one by one.

`benchmarks/overhead.py` measures the whole proxy from outside; this script runs the same
realistic requests (a system prompt, an earlier exchange, an unseen question; 30 users x 100
beliefs, the store `overhead.py` caches) through the facade's steps in one process, tuned as
`selfmodel serve` tunes itself (one BLAS thread, the short GIL switch interval), and prints,
per step, the CPU it took (all threads of the process: the steps run in worker threads) and
its wall time:

- prepare: the bookkeeping worked out from the messages (the gate, the redactions), which the
  pipeline runs beside the plan;
- plan: retrieval (the question's embedding, scoring, the cut) and the render;
- record: the audit row and, for a kept turn, the queued turn, durable;
- embed alone: the question's embedding with the local model (no cache), inside `plan`.

CPU is the figure a shared machine blurs least; wall times here are the steps alone, without
the HTTP server, the thread hops or the provider.

Run from the repo root:
    python benchmarks/request_cpu.py                 # 600 requests, learning on
    python benchmarks/request_cpu.py --requests 300 --learning off
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from threadpoolctl import threadpool_limits  # noqa: E402

from benchmarks import overhead  # noqa: E402
from benchmarks._common import load_note  # noqa: E402
from memory.index.embed import LocalEmbedder  # noqa: E402
from memory.inject.query import query_texts  # noqa: E402
from memory.learn.turns import Turn  # noqa: E402
from memory.ledger.audit import AuditRecord, last_user_text  # noqa: E402
from memory.offline import configure_offline  # noqa: E402
from memory.selfmodel import SelfModel  # noqa: E402
from proxy.cli import GIL_SWITCH_SECONDS  # noqa: E402
from proxy.config import load_config  # noqa: E402

T = TypeVar("T")
WARM_REQUESTS = 60


class Steps:
    """CPU and wall seconds per named step."""

    def __init__(self) -> None:
        self.cpu: dict[str, list[float]] = {}
        self.wall: dict[str, list[float]] = {}

    async def timed(self, name: str, step: Callable[[], Awaitable[T]]) -> T:
        cpu, wall = time.process_time(), time.perf_counter()
        result = await step()
        self.cpu.setdefault(name, []).append(time.process_time() - cpu)
        self.wall.setdefault(name, []).append(time.perf_counter() - wall)
        return result

    def table(self) -> str:
        lines = [f"{'step':14s} {'CPU mean':>9s} {'CPU p50':>8s} {'wall p50':>9s}  (ms)"]
        for name, cpu in self.cpu.items():
            wall = self.wall[name]
            lines.append(
                f"{name:14s} {1000 * statistics.mean(cpu):9.2f} "
                f"{1000 * statistics.median(cpu):8.2f} {1000 * statistics.median(wall):9.2f}"
            )
        return "\n".join(lines)


def reply_of(body: dict[str, Any]) -> str:
    """A realistic reply: the earlier exchange's answer (~1,300 characters), which a kept turn
    redacts when it is queued (unless its extractor never reads it)."""
    answers = [m["content"] for m in body["messages"] if m.get("role") == "assistant"]
    return answers[-1] if answers else "Here are a few ideas, with a short note on each."


async def one_request(
    memory: SelfModel,
    body: dict[str, Any],
    learns: bool,
    steps: Steps | None,
    inline: bool = False,
) -> None:
    """A request's memory steps in the pipeline's order (prepare then plan, then record);
    `inline` as the pipeline runs a request alone in the process."""
    measured = steps or Steps()
    messages, user = body["messages"], body["user"]
    prepared = await measured.timed("prepare", lambda: memory.prepare(messages, learns))
    injection = await measured.timed(
        "plan",
        lambda: memory.plan(
            tenant=overhead.TENANT,
            user=user,
            model=overhead.MODEL,
            messages=messages,
            headers={},
            inline=inline,
        ),
    )
    request_id = uuid.uuid4().hex
    record = AuditRecord.from_injection(
        injection,
        request_id=request_id,
        tenant=overhead.TENANT,
        user=user,
        model=overhead.MODEL,
        status=200,
        error=None,
        upstream_ms=1.0,
        stream=False,
        user_message=last_user_text(messages),
        reply=reply_of(body),
    )
    turn = None
    if learns:
        turn = Turn(
            request_id=request_id,
            tenant=overhead.TENANT,
            user=user,
            model=overhead.MODEL,
            messages=messages,
            reply=reply_of(body),
            injected_ids=[b.id for b in injection.beliefs],
        )
    await measured.timed("record", lambda: memory.record(record, turn, prepared, inline=inline))


def embed_alone(bodies: Sequence[dict[str, Any]]) -> tuple[float, float]:
    """CPU mean and p50 (seconds) of embedding each question afresh."""
    embedder = LocalEmbedder(cache_size=0)
    spent = []
    for body in bodies:
        texts = query_texts(body["messages"])
        cpu = time.process_time()
        embedder.embed(texts)
        spent.append(time.process_time() - cpu)
    return statistics.mean(spent), statistics.median(spent)


async def run(args: argparse.Namespace) -> None:
    pool = overhead.load_pool()
    store = overhead.ensure_store(args.users, args.beliefs, pool)
    with tempfile.TemporaryDirectory(prefix="selfmodel-request-cpu-") as tmp:
        work = Path(tmp)
        shutil.copytree(store, work / "store")
        config_path = overhead.selfmodel_config(
            work / "config.yaml", work / "store", "http://127.0.0.1:9/v1", args.learning
        )
        config = load_config(config_path).memory
        users = [overhead.user_id(i) for i in range(args.users)]
        shape = pool.shape(users=users)
        memory = SelfModel(config)
        await memory.start(workers=False)  # learning itself is not on the request path
        try:
            learns = args.learning != "off"
            for i in range(WARM_REQUESTS):
                await one_request(memory, shape(i), learns, None)
            steps = Steps()
            gated_before = memory.stats.get("gate_skipped", 0)
            bodies = [shape(i) for i in range(10_000, 10_000 + args.requests)]
            for body in bodies:
                await one_request(memory, body, learns, steps)
            gated = memory.stats.get("gate_skipped", 0) - gated_before
        finally:
            await memory.stop()
        mean, median = embed_alone(bodies[: min(300, len(bodies))])
    print(
        f"\n{args.requests} requests, {args.users} users x {args.beliefs} beliefs, "
        f"learning {'off' if args.learning == 'off' else 'on'} ({gated} turns gated out)"
    )
    print(steps.table())
    print(f"{'embed alone':14s} {1000 * mean:9.2f} {1000 * median:8.2f}")
    print(load_note())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--beliefs", type=int, default=100)
    parser.add_argument("--learning", choices=("on", "off"), default="on")
    args = parser.parse_args(argv)
    args.learning = "worker" if args.learning == "on" else "off"
    configure_offline()
    threadpool_limits(1, user_api="blas")  # as `selfmodel serve` (proxy/app.py)
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
