"""The self-model evolves, over HTTP: revisions, conflicts, concurrency, observations."""

import asyncio

import httpx

from tests.conftest import MODEL
from tests.proxy.test_extraction import beliefs, say, wait_idle

# The store, API, extraction and crash tests run on SQLite and on PostgreSQL.
BOTH_LEDGERS = True


def test_a_revision_in_chat_leaves_only_the_new_state_injected(proxy, http):
    say(proxy, "I live in Lyon.")
    wait_idle(proxy)
    say(proxy, "I moved to Glasgow.")
    wait_idle(proxy)
    statements = [b["statement"] for b in beliefs(proxy)]
    assert statements == ["I live in Glasgow."]
    old = beliefs(proxy, status="superseded")
    assert [b["statement"] for b in old] == ["I live in Lyon."] and old[0]["valid_to"]
    body = {"model": MODEL, "messages": [{"role": "user", "content": "Where do I live?"}]}
    injected = http.post("/v1/users/ana/preview", json=body).json()["beliefs"]
    assert [b["statement"] for b in injected] == ["I live in Glasgow."]


def test_conflicts_are_listed_and_never_injected_together(proxy, http):
    for statement, source in (
        ("I like spicy food.", "inferred"),
        ("I don't like spicy food.", "asserted"),
    ):
        body = {"statement": statement, "context": "preferences", "source": source}
        assert http.post("/v1/users/ana/beliefs", json=body).status_code == 201
    found = http.get("/v1/users/ana/beliefs", params={"conflicts": "true"}).json()["data"]
    assert len(found) == 1
    assert {b["statement"] for b in found[0]["beliefs"]} == {
        "I like spicy food.",
        "I don't like spicy food.",
    }
    assert "rule" in found[0] and found[0]["winner"]
    body = {"model": MODEL, "messages": [{"role": "user", "content": "Is spicy food ok for me?"}]}
    injected = http.post("/v1/users/ana/preview", json=body).json()["beliefs"]
    assert len([b for b in injected if "spicy" in b["statement"]]) == 1
    missing = http.get("/v1/users/nobody/beliefs", params={"conflicts": "true"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_fifty_identical_concurrent_turns_make_one_belief_with_fifty_pieces_of_evidence(proxy):
    async def burst():
        body = {
            "model": MODEL,
            "user": "ana",
            "messages": [{"role": "user", "content": "I am allergic to shellfish."}],
        }
        async with httpx.AsyncClient(base_url=proxy.url, timeout=60) as client:
            return await asyncio.gather(
                *[client.post("/v1/chat/completions", json=body) for _ in range(50)]
            )

    assert all(r.status_code == 200 for r in asyncio.run(burst()))
    wait_idle(proxy, timeout=120)
    found = beliefs(proxy)
    assert len(found) == 1
    detail = httpx.get(proxy.url + f"/v1/users/ana/beliefs/{found[0]['id']}").json()
    assert len(detail["evidence"]) == 50


def test_an_observation_lands_as_evidence_on_the_belief_it_supports(proxy, http):
    say(proxy, "I'm vegetarian.")
    wait_idle(proxy)
    target = beliefs(proxy)[0]
    response = http.post(
        "/v1/users/ana/observations", json={"text": "clicked on 3 vegetarian recipes"}
    ).json()
    assert response["created"] is False and response["belief"]["id"] == target["id"]
    assert len(beliefs(proxy)) == 1


def test_the_cli_lists_conflicts(proxy, http):
    from tests.proxy.test_cli import cli

    for statement, source in (("I enjoy jazz.", "inferred"), ("I don't enjoy jazz.", "asserted")):
        body = {"statement": statement, "context": "preferences", "source": source}
        http.post("/v1/users/ana/beliefs", json=body)
    out = cli("beliefs", "ana", "--conflicts", url=proxy.url).stdout
    assert "contradicts" in out and "asserted beats inferred" in out


def test_export_and_import_carry_the_evidence_note_of_a_revision(proxy, make_proxy, tmp_path):
    say(proxy, "I live in Lyon.")
    wait_idle(proxy)
    say(proxy, "I moved to Glasgow.")
    wait_idle(proxy)
    exported = httpx.get(proxy.url + "/v1/users/ana/export").json()
    notes = [e.get("note") for b in exported["beliefs"] for e in b["evidence"]]
    assert any(n and "supersedes 'I live in Lyon.'" in n for n in notes), notes

    other = make_proxy(store=tmp_path / "elsewhere")
    with httpx.Client(base_url=other.url) as session:
        assert session.post("/v1/users/ana/import", json=exported).status_code == 201
        again = session.get("/v1/users/ana/export").json()
        new = next(b for b in again["beliefs"] if b["status"] == "active")
        detail = session.get(f"/v1/users/ana/beliefs/{new['id']}").json()
    exported.pop("exported_at")
    again.pop("exported_at")
    assert again == exported
    assert any("supersedes" in (e.get("note") or "") for e in detail["evidence"])


def test_an_export_without_notes_still_imports(proxy, make_proxy, tmp_path):
    say(proxy, "I live in Lyon.")
    wait_idle(proxy)
    exported = httpx.get(proxy.url + "/v1/users/ana/export").json()
    for belief in exported["beliefs"]:
        for evidence in belief["evidence"]:
            evidence.pop("note", None)
    other = make_proxy(store=tmp_path / "elsewhere")
    with httpx.Client(base_url=other.url) as session:
        assert session.post("/v1/users/ana/import", json=exported).status_code == 201
        assert [b["statement"] for b in session.get("/v1/users/ana/beliefs").json()["data"]] == [
            "I live in Lyon."
        ]
