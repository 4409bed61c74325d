"""Retrieval lab: per-belief priors, write-time views and query rewrites, nested LOTO.

Extends retrieval_lab_linear.py's six features with candidate columns, each computed from the
belief alone (write time), from the one query embedding, or as a cheap product of the two:
  neg        the statement is negated (memory.learn.polarity): a dislike or constraint.
  neg_sit    neg x the best situation cosine (a constraint counts when the request is in its
             area); neg_nb: neg x the neighbourhood cosine.
  object     cosine of the query with the statement's object: the statement less its stance
             and stop words ("I have an extreme aversion to heights" -> "extreme heights");
             obj_max: the better of it and the statement cosine.
  t1, t2     "applies when" views templated from the statement's own words ("Can you
             recommend something for me? Keep in mind: <statement>"; "Suggestions involving
             <object>: <statement>"); t1max, t2max: the better of each and the statement.
  words      the statement's length in words (a knapsack-like nudge towards short lines).
  zstmt,zsit the statement and situation cosines z-scored over the user's beliefs.
  top1, top3 the belief is indexed under the query's best (best three) situation(s).
  own_sit    the best cosine with the belief's own (nearest) situations; link_sit: with those
             it reached through a BEARS_ON link (a constraint carried into the areas it bears
             on); link_top1/3: such a link is the query's best (best three) situation(s).
  sitxstmt   statement x situation cosine.
  qs_*       the same cosines with the question less its asking words ("Can you recommend
             some ... for me?"), as the one text embedded instead.
Every set of columns is fitted as in retrieval_lab_linear.py (listwise softmax, nested: held
topic T measured with the table less T, weights fitted on the nine others with each training
case's table less T and less its own topic) and reported in-sample (weights fitted on all ten,
full table), LOTO table (same weights, table less T) and nested. `--variants`: an MMR-style
diverse cut (the score less lam x the cosine with the closest belief kept) and weights fitted
to a smooth recall@15 instead of the softmax. `--forced`: a fixed lift (0-0.3) for one column
added to the shipped score (a constraint prior by hand, rather than the softmax's small weight),
the lift chosen on the nine other topics.

Measured (compact block, cut 3.0 wide capped at 15; recall (median tokens)): base in 0.956
(235) LOTO 0.951 (232.5) nested 0.951 (234). No column lifted nested recall: neg 0.951,
neg_sit 0.949, neg+neg_sit 0.949, object 0.945, obj_max 0.947, t1 0.951 (229), t2 0.934, words
0.951, zstmt+zsit 0.949, top1 0.951, top3 0.947, qs_stmt 0.943, qs_sit 0.949, qs_max 0.947.
Crowded (users hold 25 beliefs of the gold's topic): base nested 0.828; neg+neg_sit 0.830,
object 0.830, t1 0.816, qs_sit 0.826. MMR: 0.951 -> 0.951/0.945/0.943/0.941 LOTO at lam 0.05/
0.1/0.2/0.3 (x 3 spreads); it pushes out the paraphrase a crowded topic holds of the gold.
own/link: link_top1 0.949, link_top3 0.947, link_sit 0.951, own_sit+link_sit 0.951, sitxstmt
0.949, link_top1+link_top3 0.953. Forced lifts only lose (LOTO table at 0.05/0.1/0.2/0.3):
link_top1 0.951/0.947/0.936/0.888, link_top3 0.947/0.938/0.903/0.837, neg_sit 0.947/0.947/
0.941/0.939; chosen on nine: 0.945-0.951. Lifting the constraints linked into an area brings
every such constraint of the user in and pushes out the tastes that are the gold as often.
Token target (`--token-target`, shipped weights, LOTO table): the cap of 15 beliefs 0.951 (232.5);
no cap and at most 250 tokens 0.955 (242), 240: 0.949 (231.5), 260: 0.956 (250); cap 16 and 250
tokens 0.951 (237); crowded: no cap and 250 tokens 0.814 (242) against the cap's 0.820 (239).
A hard token stop truncates the wordy blocks where the gold sits late: +0.4 at most, dropped.
Smooth recall@15 fit: in 0.958, nested 0.939 (it overfits the nine topics). 80% of the dev
preferences are negated, so polarity does not single out the constraints that are missed.

Run:  python benchmarks/retrieval_lab_prior.py [--crowded] [--cap N] [--sets a,b;c]
      [--variants | --forced | --token-target]   (~3-5 min)
"""

from __future__ import annotations

import hashlib
import json
import re
import sys

import numpy as np
import retrieval_lab_linear as L
from retrieval_lab_data import CACHE, _embedder

from memory.index import views
from memory.learn.polarity import _NEGATIVE_VERBS, _STOP, polarity

d = L.d
N = L.N
NEG = np.array([polarity(p) < 0 for p in d.prefs], dtype=np.float64)
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")


def object_text(statement: str) -> str:
    kept = _NEGATIVE_VERBS.sub(" ", statement)
    words = [w for w in _WORD.findall(kept) if w.lower() not in _STOP]
    return " ".join(words) or statement


def extra_vectors(texts: list[str], tag: str) -> np.ndarray:
    key = hashlib.sha256(json.dumps([tag, texts]).encode()).hexdigest()[:16]
    path = CACHE / f"extra-{key}.npy"
    if path.exists():
        return np.load(path)
    vectors = _embedder().embed(texts)
    np.save(path, vectors)
    return vectors


OBJ = extra_vectors([object_text(p) for p in d.prefs], "object")
# The request less its asking words ("Can you recommend some ... for me?"): what it is about.
_ASKING = re.compile(
    r"\b(?:can|could|would|will) you\b|\b(?:please|recommend\w*|suggest\w*|advi[cs]e|ideas?|"
    r"options?|some|any|good|great|best|what|which|where|how|are|is|there|should|i|me|my|"
    r"for|to|try|looking|want|need|i'm|i'd|like|you'd|you|do)\b",
    re.I,
)


def asked_text(query: str) -> str:
    kept = " ".join(_ASKING.sub(" ", query).split())
    return kept if len(kept.split()) >= 2 else query


QSTRIP = extra_vectors([asked_text(q) for q in d.queries], "asked")
# "Applies when" views, templated from the statement's own words (write time, one embedding).
T1 = extra_vectors(
    [f"Can you recommend something for me? Keep in mind: {p}" for p in d.prefs], "t1"
)
T2 = extra_vectors([f"Suggestions involving {object_text(p)}: {p}" for p in d.prefs], "t2")
BASE = list(L.FEATURES)
WORDS = np.array([len(p.split()) for p in d.prefs], dtype=np.float64)
EXTRA = (
    "words",
    "t1",
    "t2",
    "t1max",
    "t2max",
    "neg",
    "neg_sit",
    "neg_nb",
    "object",
    "obj_max",
    "zstmt",
    "zsit",
    "top1",
    "top3",
    "qs_stmt",
    "qs_sit",
    "qs_max",
    "own_sit",
    "link_sit",
    "link_top1",
    "link_top3",
    "sitxstmt",
)


def features(i: int, dropped: tuple[str, ...]) -> np.ndarray:
    x = L.features(i, dropped)
    u = L.USERS[i]
    neg = NEG[u]
    obj = OBJ[u] @ d.qvec[i]
    t1, t2 = T1[u] @ d.qvec[i], T2[u] @ d.qvec[i]
    cols = [WORDS[u], t1, t2, np.maximum(t1, x[:, 0]), np.maximum(t2, x[:, 0])]
    cols += [neg, neg * x[:, 1], neg * x[:, 2], obj, np.maximum(obj, x[:, 0])]
    z = lambda v: (v - v.mean()) / (v.std() + 1e-9)  # noqa: E731
    cols += [z(x[:, 0]), z(x[:, 1])]
    lists = L.lists_for(tuple(sorted(set(dropped))))
    table = d.smat @ d.qvec[i]
    avail = sorted({s for b in u for s in lists[b]})
    ranked = sorted(avail, key=lambda s: -table[s])
    cols += [np.array([float(any(s in ranked[:k] for s in lists[b])) for b in u]) for k in (1, 3)]
    qs = QSTRIP[i]
    qstmt = d.pvec[u] @ qs
    qtab = d.smat @ qs
    qsit = np.array([max((qtab[s] for s in lists[b]), default=qstmt[j]) for j, b in enumerate(u)])
    cols += [qstmt, qsit, np.maximum(qstmt, x[:, 0])]
    # A belief's own situations (the nearest SITUATIONS_PER_BELIEF) and those it reached
    # through a BEARS_ON link (a constraint carried into the areas it bears on).
    own_n = views.SITUATIONS_PER_BELIEF
    own = np.array(
        [max((table[s] for s in lists[b][:own_n]), default=x[j, 0]) for j, b in enumerate(u)]
    )
    link = np.array([max((table[s] for s in lists[b][own_n:]), default=0.0) for b in u])
    cols += [own, link]
    cols += [
        np.array([float(any(s in ranked[:k] for s in lists[b][own_n:])) for b in u]) for k in (1, 3)
    ]
    cols += [x[:, 0] * x[:, 1]]
    return np.concatenate([x, np.stack(cols, 1)], 1)


NAMES = BASE + list(EXTRA)


def run(sets: list[list[str]]) -> None:
    block = L.BLOCKS["compact"]
    cap = int(sys.argv[sys.argv.index("--cap") + 1]) if "--cap" in sys.argv else L.SHIPPED.cut_max
    cut = ("std", L.SHIPPED.cut_stds, cap)
    ins_x = {i: features(i, ()) for i in range(N)}
    loto_x = {i: features(i, (d.topics[i],)) for i in range(N)}
    train_x = {
        t: {i: features(i, (t, d.topics[i])) for i in range(N) if d.topics[i] != t} for t in L.NAMES
    }
    for cols in sets:
        idx = [NAMES.index(c) for c in cols]
        nested = []
        for t in L.NAMES:
            tr = train_x[t]
            w = L.fit([x[:, idx] for x in tr.values()])
            held = [i for i in range(N) if d.topics[i] == t]
            nested += [L.measure(i, L.order(loto_x[i][:, idx] @ w, cut), block) for i in held]
        w = L.fit([loto_x[i][:, idx] for i in range(N)])
        ins = [L.measure(i, L.order(ins_x[i][:, idx] @ w, cut), block) for i in range(N)]
        lot = [L.measure(i, L.order(loto_x[i][:, idx] @ w, cut), block) for i in range(N)]
        print(
            f"{'+'.join(c for c in cols if c not in BASE) or 'base':28s} in {L._cell(ins)}  "
            f"loto {L._cell(lot)}  nested {L._cell(nested)}  w {np.round(w / w[0], 3)}",
            flush=True,
        )


def main() -> None:
    spec = "base;neg;neg_sit;neg_nb;neg,neg_sit;object;obj_max;neg,object"
    if "--sets" in sys.argv:
        spec = sys.argv[sys.argv.index("--sets") + 1]
    sets = [[*BASE, *(c for c in s.split(",") if c and c != "base")] for s in spec.split(";")]
    print(f"negated statements: {NEG.mean():.2f}")
    run(sets)


if __name__ == "__main__" and not {"--variants", "--forced", "--token-target"} & set(sys.argv):
    main()


def fit_topk(xs: list[np.ndarray], k: int = 15, temp: float = 0.1) -> np.ndarray:
    """Weights that maximize a smooth recall@k (the gold above the k-th best other belief),
    started from the softmax fit; statement weight fixed at 1 (the cut is scale-free)."""
    from scipy.optimize import minimize

    start = L.fit(xs)
    start = start / start[0]
    a = np.stack(xs)  # cases x beliefs x features
    scale = float((a @ start).std())

    def loss(v: np.ndarray) -> float:
        w = np.concatenate([[1.0], v])
        s = a @ w
        kth = -np.partition(-s[:, 1:], k - 1, axis=1)[:, k - 1]
        margin = (s[:, 0] - kth) / (temp * scale)
        return float(np.mean(np.logaddexp(0.0, -margin)))

    v = minimize(loss, start[1:], method="Nelder-Mead", options={"maxiter": 600}).x
    return np.concatenate([[1.0], v])


def mmr(score: np.ndarray, vectors: np.ndarray, lam: float, cap: int = 15) -> list[int]:
    """Greedy: best score less lam x the cosine with the closest belief already kept."""
    pool = list(np.argsort(-score)[:40])
    chosen = [pool.pop(0)]
    while pool and len(chosen) < cap:
        sims = vectors[pool] @ vectors[chosen].T
        gain = score[pool] - lam * sims.max(axis=1)
        chosen.append(pool.pop(int(np.argmax(gain))))
    return [int(j) for j in chosen]


def run_variants() -> None:
    block = L.BLOCKS["compact"]
    cut = ("std", L.SHIPPED.cut_stds)
    w0 = L.shipped_vector()
    ins_x = {i: L.features(i, ()) for i in range(N)}
    loto_x = {i: L.features(i, (d.topics[i],)) for i in range(N)}
    vec = {i: d.pvec[L.USERS[i]] for i in range(N)}
    sd = {i: float((loto_x[i] @ w0).std()) for i in range(N)}
    for lam in (0.0, 0.05, 0.1, 0.2, 0.3):
        for name, xs in (("in", ins_x), ("loto", loto_x)):
            rows = [L.measure(i, mmr(xs[i] @ w0, vec[i], lam * sd[i] * 3), block) for i in range(N)]
            print(f"mmr lam {lam} x3sd {name}: {L._cell(rows)}", flush=True)
    nested = []
    for t in L.NAMES:
        tr = [features_base(i, t) for i in range(N) if d.topics[i] != t]
        w = fit_topk(tr)
        held = [i for i in range(N) if d.topics[i] == t]
        nested += [L.measure(i, L.order(loto_x[i] @ w, cut), block) for i in held]
        print(t, np.round(w, 3), flush=True)
    w = fit_topk([loto_x[i] for i in range(N)])
    ins = [L.measure(i, L.order(ins_x[i] @ w, cut), block) for i in range(N)]
    lot = [L.measure(i, L.order(loto_x[i] @ w, cut), block) for i in range(N)]
    print(f"top-k fit: in {L._cell(ins)} loto {L._cell(lot)} nested {L._cell(nested)} w {w}")


def features_base(i: int, t: str) -> np.ndarray:
    return L.features(i, (t, d.topics[i]))


def run_forced() -> None:
    block = L.BLOCKS["compact"]
    cut = ("std", L.SHIPPED.cut_stds)
    w0 = L.shipped_vector()
    loto = {i: features(i, (d.topics[i],)) for i in range(N)}
    ins = {i: features(i, ()) for i in range(N)}
    for col in ("link_top1", "link_top3", "link_sit", "neg_sit"):
        c = NAMES.index(col)
        res = {}
        for lift in (0.0, 0.05, 0.1, 0.15, 0.2, 0.3):
            res[lift] = [
                [
                    L.measure(i, L.order(x[i][:, :6] @ w0 + lift * x[i][:, c], cut), block)
                    for i in range(N)
                ]
                for x in (ins, loto)
            ]
            print(f"{col} {lift}: in {L._cell(res[lift][0])} loto {L._cell(res[lift][1])}")
        rows = []
        for t in L.NAMES:
            train = [i for i in range(N) if d.topics[i] != t]
            best = max(res, key=lambda k: L.objective([res[k][1][i] for i in train]))
            rows += [res[best][1][i] for i in range(N) if d.topics[i] == t]
        print(f"{col}: lift chosen on nine {L._cell(rows)}", flush=True)


def run_token_target() -> None:
    """The cut stopped by the block's tokens (a target below the rule's 400) instead of, or
    beside, the cap on beliefs."""
    block = L.BLOCKS["compact"]
    w0 = L.shipped_vector()
    xs = {
        "in": {i: L.features(i, ()) for i in range(N)},
        "loto": {i: L.features(i, (d.topics[i],)) for i in range(N)},
    }
    for cap in (15, 16, 18, None):
        for target in (400, 240, 250, 260):
            cells = []
            for name, x in xs.items():
                rows = [
                    block.measure(L.USERS[i], L.order(x[i] @ w0, ("std", 3.0, cap)), target)
                    for i in range(N)
                ]
                cells.append(f"{name} {L._cell(rows)}")
            print(f"cap {cap} tokens {target}: " + "  ".join(cells), flush=True)


if __name__ == "__main__" and "--token-target" in sys.argv:
    run_token_target()
if __name__ == "__main__" and "--variants" in sys.argv:
    run_variants()
if __name__ == "__main__" and "--forced" in sys.argv:
    run_forced()
