import asyncio
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memory import guard
from memory.beliefs import EvidenceIn
from memory.inject.snapshot import shown
from memory.selfmodel import SelfModel
from proxy.config import parse_config


def _said(text: str) -> EvidenceIn:
    return EvidenceIn(source="stated", kind="turn", quote=text)


def test_a_write_recomputes_only_the_beliefs_it_touched(tmp_path, embedder):
    runtime = SelfModel(parse_config({"store": {"path": str(tmp_path)}}).memory, embedder=embedder)
    tea = runtime.beliefs.create("t", "u", "I like green tea", "preferences", _said("tea"))
    lyon = runtime.beliefs.create("t", "u", "I live in Lyon", "preferences", _said("Lyon"))
    first = {e.id: e for e in runtime.snapshots.get("t", "u").entries}
    runtime.beliefs.add_evidence(
        "t", "u", lyon.id, _said("Lyon again"), event="reinforced", actor="test"
    )
    second = runtime.snapshots.get("t", "u")
    entries = {e.id: e for e in second.entries}
    assert entries[tea.id] is first[tea.id]  # untouched: kept as it was
    assert entries[lyon.id] is not first[lyon.id]
    assert entries[lyon.id].confidence > first[lyon.id].confidence
    # Every confidence equals a full recompute from the evidence.
    for belief in (tea, lyon):
        recomputed = runtime.beliefs.get("t", "u", belief.id).confidence
        assert entries[belief.id].confidence == pytest.approx(recomputed, abs=1e-4)
    # The hourly recompute of decayed confidences counts from the oldest kept value.
    assert second.built == runtime.snapshots.get("t", "u").built
    runtime.snapshots.cached[("t", "u")].built -= timedelta(hours=2)
    third = runtime.snapshots.get("t", "u")
    assert all(e is not entries[e.id] for e in third.entries)
    runtime.db.close()


def test_forgetting_drops_the_users_snapshot(tmp_path, embedder):
    runtime = SelfModel(parse_config({"store": {"path": str(tmp_path)}}).memory, embedder=embedder)
    runtime.beliefs.create("t", "u", "I like green tea", "preferences", _said("tea"))
    assert runtime.snapshots.get("t", "u") is not None
    asyncio.run(runtime.forget("t", "u"))
    assert ("t", "u") not in runtime.snapshots.cached
    assert runtime.snapshots.get("t", "u") is None
    runtime.db.close()


@pytest.mark.parametrize("budget_mb,kept", [(64, 3), (0.0001, 1)])
def test_the_cache_keeps_within_its_memory_budget(tmp_path, embedder, budget_mb, kept):
    config = parse_config({"store": {"path": str(tmp_path), "user_cache_mb": budget_mb}})
    runtime = SelfModel(config.memory, embedder=embedder)
    for user in ("u1", "u2", "u3"):
        runtime.beliefs.create("t", user, f"I like tea, says {user}", "preferences", _said("tea"))
        assert runtime.snapshots.get("t", user) is not None
    items = runtime.snapshots.cached
    assert len(items) == kept and ("t", "u3") in items  # the most recent stays
    assert runtime.snapshots.nbytes == sum(s.nbytes for s in items.values()) > 0
    runtime.snapshots.invalidate("t", "u3")
    assert runtime.snapshots.nbytes == sum(s.nbytes for s in items.values())
    runtime.db.close()


def test_a_snapshot_holds_each_statement_as_the_block_shows_it(tmp_path, embedder):
    runtime = SelfModel(parse_config({"store": {"path": str(tmp_path)}}).memory, embedder=embedder)
    runtime.beliefs.create("t", "u", "I like <b>green</b> tea", "preferences", _said("tea"))
    (entry,) = runtime.snapshots.get("t", "u").entries
    assert entry.statement == "I like <b>green</b> tea"  # as stored
    assert entry.shown == "I like (b)green(/b) tea"  # guard.for_prompt, once
    runtime.db.close()


@given(
    st.text(
        alphabet=st.sampled_from(list("ab Z&;<>#x\t\n.'\"") + ["\u200b", "\u00a0", "ﬁ", "‹", "é"]),
        max_size=30,
    )
)
def test_the_statement_shown_is_what_the_guard_makes_of_it(statement):
    assert shown(statement) == guard.for_prompt(statement)


def _state(snapshot):
    """Everything retrieval reads of a snapshot, row by row, in its order."""
    rows = []
    for index, entry in enumerate(snapshot.entries):
        situations = [int(s) for s in snapshot.situations[index] if s >= 0]
        previous = None if snapshot.previous is None else snapshot.previous[index].tolist()
        rows.append(
            (
                entry.id,
                entry.statement,
                entry.context,
                round(entry.confidence, 6),
                entry.version,
                snapshot.statements[index].tolist(),
                situations,
                previous if previous and any(previous) else None,
            )
        )
    return rows


def test_a_snapshot_built_from_the_changed_rows_equals_a_full_reload(tmp_path, embedder):
    runtime = SelfModel(parse_config({"store": {"path": str(tmp_path)}}).memory, embedder=embedder)
    beliefs, snapshots = runtime.beliefs, runtime.snapshots
    made = [
        beliefs.create("t", "u", text, "preferences", _said(text))
        for text in (
            "I like green tea",
            "I live in Lyon",
            "I am allergic to peanuts",
            "I play the cello",
            "I prefer trains to planes",
        )
    ]
    writes = [
        lambda: beliefs.add_evidence(
            "t", "u", made[1].id, _said("Lyon again"), event="reinforced", actor="test"
        ),
        lambda: beliefs.revise(
            "t", "u", made[1].id, "I live in Berlin", _said("moved"), actor="test"
        ),
        lambda: beliefs.set_status("t", "u", made[3].id, "retracted", actor="test"),
        lambda: beliefs.correct("t", "u", made[0].id, statement="I like black tea"),
        lambda: beliefs.correct("t", "u", made[2].id, context="constraints"),
        lambda: beliefs.create("t", "u", "I am learning Polish", "goals", _said("Polish")),
    ]
    first = snapshots.get("t", "u")
    for write in writes:
        before = snapshots.get("t", "u")
        write()
        built = snapshots.get("t", "u")
        assert built.revision > before.revision
        reloaded = snapshots._load("t", "u", built.revision)  # from nothing: every row read
        assert _state(built) == _state(reloaded)
        assert built.crowded.tolist() == pytest.approx(reloaded.crowded.tolist(), abs=1e-6)
    # Beliefs no write touched kept their entries all along.
    untouched = made[4].id
    assert {e.id: e for e in snapshots.get("t", "u").entries}[untouched] is {
        e.id: e for e in first.entries
    }[untouched]
    runtime.db.close()


def test_a_revision_is_indexed_under_its_old_states_situations_too(tmp_path, embedder):
    runtime = SelfModel(parse_config({"store": {"path": str(tmp_path)}}).memory, embedder=embedder)
    old = runtime.beliefs.create(
        "t",
        "u",
        "I do jigsaw puzzles at the dining table in the evenings",
        "preferences",
        _said("jigsaws"),
    )
    before = runtime.snapshots.get("t", "u")
    old_situations = {int(s) for s in before.situations[0] if s >= 0}
    revised = runtime.beliefs.revise(
        "t", "u", old.id, "I took up cross-stitch", _said("cross-stitch"), actor="test"
    )
    snapshot = runtime.snapshots.get("t", "u")
    index = next(n for n, e in enumerate(snapshot.entries) if e.id == revised.id)
    situations = [int(s) for s in snapshot.situations[index] if s >= 0]
    assert old_situations and old_situations <= set(situations)
    assert len(situations) == len(set(situations))
    runtime.db.close()
