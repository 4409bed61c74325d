"""Sentences that tell of the user without the user as subject: a dropped subject, an act done
to the user (memory/learn/voice.py), on a real store."""

import pytest

from memory.learn.gate import gate
from memory.learn.voice import in_user_voice
from tests.memory.learn.talk import OTHERS, T, U, active, say, seed


@pytest.mark.parametrize(
    ("text", "voiced"),
    [
        ("Finally sold my old motorbike.", "I finally sold my old motorbike."),
        ("Handed in the keys to the flat today.", "I handed in the keys to the flat today."),
        ("The hospital has moved me to nights.", "I've been moved to nights."),
        ("My boss switched us onto the Leeds account.", "We were switched onto the Leeds account."),
        ("They made me redundant in May.", "I was made redundant in May."),
        # A place or role the verb leads to, or all of something, as its object.
        (
            "Switched to Lidl after the prices went up.",
            "I switched to Lidl after the prices went up.",
        ),
        (
            "Moved everything over to Notion at the weekend.",
            "I moved everything over to Notion at the weekend.",
        ),
        # A chat line in lower case, which speaks of the user later on.
        (
            "sold the car in june, i cycle everywhere now",
            "I sold the car in june, i cycle everywhere now",
        ),
        (
            "ditched spotify, we use youtube music now",
            "I ditched spotify, we use youtube music now",
        ),
        # A perfect that dropped "I've".
        ("Been swimming at the lido since May.", "I've been swimming at the lido since May."),
    ],
)
def test_the_user_becomes_the_subject(text, voiced):
    assert in_user_voice(text) == voiced


@pytest.mark.parametrize(
    "text",
    [
        "Put the kettle on.",  # a request: "put" is also the base form
        "Turned out the shop was shut.",
        "Based in Cardiff, I teach maths.",
        "Did they move me to nights?",
        "Grandma took me to the zoo.",  # an outing, not a new state
        "They cancelled the bus.",
        "organised a weekly meeting with the team",  # a line of a pasted list
        "excited to try it with my kids",  # a feeling, whose "to" leads to no place
        "bored of my job tbh",
        "been thinking about you",
        "asked me to cover his shift on friday",  # an act done to the user, by someone unsaid
    ],
)
def test_other_sentences_are_left_as_they_are(text):
    assert in_user_voice(text) == text


def test_a_diary_sentence_passes_the_gate():
    assert gate(["Cleared the last of the overdraft this morning!"]).keep


def test_an_assignment_done_to_the_user_replaces_what_they_did(runtime):
    seed(runtime, ["I love sailing.", "I read science fiction.", "I play chess on Sundays."])
    say(runtime, "I work in the accounts team.")
    old = active(runtime)["I work in the accounts team."]
    say(runtime, "They've moved me to the payroll team now.")
    assert runtime.beliefs.get(T, U, old.id).status == "superseded"
    new = [b for s, b in active(runtime).items() if "payroll" in s]
    assert len(new) == 1
    quote = runtime.beliefs.get(T, U, new[0].id).evidence[-1].quote
    assert quote == "They've moved me to the payroll team now."


def test_a_dropped_subject_event_ends_the_state_it_completes(runtime):
    seed(runtime, ["I love sailing.", "I read science fiction.", "I play chess on Sundays."])
    say(runtime, "I'm paying back a student loan.")
    old = active(runtime)["I'm paying back a student loan."]
    say(runtime, "Made the final repayment on the student loan yesterday.")
    assert runtime.beliefs.get(T, U, old.id).status != "active"


def test_a_diary_sentence_may_open_on_a_named_object():
    from memory.learn.voice import in_user_voice

    assert in_user_voice("Traded Netflix for Disney Plus in June.") == (
        "I traded Netflix for Disney Plus in June."
    )
    assert in_user_voice("Turned Monday into a rest day.") == "Turned Monday into a rest day."


def test_a_beginning_ends_no_habit_it_is_close_to(runtime):
    seed(
        runtime,
        [
            "I love sailing.",
            "I read science fiction.",
            "I play chess on Sundays.",
            "I grow tomatoes on the balcony.",
            "I prefer window seats on trains.",
            "I collect vinyl records.",
        ],
    )
    say(runtime, "I jog 5k most mornings.")
    say(runtime, "I signed up for a half marathon in the spring!")
    assert "I jog 5k most mornings." in active(runtime)


@pytest.mark.parametrize(
    ("text", "voiced"),
    [
        (
            "switched to mullvad last month after nord auto-renewed me",
            "I switched to mullvad last month after nord auto-renewed me",
        ),
        (
            "cut coffee right out 3 weeks ago bc of palpitations",
            "I cut coffee right out 3 weeks ago bc of palpitations",
        ),
        (
            "stepped down as treasurer at the agm last nite",
            "I stepped down as treasurer at the agm last nite",
        ),
    ],
)
def test_a_lower_case_line_dated_in_the_past_is_the_speakers_diary(text, voiced):
    assert in_user_voice(text) == voiced


@pytest.mark.parametrize(
    "text",
    ["organised a weekly meeting with the team", "excited to try it last week"],
)
def test_an_undated_list_line_or_a_feeling_keeps_its_reading(text):
    assert in_user_voice(text) == text


def test_a_dated_diary_line_revises_the_belief_it_ends(runtime):
    seed(runtime, OTHERS)
    say(runtime, "I drink about four coffees a day.")
    say(runtime, "cut coffee right out 3 weeks ago bc of palpitations, just green tea now.")
    now = active(runtime)
    assert "I drink about four coffees a day." not in now
    assert any("green tea" in s for s in now)


def test_one_night_breaks_no_rule_the_user_keeps(runtime):
    seed(runtime, OTHERS)
    say(runtime, "I usually go to bed around 11 p.m.")
    say(runtime, "stayed up till 3 last night finishing the quilt lol")
    assert "I usually go to bed around 11 p.m." in active(runtime)


def test_a_capitalised_diary_line_dated_in_the_past_is_the_speakers():
    assert in_user_voice("Transferred last month, closer pitch.") == (
        "I transferred last month, closer pitch."
    )
    assert in_user_voice("Tried it last week.") == "Tried it last week."


def test_back_dates_a_diary_line_as_ago_does():
    assert in_user_voice("stopped the melatonin a few weeks back, sleeping fine") == (
        "I stopped the melatonin a few weeks back, sleeping fine"
    )
    assert in_user_voice("went back to the office") == "went back to the office"
