"""Change-of-mind cues, polarity and relative times (memory/learn/cues.py)."""

from datetime import UTC, datetime, timedelta

import pytest

from memory.learn.cues import parse_change
from memory.learn.polarity import polarity
from memory.learn.times import resolve_time


@pytest.mark.parametrize(
    ("sentence", "kind", "target_word"),
    [
        ("I'm no longer a member of the chess club.", "retract", "chess"),
        ("I don't drink soda anymore.", "retract", "soda"),
        ("I gave up sugar.", "retract", "sugar"),
        ("Please disregard what I mentioned earlier about my knee.", "retract", "knee"),
        ("I went from iPhone to Android.", "revise", "iPhone"),
        ("I used to play the violin, but now I play the cello.", "revise", "violin"),
        ("I relocated to Oslo.", "revise", "live"),
        ("I've changed my mind about opera: I find it moving now.", "revise", "opera"),
    ],
)
def test_change_cues_name_the_old_state(sentence, kind, target_word):
    change = parse_change(sentence)
    assert change is not None and change.kind == kind
    assert target_word.lower() in (change.target or "").lower()


def test_a_replacement_gives_the_new_state_as_a_first_person_sentence():
    change = parse_change("I used to run marathons but these days I swim.")
    assert change is not None and change.statement == "I swim."


def test_plain_statements_and_requests_are_no_change():
    for sentence in ("I love jazz.", "Write a poem about rain.", "I'm a teacher."):
        assert parse_change(sentence) is None


def test_polarity_flips_with_negation_and_negative_verbs_and_cancels_when_doubled():
    assert polarity("I like tea.") == 1
    assert polarity("I don't like tea.") == -1
    assert polarity("I dislike tea.") == -1
    assert polarity("I'm no longer vegan.") == -1
    assert polarity("I don't dislike tea.") == 1


def test_relative_times_resolve_against_the_turn():
    at = datetime(2026, 6, 1, tzinfo=UTC)
    assert resolve_time("I moved here last month.", at) == at - timedelta(days=30)
    assert resolve_time("I started two weeks ago.", at) == at - timedelta(days=14)
    assert resolve_time("I quit 3 years ago.", at) == at - timedelta(days=3 * 365)
    assert resolve_time("I like tea.", at) is None


def test_the_affirmed_form_of_a_contracted_negation_is_affirmed():
    from memory.learn.cues import affirmed
    from memory.learn.polarity import polarity

    for text in ("Tea isn't for me anymore.", "Board games aren't my thing anymore."):
        assert polarity(affirmed(text)) == 1, affirmed(text)


@pytest.mark.parametrize(
    ("sentence", "target_word", "new_word"),
    [
        # The user's own affirmed clause right after the drop, marked as current or not.
        ("I don't bake bread anymore; I make pizza dough on Fridays.", "bread", "pizza"),
        ("I'm not a morning runner anymore, I swim at lunchtime.", "runner", "swim"),
        # Or before it, the event that ended it.
        ("I joined a law firm, so I'm not teaching anymore.", "teaching", "law firm"),
    ],
)
def test_a_drop_with_what_replaced_it_in_the_same_sentence_is_a_revision(
    sentence, target_word, new_word
):
    change = parse_change(sentence)
    assert change is not None and change.kind == "revise"
    assert target_word in (change.target or "") and new_word not in (change.target or "")
    assert change.statement is not None and new_word in change.statement


def test_a_drop_followed_by_a_reaction_or_another_drop_is_still_a_retraction():
    for sentence in ("I don't eat meat anymore, I do.", "I quit smoking; I quit drinking too."):
        change = parse_change(sentence)
        assert change is not None and change.kind == "retract", sentence


def test_moving_to_a_shift_or_a_way_of_working_is_no_change_of_home():
    assert parse_change("I moved to Lisbon in May.").target == "I live in Lisbon"
    assert parse_change("We moved into a bigger flat.").statement == "I live in a bigger flat."
    for sentence in ("I moved to night shifts at the depot.", "I moved to working from home."):
        change = parse_change(sentence)
        assert change is None or "live in" not in (change.statement or ""), sentence


@pytest.mark.parametrize(
    ("sentence", "home"),
    [
        ("I moved to Berlin last month.", "I live in Berlin."),
        ("Two years ago we moved back to Leeds.", "I live in Leeds."),
        ("We moved out to a village by the sea.", "I live in a village by the sea."),
        ("I relocated to Oslo back in 2021.", "I live in Oslo."),
    ],
)
def test_a_move_states_the_new_home_without_the_time_that_dates_it(sentence, home):
    change = parse_change(sentence)
    assert change is not None and change.cue == "moved"
    assert change.statement == home


def test_moving_over_to_a_tool_is_a_switch_not_a_move():
    change = parse_change("I've moved over to Calm for my daily meditation.")
    assert change is None or "live in" not in (change.statement or "")


def test_a_named_month_dates_the_latest_such_month_and_a_plan_dates_nothing():
    at = datetime(2026, 3, 15, tzinfo=UTC)
    assert resolve_time("I got married in June.", at) == datetime(2025, 6, 1, tzinfo=UTC)
    assert resolve_time("I moved here in March.", at) == datetime(2026, 3, 1, tzinfo=UTC)
    assert resolve_time("I'm going to Paris in May.", at) is None


@pytest.mark.parametrize(
    ("sentence", "habit_word"),
    [
        ("I haven't played squash since Easter.", "squash"),
        ("Haven't touched my guitar in over a year.", "guitar"),
        ("We haven't been to the cinema in months.", "cinema"),
    ],
)
def test_a_negated_perfect_over_a_span_is_a_lapse(sentence, habit_word):
    change = parse_change(sentence)
    assert change is not None and (change.kind, change.cue) == ("retract", "lapsed")
    assert habit_word in (change.target or "")


@pytest.mark.parametrize(
    "sentence", ["I haven't decided yet.", "I haven't tried it since you fixed it."]
)
def test_a_negated_perfect_without_a_span_to_now_is_no_lapse(sentence):
    change = parse_change(sentence)
    assert change is None or change.cue != "lapsed"


@pytest.mark.parametrize(
    "text",
    [
        "i dont use whatsapp anymore, moved over to signal with the family",
        "Not with Three anymore, jumped ship to a Lebara sim only deal.",
    ],
)
def test_a_clause_sharing_the_users_subject_after_a_drop_is_what_replaced_it(text):
    change = parse_change(text)
    assert change is not None and change.kind == "revise"
    assert change.statement is not None and text.split()[-1].lower() in change.statement.lower()
