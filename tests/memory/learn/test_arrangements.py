"""A person or thing of the user's as the subject of a habitual present: an arrangement of the
user's life when the clause says it lasts, ties it back to the user, or names a provider."""

import pytest

from memory.learn.gate import self_cue
from memory.learn.local import extract_statements, is_about_third_party
from memory.learn.shapes import is_possessed_habit

CONTEXTS = {"preferences": "likes and dislikes", "constraints": "limits and needs"}


@pytest.mark.parametrize(
    "sentence",
    [
        "My brother walks our dog every evening.",
        "My pension goes into my Nationwide account.",
        "Our broadband is with Virgin Media.",
        "My wife runs a stall at Camden on Sundays.",
        "My grandson stays over two nights a week.",
        "My nan minds the baby for me.",
    ],
)
def test_an_arrangement_of_the_users_life_is_about_the_user(sentence):
    assert is_possessed_habit(sentence)
    assert self_cue(sentence) is not None
    assert not is_about_third_party(sentence)
    assert [e.statement for e in extract_statements(sentence, CONTEXTS)] == [sentence]


@pytest.mark.parametrize(
    "sentence",
    [
        "My sister lives in Leeds.",
        "My friend looks tired.",
        "My boss wants me to finish the slides.",
        "My code throws an error on Mondays.",
        "My script runs every night.",
        "My dad says hello.",
        "My son goes to a childminder three days a week, what should I pack?",
    ],
)
def test_someone_elses_state_mind_or_the_chats_material_is_not(sentence):
    assert not is_possessed_habit(sentence)
