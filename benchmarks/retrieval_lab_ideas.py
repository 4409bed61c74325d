"""Retrieval lab, ideas measured for issue #12 (and dropped unless the figures said otherwise).

Same protocol as retrieval_lab_loto.py: gold + 99 others (numpy seed 0), near-duplicate
collapse, exact token counts with the shipped template, and "LOTO" = each topic measured with
the situation-table entries written from it removed. Every line prints recall, median and p90
injected tokens, median beliefs, and recall per topic.

- cut caps: the adaptive cut (best - c x spread) with at most `cap` beliefs (situation weight
  0.8, the earlier default); "sit w": the situation weight w, uncapped.
- gap: stop at the first gap between consecutive scores wider than g x spread.
- paraphrase lift: a belief within cosine tau of a better-scored one inherits its score less
  alpha x (1 - cosine), so a paraphrase of a matched belief is not left behind.
- request framing: each belief (or the query) embedded inside a generic request-shaped
  sentence ("What would you suggest for me? Note: ..."), as a write-time "applies when" view.
- covered: the gold itself, or a belief within cosine tau of it, injected (paraphrases of the
  gold held by the same user; a figure for a collapse that renders near-identical ones once).
- --crowded: users hold the gold, 24 other beliefs of the gold's topic and 75 of other topics
  (seed 0), like the crowded topics an outside measurement found (a median of 17 beliefs kept);
  only the cut policies are run, and recall@k of the ranking is printed.

Run:  python benchmarks/retrieval_lab_ideas.py [--crowded]   (embeds ~2,600 texts, ~30 s)
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable

import numpy as np
from retrieval_lab_data import load
from retrieval_lab_loto import situation_lists
from retrieval_lab_sweep import Cost, dedupe

from memory.prompts import PromptLibrary

BELIEF_FRAMES = {
    "rec": "Recommendations for someone who says: {s}",
    "ask": "What would you suggest for me? Note: {s}",
    "when": "A request where this matters: {s}",
}
QUERY_FRAMES = {
    "pref": "Preferences that matter for this request: {s}",
    "i": "About me and this request: {s}",
}

d = load()
cost = Cost(PromptLibrary().injection("default").compiled, d.prefs)
names = sorted(set(d.topics))
topics = np.array(d.topics)
N = len(d.prefs)
Parts = dict[int, tuple[np.ndarray, np.ndarray]]
Scorer = Callable[[int, tuple[np.ndarray, np.ndarray]], np.ndarray]


def parts(qvec: np.ndarray, held_out: bool) -> Parts:
    """Statement and situation cosines per case (table less the case's topic if held out)."""
    lists = {t: situation_lists(d, t if held_out else None) for t in names}
    out = {}
    for i in range(N):
        u, q = d.users[i], qvec[i]
        stmt, tab = d.pvec[u] @ q, d.smat @ q
        ls = lists[d.topics[i]]
        out[i] = (
            stmt,
            np.array([max((tab[s] for s in ls[b]), default=stmt[j]) for j, b in enumerate(u)]),
        )
    return out


def scorer(statement_vectors: np.ndarray | None = None, w_sit: float = 0.8) -> Scorer:
    def f(i: int, p: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        u = d.users[i]
        stmt = p[0] if statement_vectors is None else statement_vectors[u] @ d.qvec[i]
        base = stmt + w_sit * p[1]
        top = np.argsort(-base)[:5]
        return base + 0.3 * (d.pvec[u] @ d.pvec[u][top].mean(axis=0))

    return f


def lifted(tau: float, alpha: float) -> Scorer:
    inner = scorer()

    def f(i: int, p: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        s = inner(i, p)
        v = d.pvec[d.users[i]]
        t = np.argsort(-s)[:40]
        g = v @ v[t].T
        return np.maximum(
            s, np.where(g >= tau, s[t][None, :] - alpha * (1 - g), -np.inf).max(axis=1)
        )

    return f


def std_cut(c: float, cap: int = 40) -> Callable[[np.ndarray], int]:
    return lambda s: min(cap, max(3, int((s >= s[0] - c * s.std()).sum())))


def gap_cut(c: float, g: float) -> Callable[[np.ndarray], int]:
    def f(s: np.ndarray) -> int:
        n = std_cut(c)(s)
        gaps = s[: min(20, n) - 1] - s[1 : min(20, n)]
        wide = [j for j in range(2, len(gaps)) if gaps[j] >= g * s.std()]
        return wide[0] + 1 if wide else n

    return f


def run(p: Parts, score: Scorer, cutter: Callable[[np.ndarray], int], name: str) -> None:
    hits, toks, kept, covered = [], [], [], []
    for i in range(N):
        s = score(i, p[i])
        order = np.argsort(-s, kind="stable")
        o = dedupe(d, d.users[i], [int(j) for j in order[: cutter(s[order])]])
        n, t = cost.fit([d.users[i][j] for j in o], 400)
        near = max((float(d.pvec[i] @ d.pvec[d.users[i][j]]) for j in o[:n]), default=0.0)
        hits.append(0 in o[:n])
        covered.append(0 in o[:n] or near >= 0.8)
        toks.append(t)
        kept.append(n)
    h = np.array(hits)
    per = " ".join(f"{h[topics == x].mean():.2f}" for x in names)
    print(
        f"{name:34s} {h.mean():.3f} covered {np.mean(covered):.3f}"
        f" med {statistics.median(toks):4.0f} p90 {np.percentile(toks, 90):4.0f}"
        f" kept {statistics.median(kept):3.0f} | {per}",
        flush=True,
    )


def crowd() -> None:
    """Users crowded in the gold's topic (see the module docstring)."""
    rng = np.random.default_rng(0)
    users = []
    for i in range(N):
        same = [j for j in range(N) if topics[j] == topics[i] and d.prefs[j] != d.prefs[i]]
        other = [j for j in range(N) if topics[j] != topics[i]]
        picked = rng.choice(same, min(24, len(same)), replace=False).tolist()
        users.append([i, *picked, *rng.choice(other, 75, replace=False).tolist()])
    d.users = users


def crowded_main() -> None:
    crowd()
    full, held = parts(d.qvec, False), parts(d.qvec, True)
    ranks = []
    for i in range(N):
        order = np.argsort(-scorer()(i, held[i]), kind="stable")
        ranks.append(int(np.where(order == 0)[0][0]))
    r = np.array(ranks)
    print("LOTO recall@k:", " ".join(f"@{k} {(r < k).mean():.3f}" for k in (5, 10, 14, 16, 20, 25)))
    for c, cap in ((2.0, 40), (2.25, 16), (2.25, 18), (2.25, 20), (2.25, 24)):
        run(full, scorer(), std_cut(c, cap), f"crowded in  cut {c} cap {cap}")
        run(held, scorer(), std_cut(c, cap), f"crowded LOTO cut {c} cap {cap}")
    run(full, scorer(w_sit=0.4), std_cut(2.25), "crowded in  sit 0.4 cut 2.25")
    run(held, scorer(w_sit=0.4), std_cut(2.25), "crowded LOTO sit 0.4 cut 2.25")


def main() -> None:
    from memory.index.embed import LocalEmbedder

    if "--crowded" in sys.argv:
        crowded_main()
        return

    embedder = LocalEmbedder()
    framed_b = {
        k: embedder.embed([f.format(s=x) for x in d.prefs]) for k, f in BELIEF_FRAMES.items()
    }
    framed_q = {
        k: embedder.embed([f.format(s=x) for x in d.queries]) for k, f in QUERY_FRAMES.items()
    }
    full, held = parts(d.qvec, False), parts(d.qvec, True)
    print(
        f"{'':34s} recall (covered: gold or a >= 0.8 paraphrase) | "
        + " ".join(x[:5] for x in names)
    )
    for c, cap in ((2.0, 40), (2.25, 16), (2.25, 18), (2.5, 16), (2.5, 14)):
        run(full, scorer(), std_cut(c, cap), f"in  cut {c} cap {cap}")
        run(held, scorer(), std_cut(c, cap), f"LOTO cut {c} cap {cap}")
    for w, c in ((0.4, 2.0), (0.4, 2.25), (0.6, 2.0)):
        run(full, scorer(w_sit=w), std_cut(c), f"in  sit {w} cut {c}")
        run(held, scorer(w_sit=w), std_cut(c), f"LOTO sit {w} cut {c}")
    for g in (0.3, 0.5, 0.75):
        run(held, scorer(), gap_cut(2.25, g), f"LOTO gap {g} (cut 2.25)")
    for tau, alpha in ((0.75, 0.5), (0.8, 1.0)):
        run(held, lifted(tau, alpha), std_cut(2.0), f"LOTO paraphrase lift {tau} {alpha}")
    for key, vectors in framed_b.items():
        for c, cap in ((2.0, 40), (2.25, 16)):
            run(held, scorer(vectors), std_cut(c, cap), f"LOTO belief frame {key} {c}/{cap}")
    for key, vectors in framed_q.items():
        run(parts(vectors, True), scorer(), std_cut(2.0), f"LOTO query frame {key}")


if __name__ == "__main__":
    main()
