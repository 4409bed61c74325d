"""Frames of a change of state: old and new words named by grammar (memory/learn/frames.py)."""

import pytest

from memory.learn.cues import parse_change
from memory.learn.frames import compared_away, parse_frame


@pytest.mark.parametrize(
    ("sentence", "old", "new"),
    [
        ("We dumped cable TV for a streaming box.", "cable TV", "streaming box"),
        ("I've abandoned my gym membership in favor of home workouts.", "gym", "home workouts"),
        ("I lost interest in golf and switched to tennis.", "golf", "tennis"),
        ("Out with the old laptop, in with a desktop.", "laptop", "desktop"),
        ("Podcasts are out, radio is in.", "Podcasts", "radio"),
        ("Tea has replaced coffee for me.", "coffee", "Tea"),
    ],
)
def test_a_replacement_frame_names_old_and_new(sentence, old, new):
    frame = parse_frame(sentence)
    assert frame is not None and frame.new is not None
    assert old.lower() in frame.target.lower() and new.lower() in frame.new.lower()


@pytest.mark.parametrize(
    ("sentence", "old"),
    [
        ("I'm through with fast fashion.", "fast fashion"),
        ("We have finally outgrown board games.", "board games"),
        ("I've fallen out of love with jazz fusion.", "jazz fusion"),
        ("Honestly, I gave up on learning the banjo.", "learning the banjo"),
        ("I stopped being a morning runner.", "morning runner"),
    ],
)
def test_a_discarding_verb_alone_drops_the_old_state(sentence, old):
    change = parse_change(sentence)
    assert change is not None and change.kind == "retract"
    assert (change.target or "").lower() == old.lower()


def test_a_dropping_clause_then_a_new_clause_is_one_revision():
    change = parse_change("Cycling is no longer my thing; I take the tram instead.")
    assert change is not None and change.kind == "revise"
    assert "cycling" in (change.target or "").lower()
    assert "tram" in (change.statement or "")


def test_a_comparative_names_what_it_ranks_lower_and_completes_an_elided_noun():
    assert compared_away("I choose dark chocolate over milk") == "milk chocolate"
    assert compared_away("I prefer trains to planes") == "planes"
    assert compared_away("I like hiking") is None


def test_a_frame_in_the_third_person_is_put_in_the_user_s_voice():
    change = parse_change("Vinyl has replaced streaming.")
    assert change is not None and change.statement == "I now prefer Vinyl over streaming."


def test_a_task_sentence_with_for_is_no_frame():
    assert parse_frame("Can you write a poem for my sister?") is None
    assert parse_frame("I cooked pasta for my friends.") is None
