import pytest

from memory.learn.local import Extracted, choose_context, extract_statements, is_about_third_party

DEFAULTS = {
    "preferences": "What the user likes, dislikes or prefers.",
    "expertise": "Profession, skills, experience level.",
    "goals": "Projects, plans, learning goals, events they prepare for.",
    "constraints": "Diet, allergies, health, budget, schedule, location, family situation.",
    "communication_style": "How the user wants to be answered: length, tone, format.",
}


def one(text: str, contexts: dict[str, str] = DEFAULTS) -> Extracted:
    found = extract_statements(text, contexts)
    assert len(found) == 1, found
    return found[0]


def test_the_quote_is_the_sentence_as_written() -> None:
    assert one("I'm allergic to peanuts.").quote == "I'm allergic to peanuts."


def test_statement_is_normalized_and_quote_is_exact() -> None:
    got = one("hey.   i  really love   hiking\u2019s quiet mornings!")
    assert got.statement == "I really love hiking's quiet mornings."
    assert got.quote == "i  really love   hiking\u2019s quiet mornings!"


def test_negative_preference_yields_statement_with_negative_polarity() -> None:
    got = one("I no longer eat meat.")
    assert got.statement == "I no longer eat meat."
    assert got.polarity == -1
    assert one("I don't like horror films anymore.").polarity == -1
    assert one("I love horror films.").polarity == 1


@pytest.mark.parametrize(
    "text",
    [
        "My friend likes sushi.",  # third party
        "My boss is a vegetarian.",
        "She hates flying.",
        "If I were rich I would buy a yacht.",  # hypothetical
        "Imagine I am a dragon guarding gold.",
        "Do I need a visa for Japan?",  # question
        "What should I cook tonight?",
        "Write a poem about how I love the sea.",  # instruction
        "Can you translate 'I like cats' into French?",
        "```\n# I love this code\nprint('I prefer tabs')\n```",  # code
        "Here is my script: `I_prefer = True`",
        'He wrote "I despise winter" on the wall.',  # quoted text
        "I want you to act as a travel agent.",  # addressed to the assistant
        "My password is hunter2 and I like it.",  # secrets never become beliefs
        "We are pleased with the new draft.",  # a reaction to the material at hand
    ],
)
def test_exclusions(text: str) -> None:
    assert extract_statements(text, DEFAULTS) == []


def test_about_the_user_with_others() -> None:
    assert one("My wife and I are vegan.").statement == "My wife and I are vegan."
    assert is_about_third_party("My friend likes sushi.")
    assert is_about_third_party("my sister and her kids love camping")
    assert is_about_third_party("John loves sushi.")
    assert not is_about_third_party("My wife and I are vegan.")
    assert not is_about_third_party("I avoid cars that distract my kids.")
    assert not is_about_third_party("Due to my allergies, I avoid cats.")


def test_self_statement_inside_question_or_request() -> None:
    assert one("I'm vegan, what should I cook?").statement == "I'm vegan."
    assert one("Recommend a hotel, I use a wheelchair").quote == "I use a wheelchair"


def test_multiple_sentences_and_dedup() -> None:
    text = "I love tea. Tell me about Assam. I'm a chemist. I love tea."
    got = extract_statements(text, DEFAULTS)
    assert [g.statement for g in got] == ["I love tea.", "I'm a chemist."]


def test_context_fallbacks_for_custom_contexts() -> None:
    custom = {"health": "Medical conditions, allergies, medications.", "misc": "Other things."}
    assert choose_context("I'm allergic to penicillin.", custom) == "health"
    # No shared word: the first declared context, whatever its name.
    only_prefs = {"likes": "Food and music.", "preferences": "General likes."}
    assert choose_context("I was born in Oslo.", only_prefs) == "likes"
    assert choose_context("I was born in Oslo.", {"zeta": "x", "alpha": "y"}) == "zeta"
    assert choose_context("I prefer tea.", DEFAULTS) == "preferences"
    with pytest.raises(ValueError):
        choose_context("I prefer tea.", {})


def test_empty_text() -> None:
    assert extract_statements("", DEFAULTS) == []


def test_conversational_openers_are_not_part_of_the_belief():
    from memory.learn.local import extract_statements

    contexts = {"preferences": "likes", "goals": "plans", "communication_style": "style"}
    found = extract_statements(
        "Hey, so I prefer short answers. Quick question: what is DNS?", contexts
    )
    assert [e.statement for e in found] == ["I prefer short answers."]
    assert found[0].quote.startswith("Hey, so I prefer")


@pytest.mark.parametrize(
    "sentence",
    [
        "Italian is basically my mother tongue, I'm fluent in it.",
        "Lentils are cheap, I eat them most days.",
    ],
)
def test_a_clause_whose_object_is_a_pronoun_is_stored_with_what_it_stands_for(sentence):
    found = extract_statements(sentence, {"preferences": "likes and dislikes"})
    assert [f.statement for f in found] == [sentence]
