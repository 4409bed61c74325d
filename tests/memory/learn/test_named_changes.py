"""A change told of a thing the self-model names, with a word that ends a state and none of the
grammar the change cues read: no "I", lower case, the end one clause among news of the new."""

import pytest

from memory.learn.gate import gate
from memory.learn.named import ending_mark, shared_names
from tests.memory.learn.talk import OTHERS, active, say, seed


@pytest.mark.parametrize(
    ("old", "told", "name"),
    [
        ("I have a Hulu subscription.", "cancelled hulu, nothing worth watching on it", "hulu"),
        (
            "Our fridge is an ancient Zanussi.",
            "The new Samsung arrived this morning and the delivery men took the Zanussi away.",
            "samsung",
        ),
        (
            "I work for the NHS as a porter.",
            "Left the NHS in June, driving for Ocado now.",
            "ocado",
        ),
        (
            "We bank with Barclays.",
            "Opened accounts at Monzo in May and closed the Barclays ones last week.",
            "monzo",
        ),
    ],
)
def test_a_named_thing_that_ended_is_superseded_by_what_was_told(runtime, old, told, name):
    seed(runtime, [*OTHERS, old])
    assert gate([told]).keep
    say(runtime, told)
    now = active(runtime)
    assert old not in now
    assert any(name in s.lower() for s in now)
    assert all(s in now for s in OTHERS)


@pytest.mark.parametrize(
    "told",
    [
        "Hulu had a great documentary on last night.",  # the name, no end
        "Still on Hulu as always, never switched.",  # it goes on
        "My sister cancelled her Hulu account.",  # someone else's
        "Should I cancel Hulu?",  # a question
        "I'm thinking about cancelling Hulu.",  # a plan
        "We never switched away from Hulu, the kids love it.",  # an ending negated
        "Hulu hasn't changed its price, luckily.",  # ... of the thing itself
    ],
)
def test_a_name_said_without_an_end_of_the_users_ends_nothing(runtime, told):
    seed(runtime, [*OTHERS, "I have a Hulu subscription."])
    say(runtime, told)
    assert "I have a Hulu subscription." in active(runtime)


def test_a_name_two_beliefs_hold_ends_neither(runtime):
    seed(runtime, [*OTHERS, "I have a Hulu subscription.", "I watch Hulu with my partner."])
    say(runtime, "cancelled hulu, nothing worth watching on it")
    now = active(runtime)
    assert "I have a Hulu subscription." in now
    assert "I watch Hulu with my partner." in now


def test_names_are_met_in_any_case_and_days_and_months_are_no_names():
    assert shared_names("cancelled netflix", "I have a Netflix subscription.") == {"netflix"}
    assert shared_names("Moved on Sunday in March.", "I swim on Sunday mornings in March.") == set()
    assert ending_mark("the lads took the old Hotpoint away") is not None
    assert ending_mark("Still driving my old Toyota, it never breaks.") is None


def test_a_change_whose_named_old_state_reads_far_from_its_belief_is_found_by_the_name(runtime):
    seed(runtime, [*OTHERS, "I keep my passwords in LastPass."])
    say(runtime, "btw gave up on lastpass after the breach, everything lives in bitwarden now.")
    now = active(runtime)
    assert "I keep my passwords in LastPass." not in now
    assert any("bitwarden" in s for s in now)
    assert not any(s.startswith("I everything") for s in now)


@pytest.mark.parametrize(
    "told",
    [
        "My ute is a Ranger, the grey one, goes like a dream.",
        "Most of what I buy I pay for with my Revolut card.",
    ],
)
def test_a_restatement_that_says_the_name_one_belief_holds_is_that_belief_again(runtime, told):
    seed(runtime, [*OTHERS, "I drive a grey Ford Ranger.", "I pay for most things with Revolut."])
    before = len(active(runtime))
    say(runtime, told)
    assert len(active(runtime)) == before


def test_one_more_of_a_named_thing_is_a_belief_of_its_own(runtime):
    seed(runtime, [*OTHERS, "I have a Revolut card that I use for most purchases."])
    say(runtime, "I've opened a second Revolut account too, for savings.")
    assert len(active(runtime)) == len(OTHERS) + 2
