"""The experiment's statistics, run directly on simulated arms (many seeds, fast)."""

from __future__ import annotations

import math

import numpy as np

from memory.insights.experiment import compare, mean_ci, summarize


def arms(rng: np.random.Generator, n: int, lift: float, share: float = 0.3):
    held = rng.random(n) < share
    base = rng.normal(0.0, 0.5, n) + np.where(held, 0.0, lift)
    scores = np.clip(base, -1, 1)
    return scores[~held], scores[held]


def test_welch_matches_the_textbook_formula():
    rng = np.random.default_rng(1)
    t, h = rng.normal(0.3, 0.5, 140), rng.normal(0.0, 0.8, 60)
    got = compare(t, h, 0.95)
    vt, vh = t.var(ddof=1) / len(t), h.var(ddof=1) / len(h)
    df = (vt + vh) ** 2 / (vt**2 / (len(t) - 1) + vh**2 / (len(h) - 1))
    assert math.isclose(got["df"], df, rel_tol=1e-4)
    diff = t.mean() - h.mean()
    assert math.isclose(got["feedback_mean"], diff, abs_tol=1e-5)
    half = (got["ci"][1] - got["ci"][0]) / 2
    # the 97.5% t quantile lies between the normal's 1.96 and 2.0 for these df
    assert 1.96 * math.sqrt(vt + vh) < half < 2.0 * math.sqrt(vt + vh)
    assert got["method"] == "welch_t" and 0 < got["p_value"] < 0.05


def test_false_positive_rate_is_near_nominal_over_many_seeds():
    trials, positives = 1000, 0
    for seed in range(trials):
        t, h = arms(np.random.default_rng(seed), 400, lift=0.0)
        lo, hi = compare(t, h, 0.95)["ci"]
        positives += lo > 0 or hi < 0
    rate = positives / trials
    assert 0.025 <= rate <= 0.08, rate  # nominal 0.05; binomial sd 0.007


def test_a_true_lift_is_found_and_covered():
    found = covered = 0
    trials = 300
    for seed in range(trials):
        t, h = arms(np.random.default_rng(10_000 + seed), 2000, lift=0.1)
        # the true difference of the clipped means, from a large sample of the same model
        lo, hi = compare(t, h, 0.95)["ci"]
        found += lo > 0
        covered += lo <= 0.0985 <= hi or lo <= 0.1 <= hi
    assert found / trials > 0.9  # power at n=2000, lift 0.1, sd 0.5 is about 0.99
    assert covered / trials > 0.9


def test_too_little_data_gives_no_interval():
    assert compare([0.5], [0.1, 0.2])["ci"] is None
    assert compare([], [])["feedback_mean"] is None
    flat = compare([1.0, 1.0], [1.0, 1.0])
    assert flat["ci"] is None and "spread" in flat["note"]
    assert mean_ci([], 0.95) == (None, None)
    assert mean_ci([0.4], 0.95) == (0.4, None)


def test_summary_weighs_users_equally_and_drops_users_in_both_arms():
    requests = [
        ("a", "treatment", 3),
        ("b", "treatment", 1),
        ("c", "holdout", 2),
        ("d", "holdout", 1),
        ("e", "treatment", 1),
        ("e", "holdout", 1),
    ]
    feedback = [
        ("a", "treatment", 1.0, "2026-01-01"),
        ("a", "treatment", 1.0, "2026-01-01"),
        ("a", "treatment", 1.0, "2026-01-02"),
        ("b", "treatment", -0.5, "2026-01-02"),
        ("c", "holdout", 0.0, "2026-01-01"),
        ("d", "holdout", -0.2, "2026-01-02"),
        ("e", "holdout", 1.0, "2026-01-02"),
    ]
    daily = [("2026-01-01", "treatment", 2, 1), ("2026-01-02", "holdout", 3, 2)]
    got = summarize(requests, feedback, {"b": 2}, daily, 0.95)
    t, h = got["arms"]["treatment"], got["arms"]["holdout"]
    assert got["mixed_users"] == 1
    assert (t["users"], t["requests"], t["feedback_n"]) == (2, 4, 4)
    assert (h["users"], h["requests"], h["feedback_n"]) == (2, 3, 2)
    assert t["feedback_mean"] == 0.25  # (1.0 + -0.5) / 2 users, not 2.5 / 4 scores
    assert t["negative_rate"] == 0.25 and h["negative_rate"] == 0.5
    assert t["correction_rate"] == 0.5 and h["correction_rate"] == 0
    assert got["lift"]["n"] == {"treatment": 2, "holdout": 2}
    day2 = got["timeline"][1]
    assert day2["day"] == "2026-01-02" and day2["holdout"]["requests"] == 3
    assert day2["treatment"]["feedback_n"] == 2 and day2["treatment"]["feedback_mean"] == 0.25
