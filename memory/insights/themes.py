"""Themes across a tenant's users: clusters of their active beliefs' statement vectors.

Clustering: average-linkage agglomerative clustering (`scipy.cluster.hierarchy`) on cosine
distance, cut where the members of a cluster are on average at least `similarity` alike. Up to
`SAMPLE` beliefs are clustered exactly; above that a random sample is clustered, every belief
joins the nearest sampled theme it is `similarity` close to, and what is left is sampled again
(a few rounds), so 100k beliefs take seconds, not the hours an exact n^2 clustering would.

k-anonymity: a theme is shown only when at least `k` distinct users hold a belief in it. Its
label is its most central statement among those held (same words, case and punctuation
aside) by at least `k` users; else the words that at least `k` of its users use; else a generic
name. No statement held by fewer than `k` users is ever quoted.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage  # type: ignore[import-untyped]
from scipy.spatial.distance import squareform  # type: ignore[import-untyped]

from memory.ledger.db import iso

SAMPLE = 2000
ROUNDS = 4
CHUNK = 16384
DRIFTING = 5
_WORD = re.compile(r"[^\W\d_]{3,}")
# Function words carry no theme; content words are what users share.
_STOP = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "that",
        "this",
        "from",
        "are",
        "was",
        "were",
        "have",
        "has",
        "had",
        "not",
        "but",
        "you",
        "your",
        "our",
        "they",
        "them",
        "their",
        "its",
        "his",
        "her",
        "she",
        "him",
        "who",
        "what",
        "when",
        "where",
        "which",
        "how",
        "why",
        "all",
        "any",
        "can",
        "could",
        "would",
        "should",
        "will",
        "just",
        "very",
        "really",
        "also",
        "than",
        "then",
        "too",
        "into",
        "about",
        "over",
        "more",
        "most",
        "some",
        "such",
        "only",
        "own",
        "same",
        "both",
        "each",
        "few",
        "other",
        "being",
        "been",
        "does",
        "did",
        "doing",
        "prefer",
        "like",
        "likes",
        "love",
        "usually",
        "always",
        "often",
        "never",
        "every",
        "don",
    ]
)


def _normalize(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


def _agglomerate(vectors: np.ndarray, similarity: float) -> np.ndarray:
    if len(vectors) == 1:
        return np.zeros(1, dtype=np.int64)
    distance = 1.0 - (vectors @ vectors.T).astype(np.float64)
    np.clip(distance, 0.0, 2.0, out=distance)
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(distance, checks=False), method="average")
    return fcluster(tree, t=1.0 - similarity, criterion="distance").astype(np.int64) - 1


def _centroids(vectors: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    sums = np.zeros((count, vectors.shape[1]), dtype=np.float32)
    np.add.at(sums, labels, vectors)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return sums / np.maximum(norms, 1e-12)


def _mean_direction(vectors: np.ndarray) -> np.ndarray:
    total = vectors.sum(axis=0)
    return total / max(float(np.linalg.norm(total)), 1e-12)


def nearest(vectors: np.ndarray, centroids: np.ndarray, similarity: float) -> np.ndarray:
    """Each row's closest centroid when at least `similarity` alike, else -1 (in chunks)."""
    out = np.full(len(vectors), -1, dtype=np.int64)
    if not len(centroids) or not len(vectors):
        return out
    for start in range(0, len(vectors), CHUNK):
        sims = vectors[start : start + CHUNK] @ centroids.T
        best = sims.argmax(axis=1)
        ok = sims[np.arange(len(best)), best] >= similarity
        out[start : start + CHUNK] = np.where(ok, best, -1)
    return out


def cluster(
    vectors: np.ndarray, similarity: float, seed: int = 0, sample: int = SAMPLE
) -> np.ndarray:
    """A theme number per row; -1 for rows left alone after the sampling rounds."""
    labels = np.full(len(vectors), -1, dtype=np.int64)
    rng = np.random.default_rng(seed)
    remaining = np.arange(len(vectors))
    next_id = 0
    for round_ in range(ROUNDS):
        if not len(remaining):
            break
        exact = len(remaining) <= sample
        chosen = remaining if exact else rng.choice(remaining, sample, replace=False)
        local = _agglomerate(vectors[chosen], similarity)
        if exact:
            labels[chosen] = local + next_id
            return labels
        if round_ < ROUNDS - 1:
            # A theme met once in the sample is small: left for the next rounds to sample
            # again, which keeps the assignment (rows x themes) cheap on diverse tenants.
            sizes = np.bincount(local)
            keep = sizes[local] >= 2
            chosen, local = chosen[keep], np.unique(local[keep], return_inverse=True)[1]
        count = int(local.max()) + 1 if len(local) else 0
        centroids = _centroids(vectors[chosen], local, count)
        found = nearest(vectors[remaining], centroids, similarity)
        joined = found >= 0
        labels[remaining[joined]] = found[joined] + next_id
        next_id += count
        remaining = remaining[~joined]
    return labels


def _label(
    members: np.ndarray,
    vectors: np.ndarray,
    centroid: np.ndarray,
    users: Sequence[str],
    normalized: Sequence[str],
    statements: Sequence[str],
    k: int,
) -> tuple[str | None, str]:
    holders: dict[str, set[str]] = defaultdict(set)
    for i in members.tolist():
        holders[normalized[i]].add(users[i])
    shared_texts = {text for text, who in holders.items() if len(who) >= k}
    if shared_texts:
        order = members[np.argsort(-(vectors[members] @ centroid))]
        for i in order:
            if normalized[i] in shared_texts:
                return statements[i], "statement"
    words: dict[str, set[str]] = defaultdict(set)
    for text, who in holders.items():
        for word in set(_WORD.findall(text)) - _STOP:
            words[word] |= who
    shared = sorted(
        (w for w, who in words.items() if len(who) >= k), key=lambda w: (-len(words[w]), w)
    )
    if shared:
        return "about: " + ", ".join(shared[:3]), "keywords"
    return None, "generic"


Change = tuple[str, str, str, bytes | None]  # belief id, event, at, vector if not active


def _weekly(
    changes: Sequence[Change],
    row_of: dict[str, int],
    theme_of_row: np.ndarray,
    centroids: np.ndarray,
    similarity: float,
    weeks: int,
    now: datetime,
) -> np.ndarray:
    """(themes, weeks, new | superseded | retracted) counts. An active belief's change goes
    to its own theme; a belief no longer active goes to the theme nearest its vector."""
    weekly = np.zeros((len(centroids), weeks, 3), dtype=np.int64)
    if not len(centroids):
        return weekly
    # ISO times in UTC compare as strings: each week's start, oldest first
    bounds = [iso(now - timedelta(days=7 * (weeks - w))) for w in range(weeks + 1)]
    kinds = {"new": 0, "superseded": 1, "retracted": 2}
    owners: list[int] = []
    gone: list[tuple[int, bytes]] = []
    for n, (belief_id, _, _, blob) in enumerate(changes):
        row = row_of.get(belief_id)
        owners.append(int(theme_of_row[row]) if row is not None else -1)
        if blob is not None:
            gone.append((n, blob))
    if gone:
        found = nearest(
            np.frombuffer(b"".join(b for _, b in gone), dtype=np.float32).reshape(len(gone), -1),
            centroids,
            similarity,
        )
        for (n, _), theme in zip(gone, found.tolist(), strict=True):
            owners[n] = theme
    for (_, event, at, _), theme in zip(changes, owners, strict=True):
        week = bisect_right(bounds, at) - 1
        if theme >= 0 and 0 <= week < weeks:
            weekly[theme, week, kinds[event]] += 1
    return weekly


def themes(
    ids: Sequence[str],
    users: Sequence[str],
    statements: Sequence[str],
    contexts: Sequence[str],
    created: Sequence[str],
    vectors: np.ndarray,
    changes: Sequence[Change],
    *,
    k: int,
    similarity: float,
    weeks: int,
    now: datetime,
) -> dict[str, Any]:
    """The k-anonymous themes, their change over the last `weeks` weeks and the drifting ones.

    `created`: when each active belief was made (its "new" event); `changes`: every other
    change in the window (`memory.ledger.insights.changes_since`)."""
    labels = cluster(vectors, similarity) if len(vectors) else np.zeros(0, dtype=np.int64)
    groups: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(labels.tolist()):
        if label >= 0:
            groups[label].append(i)
    shown: list[tuple[np.ndarray, set[str]]] = []
    hidden = 0
    for rows in groups.values():
        holders = {users[i] for i in rows}
        if len(holders) >= k:
            shown.append((np.asarray(rows), holders))
        else:
            hidden += 1
    shown.sort(key=lambda item: (-len(item[1]), -len(item[0])))
    centroids = (
        np.stack([_mean_direction(vectors[m]) for m, _ in shown])
        if shown
        else np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 1), dtype=np.float32)
    )
    theme_of_row = np.full(len(vectors), -1, dtype=np.int64)
    for t, (members, _) in enumerate(shown):
        theme_of_row[members] = t
    row_of = {belief_id: row for row, belief_id in enumerate(ids)}
    since = iso(now - timedelta(days=7 * weeks))
    arrivals = [(ids[i], "new", at, None) for i, at in enumerate(created) if at >= since]
    weekly = _weekly([*arrivals, *changes], row_of, theme_of_row, centroids, similarity, weeks, now)
    start = now - timedelta(days=7 * weeks)
    cache = {text: _normalize(text) for text in set(statements)}
    normalized = [cache[text] for text in statements]
    out = []
    for t, (members, holders) in enumerate(shown):
        label, source = _label(members, vectors, centroids[t], users, normalized, statements, k)
        context = Counter(contexts[i] for i in members.tolist()).most_common(1)[0][0]
        totals = weekly[t].sum(axis=0).tolist()
        size = len(members)
        out.append(
            {
                "id": f"theme-{t + 1}",
                "label": label or f"theme {t + 1} ({context})",
                "label_source": source,
                "context": context,
                "users": len(holders),
                "beliefs": size,
                "change": {
                    "new": totals[0],
                    "superseded": totals[1],
                    "retracted": totals[2],
                    "weeks": [
                        {
                            "week_start": (start + timedelta(days=7 * w)).date().isoformat(),
                            "new": int(weekly[t, w, 0]),
                            "superseded": int(weekly[t, w, 1]),
                            "retracted": int(weekly[t, w, 2]),
                        }
                        for w in range(weeks)
                    ],
                },
                # Share of the theme that moved in the window: arrivals and departures over
                # what it holds now plus what left it.
                "drift": round(sum(totals) / (size + totals[1] + totals[2]), 4),
            }
        )
    drifting = sorted((t for t in out if t["drift"] > 0), key=lambda t: -t["drift"])
    return {
        "themes": out,
        "drifting": [
            {"id": t["id"], "label": t["label"], "users": t["users"], "drift": t["drift"]}
            for t in drifting[:DRIFTING]
        ],
        "beliefs": len(vectors),
        "users": len(set(users)),
        "below_min_users": hidden,
    }
