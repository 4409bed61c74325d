"""States ended by grammar the other cues miss: the particle "off" negating "on", a gerund's
activity that is over, a diary sentence without its subject (a real store)."""

import pytest

from memory.learn.cues import parse_change
from tests.memory.learn.talk import active, say, seed

OTHERS = ["I love sailing.", "I read science fiction.", "I cook Thai food most weekends."]


@pytest.mark.parametrize(
    ("sentence", "target"),
    [
        ("I'm off the blood thinners now, the clot has cleared.", "I'm on the blood thinners"),
        ("We're finally off the council housing list.", "I'm on the council housing list"),
        ("The babysitting is over, they moved away.", "I babysitt"),
        ("My coaching's finished for good.", "I coach"),
    ],
)
def test_an_off_state_or_an_ended_activity_is_a_retraction(sentence, target):
    change = parse_change(sentence)
    assert change is not None and change.kind == "retract"
    assert change.target == target


@pytest.mark.parametrize(
    "sentence",
    [
        "I'm off to Leeds tomorrow.",
        "I'm off work today.",
        "The meeting's over, can you summarise it?",
        "The evening was lovely.",
    ],
)
def test_going_off_somewhere_or_a_question_ends_nothing(sentence):
    change = parse_change(sentence)
    assert change is None or change.cue not in ("off", "ended")


@pytest.mark.parametrize(
    ("first", "change"),
    [
        ("I'm on the night-shift rota at the depot.", "I'm off the night-shift rota now."),
        ("I'm on the committee of the tenants' association.", "I'm off the committee at last."),
        ("I coach my niece's netball team on Thursdays.", "The coaching has ended, she quit."),
        ("I have a season ticket for the train.", "Finally got rid of the season ticket."),
    ],
)
def test_the_state_ended_is_retracted(runtime, first, change):
    seed(runtime, OTHERS)
    say(runtime, first)
    assert first in active(runtime)
    say(runtime, change)
    assert first not in active(runtime)
    assert set(OTHERS) <= active(runtime).keys()


def test_off_to_a_place_keeps_an_on_state(runtime):
    seed(runtime, OTHERS)
    say(runtime, "I'm on the committee of the tenants' association.")
    say(runtime, "I'm off to Leeds tomorrow for a conference.")
    assert "I'm on the committee of the tenants' association." in active(runtime)


@pytest.mark.parametrize(
    ("sentence", "target"),
    [
        ("We cancelled the cleaner last month.", "the cleaner"),
        ("I sold my kayak on Gumtree.", "my kayak"),
        ("I finally got out of the gym contract - the fees were silly.", "the gym contract"),
        ("I didn't renew the magazine subscription when it lapsed.", "the magazine subscription"),
        ("The sauna's gone.", "The sauna"),
        ("Our quiz team fizzled out over the summer.", "Our quiz team"),
        ("No more pottery classes, the studio shut.", "pottery classes"),
    ],
)
def test_a_thing_parted_with_or_ended_is_a_retraction(sentence, target):
    change = parse_change(sentence)
    assert change is not None and change.kind == "retract" and change.cue in ("parted", "faded")
    assert change.target == target


@pytest.mark.parametrize(
    "sentence",
    ["Should I cancel the cleaner?", "Did you sell the car?", "No more than two, please."],
)
def test_asking_about_parting_or_a_limit_ends_nothing(sentence):
    change = parse_change(sentence)
    assert change is None or change.cue != "parted"


def test_a_cancelled_membership_is_retracted(runtime):
    seed(runtime, OTHERS)
    say(runtime, "I'm a member of the climbing wall in town.")
    say(runtime, "We cancelled the climbing wall membership when the prices went up.")
    assert "I'm a member of the climbing wall in town." not in active(runtime)
    assert set(OTHERS) <= active(runtime).keys()


def test_what_follows_a_thing_parted_with_is_what_replaced_it():
    change = parse_change("We cancelled the veg box, so the market is where we shop.")
    assert change is not None and change.kind == "revise" and change.target == "the veg box"
    assert change.statement == "We cancelled the veg box, so the market is where we shop."
