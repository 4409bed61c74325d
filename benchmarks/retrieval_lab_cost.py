"""Retrieval lab, cost: what scoring one request costs at 100 beliefs, this tree vs a base.

Times `score_parts` + `cut_explained` (what the request path runs per request) on a user of
100 beliefs (384-dim statement vectors, up to 8 situations each out of 47), with the ranking
module of this tree and the one at a base commit (`git show BASE:memory/inject/ranking.py`),
interleaved, best of several rounds of the median per call. CPU time on a shared machine is
noisy: read the difference, not the absolute figure.

Run:  python benchmarks/retrieval_lab_cost.py [--base main] [--beliefs 100]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def base_module(base: str) -> ModuleType:
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{base}:memory/inject/ranking.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "ranking_base.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("ranking_base", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["ranking_base"] = module  # dataclasses resolve their module
    spec.loader.exec_module(module)
    return module


def unit(rng: np.random.Generator, rows: int, dim: int = 384) -> np.ndarray:
    m = rng.standard_normal((rows, dim)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def per_call_us(module: ModuleType, inputs: tuple, calls: int, kept: bool = False) -> float:
    query, statements, table, index, (confidence, age) = inputs
    features = module.FeatureArrays(confidence, age)  # each module's own class
    extra = {"crowded": module.crowding(statements)} if kept else {}
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        scored = module.score_parts(
            query, statements, table, index, features, min_confidence=0.3, **extra
        )
        module.cut_explained(scored.total, 40)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def main() -> None:
    from threadpoolctl import threadpool_limits

    from memory.inject import ranking

    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default="main")
    ap.add_argument("--beliefs", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    n = args.beliefs
    index = np.full((n, 8), -1, dtype=np.int32)
    for i in range(n):
        k = int(rng.integers(3, 9))
        index[i, :k] = rng.choice(47, k, replace=False)
    features = (rng.uniform(0.5, 1.0, n), rng.uniform(0, 365, n))
    inputs = (unit(rng, 1), unit(rng, n), unit(rng, 47), index, features)
    base = base_module(args.base)
    best: dict[str, float] = {}
    with threadpool_limits(1):  # the request path's BLAS runs single-threaded too
        for _ in range(args.rounds):
            for name, module, kept in (
                ("base", base, False),
                ("this tree", ranking, False),
                ("crowding kept", ranking, True),
            ):
                us = per_call_us(module, inputs, 300, kept)
                best[name] = min(best.get(name, float("inf")), us)
    print(f"score_parts + cut_explained, {n} beliefs (median per call, best of {args.rounds}):")
    for name, us in best.items():
        print(f"  {name:14s} {us:7.1f} us")
    print(f"  added      {best['this tree'] - best['base']:7.1f} us per request")
    added = best["crowding kept"] - best["base"]
    print(f"  added      {added:7.1f} us with `crowding` kept per snapshot (`crowded=`)")


if __name__ == "__main__":
    main()
