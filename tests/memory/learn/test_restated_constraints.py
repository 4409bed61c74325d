"""A constraint said again in other grammar: a present negation with the thing as subject, an
adjective without its object, a negative prefix against a negation (memory/learn/frames.py,
local.py, revise.py), on a real store."""

import pytest

from memory.learn.cues import parse_change
from memory.learn.frames import fading
from memory.learn.gate import gate
from memory.learn.local import extract_statements
from memory.learn.revise import _shared
from tests.memory.learn.talk import T, U, active, say, seed

CONTEXTS = {"preferences": "what the user likes", "constraints": "limits"}


@pytest.mark.parametrize(
    "text",
    [
        "Red wine doesn't agree with me.",
        "Crowded beaches never appeal to me.",
        "Dairy doesn't suit me.",
    ],
)
def test_a_present_negation_with_no_earlier_time_is_a_standing_aversion_not_a_change(text):
    assert fading(text) is None
    assert parse_change(text) is None
    assert gate([text]).keep
    assert [s.statement for s in extract_statements(text, CONTEXTS)] == [text]


@pytest.mark.parametrize(
    "text",
    [
        "Board games don't excite me anymore.",
        "Opera doesn't move me the way it used to.",
        "Cycling bores me now.",
    ],
)
def test_set_against_an_earlier_time_it_still_ends_the_liking(text):
    change = parse_change(text)
    assert change is not None and change.kind == "retract" and change.cue == "faded"


def test_an_adjective_said_without_its_object_keeps_the_sentence_that_names_it():
    found = extract_statements("Pollen wrecks me every spring, I'm sensitive.", CONTEXTS)
    assert [s.statement for s in found] == ["Pollen wrecks me every spring, I'm sensitive."]
    # A request around it is no part of what the user is.
    found = extract_statements("Plan me a picnic menu, I'm allergic.", CONTEXTS)
    assert [s.statement for s in found] == ["I'm allergic."]


def test_a_negative_prefix_meets_the_word_it_negates():
    assert _shared("I'm lactose intolerant.", "Lactose is something I can't tolerate.") == 1.0
    assert _shared("I love interesting films.", "I love terrible films.") == 0.5


def test_a_restated_constraint_in_a_present_negation_reinforces_it(runtime):
    seed(runtime, ["I love sailing.", "I read science fiction.", "I play chess on Sundays."])
    say(runtime, "I'm lactose intolerant.")
    before = active(runtime)["I'm lactose intolerant."]
    say(runtime, "Lactose really doesn't agree with me, I can't tolerate it.")
    now = runtime.beliefs.get(T, U, before.id)
    assert now.status == "active" and now.version > before.version
    assert len(active(runtime)) == 4


def test_a_bare_adjective_restates_the_belief_it_leaves_unnamed(runtime):
    seed(runtime, ["I love sailing.", "I read science fiction.", "I play chess on Sundays."])
    say(runtime, "I'm allergic to dogs.")
    before = active(runtime)["I'm allergic to dogs."]
    say(runtime, "Dogs still make my eyes stream, I'm allergic.")
    now = runtime.beliefs.get(T, U, before.id)
    assert now.status == "active" and now.version > before.version
    assert len(active(runtime)) == 4
