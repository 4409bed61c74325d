"""The simulation of issue #17 through the real HTTP API: 2,000 synthetic users whose feedback
is better when their preference was injected. The report must find that lift with an interval
excluding 0, and none when the feedback does not depend on the arm. (The false-positive rate
over many seeds is checked on the statistics directly: tests/memory/insights/test_experiment.py.)
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np

from tests.conftest import MODEL

PREFERENCES = [
    ("I prefer answers with code in Go.", "How do I parse JSON from a file?"),
    ("I prefer recipes without dairy.", "What can I bake for a birthday?"),
    ("I prefer quiet places to stay on holiday.", "Where should I stay in Lisbon?"),
    ("I prefer exercises I can do at home.", "How can I get fitter this winter?"),
    ("I prefer history podcasts.", "What should I listen to on my commute?"),
]


def simulate(proxy, users: int, lift: float, seed: int) -> dict:
    ids = [f"sim{seed}-{i:04d}" for i in range(users)]
    # one client for every thread (an httpx.Client is thread-safe; making one is not cheap)
    s = httpx.Client(base_url=proxy.url, timeout=60, limits=httpx.Limits(max_connections=4))

    def one(index: int) -> tuple[int, str]:
        statement, question = PREFERENCES[index % len(PREFERENCES)]
        r = s.post(
            f"/v1/users/{ids[index]}/beliefs",
            json={"statement": statement, "context": "preferences"},
        )
        assert r.status_code == 201, r.text
        r = s.post(
            "/v1/chat/completions",
            json={
                "model": MODEL,
                "user": ids[index],
                "messages": [{"role": "user", "content": question}],
            },
        )
        assert r.status_code == 200, r.text
        return int(r.headers["x-selfmodel-injected"]), r.headers["x-selfmodel-request-id"]

    with ThreadPoolExecutor(4) as pool:
        chats = list(pool.map(one, range(users)))
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, 0.5, users)
    scores = [
        float(np.clip(noise[i] + (lift if injected else 0.0), -1, 1))
        for i, (injected, _) in enumerate(chats)
    ]

    def rate(item: tuple[tuple[int, str], float]) -> None:
        (_, request_id), score = item
        r = s.post("/v1/feedback", json={"request_id": request_id, "score": score})
        assert r.status_code == 201, r.text

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(rate, zip(chats, scores, strict=True)))
    body = s.get("/v1/insights/experiment").json()
    s.close()
    body["held_out"] = sum(1 for injected, _ in chats if injected == 0)
    return body


def test_the_report_finds_a_true_lift_from_2000_users(make_proxy, upstream):
    proxy = make_proxy(
        {"injection": {"holdout": {"percent": 20, "salt": "sim"}}, "extraction": {"enabled": False}}
    )
    body = simulate(proxy, 2000, lift=0.2, seed=7)
    arms, lift = body["arms"], body["lift"]
    assert arms["treatment"]["users"] + arms["holdout"]["users"] == 2000
    assert arms["holdout"]["users"] == body["held_out"]
    assert 0.16 < body["held_out"] / 2000 < 0.24
    assert arms["treatment"]["feedback_n"] + arms["holdout"]["feedback_n"] == 2000
    lo, hi = lift["ci"]
    assert lo > 0 and lo <= lift["feedback_mean"] <= hi
    assert abs(lift["feedback_mean"] - 0.2) < 0.1 and lift["p_value"] < 0.001


def test_the_report_finds_no_lift_when_there_is_none(make_proxy, upstream):
    proxy = make_proxy(
        {
            "injection": {"holdout": {"percent": 30, "salt": "null"}},
            "extraction": {"enabled": False},
        }
    )
    body = simulate(proxy, 500, lift=0.0, seed=11)
    lo, hi = body["lift"]["ci"]
    assert lo <= 0 <= hi and body["lift"]["p_value"] > 0.05
