"""Retrieval lab: does the stated preference reach the injected context? (injection issue bar)

Protocol (shared/eval/README.md): for each case of prefeval_explicit_dev.jsonl, a user holds
the case's gold preference plus 99 preferences of other cases (numpy seed 0; texts equal to the
gold are not drawn), all in context "preferences"; the case's query is the user message. A hit
is the gold belief in the injected block. The pipeline is replayed as memory/inject/plan.py runs
it: `rank()` (adaptive cut, capped at top_k), near-duplicate collapse (statement cosine >= 0.92),
then the longest prefix whose rendering with the shipped template (prompts/inject_default.j2)
fits max_tokens, counted with tiktoken o200k_base. Views come from memory.views.index_views.

Run:  python benchmarks/retrieval_lab.py [--top-k 40] [--max-tokens 400] [--random-priors]
Sweeps of scorers, cuts and templates, with leave-one-topic-out: retrieval_lab_sweep.py.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from retrieval_lab_data import load
from retrieval_lab_sweep import (
    FEATS,
    Cost,
    dedupe,
    evaluate,
    fixed,
    per_topic,
    score_cases,
    summary,
    views_for,
)

from memory.inject.ranking import Features, rank
from memory.prompts import PromptLibrary

CURVE = (150, 200, 250, 300, 400)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--top-k", type=int, default=40)
    ap.add_argument("--max-tokens", type=int, default=400)
    ap.add_argument(
        "--random-priors",
        action="store_true",
        help="draw confidence 0.5-1.0 and age 0-365 days per belief (seed 0)",
    )
    args = ap.parse_args()
    d = load()
    n = len(d.prefs)
    tpl = PromptLibrary().injection("default").compiled
    cost = Cost(tpl, d.prefs)
    if args.random_priors:
        rng = np.random.default_rng(0)
        feats = [
            Features(float(c), float(a), "preferences")
            for c, a in zip(rng.uniform(0.5, 1.0, n), rng.uniform(0, 365, n), strict=True)
        ]
    else:
        feats = [FEATS] * n

    hits, toks, kept, times = [], [], [], []
    views = {b: views_for(d, b, 3, False)[0] for b in range(n)}
    for i, u in enumerate(d.users):
        vm = np.concatenate([views[b] for b in u])
        vo = np.concatenate([np.full(len(views[b]), j) for j, b in enumerate(u)])
        f = [feats[b] for b in u]
        t = time.perf_counter()
        ranked = rank(d.qvec[i][None, :], vm, vo, f, top_k=args.top_k, min_confidence=0.3)
        times.append(time.perf_counter() - t)
        order = dedupe(d, u, [b for b, _ in ranked])
        k, tok = cost.fit([u[b] for b in order], args.max_tokens)
        hits.append(0 in order[:k])
        toks.append(tok)
        kept.append(k)
    ours = {"hits": np.array(hits), "tokens": np.array(toks), "kept": np.array(kept)}

    # Exactness check of the additive token count against a real render.
    class _B:
        def __init__(self, s: str) -> None:
            self.statement, self.context, self.confidence = s, "preferences", 0.9

    sample = [d.prefs[b] for b in d.users[0][:12]]
    assert (
        cost.count([_B(s) for s in sample])
        == cost.fit([d.users[0][j] for j in range(12)], 10_000)[1]
    )

    cos = score_cases(d, per_belief=0, SITUATION_WEIGHT=0.0, FEEDBACK_WEIGHT=0.0)
    print(
        f"{n} cases, 100 beliefs per user, priors "
        f"{'random' if args.random_priors else 'uniform'}; template inject_default.j2 "
        f"(header {cost.header} tokens, median line {np.median(cost.line):.0f})"
    )
    print(f"\nours   top_k={args.top_k} max_tokens={args.max_tokens}: {summary(ours)}")
    rows = {"ours": ours}
    for k in (8, 10, 15):
        r = evaluate(d, cos, fixed(k), cost, top_k=k, max_tokens=10_000)
        rows[f"cos{k}"] = r
        print(f"cosine top-{k:<2d} (no budget)          : {summary(r)}")
    r = evaluate(d, cos, fixed(100), cost, top_k=100, max_tokens=250)
    rows["cos250"] = r
    print(f"cosine fill 250 tokens              : {summary(r)}")

    print(
        "\nrecall vs token budget (fill in ranked order, no cut):\n"
        + " " * 8
        + "".join(f"{b:>7d}" for b in CURVE)
    )
    full = score_cases(d, CUT_STDS=float("inf"))
    for name, cases in (("ours", full), ("cosine", cos)):
        recalls = [
            evaluate(d, cases, fixed(100), cost, top_k=100, max_tokens=b)["hits"].mean()
            for b in CURVE
        ]
        print(f"{name:8s}" + "".join(f"{r:7.3f}" for r in recalls))

    print("\nper-topic recall:   ours (median tok) | cosine top-8 | cosine fill 250")
    topics = np.array(d.topics)
    po, c8, c250 = per_topic(d, ours), per_topic(d, rows["cos8"]), per_topic(d, rows["cos250"])
    for tp in sorted(po):
        med = statistics.median(ours["tokens"][topics == tp])
        print(
            f"  {tp:22s} n={int((topics == tp).sum()):3d}  {po[tp]:.3f} ({med:3.0f}) | "
            f"{c8[tp]:.3f} | {c250[tp]:.3f}"
        )
    rows_per_user = int(np.mean([len(v) for v in views.values()]) * 100)
    print(
        f"\nrank() per query (100 beliefs, ~{rows_per_user} view rows): "
        f"p50 {np.median(times) * 1000:.2f} ms, "
        f"p99 {np.percentile(times, 99) * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()
