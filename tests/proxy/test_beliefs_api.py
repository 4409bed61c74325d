"""The self-model HTTP API against a real server, SQLite and Chroma."""

from __future__ import annotations

import threading

import httpx
import pytest

from tests.proxy.test_auth import KEYS

# The store, API, extraction and crash tests run on SQLite and on PostgreSQL.
BOTH_LEDGERS = True


def _create(http, user="ana", statement="I am vegetarian.", context="constraints", **extra):
    response = http.post(
        f"/v1/users/{user}/beliefs", json={"statement": statement, "context": context, **extra}
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_create_list_read(http):
    belief = _create(http)
    assert belief["status"] == "active" and belief["version"] == 1
    assert belief["source"] == "asserted"
    assert 0.5 < belief["confidence"] < 1
    assert belief["evidence"][0]["confidence_after"] == belief["confidence"]
    listed = http.get("/v1/users/ana/beliefs").json()["data"]
    assert [b["id"] for b in listed] == [belief["id"]]
    one = http.get(f"/v1/users/ana/beliefs/{belief['id']}").json()
    assert one["history"][0]["event"] == "created"
    assert one["statement"] == "I am vegetarian."


def test_asserted_confidence_anchors(http):
    belief = _create(http, confidence=0.7)
    assert belief["confidence"] == pytest.approx(0.7, abs=0.01)


def test_filters(http):
    _create(http, statement="I prefer short answers.", context="communication_style")
    low = _create(http, statement="Maybe likes jazz.", context="preferences", confidence=0.35)
    assert (
        len(http.get("/v1/users/ana/beliefs", params={"context": "preferences"}).json()["data"])
        == 1
    )
    strong = http.get("/v1/users/ana/beliefs", params={"min_confidence": 0.5}).json()["data"]
    assert low["id"] not in [b["id"] for b in strong]
    http.delete(f"/v1/users/ana/beliefs/{low['id']}")
    retracted = http.get("/v1/users/ana/beliefs", params={"status": "retracted"}).json()["data"]
    assert [b["id"] for b in retracted] == [low["id"]]


def test_correction_of_statement_supersedes_and_keeps_history(http):
    old = _create(http, statement="I live in Berlin.")
    new = http.patch(
        f"/v1/users/ana/beliefs/{old['id']}", json={"statement": "I live in Lisbon."}
    ).json()
    assert new["statement"] == "I live in Lisbon." and new["source"] == "corrected"
    assert new["supersedes"] == old["id"]
    assert new["confidence"] > 0.9
    previous = http.get(f"/v1/users/ana/beliefs/{old['id']}").json()
    assert previous["status"] == "superseded" and previous["valid_to"] is not None
    assert previous["superseded_by"] == new["id"]
    assert [h["event"] for h in previous["history"]] == ["created", "superseded"]
    active = http.get("/v1/users/ana/beliefs", params={"status": "active"}).json()["data"]
    assert [b["statement"] for b in active] == ["I live in Lisbon."]


def test_correction_of_confidence_dominates(http):
    belief = _create(http, statement="I love spicy food.", context="preferences")
    fixed = http.patch(f"/v1/users/ana/beliefs/{belief['id']}", json={"confidence": 0.1}).json()
    assert fixed["confidence"] == pytest.approx(0.1, abs=0.01)
    assert fixed["version"] == 2
    assert fixed["evidence"][-1]["source"] == "corrected"
    assert fixed["history"][-1]["event"] == "corrected"


def test_conflicting_corrections_give_one_409(http, proxy):
    belief = _create(http, statement="I run marathons.", context="goals")
    results: list[int] = []

    def correct(value: float) -> None:
        with httpx.Client(base_url=proxy.url) as session:
            response = session.patch(
                f"/v1/users/ana/beliefs/{belief['id']}", json={"confidence": value, "version": 1}
            )
            results.append(response.status_code)

    threads = [threading.Thread(target=correct, args=(v,)) for v in (0.2, 0.9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 409]
    final = http.get(f"/v1/users/ana/beliefs/{belief['id']}").json()
    assert final["version"] == 2 and len(final["evidence"]) == 2


def test_if_match_header(http):
    belief = _create(http)
    stale = http.patch(
        f"/v1/users/ana/beliefs/{belief['id']}", json={"confidence": 0.8}, headers={"If-Match": "7"}
    )
    assert stale.status_code == 409
    assert stale.json()["error"]["type"] == "conflict_error"


@pytest.mark.parametrize(
    "body,param",
    [
        ({"statement": "x", "context": "hobbies"}, "context"),
        ({"statement": "", "context": "preferences"}, "statement"),
        ({"statement": "y" * 1001, "context": "preferences"}, "statement"),
        ({"statement": "ok", "context": "preferences", "confidence": 1.5}, "confidence"),
        ({"statement": "ok", "context": "preferences", "source": "rumour"}, "source"),
        ({"statement": "ok", "context": "preferences", "colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_422_and_writes_nothing(http, body, param):
    response = http.post("/v1/users/ana/beliefs", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["param"] == param
    assert http.get("/v1/users/ana/beliefs").status_code == 404


@pytest.mark.parametrize(
    "statement",
    [
        "My OpenAI key is sk-proj-abcdefghijklmnopqrstuvwxyz0123456789",
        "My password is hunter2!",
        "My card is 4111 1111 1111 1111",
        "My SSN is 123-45-6789",
    ],
)
def test_secrets_are_refused(http, statement):
    response = http.post(
        "/v1/users/ana/beliefs", json={"statement": statement, "context": "preferences"}
    )
    assert response.status_code == 422
    assert "secret" in response.json()["error"]["message"]


def test_unknown_user_and_belief_404(http):
    assert http.get("/v1/users/nobody/beliefs").status_code == 404
    _create(http)
    missing = http.get("/v1/users/ana/beliefs/bel_nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "not_found_error"


def test_forget_user_removes_everything(http, proxy):
    belief = _create(http)
    summary = http.delete("/v1/users/ana").json()
    assert summary["forgotten"] and summary["beliefs"] == 1
    assert http.get("/v1/users/ana/beliefs").status_code == 404
    assert http.get(f"/v1/users/ana/beliefs/{belief['id']}").status_code == 404
    memory = proxy.state.memory
    memory.sync_index()
    assert memory.chroma.count_user("default", "ana") == 0
    assert memory.db.conn.execute("SELECT COUNT(*) FROM belief_vectors").fetchone()[0] == 0


def test_export_import_round_trip_is_lossless(http, make_proxy, tmp_path):
    first = _create(http, statement="I live in Berlin.")
    http.patch(f"/v1/users/ana/beliefs/{first['id']}", json={"statement": "I live in Porto."})
    _create(
        http, statement="I prefer bullet points.", context="communication_style", confidence=0.8
    )
    exported = http.get("/v1/users/ana/export").json()
    assert exported["format"] == "selfmodel.export/v1" and len(exported["beliefs"]) == 3

    other = make_proxy(store=tmp_path / "elsewhere")
    with httpx.Client(base_url=other.url) as session:
        imported = session.post("/v1/users/ana/import", json=exported)
        assert imported.status_code == 201, imported.text
        again = session.get("/v1/users/ana/export").json()
        again_beliefs = session.get("/v1/users/ana/beliefs").json()["data"]
    exported.pop("exported_at")
    again.pop("exported_at")
    assert again == exported
    assert {b["statement"] for b in again_beliefs if b["status"] == "active"} == {
        "I live in Porto.",
        "I prefer bullet points.",
    }


def test_import_rejects_bad_documents(http):
    assert http.post("/v1/users/ana/import", json={"beliefs": []}).status_code == 422
    bad = {"format": "selfmodel.export/v1", "user": "ana", "beliefs": [{"id": "x"}]}
    assert http.post("/v1/users/ana/import", json=bad).status_code == 422


def test_tenants_are_isolated(make_proxy):
    proxy = make_proxy(KEYS)
    acme = httpx.Client(base_url=proxy.url, headers={"Authorization": "Bearer sk-acme-app-0123456"})
    globex = httpx.Client(
        base_url=proxy.url, headers={"Authorization": "Bearer sk-globex-012345678"}
    )
    belief = acme.post(
        "/v1/users/ana/beliefs", json={"statement": "I am vegan.", "context": "constraints"}
    ).json()
    assert globex.get("/v1/users/ana/beliefs").status_code == 404
    assert globex.get(f"/v1/users/ana/beliefs/{belief['id']}").status_code == 404
    assert (
        globex.patch(f"/v1/users/ana/beliefs/{belief['id']}", json={"confidence": 0.1}).status_code
        == 404
    )
    assert globex.delete(f"/v1/users/ana/beliefs/{belief['id']}").status_code == 404
    assert globex.delete("/v1/users/ana").status_code == 404
    assert globex.get("/v1/users/ana/export").status_code == 404
    assert acme.get(f"/v1/users/ana/beliefs/{belief['id']}").json()["confidence"] > 0.8
    acme.close()
    globex.close()


def test_why_do_we_believe_this(http):
    belief = _create(http, statement="I prefer Python.", context="preferences")
    http.post(
        "/v1/users/ana/observations",
        json={"text": "chose the Python tutorial", "kind": "click", "weight": 1.0},
    )
    detail = http.get(f"/v1/users/ana/beliefs/{belief['id']}").json()
    assert [e["source"] for e in detail["evidence"]] == ["asserted", "observed"]
    first, second = detail["evidence"]
    assert first["delta"] > 0 and second["delta"] > 0
    assert second["confidence_after"] > first["confidence_after"]
    assert second["confidence_after"] == pytest.approx(detail["confidence"], abs=1e-3)


def test_semantic_search_through_the_index(http):
    for statement, context in [
        ("I am vegetarian.", "constraints"),
        ("I play the cello.", "preferences"),
        ("I work as a nurse.", "expertise"),
    ]:
        _create(http, statement=statement, context=context)
    found = http.get("/v1/users/ana/beliefs", params={"q": "music instruments"}).json()["data"]
    assert found[0]["statement"] == "I play the cello."
    assert found[0]["similarity"] > found[-1]["similarity"]
    assert http.get("/v1/users/nobody/beliefs", params={"q": "x"}).status_code == 404
