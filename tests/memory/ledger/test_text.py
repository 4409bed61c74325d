"""Client text with U+0000 in it: PostgreSQL's text cannot hold it, SQLite's can. Through a real
server, every write that takes client text keeps it exactly, on both ledgers, and reads and
lookups find it as they find any other text."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from memory.ledger import Database
from memory.ledger.connections import ESCAPE, escape_text, unescape_text
from tests.conftest import MODEL
from tests.fake_upstream import Reply
from tests.proxy.test_extraction import wait_idle

BOTH_LEDGERS = True

NUL = "\x00"
REPLY = f"Noted{NUL} enjoy the trail."
MESSAGE = "I love hiking in the mountains. Any trail ideas?"


@given(st.text(alphabet=st.sampled_from(["a", NUL, ESCAPE, "\ufffe", "é", "%"]), max_size=40))
def test_escaping_is_lossless_and_leaves_other_text_alone(text):
    stored = escape_text(text)
    assert NUL not in stored
    assert unescape_text(stored) == text
    if NUL not in text and ESCAPE not in text:
        assert stored is text


def test_text_with_nul_is_written_found_and_read_back_on_both(ledger_target):
    db = Database(ledger_target)
    keys = [f"k{NUL}", f"k{NUL}{NUL}", f"k{ESCAPE}", f"k{ESCAPE}\ufffe", "k\ufffe", "k"]
    with db.write() as conn:
        conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", [(k, k) for k in keys])
    for key in keys:  # equality finds exactly its own row
        assert db.get_meta(key) == key
    found = db.conn.execute(
        "SELECT key FROM meta WHERE key IN (?, ?) ORDER BY key", (keys[0], keys[2])
    ).fetchall()
    assert sorted(r[0] for r in found) == sorted([keys[0], keys[2]])
    # (LIKE is no test of it: SQLite's LIKE reads text only up to a NUL; the ledger matches
    # patterns only on user ids, which are printable)
    db.close()


def _chat(url: str, user: str, text: str, stream: bool = False) -> tuple[str, str]:
    """The request id and the reply's text."""
    body = {
        "model": MODEL,
        "user": user,
        "stream": stream,
        "messages": [{"role": "user", "content": text}],
    }
    with httpx.Client(base_url=url, timeout=30) as session:
        if not stream:
            response = session.post("/v1/chat/completions", json=body)
            assert response.status_code == 200, response.text
            content = response.json()["choices"][0]["message"]["content"]
            return response.headers["x-selfmodel-request-id"], content
        pieces = []
        with session.stream("POST", "/v1/chat/completions", json=body) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                if line.startswith("data: {"):
                    delta = json.loads(line[6:])["choices"][0]["delta"]
                    pieces.append(delta.get("content") or "")
        return response.headers["x-selfmodel-request-id"], "".join(pieces)


def test_a_request_body_with_nul_is_refused_at_the_edge_on_both(make_proxy, upstream):
    # Client JSON never carries a NUL into the store: refused before anything is written.
    proxy = make_proxy()
    body = {"model": MODEL, "user": "ana", "messages": [{"role": "user", "content": NUL}]}
    refused = httpx.post(proxy.url + "/v1/chat/completions", json=body)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_text"
    assert upstream.chat_requests == [] and proxy.state.memory.outbox.counts() == {}


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_reply_with_nul_is_answered_audited_and_its_turn_learned(make_proxy, upstream, stream):
    # Before: on PostgreSQL the request's bookkeeping failed, the audit record was stored with
    # its text stripped, and the turn was dead-lettered instead of learned.
    proxy = make_proxy()
    upstream.replies.append(Reply(content=REPLY))
    request_id, content = _chat(proxy.url, "ana", MESSAGE, stream=stream)
    assert content == REPLY
    counts = wait_idle(proxy)
    assert not counts.get("dead"), counts
    record = httpx.get(proxy.url + f"/v1/audit/{request_id}").json()
    assert (record["user_message"], record["reply"], record["error"]) == (MESSAGE, REPLY, None)
    learned = httpx.get(proxy.url + f"/v1/audit/{request_id}/learned").json()
    assert learned["jobs"] and all(j["state"] == "done" for j in learned["jobs"])
    statements = [
        b["statement"] for b in httpx.get(proxy.url + "/v1/users/ana/beliefs").json()["data"]
    ]
    assert any("hiking" in s for s in statements), statements


def _scenario(proxy: Any, upstream: Any) -> dict[str, Any]:
    """Every way text with NUL reaches the ledger: the provider's reply, the extraction model's
    output (applied, and unreadable), and the library's writes; what reads return."""
    url, memory, seen = proxy.url, proxy.state.memory, {}
    upstream.replies.append(Reply(content=REPLY))
    upstream.extraction_replies.append(
        json.dumps({"ops": [{"op": "add", "id": None, "context": "preferences",
                             "statement": f"Loves hiking{NUL} in the mountains.",
                             "quote": "I love hiking in the mountains.", "source": "stated"}]})
    )  # fmt: skip
    request_id, seen["reply"] = _chat(url, "ana", "I love hiking in the mountains. Ideas?")
    wait_idle(proxy)
    bad = f"not JSON{NUL} at all"
    upstream.extraction_replies.extend([bad] * 5)  # every attempt: the job dead-letters
    failed_id, _ = _chat(url, "ana", "I am a nurse and I work nights.")
    wait_idle(proxy)
    seen["dead"] = [
        (j["request_id"] == failed_id, bad in (j.get("raw_output") or ""))
        for j in httpx.get(url + "/v1/extraction/jobs", params={"state": "dead"}).json()["data"]
    ]

    async def library() -> None:
        await memory.observe(
            "default", "ana", f"Asked about trails{NUL} twice.", "preferences", "observation", 1.0
        )
        await memory.give_feedback("default", request_id, 1.0, f"spot{NUL}on")
        document = await memory.export_user("default", "ana")
        await memory.import_user("other", f"bob{NUL}", document)  # a user id with NUL too
        seen["bob"] = await memory.export_user("other", f"bob{NUL}")

    asyncio.run(library())
    bob = seen.pop("bob")
    seen["user"] = bob["user"]
    seen["comments"] = [r[0] for r in memory.db.conn.execute("SELECT comment FROM feedback")]
    seen["export"] = sorted(
        (b["statement"], sorted(e.get("quote") or "" for e in b["evidence"]))
        for b in bob["beliefs"]
    )
    seen["observations"] = sorted(o["text"] for o in bob.get("observations", []))
    record = httpx.get(url + f"/v1/audit/{request_id}").json()
    seen["audit"] = (record["reply"], record["error"])
    return seen


def test_both_ledgers_keep_and_return_the_same_text(
    ledger, make_proxy, upstream, pg_cluster, tmp_path
):
    if ledger != "sqlite":
        pytest.skip("the test runs on both ledgers itself")
    llm = {"extraction": {"mode": "llm", "model": MODEL, "max_attempts": 2}}
    results = []
    for name, database in (("sqlite", None), ("postgres", pg_cluster.fresh())):
        store = {"database": database} if database else {}
        proxy = make_proxy({**llm, "store": store}, store=tmp_path / name)
        results.append(_scenario(proxy, upstream))
        upstream.reset()
    sqlite, postgres = results
    assert sqlite == postgres
    assert sqlite["reply"] == REPLY and sqlite["audit"] == (REPLY, None)
    assert sqlite["dead"] == [(True, True)]  # the unreadable output is kept, NUL and all
    assert sqlite["comments"] == [f"spot{NUL}on"] and sqlite["user"] == f"bob{NUL}"
    # statements and observation texts are stored as a reader sees them (controls as spaces)
    assert ("Loves hiking in the mountains.", ["I love hiking in the mountains."]) in sqlite[
        "export"
    ]
    assert sqlite["observations"] == ["Asked about trails twice."]
