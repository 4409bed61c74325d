"""The grammatical shapes of a plain statement about the user, and their look-alikes."""

import pytest

from memory.learn.gate import gate, self_cue
from memory.learn.local import extract_statements

CONTEXTS = {"preferences": "what the user likes", "constraints": "limits"}


@pytest.mark.parametrize(
    "text",
    [
        # the habitual present of an activity verb
        "I climb at an indoor wall.",
        "I run half marathons.",
        "I read crime novels.",
        "I keep bees.",
        "I host my blog on a tiny VPS.",  # "my" + a thing of the chat's kind: the user's setup
        "I get cold sores.",
        "I home-educate my two boys.",  # a compound verb is one verb
    ],
)
def test_the_habitual_present_of_an_activity_verb_is_a_statement(text: str) -> None:
    assert gate([text]).keep
    assert extract_statements(text, CONTEXTS)


@pytest.mark.parametrize(
    "text",
    [
        "My scalp is itchy and dry.",
        "My hands are always cold.",
        "My eyesight is quite weak at night.",
        "My Portuguese is rusty.",
        "Our kitchen is very small.",
        "My lower back gets stiff in winter.",
    ],
)
def test_an_attribute_of_the_speakers_described_by_an_adjective_is_a_statement(
    text: str,
) -> None:
    assert self_cue(text) == "attribute"
    assert extract_statements(text, CONTEXTS)


@pytest.mark.parametrize(
    "text",
    [
        "My function is too slow.",  # the chat's material
        "My second question is simple.",
        "My reply is too long.",
        "My skin is burning after the peel?",  # a question
        "My flight is delayed.",  # an event, not an attribute
        "My point is that it depends.",  # no adjective
    ],
)
def test_the_chats_material_or_an_event_is_no_attribute(text: str) -> None:
    assert self_cue(text) != "attribute"


@pytest.mark.parametrize(
    "text",
    [
        "I see my therapist every three weeks.",
        "I dye my hair every couple of months.",
        "I fly home a few times a year.",
        "I check my blood sugar four times a day.",
        "I change my contact lenses monthly.",
        "I phone my aunt once or twice a week.",
    ],
)
def test_a_frequency_adverbial_with_a_count_marks_a_habit(text: str) -> None:
    assert self_cue(text) is not None
    assert extract_statements(text, CONTEXTS)


def test_an_adjective_of_frequency_before_a_noun_is_no_habit() -> None:
    assert self_cue("I format the monthly summary.") is None


@pytest.mark.parametrize(
    "text",
    [
        "I run this query and nothing comes back.",  # the verb's object is the chat's material
        "I open the file in the editor.",
        "I read your reply twice.",
        "I like the second version.",
        "It breaks whenever I restart the server.",  # a subject in a clause of time
        "I tried your fix and it still fails.",  # the predicate is the other clause's
        "I keep getting a warning.",  # a repetition of the moment
        "I'm going to upload the spreadsheet next.",  # an intention about the chat
        "I'll send you the logs.",
        "I love it!",  # reactions
        "I'm so glad about that.",
        "I can't believe it.",
    ],
)
def test_sentences_about_the_task_or_the_moment_are_not_statements(text: str) -> None:
    assert self_cue(text) is None
    assert not extract_statements(text, CONTEXTS)


def test_a_liking_of_a_thing_or_a_situation_is_still_a_statement() -> None:
    assert self_cue("I love this neighbourhood.") is not None
    assert self_cue("I hate it when buses are late.") is not None


@pytest.mark.parametrize(
    "text",
    ["I have psoriasis.", "I have a gym membership.", "I have home insurance through my bank."],
)
def test_possession_of_a_bare_noun_is_a_statement(text: str) -> None:
    assert self_cue(text) == "i has"
    assert extract_statements(text, CONTEXTS)


@pytest.mark.parametrize(
    "text",
    [
        "I have questions about the loop.",
        "I have no clue.",
        "I have to go.",
        "I have tested both options.",
        "I have scripts that time out.",
    ],
)
def test_material_a_negation_or_a_perfect_is_no_possession(text: str) -> None:
    assert self_cue(text) != "i has"


@pytest.mark.parametrize(
    "text",
    ["Thunderstorms frighten me.", "Decaf keeps me up at night.", "Onions give me heartburn."],
)
def test_a_thing_that_acts_on_the_speaker_is_kept(text: str) -> None:
    assert self_cue(text) == "experiencer"


@pytest.mark.parametrize(
    "text",
    [
        "That helps me.",  # a pronoun: a reaction
        "Your list confuses me.",  # the assistant's words
        "The test tells me nothing.",  # the chat's material
        "Send the results to me.",  # a request
        "Works for me.",
    ],
)
def test_a_reaction_or_a_request_with_me_is_not(text: str) -> None:
    assert self_cue(text) is None


def test_a_pronoun_object_before_a_colon_is_the_chat_s_material() -> None:
    # "... why we run this: for j in range(n)": the code that follows is what "this" is.
    assert not extract_statements("I don't understand why I run this: for j in range(n):", CONTEXTS)
