"""Context classification follows the configured contexts' descriptions, with the real embedder."""

import asyncio

import pytest

from memory.learn.contexts import ContextClassifier, gloss_of
from memory.learn.extractors import LocalExtractor
from memory.learn.local import extract_statements
from memory.settings import DEFAULT_CONTEXTS

DEFAULTS = {name: c.description for name, c in DEFAULT_CONTEXTS.items()}


@pytest.fixture(scope="module")
def classifier(embedder) -> ContextClassifier:
    found = ContextClassifier(embedder)
    found.warm(DEFAULTS)
    return found


@pytest.mark.parametrize(
    ("text", "context"),
    [
        ("I prefer aisle seats.", "preferences"),
        ("I love jazz and hate techno.", "preferences"),
        ("I dislike crowded beaches.", "preferences"),
        ("I'm allergic to peanuts.", "constraints"),
        ("I don't eat gluten.", "constraints"),
        ("My budget is tight, around 500 euros.", "constraints"),
        ("I am a civil engineer.", "expertise"),
        ("I work as a paralegal.", "expertise"),
        ("I've been coding in Rust for 3 years.", "expertise"),
        ("My goal is to learn Japanese by next year.", "goals"),
        ("I'm training for a marathon in October.", "goals"),
        ("I want to start a vegetable garden.", "goals"),
        ("Please keep answers short.", "communication_style"),
        ("I prefer bullet points over long paragraphs.", "communication_style"),
    ],
)
def test_default_contexts_by_their_descriptions(classifier, text: str, context: str) -> None:
    found = extract_statements(text, DEFAULTS, classifier.choose)
    assert [f.context for f in found] == [context]


# A user's own contexts: none of these names is known to the code.
CUSTOM = {
    "health": "Medical conditions, allergies, medications, injuries, fitness limits.",
    "career": "The user's job, employer, colleagues, skills and years of experience.",
    "hobbies": "Free-time activities, games, music, sports and tastes the user enjoys.",
    "reply_format": "How replies should look: length, tone, bullet points, language.",
    "ambitions": "What the user aims to achieve: plans, targets, things they want to learn.",
}


@pytest.mark.parametrize(
    ("text", "context"),
    [
        ("I'm allergic to penicillin.", "health"),
        ("I have asthma.", "health"),
        ("I work as a data analyst at a bank.", "career"),
        ("I love playing chess on weekends.", "hobbies"),
        ("Always answer in bullet points.", "reply_format"),
        ("I want to run a half marathon next spring.", "ambitions"),
    ],
)
def test_a_users_own_contexts_are_chosen_by_their_descriptions(classifier, text, context):
    assert classifier.choose(text, CUSTOM) == context


def test_renaming_a_context_keeps_the_choice(classifier) -> None:
    renamed = {f"ctx_{i}": d for i, d in enumerate(DEFAULTS.values())}
    by_name = dict(zip(DEFAULTS, renamed, strict=True))
    for text in ("I'm allergic to peanuts.", "I work as a paralegal.", "Please keep it short."):
        assert classifier.choose(text, renamed) == by_name[classifier.choose(text, DEFAULTS)]


def test_no_embedder_falls_back_to_shared_words() -> None:
    words = ContextClassifier(None)
    assert words.choose("I'm allergic to penicillin.", CUSTOM) == "health"
    assert words.choose("I was born in Oslo.", {"zeta": "x", "alpha": "y"}) == "zeta"
    assert words.choose("Anything.", {"only": "one"}) == "only"
    with pytest.raises(ValueError):
        words.choose("I prefer tea.", {})


def test_a_failing_embedder_falls_back_to_shared_words() -> None:
    class Down:
        name = "down"

        def embed(self, texts):
            raise RuntimeError("embedder down")

    assert ContextClassifier(Down()).choose("I'm allergic to penicillin.", CUSTOM) == "health"


def test_glosses_come_from_grammar_not_topics() -> None:
    assert gloss_of("I want to learn Rust.") == "a goal or plan I am working toward"
    assert gloss_of("I like tea.") == "what I like and dislike"
    assert gloss_of("I live in Oslo.") is None
    assert gloss_of("Keep it short.", "style:keep it short") == "how I want you to answer me"


def test_the_local_extractor_files_statements_under_custom_contexts(classifier) -> None:
    got = asyncio.run(
        LocalExtractor(classifier).extract(
            ["I am allergic to penicillin. I love playing chess on weekends."], "", [], CUSTOM, "m"
        )
    )
    assert [(op.statement, op.context) for op in got.ops] == [
        ("I am allergic to penicillin.", "health"),
        ("I love playing chess on weekends.", "hobbies"),
    ]
