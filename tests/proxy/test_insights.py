"""Holdout arms and GET /v1/insights/* through a real server on loopback."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from memory.inject.rules import holdout_draw
from tests.conftest import MODEL

ADMIN = "sk-admin-0123456789"
MEMBER = "sk-member-0123456789"
OTHER = "sk-other-admin-0123"
KEYS = {
    "auth": {
        "keys": [
            {"key": ADMIN, "tenant": "acme", "admin": True},
            {"key": MEMBER, "tenant": "acme"},
            {"key": OTHER, "tenant": "globex", "admin": True},
        ]
    }
}


def session(proxy, key=None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=proxy.url, timeout=30, headers=headers)


def chat(s: httpx.Client, user: str, text: str = "What should I cook tonight?", **extra):
    r = s.post(
        "/v1/chat/completions",
        json={"model": MODEL, "user": user, "messages": [{"role": "user", "content": text}]},
        **extra,
    )
    assert r.status_code == 200, r.text
    return int(r.headers["x-selfmodel-injected"]), r.headers["x-selfmodel-request-id"]


def add(s: httpx.Client, user: str, statement: str, context: str = "preferences") -> None:
    r = s.post(f"/v1/users/{user}/beliefs", json={"statement": statement, "context": context})
    assert r.status_code == 201, r.text


def test_holdout_users_get_no_injection_and_everything_else_goes_on(make_proxy, upstream):
    proxy = make_proxy({"injection": {"holdout": {"percent": 50, "salt": "t1"}}})
    with session(proxy) as s:
        users = [f"h{i}" for i in range(24)]
        for user in users:
            add(s, user, "I prefer spicy vegetarian food.")
        for user in users:
            want = "holdout" if holdout_draw("default", user, "t1") < 0.5 else "treatment"
            injected, request_id = chat(s, user)
            assert (injected == 0) == (want == "holdout"), user
            record = s.get(f"/v1/audit/{request_id}").json()
            assert record["arm"] == want and record["injected"] == (
                [] if injected == 0 else record["injected"]
            )
            assert chat(s, user)[0] == injected  # the same arm next time
            r = s.post("/v1/feedback", json={"request_id": request_id, "score": 0.5})
            assert r.status_code == 201  # feedback is taken in both arms
        held = next(u for u in users if holdout_draw("default", u, "t1") < 0.5)
        chat(s, held, "I am allergic to peanuts.")  # learning goes on in the holdout
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            found = s.get(f"/v1/users/{held}/beliefs").json()["data"]
            if any("peanut" in b["statement"].lower() for b in found):
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the holdout user's turn was not learned")
        # a request without an end user is no experiment unit
        r = s.post(
            "/v1/chat/completions",
            json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]},
        )
        assert s.get(f"/v1/audit/{r.headers['x-selfmodel-request-id']}").json()["arm"] is None
        body = s.get("/v1/insights/experiment").json()
        arms = body["arms"]
        assert body["holdout_percent"] == 50
        assert arms["treatment"]["users"] + arms["holdout"]["users"] == len(users)
        assert arms["treatment"]["feedback_n"] + arms["holdout"]["feedback_n"] == len(users)
        assert arms["holdout"]["requests"] >= 2 * arms["holdout"]["users"]


def test_a_rule_has_its_own_holdout_and_the_report_can_be_per_rule(make_proxy, upstream):
    proxy = make_proxy(
        {
            "injection": {
                "holdout": {"percent": 0},
                "rules": [
                    {
                        "name": "beta",
                        "match": {"headers": {"x-cohort": "beta"}},
                        "holdout": {"percent": 100, "salt": "b"},
                    },
                    {"name": "default"},
                ],
            }
        }
    )
    with session(proxy) as s:
        add(s, "ana", "I prefer spicy vegetarian food.")
        assert chat(s, "ana", headers={"x-cohort": "beta"})[0] == 0
        assert chat(s, "ana")[0] > 0
        beta = s.get("/v1/insights/experiment", params={"rule": "beta"}).json()
        assert beta["holdout_percent"] == 100 and beta["arms"]["holdout"]["requests"] == 1
        assert beta["arms"]["treatment"]["requests"] == 0
        main = s.get("/v1/insights/experiment", params={"rule": "default"}).json()
        assert main["holdout_percent"] == 0 and main["arms"]["treatment"]["requests"] == 1
        later = s.get("/v1/insights/experiment", params={"since": "2999-01-01"}).json()
        assert later["arms"]["treatment"]["requests"] == 0


def test_insights_are_admin_only_and_scoped_to_the_tenant(make_proxy, upstream):
    proxy = make_proxy(KEYS)
    with (
        session(proxy, ADMIN) as admin,
        session(proxy, MEMBER) as member,
        session(proxy, OTHER) as other,
    ):
        for i in range(6):
            add(admin, f"acme-{i}", "I am vegetarian.")
        chat(admin, "acme-0")
        for path in ("/v1/insights/experiment", "/v1/insights/beliefs", "/v1/insights/at-risk"):
            r = member.get(path)
            assert r.status_code == 403 and r.json()["error"]["code"] == "admin_required"
            assert session(proxy).get(path).status_code == 401
        assert admin.get("/v1/insights/beliefs").json()["themes"][0]["users"] == 6
        assert other.get("/v1/insights/beliefs").json()["themes"] == []
        assert other.get("/v1/insights/experiment").json()["arms"]["treatment"]["users"] == 0


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/v1/insights/experiment?since=last-tuesday", "since"),
        ("/v1/insights/beliefs?context=hobbies", "context"),
        ("/v1/insights/at-risk?min_risk=2", "min_risk"),
        ("/v1/insights/at-risk?days=0", "days"),
    ],
)
def test_bad_parameters_are_openai_shaped_errors(proxy, path, param):
    with session(proxy) as s:
        r = s.get(path)
    assert r.status_code in (400, 422)
    error = r.json()["error"]
    assert error["param"] == param and error["message"] and error["type"]


def test_themes_respect_min_users(make_proxy, upstream):
    proxy = make_proxy({"insights": {"min_users": 7}})
    with session(proxy) as s:
        for i in range(6):
            add(s, f"v{i}", "I am vegetarian." if i % 2 else "I'm a vegetarian.")
        body = s.get("/v1/insights/beliefs", params={"context": "preferences"}).json()
        assert body["min_users"] == 7 and body["themes"] == [] and body["beliefs"] == 6
        add(s, "v6", "I am a vegetarian, no meat.")
        body = s.get("/v1/insights/beliefs").json()
        assert [t["users"] for t in body["themes"]] == [7]
        # no statement is held by 7 users: the label is the words they share
        assert body["themes"][0]["label"] == "about: vegetarian"
        assert body["themes"][0]["change"]["new"] == 7


def test_at_risk_lists_users_who_correct_and_dislike(proxy, upstream):
    with session(proxy) as s:
        add(s, "unhappy", "I prefer long, detailed answers.", "communication_style")
        add(s, "happy", "I prefer long, detailed answers.", "communication_style")
        for user, score in (("unhappy", -0.8), ("happy", 0.9)):
            _, request_id = chat(s, user, "Explain how a heat pump works.")
            assert (
                s.post("/v1/feedback", json={"request_id": request_id, "score": score}).status_code
                == 201
            )
        belief = s.get("/v1/users/unhappy/beliefs").json()["data"][0]
        r = s.patch(
            f"/v1/users/unhappy/beliefs/{belief['id']}",
            json={"statement": "I prefer short answers."},
        )
        assert r.status_code == 200, r.text
        body = s.get("/v1/insights/at-risk").json()
        assert [u["user"] for u in body["data"]] == ["unhappy"]
        inputs = body["data"][0]["inputs"]
        assert inputs["negative"]["later"] == 1 and inputs["corrected"]["later"] == 1
        assert body["data"][0]["risk"] == round(0.5 * 0.5 + 0.5 * 0.5, 4)  # 2 of (2 + 2)


def test_results_are_cached_until_the_store_changes(proxy, upstream):
    with session(proxy) as s:
        add(s, "ana", "I prefer spicy vegetarian food.")
        _, request_id = chat(s, "ana")
        first = s.get("/v1/insights/experiment").json()
        again = s.get("/v1/insights/experiment").json()
        assert first["cached"] is False and again["cached"] is True
        assert again["computed_at"] == first["computed_at"]
        s.post("/v1/feedback", json={"request_id": request_id, "score": 1})
        fresh = s.get("/v1/insights/experiment").json()
        assert fresh["cached"] is False and fresh["arms"]["treatment"]["feedback_n"] == 1


def test_selfmodel_report_prints_both_arms_and_the_lift(make_proxy, upstream):
    from tests.proxy.test_cli import cli

    proxy = make_proxy(
        {"injection": {"holdout": {"percent": 50, "salt": "cli"}}, "extraction": {"enabled": False}}
    )
    with session(proxy) as s:
        for i in range(16):
            add(s, f"r{i}", "I prefer spicy vegetarian food.")
            injected, request_id = chat(s, f"r{i}")
            score = (0.5 if injected else 0.0) + 0.05 * (i % 4)
            s.post("/v1/feedback", json={"request_id": request_id, "score": score})
        body = s.get("/v1/insights/experiment").json()
    result = cli("report", url=proxy.url)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "50.0% held out" in out and "treatment" in out and "holdout" in out
    assert f"{body['lift']['feedback_mean']:+.3f}" in out and "welch_t" in out
    users = f"{body['arms']['treatment']['users']}"
    assert any(line.startswith("users") and users in line for line in out.splitlines())
    as_json = cli("report", "--json", "--since", "2000-01-01", url=proxy.url)
    assert json.loads(as_json.stdout)["arms"]["treatment"]["users"] == int(users)
    bad = cli("report", "--since", "soon", url=proxy.url)
    assert bad.returncode == 2 and "since" in bad.stderr
