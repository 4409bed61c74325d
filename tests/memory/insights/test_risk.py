"""Churn risk from a rising share of negative signals."""

from __future__ import annotations

from memory.insights.risk import at_risk


def test_a_rising_share_of_negative_signals_ranks_first():
    signals = {
        # earlier: 4 good feedbacks; later: 2 corrections, 1 retraction, 2 negative of 3
        "sliding": {
            "feedback": [4, 3],
            "negative": [0, 2],
            "corrected": [0, 2],
            "retracted": [0, 1],
            "requests": [10, 4],
        },
        # always unhappy: high share, no rise
        "steady": {"feedback": [4, 4], "negative": [3, 3]},
        # recovering: fewer negatives now than before
        "better": {"feedback": [4, 4], "negative": [4, 1]},
        "content": {"feedback": [5, 5], "negative": [0, 0]},
    }
    got = at_risk(signals, min_risk=0.0, limit=10)
    users = [u["user"] for u in got]
    assert users[0] == "sliding" and "content" not in users
    sliding = got[0]
    assert sliding["negative_share"] == {"earlier": 0.0, "later": round(5 / 8, 4)}
    assert sliding["risk"] == round(0.5 * 5 / 8 + 0.5 * 5 / 8, 4)
    assert sliding["inputs"]["requests"] == {"earlier": 10, "later": 4}
    steady = next(u for u in got if u["user"] == "steady")
    better = next(u for u in got if u["user"] == "better")
    assert steady["trend"] == 0 and steady["risk"] == 0.25
    assert better["trend"] < 0 and better["risk"] < steady["risk"]


def test_one_correction_alone_is_a_moderate_signal_and_limits_apply():
    got = at_risk({"u": {"corrected": [0, 1]}}, min_risk=0.0, limit=10)
    assert got[0]["negative_share"]["later"] == round(1 / 3, 4)
    assert at_risk({"u": {"corrected": [0, 1]}}, min_risk=0.5, limit=10) == []
    many = {f"u{i}": {"negative": [0, 1], "feedback": [0, 1]} for i in range(20)}
    assert len(at_risk(many, min_risk=0.0, limit=5)) == 5
