"""Change-of-mind cues, polarity and relative times (memory/learn/cues.py)."""

from datetime import UTC, datetime, timedelta

import pytest

from memory.learn.cues import parse_change, polarity, resolve_time


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
    from memory.learn.cues import affirmed, polarity

    for text in ("Tea isn't for me anymore.", "Board games aren't my thing anymore."):
        assert polarity(affirmed(text)) == 1, affirmed(text)
