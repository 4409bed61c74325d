import asyncio
import time

import pytest

from memory.beliefs import EvidenceIn
from memory.selfmodel import SelfModel
from proxy.config import parse_config


def _said(text: str) -> EvidenceIn:
    return EvidenceIn(source="stated", kind="turn", quote=text)


def test_of_two_contradicting_beliefs_only_the_newer_is_injected(tmp_path, embedder):
    runtime = SelfModel(parse_config({"store": {"path": str(tmp_path)}}).memory, embedder=embedder)
    runtime.beliefs.create("t", "u", "I love horror movies", "preferences", _said("love"))
    time.sleep(0.01)
    newer = runtime.beliefs.create("t", "u", "I hate horror movies", "preferences", _said("hate"))
    runtime.beliefs.create("t", "u", "I live in Lyon", "preferences", _said("Lyon"))
    messages = [{"role": "user", "content": "Which horror movie should I watch tonight?"}]

    def plan() -> list[str]:
        injection = asyncio.run(
            runtime.plan(tenant="t", user="u", model="gpt-4o", messages=messages, headers={})
        )
        assert injection.rendered and "horror" in injection.rendered
        return [b.statement for b in injection.beliefs]

    first = plan()
    assert newer.statement in first and "I love horror movies" not in first
    # The pair's answer is kept with the snapshot, and the next request reads it from there.
    snapshot = runtime.snapshots.get("t", "u")
    assert list(snapshot.contradicting.values()) == [True]
    assert plan() == first
    runtime.db.close()


def test_a_revision_is_found_by_what_found_the_belief_it_revised(tmp_path, embedder):
    """The new state answers whatever the old state answered, in words of its own or not."""
    runtime = SelfModel(parse_config({"store": {"path": str(tmp_path)}}).memory, embedder=embedder)
    car = runtime.beliefs.create(
        "t", "u", "I drive a Honda Civic to work", "preferences", _said("car")
    )
    for n, statement in enumerate(
        [
            "I love hiking in the Alps",
            "I am learning to play the cello",
            "I prefer window seats on flights",
            "I read science fiction before bed",
            "My favourite cuisine is Thai",
        ]
        * 4
    ):
        runtime.beliefs.create("t", "u", f"{statement} ({n})", "preferences", _said(statement))
    revised = runtime.beliefs.revise(
        "t", "u", car.id, "These days I just walk everywhere", _said("sold"), actor="test"
    )
    messages = [{"role": "user", "content": "How often should my car get an oil change?"}]
    snapshot = runtime.snapshots.get("t", "u")
    assert snapshot.previous is not None
    found = asyncio.run(
        runtime.retrieve("t", "u", runtime.injector.config.injection.rules[0], messages)
    )
    assert found[0].id == revised.id
    # Its statement match is its old state's, far better than its own words'.
    query, old, new = embedder.embed([messages[0]["content"], car.statement, revised.statement])
    assert found[0].why is not None
    assert found[0].why["statement"] == pytest.approx(float(old @ query), abs=1e-3)
    assert float(new @ query) < float(old @ query) - 0.1
    runtime.db.close()


def test_a_plan_made_on_the_event_loop_is_the_plan_made_in_a_thread(tmp_path, embedder):
    runtime = SelfModel(parse_config({"store": {"path": str(tmp_path)}}).memory, embedder=embedder)
    for statement in ("I am vegetarian", "I live in Lyon", "I prefer short answers"):
        runtime.beliefs.create("t", "u", statement, "preferences", _said(statement))
    messages = [{"role": "user", "content": "What should I cook for dinner tonight?"}]

    def plan(inline: bool) -> tuple[str | None, list[str]]:
        injection = asyncio.run(
            runtime.plan(
                tenant="t", user="u", model="gpt-4o", messages=messages, headers={}, inline=inline
            )
        )
        return injection.rendered, [b.id for b in injection.beliefs]

    assert plan(inline=True) == plan(inline=False)
    assert plan(inline=True)[0]
    runtime.db.close()


def test_a_crowded_topic_of_long_statements_is_cut_to_the_token_target(tmp_path, embedder):
    """The cut caps what a block costs, not how many beliefs it holds: long statements of one
    area fill it to CUT_TOKENS, under the rule's own max_tokens."""
    from memory.inject.cut import CUT_TOKENS

    runtime = SelfModel(parse_config({"store": {"path": str(tmp_path)}}).memory, embedder=embedder)
    dishes = ["Thai green curry", "seafood paella", "miso ramen", "fish tacos", "mushroom risotto"]
    ways = [
        "slow-cooked for hours on a Sunday afternoon with the children helping",
        "made in one pan after a long shift when nobody wants to wash up",
        "prepared the night before and reheated for a packed lunch at the office",
        "served for guests with homemade bread and a salad from the allotment",
    ]
    for dish in dishes:
        for way in ways:
            statement = f"My favourite dinner to cook is {dish}, {way}, never with coriander."
            runtime.beliefs.create("t", "u", statement, "preferences", _said(statement))
    messages = [{"role": "user", "content": "What should I cook for dinner this evening?"}]
    injection = asyncio.run(
        runtime.plan(tenant="t", user="u", model="gpt-4o", messages=messages, headers={})
    )
    rule = runtime.injector.config.injection.rules[0]
    assert CUT_TOKENS is not None and rule.max_tokens > CUT_TOKENS
    assert 0 < injection.tokens <= CUT_TOKENS
    assert injection.cut is not None
    assert injection.cut["stopped_by"] == "cut_tokens"
    assert injection.cut["cut_tokens"] == CUT_TOKENS
    assert injection.cut["injected"] < injection.cut["after_duplicates"]
    runtime.db.close()
