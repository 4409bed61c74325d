"""Extraction: background throughput (gate → extract → apply) and response-to-belief lag.

One run prints, side by side for extraction mode `local` and mode `llm` (the LLM being a
fake OpenAI-compatible upstream in a child process that answers with real belief ops):

1. Background throughput: the outbox of a real `SelfModel` (temporary store, the real
   local embedder) is filled with N turns, half unrelated user messages (the eval set's
   distractors) and half stated preferences (PrefEval `preference_turn`) spread over 50
   users; then `worker.drain()` is timed. Reported: turns/s, gate skips, ops applied per
   kind, LLM calls per turn (the bar is at most 1), and where the time goes per stage.
2. End-to-end lag: the real proxy (`selfmodel serve` in a child process, workers on)
   receives chat requests at a modest open-loop rate; for each response the wall-clock
   time it completed is kept, and the lag is measured against the SQLite history row
   written for that request id (`history.at` of its created/reinforced event) and against
   the moment the outbox job finished (after re-embedding, so the belief is injectable).

The fake LLM builds its reply from the local extractor's output for the user text it is
shown (and reinforces by id a related belief with the same statement), so the ops are
non-trivial and the apply path does real work. `--llm-delay` adds model-like latency.

Run from the repo root:
    python benchmarks/extraction.py                  # 1000 turns, 100+100 lag turns
    python benchmarks/extraction.py --quick          # 200 turns, 40+40 lag turns
    python benchmarks/extraction.py --turns 2000 --rate 10 --llm-delay 0.3
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # `benchmarks._common` by path

from benchmarks._common import (  # noqa: E402
    HOST,
    Children,
    free_port,
    load_note,
    percentile,
    timed,
    wait_ready,
)

EVAL_DIR = REPO.parent / "shared" / "eval"
PREFERENCES = EVAL_DIR / "prefeval_explicit_dev.jsonl"
DISTRACTORS = EVAL_DIR / "distractor_messages.json"
MODEL = "gpt-bench"
TENANT = "default"
USERS = 50
SEED = 11
SYSTEM = "You are a helpful assistant."
CHAT_REPLY = "Sure. Here is a short, helpful answer to your question."
EXTRACTION_MARK = "You maintain a model of ONE user"
MODES = ("local", "llm")
OP_KINDS = ("add", "reinforce", "weaken", "revise", "retract")


# -- the turns ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    kind: str  # "preference" | "distractor"
    text: str
    reply: str


def _synthetic_distractors() -> list[Sample]:
    asks = (
        "Write a haiku about",
        "Summarize the history of",
        "Explain how",
        "Translate to French: the weather in",
        "Give me three facts about",
        "Write a SQL query for",
    )
    topics = (
        "the sea",
        "the printing press",
        "TCP handshakes work",
        "Paris in spring",
        "octopuses",
        "monthly revenue per region",
        "black holes",
        "the Roman empire",
    )
    return [Sample("distractor", f"{ask} {topic}.", CHAT_REPLY) for ask in asks for topic in topics]


def load_samples() -> tuple[list[Sample], list[Sample], str]:
    """(preferences, distractors, a note on where they came from)."""
    prefs: dict[str, None] = {}
    if PREFERENCES.is_file():
        for line in PREFERENCES.read_text(encoding="utf-8").splitlines():
            if line.strip():
                prefs[json.loads(line)["preference_turn"]["content"]] = None
    if not prefs:
        raise SystemExit(f"{PREFERENCES} is missing: the preference turns come from it")
    preferences = [Sample("preference", text, CHAT_REPLY) for text in prefs]
    distractors: list[Sample] = []
    if DISTRACTORS.is_file():
        messages = json.loads(DISTRACTORS.read_text(encoding="utf-8"))
        for i, message in enumerate(messages):
            if message.get("role") == "user" and isinstance(message.get("content"), str):
                following = messages[i + 1] if i + 1 < len(messages) else {}
                reply = following.get("content") if following.get("role") == "assistant" else None
                distractors.append(
                    Sample("distractor", message["content"], (reply or CHAT_REPLY)[:4000])
                )
    note = "distractor_messages.json"
    if not distractors:
        distractors, note = _synthetic_distractors(), "synthetic task requests"
    return (
        preferences,
        distractors,
        f"{len(preferences)} PrefEval preferences, {len(distractors)} distractors ({note})",
    )


def mix(
    preferences: Sequence[Sample], distractors: Sequence[Sample], n: int, seed: int
) -> list[Sample]:
    """n turns, half preferences and half distractors, in a shuffled order."""
    rng = random.Random(seed)
    prefs = list(preferences)
    noise = list(distractors)
    rng.shuffle(prefs)
    rng.shuffle(noise)
    half = n // 2
    out = [prefs[i % len(prefs)] for i in range(n - half)]
    out += [noise[i % len(noise)] for i in range(half)]
    rng.shuffle(out)
    return out


def user_of(i: int) -> str:
    return f"bench-u{(i * 7) % USERS:03d}"


# -- the fake LLM (a child process: `--serve-fake PORT [--llm-delay S]`) --------------------------


_CONTEXT_LINE = re.compile(r"^\s+- ([A-Za-z_][\w-]*): (.*)$")
_BELIEF_LINE = re.compile(r"^- (\S+) \[([^\]]+)\]: (\".*\")$")


def parse_extraction_prompt(
    messages: list[dict[str, Any]],
) -> tuple[dict[str, str], list[tuple[str, str, str]], list[str]]:
    """(contexts, related beliefs as (id, context, statement), user texts) from the prompt."""
    system = str(messages[0].get("content") or "")
    user = str(messages[1].get("content") or "") if len(messages) > 1 else ""
    contexts: dict[str, str] = {}
    after = system.split("Use only these contexts:", 1)[-1]
    for line in after.splitlines():
        found = _CONTEXT_LINE.match(line)
        if found:
            contexts[found.group(1)] = found.group(2)
    related: list[tuple[str, str, str]] = []
    texts: list[str] = []
    section = ""
    for line in user.splitlines():
        if line.startswith("Beliefs we hold"):
            section = "beliefs"
        elif line.startswith("The user's turn"):
            section = "turn"
        elif line.startswith("The assistant's reply"):
            break
        elif section == "beliefs" and (found := _BELIEF_LINE.match(line)):
            with contextlib.suppress(json.JSONDecodeError):
                related.append((found.group(1), found.group(2), json.loads(found.group(3))))
        elif section == "turn" and line.startswith('"'):
            with contextlib.suppress(json.JSONDecodeError):
                texts.append(json.loads(line))
    return contexts, related, texts


def fake_ops(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """What a good extraction model would answer: the local extractor's findings as ops."""
    from memory.learn.local import extract_statements

    contexts, related, texts = parse_extraction_prompt(messages)
    known = {" ".join(s.lower().split()): (i, c) for i, c, s in related}
    ops: list[dict[str, Any]] = []
    for text in texts:
        for found in extract_statements(text, contexts):
            same = known.get(" ".join(found.statement.lower().split()))
            if same is not None:
                ops.append(
                    {
                        "op": "reinforce",
                        "id": same[0],
                        "statement": None,
                        "context": same[1],
                        "quote": found.quote,
                        "source": "stated",
                    }
                )
            else:
                ops.append(
                    {
                        "op": "add",
                        "id": None,
                        "statement": found.statement,
                        "context": found.context,
                        "quote": found.quote,
                        "source": "stated",
                    }
                )
    return {"ops": ops}


def serve_fake(port: int, delay: float) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    counts: Counter[str] = Counter()

    def completion(body: dict[str, Any], content: str) -> dict[str, Any]:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 1700000000,
            "model": body.get("model", "fake"),
            "choices": [
                {
                    "index": 0,
                    "logprobs": None,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": content},
                }
            ],
            "usage": {"prompt_tokens": 50, "completion_tokens": 20, "total_tokens": 70},
        }

    async def chat(request: Request) -> Response:
        body = await request.json()
        messages = body.get("messages") or []
        first = messages[0].get("content") if messages else ""
        if isinstance(first, str) and EXTRACTION_MARK in first:
            counts["extraction"] += 1
            if body.get("response_format"):
                counts["extraction_structured"] += 1
            if delay:
                await asyncio.sleep(delay)
            return JSONResponse(completion(body, json.dumps(fake_ops(messages))))
        counts["chat"] += 1
        return JSONResponse(completion(body, CHAT_REPLY))

    async def models(_: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": MODEL, "object": "model"}]})

    async def stats(_: Request) -> Response:
        return JSONResponse(dict(counts))

    app = Starlette(
        routes=[
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/v1/models", models),
            Route("/stats", stats),
        ]
    )
    uvicorn.run(app, host=HOST, port=port, log_level="warning", access_log=False)


def fake_counts(upstream: str) -> Counter[str]:
    return Counter(httpx.get(upstream.removesuffix("/v1") + "/stats", timeout=10).json())


# -- config ------------------------------------------------------------------------------------


def raw_config(store: Path, upstream: str, mode: str, workers: int = 1) -> dict[str, Any]:
    return {
        "server": {"host": HOST, "log_level": "warning", "upstream_timeout_seconds": 30},
        "model_list": [
            {
                "model_name": MODEL,
                "litellm_params": {
                    "model": f"openai/{MODEL}",
                    "api_base": upstream,
                    "api_key": "sk-fake",
                },
            }
        ],
        "store": {"path": str(store)},
        "extraction": {
            "enabled": True,
            "mode": mode,
            "workers": workers,
            **({"model": MODEL} if mode == "llm" else {}),
        },
    }


# -- part 1: the background path alone -----------------------------------------------------------


@dataclass
class Stage:
    calls: int = 0
    seconds: float = 0.0


@dataclass
class Throughput:
    mode: str
    turns: int = 0
    processed: int = 0
    seconds: float = 0.0
    enqueue_seconds: float = 0.0
    stats: Counter[str] = field(default_factory=Counter)
    stages: dict[str, Stage] = field(default_factory=dict)
    llm_calls_seen: int = 0
    max_calls_per_turn: int = 0
    beliefs_active: int = 0
    outbox: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.processed / self.seconds if self.seconds else float("nan")

    @property
    def kept(self) -> int:
        return self.processed - self.stats["gate_skipped"]


def _timed_sync(stage: Stage, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            stage.calls += 1
            stage.seconds += time.perf_counter() - began

    return wrapper


def _timed_async(stage: Stage, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return await fn(*args, **kwargs)
        finally:
            stage.calls += 1
            stage.seconds += time.perf_counter() - began

    return wrapper


async def _throughput(
    mode: str, samples: Sequence[Sample], store: Path, upstream: str, embedder: Any
) -> Throughput:
    import memory.selfmodel as selfmodel_module
    from memory.learn.turns import Turn
    from memory.selfmodel import SelfModel
    from proxy.config import parse_config
    from proxy.upstream import Upstream

    config = parse_config(raw_config(store, upstream, mode))
    result = Throughput(mode, turns=len(samples))
    calls = Counter[str]()
    complete = None
    if mode == "llm":
        upstream_client = Upstream(config.model_list, config.server.upstream_timeout_seconds)
        upstream_client.warm_up()
        # One call outside the timing: litellm's first call builds its client and caches.
        await upstream_client.complete_text(MODEL, [{"role": "user", "content": "hi"}], None)
        real = upstream_client.complete_text

        async def counted(
            model: str, messages: list[dict[str, Any]], response_format: dict[str, Any] | None
        ) -> str:
            calls["llm"] += 1
            return await real(model, messages, response_format)

        complete = counted
    runtime = SelfModel(config.memory, embedder=embedder, complete=complete)
    worker = runtime.worker
    stages = {name: Stage() for name in ("claim", "gate", "related", "extract", "apply", "finish")}
    result.stages = stages
    worker.outbox.claim = _timed_sync(stages["claim"], worker.outbox.claim)  # type: ignore[method-assign]
    worker.outbox.finish = _timed_sync(stages["finish"], worker.outbox.finish)  # type: ignore[method-assign]
    worker._related = _timed_sync(stages["related"], worker._related)  # type: ignore[method-assign]
    worker._apply = _timed_sync(stages["apply"], worker._apply)  # type: ignore[method-assign]
    real_extract = worker.extractor.extract

    async def extract(*args: Any, **kwargs: Any) -> Any:
        before = calls["llm"]
        try:
            return await real_extract(*args, **kwargs)
        finally:
            result.max_calls_per_turn = max(result.max_calls_per_turn, calls["llm"] - before)

    worker.extractor.extract = _timed_async(stages["extract"], extract)  # type: ignore[method-assign]
    # The gate runs once, as the turn is written (SelfModel.enqueue_turn); a gated-out turn is
    # never a job, but counts as processed.
    real_gate = selfmodel_module.gate
    selfmodel_module.gate = _timed_sync(stages["gate"], real_gate)  # type: ignore[attr-defined]
    seen_before = fake_counts(upstream)["extraction"]
    try:
        began = time.perf_counter()
        for i, sample in enumerate(samples):
            await runtime.enqueue_turn(
                Turn(
                    request_id=f"req-{mode}-{i:06d}",
                    tenant=TENANT,
                    user=user_of(i),
                    model=MODEL,
                    messages=[
                        {"role": "system", "content": SYSTEM},
                        {"role": "user", "content": sample.text},
                    ],
                    reply=sample.reply,
                )
            )
        result.enqueue_seconds = time.perf_counter() - began
        began = time.perf_counter()
        drained = await asyncio.wait_for(worker.drain(), timeout=3600)
        result.processed = drained + runtime.stats["gate_skipped"]
        result.seconds = time.perf_counter() - began
    finally:
        selfmodel_module.gate = real_gate  # type: ignore[attr-defined]
    result.stats = Counter(runtime.stats)
    result.llm_calls_seen = fake_counts(upstream)["extraction"] - seen_before
    result.outbox = runtime.outbox.counts()
    result.beliefs_active = runtime.db.conn.execute(
        "SELECT COUNT(*) FROM beliefs WHERE status = 'active'"
    ).fetchone()[0]
    await runtime.stop()
    return result


def bench_throughput(
    mode: str, samples: Sequence[Sample], workdir: Path, upstream: str, embedder: Any
) -> Throughput:
    store = workdir / f"throughput-{mode}"
    with timed(f"background path, mode {mode}: {len(samples)} turns"):
        result = asyncio.run(_throughput(mode, samples, store, upstream, embedder))
    print(
        f"    {result.processed} turns in {result.seconds:.2f} s = {result.rate:.1f} turns/s",
        flush=True,
    )
    shutil.rmtree(store, ignore_errors=True)
    return result


# -- part 2: end-to-end lag through the real proxy -------------------------------------------------


@dataclass
class Sent:
    index: int
    sample: Sample
    user: str
    request_id: str | None = None
    done_at: datetime | None = None
    latency: float = 0.0
    error: str | None = None


@dataclass
class Lag:
    mode: str
    sent: list[Sent] = field(default_factory=list)
    applied_ms: list[float] = field(default_factory=list)  # response → history.at
    finished_ms: list[float] = field(default_factory=list)  # response → outbox job finished
    finished_pref_ms: list[float] = field(default_factory=list)
    states: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    drain_wait_s: float = 0.0
    send_seconds: float = 0.0
    rate: float = 0.0
    chat_p50_ms: float = float("nan")
    llm_calls_seen: int = 0

    @property
    def errors(self) -> int:
        return sum(1 for s in self.sent if s.error)

    @property
    def preference_turns(self) -> int:
        return sum(1 for s in self.sent if s.sample.kind == "preference")


def _selfmodel_argv(config: Path, port: int) -> list[str]:
    exe = Path(sys.executable).with_name("selfmodel")
    if exe.is_file():
        return [str(exe), "serve", "--config", str(config), "--port", str(port)]
    code = "from proxy.cli import main; main()"
    return [sys.executable, "-c", code, "serve", "--config", str(config), "--port", str(port)]


def _chat_body(text: str, user: str) -> dict[str, Any]:
    return {
        "model": MODEL,
        "user": user,
        "max_tokens": 64,
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}],
    }


async def _send_all(url: str, items: list[Sent], rate: float) -> float:
    """Open loop: request i starts at t0 + i / rate, whatever the others are doing."""
    timeout = httpx.Timeout(30.0)
    async with httpx.AsyncClient(timeout=timeout) as client:

        async def one(item: Sent, at: float) -> None:
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            began = time.perf_counter()
            try:
                response = await client.post(url, json=_chat_body(item.sample.text, item.user))
                item.done_at = datetime.now(UTC)  # the body has been read: response complete
                item.latency = time.perf_counter() - began
                if response.status_code != 200:
                    item.error = f"HTTP {response.status_code}: {response.text[:200]}"
                item.request_id = response.headers.get("x-selfmodel-request-id")
            except httpx.HTTPError as exc:
                item.error = f"{type(exc).__name__}: {exc}"[:200]

        start = time.monotonic() + 0.2
        began = time.perf_counter()
        await asyncio.wait_for(
            asyncio.gather(*(one(item, start + i / rate) for i, item in enumerate(items))),
            timeout=len(items) / rate + 120,
        )
        return time.perf_counter() - began


def _read_db(store: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{store / 'selfmodel.db'}?mode=ro", uri=True, timeout=30)
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def _wait_idle(store: Path, timeout: float) -> float:
    began = time.monotonic()
    deadline = began + timeout
    with contextlib.closing(_read_db(store)) as conn:
        while time.monotonic() < deadline:
            busy = conn.execute(
                "SELECT COUNT(*) FROM outbox WHERE state IN ('pending', 'running')"
            ).fetchone()[0]
            if not busy:
                return time.monotonic() - began
            time.sleep(0.1)
    raise RuntimeError(f"the outbox did not drain within {timeout:.0f} s")


def _ms(later: str, earlier: datetime) -> float:
    return (datetime.fromisoformat(later) - earlier).total_seconds() * 1000


def _collect(store: Path, lag: Lag) -> None:
    with contextlib.closing(_read_db(store)) as conn:
        for item in lag.sent:
            if item.error or item.request_id is None or item.done_at is None:
                continue
            job = conn.execute(
                "SELECT state, updated_at FROM outbox WHERE request_id = ?", (item.request_id,)
            ).fetchone()
            if job is not None:
                lag.states[job[0]] += 1
                if job[0] in ("done", "skipped"):
                    lag.finished_ms.append(_ms(job[1], item.done_at))
                    if item.sample.kind == "preference":
                        lag.finished_pref_ms.append(_ms(job[1], item.done_at))
            rows = conn.execute(
                "SELECT event, at FROM history WHERE request_id = ? "
                "AND actor = 'extraction' ORDER BY seq",
                (item.request_id,),
            ).fetchall()
            for event, _ in rows:
                lag.events[event] += 1
            if rows:
                lag.applied_ms.append(_ms(min(at for _, at in rows), item.done_at))


def bench_lag(
    mode: str,
    samples: Sequence[Sample],
    rate: float,
    workers: int,
    workdir: Path,
    upstream: str,
    kids: Children,
) -> Lag:
    store = workdir / f"lag-{mode}"
    config = workdir / f"lag-{mode}.yaml"
    config.write_text(yaml.safe_dump(raw_config(store, upstream, mode, workers), sort_keys=False))
    port = free_port()
    child = kids.start(f"selfmodel-{mode}", _selfmodel_argv(config, port), cwd=workdir)
    url = f"http://{HOST}:{port}"
    lag = Lag(mode, rate=rate)
    try:
        with timed(f"starting selfmodel (extraction mode {mode})"):
            wait_ready(child, f"{url}/healthz", 300)
        # Warm-up: the first request loads the embedder's session, litellm's client, etc.
        warm = [Sent(-1 - i, s, "bench-warmup") for i, s in enumerate(samples[:4])]
        asyncio.run(_send_all(f"{url}/v1/chat/completions", warm, rate))
        _wait_idle(store, 120)
        seen_before = fake_counts(upstream)["extraction"]
        lag.sent = [Sent(i, s, user_of(i)) for i, s in enumerate(samples)]
        with timed(f"lag, mode {mode}: {len(samples)} requests at {rate:g} req/s"):
            lag.send_seconds = asyncio.run(_send_all(f"{url}/v1/chat/completions", lag.sent, rate))
            lag.drain_wait_s = _wait_idle(store, 600)
        lag.llm_calls_seen = fake_counts(upstream)["extraction"] - seen_before
        latencies = [s.latency for s in lag.sent if not s.error]
        lag.chat_p50_ms = percentile(latencies, 50) * 1000
        _collect(store, lag)
        # Cross-check through the API that what history says is what a client sees.
        probe = next((s for s in lag.sent if s.sample.kind == "preference" and not s.error), None)
        if probe is not None:
            listed = httpx.get(f"{url}/v1/users/{probe.user}/beliefs", timeout=10)
            if listed.status_code != 200:
                print(f"    warning: GET beliefs answered {listed.status_code}")
    finally:
        kids.stop(child)
    return lag


# -- report ---------------------------------------------------------------------------------------


def _fmt(value: float, digits: int = 1) -> str:
    return "-" if value != value else f"{value:.{digits}f}"  # NaN → "-"


def _p(values: Sequence[float], q: float) -> str:
    return _fmt(percentile(values, q)) if values else "-"


def table(header: Sequence[str], rows: Sequence[tuple[str, Sequence[str]]]) -> str:
    body = [[name, *cells] for name, cells in rows]
    grid = [list(header), *body]
    widths = [max(len(row[i]) for row in grid) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        )
        for row in grid
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def throughput_rows(results: Sequence[Throughput]) -> list[tuple[str, list[str]]]:
    rows: list[tuple[str, list[str]]] = [
        ("turns drained", [str(r.processed) for r in results]),
        ("throughput turns/s", [_fmt(r.rate) for r in results]),
        ("mean ms per turn", [_fmt(1000 * r.seconds / max(1, r.processed), 2) for r in results]),
        ("mean ms per kept turn", [_fmt(1000 * r.seconds / max(1, r.kept), 2) for r in results]),
        (
            "enqueue turns/s (fill)",
            [
                _fmt(r.turns / r.enqueue_seconds if r.enqueue_seconds else float("nan"), 0)
                for r in results
            ],
        ),
        (
            "gate skipped",
            [
                f"{r.stats['gate_skipped']} ({100 * r.stats['gate_skipped'] / max(1, r.processed):.0f}%)"  # noqa: E501
                for r in results
            ],
        ),
        (
            "jobs done / dead / retried",
            [
                f"{r.stats['jobs_done']} / {r.stats['jobs_dead']} / {r.stats['jobs_retried']}"
                for r in results
            ],
        ),
    ]
    for kind in OP_KINDS:
        if any(r.stats[f"op_{kind}"] for r in results):
            rows.append((f"ops applied: {kind}", [str(r.stats[f"op_{kind}"]) for r in results]))
    rows += [
        ("ops rejected", [str(r.stats["ops_rejected"]) for r in results]),
        ("active beliefs after", [str(r.beliefs_active) for r in results]),
        (
            "LLM calls (worker / fake saw)",
            [f"{r.stats['llm_calls']} / {r.llm_calls_seen}" for r in results],
        ),
        (
            "LLM calls per turn",
            [_fmt(r.stats["llm_calls"] / max(1, r.processed), 3) for r in results],
        ),
        (
            "LLM calls per kept turn",
            [_fmt(r.stats["llm_calls"] / max(1, r.kept), 3) for r in results],
        ),
        ("max LLM calls in one turn", [str(r.max_calls_per_turn) for r in results]),
    ]
    for name in ("claim", "gate", "related", "extract", "apply", "finish"):
        rows.append(
            (
                f"stage {name}: ms per call",
                [
                    _fmt(1000 * r.stages[name].seconds / max(1, r.stages[name].calls), 2)
                    for r in results
                ],
            )
        )
    rows.append(
        (
            "stage share of drain (g/r/x/a)",
            [
                " / ".join(
                    f"{100 * r.stages[n].seconds / max(1e-9, r.seconds):.0f}%"
                    for n in ("gate", "related", "extract", "apply")
                )
                for r in results
            ],
        )
    )
    return rows


def lag_rows(results: Sequence[Lag]) -> list[tuple[str, list[str]]]:
    return [
        ("requests (preference turns)", [f"{len(r.sent)} ({r.preference_turns})" for r in results]),
        ("offered rate req/s", [_fmt(r.rate) for r in results]),
        ("chat errors", [str(r.errors) for r in results]),
        ("chat latency p50 ms", [_fmt(r.chat_p50_ms) for r in results]),
        (
            "jobs done / skipped / dead",
            [f"{r.states['done']} / {r.states['skipped']} / {r.states['dead']}" for r in results],
        ),
        (
            "history events (created/reinf.)",
            [f"{r.events['created']} / {r.events['reinforced']}" for r in results],
        ),
        ("LLM calls the fake saw", [str(r.llm_calls_seen) for r in results]),
        ("turns with an applied belief", [str(len(r.applied_ms)) for r in results]),
        ("lag to belief p50 ms", [_p(r.applied_ms, 50) for r in results]),
        ("lag to belief p99 ms", [_p(r.applied_ms, 99) for r in results]),
        ("lag to belief max ms", [_p(r.applied_ms, 100) for r in results]),
        ("lag to job finished p50 ms (all)", [_p(r.finished_ms, 50) for r in results]),
        ("lag to job finished p99 ms (all)", [_p(r.finished_ms, 99) for r in results]),
        ("  same, preference turns p50", [_p(r.finished_pref_ms, 50) for r in results]),
        ("  same, preference turns p99", [_p(r.finished_pref_ms, 99) for r in results]),
        ("outbox idle after last response s", [_fmt(r.drain_wait_s, 2) for r in results]),
    ]


def to_json(throughput: Sequence[Throughput], lags: Sequence[Lag]) -> dict[str, Any]:
    return {
        "throughput": {
            r.mode: {
                "turns": r.processed,
                "seconds": r.seconds,
                "turns_per_s": r.rate,
                "stats": dict(r.stats),
                "llm_calls_seen": r.llm_calls_seen,
                "max_llm_calls_per_turn": r.max_calls_per_turn,
                "stages_ms": {n: 1000 * s.seconds for n, s in r.stages.items()},
            }
            for r in throughput
        },
        "lag": {
            r.mode: {
                "requests": len(r.sent),
                "rate": r.rate,
                "errors": r.errors,
                "applied": len(r.applied_ms),
                "lag_to_belief_ms": {
                    "p50": percentile(r.applied_ms, 50),
                    "p99": percentile(r.applied_ms, 99),
                },
                "lag_to_job_finished_ms": {
                    "p50": percentile(r.finished_ms, 50),
                    "p99": percentile(r.finished_ms, 99),
                },
            }
            for r in lags
        },
    }


# -- main ---------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--turns",
        type=int,
        default=None,
        help="turns in the background-throughput run (default 1000, quick 200)",
    )
    parser.add_argument(
        "--lag-turns",
        type=int,
        default=None,
        help="preference turns in the lag run, sent with as many distractors "
        "(default 100, quick 40)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=5.0,
        help="requests per second offered to the proxy in the lag run",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="extraction.workers of the proxy in the lag run (default 1)",
    )
    parser.add_argument(
        "--llm-delay",
        type=float,
        default=0.0,
        help="seconds the fake LLM waits before answering an extraction call",
    )
    parser.add_argument(
        "--modes", default=",".join(MODES), help="comma-separated extraction modes to measure"
    )
    parser.add_argument("--skip-lag", action="store_true", help="only the background path")
    parser.add_argument("--quick", action="store_true", help="fewer turns")
    parser.add_argument("--json", type=Path, default=None, help="also write figures here")
    parser.add_argument("--serve-fake", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.turns = args.turns or (200 if args.quick else 1000)
    args.lag_turns = args.lag_turns or (40 if args.quick else 100)
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if min(args.turns, args.lag_turns) < 2 or args.rate <= 0 or not 1 <= args.workers <= 32:
        parser.error(
            "--turns and --lag-turns must be at least 2, --rate positive, --workers in 1..32"
        )
    if set(args.modes) - set(MODES) or not args.modes:
        parser.error(f"--modes takes a subset of {','.join(MODES)}")
    return args


def run_all(args: argparse.Namespace, workdir: Path) -> tuple[list[Throughput], list[Lag]]:
    from memory.offline import configure_offline

    configure_offline()
    from memory.index.embed import LocalEmbedder

    preferences, distractors, note = load_samples()
    print(f"turns: {note}; {USERS} users")
    throughput: list[Throughput] = []
    lags: list[Lag] = []
    with Children(workdir) as kids:
        port = free_port()
        argv = [
            sys.executable,
            __file__,
            "--serve-fake",
            str(port),
            "--llm-delay",
            str(args.llm_delay),
        ]
        fake = kids.start("fake-llm", argv, cwd=REPO)
        wait_ready(fake, f"http://{HOST}:{port}/v1/models", 120)
        upstream = f"http://{HOST}:{port}/v1"
        with timed("loading the local embedder"):
            embedder = LocalEmbedder()
            embedder.embed(["warm up"])
        samples = mix(preferences, distractors, args.turns, SEED)
        for mode in args.modes:
            throughput.append(bench_throughput(mode, samples, workdir, upstream, embedder))
        if not args.skip_lag:
            lag_samples = mix(preferences, distractors, 2 * args.lag_turns, SEED + 1)
            for mode in args.modes:
                lags.append(
                    bench_lag(mode, lag_samples, args.rate, args.workers, workdir, upstream, kids)
                )
    return throughput, lags


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.serve_fake is not None:
        serve_fake(args.serve_fake, args.llm_delay)
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"$ {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(
        f"{os.cpu_count()} CPUs; {args.turns} background turns; lag: {args.lag_turns} "
        f"preference + {args.lag_turns} distractor turns at {args.rate:g} req/s, "
        f"{args.workers} worker(s); fake LLM "
        f"delay {args.llm_delay:g} s; {load_note()}"
    )
    workdir = Path(tempfile.mkdtemp(prefix="selfmodel-extraction-bench-"))
    try:
        throughput, lags = run_all(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    header = ["", *(f"mode {r.mode}" for r in throughput)]
    print(
        f"\n1. background path (outbox → gate → extract → apply), {args.turns} turns, "
        f"one worker, drain() timed\n"
    )
    print(table(header, throughput_rows(throughput)))
    if lags:
        print(
            f"\n2. end-to-end lag, response complete → belief applied (selfmodel serve, "
            f"{args.workers} worker(s), {args.rate:g} req/s open loop)\n"
        )
        print(table(["", *(f"mode {r.mode}" for r in lags)], lag_rows(lags)))
        print(
            "\n'lag to belief' = history.at of the request's first created/reinforced row "
            "minus the client's\nresponse-complete time; 'job finished' = outbox.updated_at "
            "(after re-embedding and indexing)."
        )
    print(f"\n{load_note()}")
    bad = [r.mode for r in throughput if r.max_calls_per_turn > 1]
    print("bar: at most one LLM call per turn: " + ("FAIL " + ",".join(bad) if bad else "PASS"))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(to_json(throughput, lags), indent=2))
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
