"""`selfmodel eval`: retrieval quality on the PrefEval protocol, through the real injection path.

For each case a fresh user holds the case's gold preference plus 99 preferences of other cases
(numpy seed 0), written through the real store (SQLite + Chroma + index views); the case's
query goes through `SelfModel.plan` under the configured default rule, exactly as a chat
request would. A hit is the gold belief among the injected ones. Beside it, plain cosine
(statement vectors only, best first, same template and token budget) shows what the design adds.

Leave-one-topic-out beside it: `proxy.evaluation_loto`.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from memory.offline import configure_offline
from proxy import evaluation_loto

DATA_FILE = "prefeval_explicit_dev.jsonl"
BUDGETS = (100, 150, 200, 250, 300, 400)
USERS = 100


class MemoEmbedder:
    """The configured embedder with every text embedded once (the eval repeats statements)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.batch_invariant = bool(getattr(inner, "batch_invariant", False))
        self.batch_invariant = inner.batch_invariant
        self._seen: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._seen]
        if missing:
            for text, vector in zip(missing, self.inner.embed(missing), strict=True):
                self._seen[text] = vector
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._seen[t] for t in texts])


def find_data(directory: str | None) -> Path:
    # The dev set ships in the repository's eval/ (under its own licence), not in the package.
    candidates = (
        [Path(directory)]
        if directory
        else [Path.cwd() / "eval", Path(__file__).resolve().parents[1] / "eval"]
    )
    for candidate in candidates:
        if (candidate / DATA_FILE).is_file():
            return candidate / DATA_FILE
    raise SystemExit(
        f"cannot find {DATA_FILE}; pass --eval-dir (looked in {[str(c) for c in candidates]})"
    )


def build_users(preferences: list[str], size: int = USERS) -> list[list[int]]:
    rng = np.random.default_rng(0)
    users = []
    for i in range(len(preferences)):
        pool = [j for j in range(len(preferences)) if preferences[j] != preferences[i]]
        users.append([i, *(int(j) for j in rng.choice(pool, size - 1, replace=False))])
    return users


def run(
    directory: str | None,
    limit: int | None,
    echo: Callable[[str], None],
    loto: bool = True,
    beliefs: int = USERS,
) -> dict[str, Any]:
    """Run the evaluation; `beliefs` per user (the protocol's 100; fewer for a quick check)."""
    configure_offline()
    from proxy.config import load_config

    cases = [
        json.loads(line) for line in find_data(directory).read_text().splitlines() if line.strip()
    ]
    config = load_config()
    with tempfile.TemporaryDirectory(prefix="selfmodel-eval-") as tmp:
        memory = config.memory.model_copy(deep=True)
        memory.store.path = tmp
        memory.store.chroma = None
        memory.extraction.enabled = False
        result = asyncio.run(_evaluate(memory, cases, limit, echo, loto, beliefs))
    return result


async def write_user(runtime: Any, user: str, preferences: list[str], members: list[int]) -> str:
    """The user's beliefs through the real write path; returns the gold belief's id."""
    from memory.beliefs import EvidenceIn

    ids: list[str] = await runtime.add_beliefs(
        "eval",
        user,
        [
            (
                preferences[j],
                "preferences",
                EvidenceIn(source="stated", kind="eval", quote=preferences[j]),
            )
            for j in members
        ],
        "eval",
    )
    return ids[0]


async def _evaluate(
    memory: Any,
    cases: list[dict[str, Any]],
    limit: int | None,
    echo: Callable[[str], None],
    loto: bool = True,
    beliefs: int = USERS,
) -> dict[str, Any]:
    from memory.prompts import PromptLibrary
    from memory.selfmodel import SelfModel

    rule = memory.injection.rules[0]
    embedder = MemoEmbedder(SelfModel.open_embedder(memory))
    runtime = SelfModel(memory, embedder=embedder)
    preferences = [c["gold_preference"] for c in cases]
    users = build_users(preferences, beliefs)
    users = users[:limit] if limit else users
    echo(
        f"{len(users)} cases x {beliefs} beliefs, rule {rule.name!r} "
        f"(top_k={rule.top_k}, max_tokens={rule.max_tokens}, template={rule.template})"
    )
    started = time.perf_counter()
    hits, tokens, counts, latencies = [], [], [], []
    golds: list[str] = []
    ours_ranked: list[tuple[list[str], str]] = []
    cosine_ranked: list[tuple[list[str], str]] = []
    statements: dict[str, tuple[str, str]] = {}  # belief id -> (statement, context)
    for n, members in enumerate(users):
        user = f"case-{n}"
        gold = await write_user(runtime, user, preferences, members)
        golds.append(gold)
        active = await runtime.active_beliefs("eval", user)
        ids = [r["id"] for r in active]
        statements.update((r["id"], (r["statement"], r["context"])) for r in active)
        messages = [{"role": "user", "content": cases[members[0]]["query"]}]
        t0 = time.perf_counter()
        injection = await runtime.plan(
            tenant="eval", user=user, model="gpt-4o-mini", messages=messages, headers={}
        )
        latencies.append((time.perf_counter() - t0) * 1000)
        chosen = [b.id for b in injection.beliefs]
        hits.append(gold in chosen)
        tokens.append(injection.tokens)
        counts.append(len(chosen))
        deep = await _ranked(runtime, user, messages, rule)
        ours_ranked.append((deep, gold))
        cosine_ranked.append((_cosine(embedder, statements, messages, ids), gold))
        if (n + 1) % 50 == 0:
            echo(f"  {n + 1}/{len(users)} cases, recall so far {sum(hits) / len(hits):.3f}")
    template = PromptLibrary(memory.prompts_dir).injection(rule.template)
    curve = _curves(statements, ours_ranked, cosine_ranked, template)
    held_out = (
        await evaluation_loto.loto(runtime, cases, users, golds, preferences, echo)
        if loto
        else None
    )
    await runtime.stop()
    summary: dict[str, Any] = {
        "cases": len(users),
        "recall": round(sum(hits) / len(hits), 4),
        "median_tokens": statistics.median(tokens),
        "p90_tokens": sorted(tokens)[int(0.9 * (len(tokens) - 1))],
        "mean_injected": round(sum(counts) / len(counts), 2),
        "plan_ms_p50": round(statistics.median(latencies), 2),
        "curve": curve,
        "loto": held_out,
        "seconds": round(time.perf_counter() - started, 1),
    }
    _report(summary, echo)
    return summary


async def _ranked(runtime: Any, user: str, messages: list[dict[str, Any]], rule: Any) -> list[str]:
    """Our ranking with no token budget, for the recall-vs-tokens curve."""
    deep = rule.model_copy(update={"max_tokens": 100_000, "top_k": 40})
    beliefs = await runtime.retrieve("eval", user, deep, messages)
    return [b.id for b in beliefs]


def _cosine(
    embedder: MemoEmbedder,
    statements: dict[str, tuple[str, str]],
    messages: list[dict[str, Any]],
    ids: list[str],
) -> list[str]:
    query = embedder.embed([messages[-1]["content"]])[0]
    vectors = embedder.embed([statements[i][0] for i in ids])
    order = np.argsort(-(vectors @ query), kind="stable")
    return [ids[i] for i in order]


def _curves(
    statements: dict[str, tuple[str, str]],
    ours: list[tuple[list[str], str]],
    cosine: list[tuple[list[str], str]],
    template: Any,
) -> dict[str, Any]:
    from memory.inject.render import fit
    from memory.models import ScoredBelief

    scored: dict[str, ScoredBelief] = {}

    def as_beliefs(ids: list[str]) -> list[ScoredBelief]:
        out = []
        for belief_id in ids:
            if belief_id not in scored:
                statement, context = statements[belief_id]
                scored[belief_id] = ScoredBelief(
                    id=belief_id, statement=statement, context=context, confidence=0.88, score=0
                )
            out.append(scored[belief_id])
        return out

    curve: dict[str, Any] = {}
    for name, ranked in (("ours", ours), ("cosine", cosine)):
        points = {}
        for budget in BUDGETS:
            fitted = [
                fit(template, as_beliefs(ids[:40]), budget, "gpt-4o-mini") for ids, _ in ranked
            ]
            recall = sum(
                gold in [b.id for b in f.beliefs]
                for f, (_, gold) in zip(fitted, ranked, strict=True)
            ) / len(ranked)
            points[budget] = {
                "recall": round(recall, 4),
                "median_tokens": statistics.median(f.tokens for f in fitted),
            }
        curve[name] = points
    return curve


def _report(summary: dict[str, Any], echo: Callable[[str], None]) -> None:
    echo("")
    echo(
        f"default rule:  recall {summary['recall']:.3f}   median tokens "
        f"{summary['median_tokens']}   p90 tokens {summary['p90_tokens']}   "
        f"beliefs/request {summary['mean_injected']}   plan p50 {summary['plan_ms_p50']} ms"
    )
    echo("")
    echo("recall (median tokens) when the block is filled up to a token budget:")
    echo(f"{'budget':>8} {'ours':>16} {'plain cosine':>16}")
    for budget in BUDGETS:
        ours, cosine = summary["curve"]["ours"][budget], summary["curve"]["cosine"][budget]
        echo(
            f"{budget:>8} {ours['recall']:>8.3f} ({ours['median_tokens']:>4})"
            f" {cosine['recall']:>8.3f} ({cosine['median_tokens']:>4})"
        )
    if summary.get("loto"):
        evaluation_loto.report(summary["loto"], echo)
    echo(f"\n{summary['cases']} cases in {summary['seconds']} s")
