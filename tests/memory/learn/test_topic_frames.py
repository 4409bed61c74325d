"""The topic as the subject, a household's home, a pronoun's antecedent, and old states found
by their object (memory/learn/frames.py, cues.py, revise.py, apply.py), on a real store."""

import pytest

from memory.learn.cues import parse_change
from memory.learn.frames import faded_topic, favoured_topic
from memory.learn.local import extract_statements
from tests.memory.learn.talk import active, say, seed

CONTEXTS = {"preferences": "what the user likes", "constraints": "limits"}


@pytest.mark.parametrize(
    ("sentence", "topic"),
    [
        ("Bowling has lost all its charm for me.", "Bowling"),
        ("Jigsaw puzzles don't appeal to me anymore.", "Jigsaw puzzles"),
        ("Reality TV annoys me these days.", "Reality TV"),
        ("No more energy drinks for me.", "energy drinks"),
        ("Marathon training used to be my obsession.", "Marathon training"),
    ],
)
def test_a_topic_that_no_longer_pleases_is_named(sentence, topic):
    assert faded_topic(sentence) == topic
    change = parse_change(sentence)
    assert change is not None and change.kind == "retract" and change.target == topic


@pytest.mark.parametrize(
    "sentence", ["It annoys me.", "This error doesn't interest me.", "That is what I meant."]
)
def test_a_pronoun_or_a_task_is_no_topic(sentence):
    assert faded_topic(sentence) is None and favoured_topic(sentence) is None


def test_a_favoured_topic_needs_a_change_cue_to_revise():
    assert favoured_topic("Tofu scrambles are my breakfast of choice.") == "Tofu scrambles"
    change = parse_change("Tofu scrambles are my breakfast of choice these days.")
    assert change is not None and change.kind == "revise" and change.target is None
    assert parse_change("Tofu scrambles are my breakfast of choice.") is None


def test_a_pronoun_takes_its_antecedent_from_the_first_clause():
    change = parse_change("Late-night snacks keep me awake, so I've given them up.")
    assert change is not None and change.kind == "retract"
    assert change.target is not None and "Late-night snacks" in change.target


@pytest.mark.parametrize(
    "sentence", ["I brew my own cider.", "I do tai chi in the park.", "I sketch portraits."]
)
def test_a_plain_present_tense_habit_is_a_statement(sentence):
    assert [e.statement for e in extract_statements(sentence, CONTEXTS)] == [sentence]


@pytest.mark.parametrize(
    "sentence", ["I wrote a loop that fails.", "I do think so.", "I guess that works?"]
)
def test_a_past_event_a_hedge_or_a_question_is_not(sentence):
    assert extract_statements(sentence, CONTEXTS) == []


def test_a_faded_topic_retracts_the_liking_not_a_dislike(runtime):
    seed(runtime, ["I hate bowling alleys that are loud.", "I read crime fiction."])
    say(runtime, "I love bowling.")
    say(runtime, "Bowling has lost all its charm for me.")
    now = active(runtime)
    assert "I love bowling." not in now
    assert "I hate bowling alleys that are loud." in now and "I read crime fiction." in now


def test_an_unnamed_old_state_is_found_by_its_object(runtime):
    seed(runtime, ["I read crime fiction.", "I'm allergic to cats.", "I prefer aisle seats."])
    say(runtime, "I use Opera as my web browser.")
    say(runtime, "Safari is my browser of choice nowadays.")
    now = active(runtime)
    assert "I use Opera as my web browser." not in now
    assert any("Safari" in s for s in now)
    assert {"I read crime fiction.", "I'm allergic to cats.", "I prefer aisle seats."} <= set(now)


def test_the_household_moving_house_replaces_where_the_user_lived(runtime):
    seed(runtime, ["I play squash.", "I like Thai food."])
    say(runtime, "I live in a flat in Leeds.")
    say(runtime, "We've bought a cottage near York.")
    now = active(runtime)
    assert "I live in a flat in Leeds." not in now
    assert any("cottage" in s for s in now) and "I play squash." in now


def test_stopping_one_visit_leaves_a_liking_of_another(runtime):
    say(runtime, "I love visiting aquariums.")
    say(runtime, "I've stopped visiting theme parks.")
    assert "I love visiting aquariums." in active(runtime)


def test_the_negating_clause_revises_without_its_reason(runtime):
    say(runtime, "I'm allergic to ibuprofen.")
    say(runtime, "Turns out I was never allergic to ibuprofen; my doctor retested me.")
    assert "I'm allergic to ibuprofen." not in active(runtime)


@pytest.mark.parametrize(
    "sentence", ["I'm putting cash aside for a new bike.", "I put down a deposit on a van."]
)
def test_saving_or_paying_is_no_discarding(sentence):
    assert parse_change(sentence) is None


def test_a_thing_put_down_for_good_is_dropped_for_what_replaced_it():
    change = parse_change("I've put the paintbrush down for good and picked up pottery.")
    assert change is not None and change.kind == "revise"
    assert change.target == "paintbrush"
