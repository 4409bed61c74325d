import asyncio

import numpy as np

from memory.beliefs import EvidenceIn
from memory.inject import budget, compact, render
from memory.models import ScoredBelief
from memory.prompts import PromptLibrary
from memory.selfmodel import SelfModel
from proxy.config import parse_config


def _belief(i: int, statement: str, context: str = "preferences", confidence: float = 0.9):
    return ScoredBelief(
        id=f"bel_{i}", statement=statement, context=context, confidence=confidence, score=0.5
    )


def test_near_identical_candidates_repeat_the_first_kept_one_close_enough():
    sims = np.array(
        [
            [1.0, 0.95, 0.10, 0.30],
            [0.95, 1.0, 0.20, 0.93],
            [0.10, 0.20, 1.0, 0.10],
            [0.30, 0.93, 0.10, 1.0],
        ],
        dtype=np.float32,
    )
    kept, repeats = compact.near_identical(sims)
    # 1 repeats 0; 3 is close to 1 only, and 1 is not kept, so 3 says something new.
    assert kept == [0, 2, 3] and repeats == {1: 0}
    # Candidates before `first` are all kept, however close (the core beliefs); later ones
    # may repeat any of them.
    assert compact.near_identical(sims, first=2) == ([0, 1, 2], {3: 1})
    assert compact.near_identical(sims, first=1) == ([0, 2, 3], {1: 0})


def test_lines_of_one_context_that_open_alike_are_folded_the_opening_once():
    texts = [
        "I strongly dislike spicy food.",
        "I avoid crowded places.",
        "I strongly dislike loud bars.",
        "I strongly dislike flying at night.",
    ]
    lines = compact.lines(texts, ["preferences"] * 4, [0.9] * 4)
    assert [line.members for line in lines] == [(0, 2, 3), (1,)]
    assert lines[0].text == "I strongly dislike: spicy food; loud bars; flying at night."
    assert lines[1].text == "I avoid crowded places."


def test_what_would_read_wrongly_folded_keeps_its_own_line():
    texts = [
        "I strongly dislike spicy food.",
        "I strongly dislike it. I told you so.",  # a second sentence
        "I strongly dislike noise; silence is golden.",  # its own semicolon
        "I strongly dislike crowds.",  # another context
        "I strongly dislike queues.",  # unsure: the template marks it, the line has one mark
        "I strongly",  # nothing left of its own
    ]
    contexts = ["preferences"] * 3 + ["travel"] + ["preferences"] * 2
    confidences = [0.9, 0.9, 0.9, 0.9, 0.4, 0.9]
    lines = compact.lines(texts, contexts, confidences)
    assert [line.members for line in lines] == [(p,) for p in range(6)]
    assert [line.text for line in lines] == texts


def test_a_near_identical_belief_is_rendered_by_the_line_it_repeats():
    texts = ["I prefer manual cars.", "I like cats.", "I prefer cars with a manual gearbox."]
    lines = compact.lines(texts, ["preferences"] * 3, [0.9] * 3, {2: 0})
    assert lines[0] == compact.Line((0, 2), "I prefer manual cars.", (0,))
    assert lines[1].text == "I like cats."


def test_the_block_stands_for_every_belief_and_costs_fewer_tokens():
    template = PromptLibrary().injection("default")
    beliefs = [
        _belief(0, "I strongly dislike spicy food."),
        _belief(1, "I prefer manual cars."),
        _belief(2, "I strongly dislike loud bars."),
        _belief(3, "I prefer cars with a manual gearbox."),
        _belief(4, "I strongly dislike flying at night."),
    ]
    fitted = render.fit(template, beliefs, 400, "gpt-4o", repeats={3: 1})
    assert fitted.beliefs == beliefs and fitted.lines == 2
    assert '"I strongly dislike: spicy food; loud bars; flying at night."' in fitted.text
    assert "gearbox" not in fitted.text  # said once, by the belief it repeats
    assert fitted.tokens == budget.count(fitted.text, "gpt-4o")
    one_per_line = template.render(
        beliefs=[render._Shown([b], b.statement, b.confidence) for b in beliefs]
    )
    assert fitted.tokens < budget.count(one_per_line, "gpt-4o")


def test_a_folded_line_is_unsure_only_if_a_belief_it_words_is():
    template = PromptLibrary().injection("default")
    beliefs = [_belief(0, "I like tea."), _belief(1, "I love tea.", confidence=0.3)]
    # The unsure belief repeats the sure one: the line shows the sure one's words alone.
    assert "(unsure)" not in render.fit(template, beliefs, 400, "gpt-4o", repeats={1: 0}).text
    assert "(unsure)" in render.fit(template, beliefs, 400, "gpt-4o").text


def test_the_fit_keeps_the_longest_prefix_of_beliefs_whose_folded_block_fits():
    template = PromptLibrary().injection("default")
    beliefs = [_belief(i, f"I strongly dislike thing number {i} a lot.") for i in range(30)]
    whole = render.fit(template, beliefs, 100_000, "gpt-4o")
    assert whole.lines == 1
    fitted = render.fit(template, beliefs, whole.tokens // 2, "gpt-4o")
    assert 0 < len(fitted.beliefs) < 30 and fitted.tokens <= whole.tokens // 2
    one_more = render.fit(template, beliefs[: len(fitted.beliefs) + 1], 100_000, "gpt-4o")
    assert one_more.tokens > whole.tokens // 2


def test_a_plan_names_every_belief_its_block_stands_for(tmp_path, embedder):
    runtime = SelfModel(parse_config({"store": {"path": str(tmp_path)}}).memory, embedder=embedder)
    said = EvidenceIn(source="stated", kind="turn", quote="cars")
    first = runtime.beliefs.create(
        "t",
        "u",
        "I strongly prefer manual transmission vehicles over automatic ones.",
        "preferences",
        said,
    )
    second = runtime.beliefs.create(
        "t",
        "u",
        "I strongly prefer cars with manual transmissions over automatic ones.",
        "preferences",
        said,
    )
    runtime.beliefs.create("t", "u", "I live in Lyon.", "preferences", said)
    vectors = embedder.embed([first.statement, second.statement])
    assert float(vectors[0] @ vectors[1]) >= compact.NEAR_DUPLICATE
    messages = [{"role": "user", "content": "Which car should I buy next year?"}]
    injection = asyncio.run(
        runtime.plan(tenant="t", user="u", model="gpt-4o", messages=messages, headers={})
    )
    ids = [b.id for b in injection.beliefs]
    assert first.id in ids and second.id in ids
    assert injection.rendered is not None
    # Said once: only one of the two near-identical statements is in the block.
    assert (first.statement in injection.rendered) != (second.statement in injection.rendered)
    later = injection.beliefs[max(ids.index(first.id), ids.index(second.id))]
    earlier = first if later.id == second.id else second
    assert later.why is not None and later.why["same_as"] == earlier.id
    assert injection.cut is not None and injection.cut["duplicates"] == 1
    assert injection.cut["lines"] < len(injection.beliefs)
    assert injection.tokens == budget.count(injection.rendered, "gpt-4o")
    runtime.db.close()
