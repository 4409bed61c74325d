"""The chat path's bookkeeping: the gate reads a turn's user words as the outbox stores them."""

import asyncio
import json

from hypothesis import given
from hypothesis import strategies as st

from memory.inject.plan import Injection
from memory.learn.turns import Turn
from memory.ledger.audit import AuditRecord
from memory.selfmodel import SelfModel
from memory.selfmodel.assembled import _stored_user_texts
from proxy.config import parse_config

KEY = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4"
TEXTS = st.sampled_from(
    [
        "I'm vegetarian and I love spicy food.",
        "What should I cook tonight?",
        f"my key is {KEY}",
        "",
        "x" * 9000,
    ]
)
CONTENT = st.one_of(
    TEXTS,
    st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": TEXTS}), max_size=3),
)
MESSAGE = st.fixed_dictionaries(
    {"role": st.sampled_from(["system", "user", "assistant", "tool"]), "content": CONTENT}
)


@given(st.lists(MESSAGE, max_size=12), TEXTS)
def test_the_user_words_gated_are_those_the_outbox_would_store(messages, reply):
    turn = Turn(request_id="r", tenant="t", user="u", model="m", messages=messages, reply=reply)
    assert _stored_user_texts(turn) == turn.compact().user_texts()


def _messages(said: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": f"Hello! Your old key {KEY} is revoked."},
        {"role": "user", "content": said},
    ]


def _record(runtime: SelfModel, n: int, said: str, prepared: bool = False) -> None:
    messages = _messages(said)
    ahead = asyncio.run(runtime.prepare(messages, learns=True)) if prepared else None
    turn = Turn(request_id=f"r{n}", tenant="t", user="u", model="m", messages=messages, reply="ok")
    record = AuditRecord.from_injection(
        Injection(messages=messages),
        request_id=f"r{n}",
        tenant="t",
        user="u",
        model="m",
        status=200,
        error=None,
        upstream_ms=1.0,
        stream=False,
        user_message=said,
    )
    asyncio.run(runtime.record(record, turn, ahead))


def test_a_kept_turn_is_queued_redacted_and_a_gated_one_not_at_all(tmp_path, embedder):
    config = parse_config({"store": {"path": str(tmp_path)}, "extraction": {"workers": 0}})
    runtime = SelfModel(config.memory, embedder=embedder)
    _record(runtime, 1, "What is the capital of France?")
    _record(runtime, 2, f"I'm vegetarian, so no meat please. My key is {KEY}")
    rows = runtime.db.conn.execute("SELECT payload FROM outbox").fetchall()
    assert len(rows) == 1 and runtime.stats["gate_skipped"] == 1
    stored = json.loads(rows[0][0])
    # The user's words after the last answer, redacted; the earlier answer is not kept.
    assert [m["role"] for m in stored["messages"]] == ["user"]
    said = stored["messages"][0]["content"]
    assert said == "I'm vegetarian, so no meat please. My key is [REDACTED:openai_key]"
    assert KEY not in rows[0][0] and "revoked" not in rows[0][0]
    runtime.db.close()


def test_bookkeeping_prepared_ahead_writes_what_unprepared_bookkeeping_writes(tmp_path, embedder):
    """`prepare` runs beside the plan and the provider's call: the gate's verdict it hands
    `record` decides as `record` would alone, and the stored rows are the same."""
    said = ["What is the capital of France?", f"I'm vegetarian. My key is {KEY}", "Thanks!"]
    stored = []
    for ahead in (False, True):
        config = parse_config(
            {"store": {"path": str(tmp_path / str(ahead))}, "extraction": {"workers": 0}}
        )
        runtime = SelfModel(config.memory, embedder=embedder)
        for n, text in enumerate(said):
            _record(runtime, n, text, prepared=ahead)
        payloads = runtime.db.conn.execute("SELECT payload FROM outbox").fetchall()
        audited = runtime.db.conn.execute(
            "SELECT user_message FROM audit ORDER BY request_id"
        ).fetchall()
        stored.append(([json.loads(p[0])["messages"] for p in payloads], [a[0] for a in audited]))
        assert runtime.stats["gate_skipped"] == 2
        runtime.db.close()
    assert stored[0] == stored[1]
    assert len(stored[1][0]) == 1 and None not in stored[1][1]
    assert KEY not in json.dumps(stored[1])


def test_preparing_for_a_call_that_does_not_learn_gates_nothing(tmp_path, embedder):
    config = parse_config({"store": {"path": str(tmp_path)}, "extraction": {"workers": 0}})
    runtime = SelfModel(config.memory, embedder=embedder)
    prepared = asyncio.run(runtime.prepare(_messages("I'm vegetarian."), learns=False))
    assert prepared.learn is False and not prepared.gated
    kept = asyncio.run(runtime.prepare(_messages("I'm vegetarian."), learns=True))
    assert kept.learn is True
    runtime.db.close()
