"""Retrieval lab: how many situations a belief is indexed under (`SITUATIONS_PER_BELIEF`),
measured nested leave-one-topic-out, beside in-sample and the crowded users.

For each k, as retrieval_lab_linear.py: held-out topic T is measured with the situation table
less T; the linear weights are fitted on the other nine topics, each training case's features
computed with the table less T and less its own topic. `chosen` picks k per held-out topic too:
the k whose fitted ranker does best (recall, median tokens <= 250) on the nine training
topics' held-out-style features, so no figure sees its own topic. Also printed: the cases a k
gains and loses against the shipped k.

Measured (compact block, cut 3.0/15; recall (median tokens)), nested with k fixed: k 1 0.947
(233.5), k 2 0.956 (232; +5 -2 cases against k 3), k 3 0.951 (234, shipped), k 4 0.943 (231);
in-sample 0.966/0.966/0.956/0.956, LOTO table 0.951/0.960/0.951/0.949. With k chosen on the
nine topics per held-out topic: 0.945 (travel_restaurant's nine choose k 1). Crowded: k 2
nested 0.824 (+6 -8) against k 3's 0.828. So two situations a belief is within noise of three
and not chosen reliably on nine topics: three stays.

Run:  python benchmarks/retrieval_lab_views.py [--crowded] [--ks 1,2,3,4]   (~6 min)
"""

from __future__ import annotations

import functools
import sys

import numpy as np
import retrieval_lab_linear as L
import retrieval_lab_loto as LT

from memory.index import views

d = L.d
N = L.N
CUT = ("std", L.SHIPPED.cut_stds)
KS = [
    int(k)
    for k in (sys.argv[sys.argv.index("--ks") + 1] if "--ks" in sys.argv else "1,2,3,4").split(",")
]


def with_k(k: int) -> None:
    LT.index_views = functools.partial(views.index_views, per_belief=k)
    L.lists_for.cache_clear()


def run_k(k: int, block) -> dict[str, object]:
    with_k(k)
    loto = {i: L.features(i, (d.topics[i],)) for i in range(N)}
    ins = {i: L.features(i, ()) for i in range(N)}
    nested: dict[int, tuple[bool, int, int]] = {}
    train_rows: dict[str, list[tuple[bool, int, int]]] = {}
    for t in L.NAMES:
        train = [i for i in range(N) if d.topics[i] != t]
        xs = {i: L.features(i, (t, d.topics[i])) for i in train}
        w = L.fit(list(xs.values()))
        train_rows[t] = [L.measure(i, L.order(xs[i] @ w, CUT), block) for i in train]
        for i in range(N):
            if d.topics[i] == t:
                nested[i] = L.measure(i, L.order(loto[i] @ w, CUT), block)
    w = L.fit([loto[i] for i in range(N)])
    return {
        "in": [L.measure(i, L.order(ins[i] @ w, CUT), block) for i in range(N)],
        "loto": [L.measure(i, L.order(loto[i] @ w, CUT), block) for i in range(N)],
        "nested": [nested[i] for i in range(N)],
        "train": train_rows,
        "w": np.round(w / w[0], 3),
    }


def main() -> None:
    block = L.BLOCKS["compact"]
    shipped = views.SITUATIONS_PER_BELIEF
    runs = {k: run_k(k, block) for k in sorted({*KS, shipped})}
    base = runs[shipped]["nested"]
    for k, r in runs.items():
        gained = sum(a[0] and not b[0] for a, b in zip(r["nested"], base, strict=True))
        lost = sum(b[0] and not a[0] for a, b in zip(r["nested"], base, strict=True))
        print(
            f"k {k}: in {L._cell(r['in'])}  loto {L._cell(r['loto'])}  nested "
            f"{L._cell(r['nested'])}  vs k {shipped}: +{gained} -{lost}  w {r['w']}",
            flush=True,
        )
    chosen: list[tuple[bool, int, int]] = []
    for t in L.NAMES:
        k = max(runs, key=lambda k: L.objective(runs[k]["train"][t]))
        chosen += [runs[k]["nested"][i] for i in range(N) if d.topics[i] == t]
        print(f"  {t:22s} k chosen on nine: {k}")
    print(f"k chosen per held-out topic: {L._cell(chosen)}")


if __name__ == "__main__":
    main()
