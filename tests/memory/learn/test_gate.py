import pytest

from memory.learn.gate import GateDecision, gate, self_cue
from memory.learn.local import extract_statements

CONTEXTS = {"preferences": "what the user likes", "constraints": "limits"}

KEEP = [
    # preferences
    "I prefer window seats on long flights.",
    "i really love spicy food",
    "I can't stand horror movies.",
    # identity / profession / expertise
    "I'm a pediatric nurse working night shifts.",
    "I work as a data engineer at a bank.",
    "I've been playing the violin for 12 years.",
    "As a beginner, I get lost in long explanations.",
    # goals
    "My goal is to run a sub-4 marathon next spring.",
    "I'm training for a triathlon in June.",
    "I want to switch careers into UX design.",
    # constraints: allergy, diet, budget, schedule, health, location, family
    "I'm allergic to penicillin.",
    "I don't eat pork.",
    "My budget is about $800 for the whole trip.",
    "I only have time to cook on weekends.",
    "I have type 1 diabetes.",
    "I live in Lisbon and commute by bike.",
    "My wife and I have two toddlers.",
    "We are vegetarian at home.",
    # communication style
    "Please keep answers short.",
    "Explain it like I'm five.",
    "No jargon please, I'm not technical.",
    # self-statement next to a task request
    "I'm lactose intolerant. Suggest a dessert for a dinner party.",
    # message wrapped in quotes is still the user's own words
    '"I avoid restaurants with loud music."',
]

SKIP = [
    "Write a poem about autumn leaves.",
    "Translate this into German: I love my wife and my kids.",
    "What is the capital of Australia?",
    "Make this grammatically correct: I like your watch. How long have you had it?",
    "Can I use async functions inside a list comprehension?",
    "I want you to act as a Linux terminal.",
    "I have a question about Kubernetes ingress rules.",
    "I don't understand this error message.",
    "If I were a bird, I would fly south for the winter.",
    "Imagine I am a pirate captain and describe my ship.",
    "Summarize the following text: I grew up in a small village and loved fishing.",
    'The author says "I prefer tea to coffee" in chapter two. Why?',
    "```python\n# I love this function\ndef f(x):\n    return x\n```\nwhy does this fail?",
    "See https://example.com/i-love-cats for the details",
    "",
    "   ",
]


@pytest.mark.parametrize("text", KEEP)
def test_keeps_self_statements(text: str) -> None:
    decision = gate([text])
    assert decision.keep, decision.reason


@pytest.mark.parametrize("text", SKIP)
def test_skips_turns_without_self_information(text: str) -> None:
    decision = gate([text])
    assert not decision.keep, decision.reason


def test_decision_shape_and_reason() -> None:
    decision = gate(["I prefer tea."])
    assert isinstance(decision, GateDecision)
    assert decision.reason.startswith("self-statement")
    assert gate([]) == GateDecision(False, "empty")


def test_any_user_message_of_the_turn_can_carry_the_signal() -> None:
    assert gate(["write a haiku", "by the way I'm vegan"]).keep
    assert not gate(["write a haiku", "make it rhyme"]).keep


def test_long_code_paste_is_skipped_but_surrounding_prose_counts() -> None:
    code = "\n".join(f"x{i} = compute(y{i}, z{i});" for i in range(300))
    assert not gate([f"Here is my script:\n{code}\nwhy is it slow?"]).keep
    assert gate([f"I'm a physicist, not a programmer.\n{code}\nwhy is it slow?"]).keep


def test_long_pasted_document_only_its_framing_is_read() -> None:
    article = "In this paper we study transformers. " * 200
    assert not gate([article]).keep
    assert not gate([f"Summarize this: {article} I love it"]).keep


def test_typographic_apostrophes() -> None:
    assert gate(["I\u2019m allergic to shellfish."]).keep


def test_a_frequency_adverbial_marks_a_habit_of_the_speaker() -> None:
    assert self_cue("I kayak every summer.") is not None
    assert self_cue("I bake bread on Sundays.") is not None
    assert self_cue("We meet on Mondays to review the code.") is None  # "we": a team


@pytest.mark.parametrize(
    "text",
    [
        "I have a season ticket for the opera.",  # possession, the verb after the subject
        "We have two rabbits and a tortoise.",
        "My landlady is Mrs. Okafor.",  # a relation named
        "My brother lives with me.",  # one of the user's people at home
        "I go to a pottery studio on Sundays.",
        "I see a chiropractor every other week.",  # a habit, not "I see"
        "I pay off my store card every month.",  # a card mentioned, no secret given
    ],
)
def test_statements_of_the_users_life_are_kept(text):
    assert gate([text]).keep
    assert extract_statements(text, CONTEXTS)


@pytest.mark.parametrize(
    "text",
    [
        "I have a question about regular expressions.",
        "I have a CSV file with two columns.",
        "My password is tulip42.",
        "I go there.",
    ],
)
def test_what_is_at_hand_or_secret_is_not_a_statement(text):
    assert not extract_statements(text, CONTEXTS)


@pytest.mark.parametrize(
    "text", ["We use Slack at work.", "We speak Spanish at home.", "We use Teams at work now."]
)
def test_a_we_set_in_the_users_workplace_or_home_is_their_team_or_household(text: str) -> None:
    assert self_cue(text) is not None
    assert [s.statement for s in extract_statements(text, CONTEXTS)] == [text]


@pytest.mark.parametrize(
    "text",
    [
        "We use the formula in my lab report.",  # a document, not a workplace
        "We need to fix this at work.",  # a task
        "So we use a loop here and then return the list at the end of the function call.",
    ],
)
def test_a_we_of_a_task_is_not_a_household(text: str) -> None:
    assert extract_statements(text, CONTEXTS) == []
