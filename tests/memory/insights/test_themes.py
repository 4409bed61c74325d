"""Themes: clustering, k-anonymity of themes and labels, change per week."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from memory.insights.themes import cluster, themes
from memory.ledger.db import iso

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def blobs(rng: np.random.Generator, sizes: list[int], spread: float = 0.02, dim: int = 64):
    centers = rng.normal(size=(len(sizes), dim))
    rows, truth = [], []
    for c, size in enumerate(sizes):
        rows.append(centers[c] + rng.normal(scale=spread * np.sqrt(dim), size=(size, dim)) * 0.1)
        truth += [c] * size
    v = np.vstack(rows).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True), np.asarray(truth)


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = {(int(x), int(y)) for x, y in zip(a, b, strict=True)}
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def test_exact_and_sampled_clustering_find_the_same_groups():
    rng = np.random.default_rng(0)
    v, truth = blobs(rng, [400, 300, 200, 120, 60])
    exact = cluster(v, 0.5)
    sampled = cluster(v, 0.5, sample=150)
    assert same_partition(exact, truth)
    assert (sampled >= 0).all() and same_partition(sampled, truth)


def _theme_input(statements: list[str], users: list[str], vectors: np.ndarray):
    ids = [f"b{i}" for i in range(len(users))]
    old = [iso(NOW - timedelta(days=60))] * len(users)
    return ids, users, statements, ["preferences"] * len(users), old, vectors, []


def test_themes_under_k_users_and_rare_statements_never_show():
    rng = np.random.default_rng(1)
    v, truth = blobs(rng, [12, 4, 1])
    statements = (
        ["I am vegetarian."] * 6
        + [f"I'm veggie, variant {i} zq{i}" for i in range(6)]
        + ["I collect clocks."] * 4
        + ["I play the zyxquorp."]
    )
    users = [f"u{i}" for i in range(len(statements))]
    got = themes(*_theme_input(statements, users, v), k=5, similarity=0.5, weeks=4, now=NOW)
    assert [t["users"] for t in got["themes"]] == [12]
    assert got["themes"][0]["label"] == "I am vegetarian."
    assert got["below_min_users"] == 2
    text = repr(got)
    assert "clock" not in text and "zyxquorp" not in text and "variant" not in text


def test_one_user_many_beliefs_is_not_k_users():
    rng = np.random.default_rng(2)
    v, _ = blobs(rng, [20])
    users = ["solo"] * 17 + ["a", "b", "c"]  # 4 users, under k = 5
    got = themes(
        *_theme_input(["I like sailing."] * 20, users, v), k=5, similarity=0.5, weeks=4, now=NOW
    )
    assert got["themes"] == []


def test_labels_fall_back_to_shared_words_then_a_generic_name():
    rng = np.random.default_rng(3)
    v, _ = blobs(rng, [6, 6])
    words = [f"I cook vegan curry, recipe {name}." for name in "abcdef"]
    unique = [
        "Kayaking mornings.",
        "Origami cranes.",
        "Jazz trumpet.",
        "Chess openings.",
        "Bonsai pruning.",
        "Rugby tackles.",
    ]
    users = [f"u{i}" for i in range(12)]
    got = themes(*_theme_input(words + unique, users, v), k=5, similarity=0.5, weeks=4, now=NOW)
    labels = {t["label_source"]: t["label"] for t in got["themes"]}
    assert labels["keywords"].startswith("about: ") and "curry" in labels["keywords"]
    assert "recipe a" not in labels["keywords"]
    assert labels["generic"].startswith("theme ") and labels["generic"].endswith("(preferences)")
    assert "origami" not in repr(got).lower()


def test_changes_are_counted_per_week_and_drift_is_ranked():
    rng = np.random.default_rng(4)
    v, truth = blobs(rng, [10, 10, 1])
    active, gone = v[:20], v[20:]  # a third-group belief no longer active: joins no theme
    users = [f"u{i}" for i in range(20)]
    ids = [f"b{i}" for i in range(20)]

    def at(days: float) -> str:
        return iso(NOW - timedelta(days=days))

    # active beliefs are new in their own theme; b2 is older than the 4 weeks shown
    created = [at(1), at(20), at(40)] + [at(60)] * 17
    changes = [
        ("old1", "superseded", at(2), v[3].tobytes()),  # gone: the theme nearest its vector
        ("old2", "retracted", at(9), v[4].tobytes()),
        ("old3", "retracted", at(3), gone[0].tobytes()),  # near no theme
    ]
    got = themes(
        ids,
        users,
        ["x"] * 20,
        ["goals"] * 20,
        created,
        active,
        changes,
        k=5,
        similarity=0.5,
        weeks=4,
        now=NOW,
    )
    first = next(t for t in got["themes"] if t["change"]["new"])
    assert (
        first["change"]["new"],
        first["change"]["superseded"],
        first["change"]["retracted"],
    ) == (2, 1, 1)
    other = next(t for t in got["themes"] if t is not first)
    assert other["change"]["retracted"] == 0 and other["drift"] == 0
    weeks = first["change"]["weeks"]
    assert len(weeks) == 4 and weeks[-1]["new"] == 1 and weeks[-1]["superseded"] == 1
    assert weeks[-2]["retracted"] == 1 and weeks[1]["new"] == 1
    assert got["drifting"] == [
        {"id": first["id"], "label": first["label"], "users": 10, "drift": round(4 / (10 + 2), 4)}
    ]
