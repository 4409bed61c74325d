"""The cut's cap counted in beliefs or in tokens: recall and what each topic spends.

`selfmodel eval`'s protocol (each user holds the case's preference among 100, the case's
question goes through the real plan), for a grid of belief caps (`Weights.cut_max`) and token
targets (`Weights.cut_tokens`). Beside recall and the median, it prints how many topics' own
medians go over the bar's 250 tokens: a cap in beliefs spends what a topic's statements cost,
so a topic of long statements goes over where the pooled median does not.

    python benchmarks/retrieval_lab_tokens.py [--eval-dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from memory.offline import configure_offline  # noqa: E402

BAR_TOKENS = 250
CAPS: tuple[int | None, ...] = (16, 18, 20, None)
TARGETS: tuple[int | None, ...] = (None, 230, 240, 245, 250)


async def grid(memory: Any, cases: list[dict[str, Any]]) -> None:
    from memory.inject.ranking import DEFAULT_WEIGHTS
    from memory.selfmodel import SelfModel
    from proxy import evaluation
    from proxy.evaluation_loto import probe

    embedder = evaluation.MemoEmbedder(SelfModel.open_embedder(memory))
    runtime = SelfModel(memory, embedder=embedder)
    preferences = [c["gold_preference"] for c in cases]
    users = evaluation.build_users(preferences)
    golds = [
        await evaluation.write_user(runtime, f"case-{n}", preferences, members)
        for n, members in enumerate(users)
    ]
    topics = [cases[members[0]]["topic"] for members in users]
    queries = [cases[members[0]]["query"] for members in users]
    print(
        f"{'cap':>5} {'tokens':>6} {'recall':>7} {'median':>7} {'p90':>5}  topics over {BAR_TOKENS}"
    )
    try:
        for cap in CAPS:
            for target in TARGETS:
                runtime.set_weights(replace(DEFAULT_WEIGHTS, cut_max=cap, cut_tokens=target))
                rows = [
                    await probe(runtime, f"case-{n}", queries[n], golds[n])
                    for n in range(len(users))
                ]
                spent = sorted(r[1] for r in rows)
                per_topic = {
                    t: statistics.median(
                        r[1] for r, rt in zip(rows, topics, strict=True) if rt == t
                    )
                    for t in sorted(set(topics))
                }
                over = sum(m > BAR_TOKENS for m in per_topic.values())
                recall = sum(r[0] for r in rows) / len(rows)
                print(
                    f"{cap or '-':>5} {target or '-':>6} {recall:7.3f} "
                    f"{statistics.median(spent):7.1f} {spent[int(0.9 * (len(spent) - 1))]:5d}  "
                    f"{over} of {len(per_topic)} (highest {max(per_topic.values())})",
                    flush=True,
                )
    finally:
        runtime.set_weights(DEFAULT_WEIGHTS)
        await runtime.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", default=None)
    args = parser.parse_args()
    configure_offline()
    from proxy import evaluation
    from proxy.config import load_config

    path = evaluation.find_data(args.eval_dir or os.environ.get("SELFMODEL_EVAL_DIR"))
    cases = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    memory = load_config().memory.model_copy(deep=True)
    with tempfile.TemporaryDirectory(prefix="selfmodel-tokens-") as tmp:
        memory.store.path = tmp
        memory.store.chroma = None
        memory.extraction.enabled = False
        asyncio.run(grid(memory, cases))


if __name__ == "__main__":
    main()
