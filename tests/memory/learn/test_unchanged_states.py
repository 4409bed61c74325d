"""Told things that end nothing: a gift, a trial, a loan, a restatement said as one, another
person's event; and a sentence cut at an abbreviation's period, which loses half a statement."""

import pytest

from memory.learn.change import change_signal
from memory.learn.gate import gate, self_cue
from memory.learn.prose import sentences_of
from tests.memory.learn.talk import OTHERS, active, say, seed


@pytest.mark.parametrize(
    ("prose", "sentences"),
    [
        ("I see Dr. Patel at the surgery. I like her.", 2),
        ("We attend Mass at St. Brigid's every Sunday.", 1),
        ("I usually go to bed around 1 a.m. and get up at 9.", 1),
        ("I go to bed at 1 a.m. Then I read.", 2),
        ("I like stone fruit, e.g. plums. I hate pears.", 2),
        ("I live at No. 5 on the high street.", 1),
        ("I said no. Then I left.", 2),
    ],
)
def test_an_abbreviations_period_ends_no_sentence(prose, sentences):
    assert len(sentences_of(prose)) == sentences


def test_a_statement_with_a_title_in_it_is_learned_whole(runtime):
    say(runtime, "I see Dr. Patel at the Riverside surgery every month.")
    assert any("Dr. Patel at the Riverside surgery" in s for s in active(runtime))


def test_a_simple_past_got_is_an_event_and_a_perfect_got_is_possession():
    assert change_signal("I got the offer from Deloitte and started there on Monday.")
    assert change_signal("I got rid of the car.")
    assert change_signal("I've got two cats.") is None
    assert change_signal("We have got a car.") is None


@pytest.mark.parametrize(
    "text",
    [
        "Bought my mum an iPhone 15 for her birthday.",
        "I got my son a Sonos for his bedroom.",
        "Tried a compound bow at a have-a-go day last weekend.",
        "I borrowed my wife's iPhone for the weekend.",
    ],
)
def test_a_gift_a_trial_or_a_loan_signals_no_change(text):
    from memory.learn.voice import in_user_voice

    assert change_signal(in_user_voice(text)) is None


@pytest.mark.parametrize(
    ("held", "told"),
    [
        (
            "I have an iPhone 13.",
            "Bought my mum an iPhone 15 for her birthday, now I'm her tech support.",
        ),
        (
            "I shoot a recurve bow at the archery club.",
            "Tried a compound bow at a have-a-go day last weekend.",
        ),
        (
            "We live in a semi-detached house in Bristol.",
            "My brother just bought a flat in Cardiff.",
        ),
        (
            "I use a MacBook Air for work.",
            "My work laptop's a MacBook Air, as I think I mentioned.",
        ),
        ("I bank with Lloyds.", "I opened a Marcus savings account for the house deposit."),
    ],
)
def test_what_changed_nothing_of_the_users_ends_no_belief(runtime, held, told):
    seed(runtime, OTHERS)
    say(runtime, held)
    assert held in active(runtime)
    say(runtime, told)
    assert held in active(runtime)


def test_another_persons_event_with_a_consequence_for_the_user_still_revises(runtime):
    seed(runtime, OTHERS)
    say(runtime, "I get my hair cut at a barber every three weeks.")
    say(
        runtime,
        "My partner's been doing my hair at home with clippers since lockdown and we never "
        "went back to the barber.",
    )
    assert "I get my hair cut at a barber every three weeks." not in active(runtime)


def test_a_present_with_a_subject_of_its_own_revises_the_belief_it_stands_out_against(runtime):
    seed(runtime, OTHERS)
    say(runtime, "I usually go to bed around 1 a.m. and get up at 9.")
    assert gate(["New job starts at 7 so bedtime's 10 now, up at 5:30, brutal."]).keep
    say(runtime, "New job starts at 7 so bedtime's 10 now, up at 5:30, brutal.")
    now = active(runtime)
    assert "I usually go to bed around 1 a.m. and get up at 9." not in now
    assert any(s.startswith("New job starts at 7") for s in now)  # no "I New job ..."


def test_such_a_present_alone_is_no_statement_about_the_user(runtime):
    seed(runtime, OTHERS)
    before = set(active(runtime))
    say(runtime, "The new office opens at 8 so the car park fills early now.")
    assert set(active(runtime)) == before
    assert not gate(["Now write the tests so they pass."]).keep


@pytest.mark.parametrize(
    "text",
    [
        "We attend Mass at St. Brigid's every Sunday.",
        "We spend every summer in our static caravan in Norfolk.",
        "I see Dr. Patel at the Riverside surgery.",
    ],
)
def test_a_households_habit_or_a_practitioner_seen_is_a_statement(runtime, text):
    say(runtime, text)
    assert text in active(runtime)


def test_a_papers_we_or_the_conversations_see_is_not(runtime):
    seed(runtime, OTHERS)
    before = set(active(runtime))
    say(runtime, "In this paper we evaluate every model on three datasets.")
    say(runtime, "I see what you mean about the loop.")
    assert set(active(runtime)) == before


def test_a_clause_of_time_alone_is_not_the_new_state(runtime):
    seed(runtime, OTHERS)
    say(runtime, "We attend Mass at St. Brigid's every Sunday.")
    say(runtime, "Ever since we moved across town, Sunday Mass for us has been at Holy Family.")
    now = active(runtime)
    assert "We attend Mass at St. Brigid's every Sunday." not in now
    assert "Ever since we moved across town." not in now
    assert any("Holy Family" in s for s in now)


@pytest.mark.parametrize(
    "text",
    [
        "Our energy supplier is British Gas.",
        "Our washing machine is an old Hotpoint that leaks.",
        "My phone contract is with EE, £32 a month for 100GB.",
        "We bank with Standard Bank.",
        "We go to the 10am service at Trinity Methodist most Sundays.",
    ],
)
def test_a_thing_or_provider_of_the_household_named_is_a_statement(text):
    assert self_cue(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "We trained it with Adam.",  # a past act: a story or a method
        "We're going to Paris on Sunday.",  # a plan
        "My code is in Python.",  # the chat's material
        "My friend is a Doctor.",  # someone else
    ],
)
def test_a_method_a_plan_or_the_chats_material_is_not(text):
    assert self_cue(text) is None


def test_a_line_of_a_pasted_document_is_no_statement_of_the_users(runtime):
    seed(runtime, OTHERS)
    before = set(active(runtime))
    say(runtime, "Sydney and Melbourne and are now expanding to Geelong and Adelaide.")
    assert set(active(runtime)) == before


def test_an_end_the_user_had_to_accept_retracts_what_it_ended(runtime):
    seed(runtime, OTHERS)
    say(runtime, "I volunteer at the soup run in Cork on Thursday nights.")
    say(
        runtime,
        "Because of the new shift pattern at work there's no way I can do Thursdays, so I've "
        "had to give up the soup run altogether.",
    )
    assert "I volunteer at the soup run in Cork on Thursday nights." not in active(runtime)


@pytest.mark.parametrize(
    "text", ["I've had to give up the soup run.", "I had to stop driving after the accident."]
)
def test_an_end_the_user_had_to_accept_is_a_cessation(text):
    from memory.learn.cues import parse_change

    change = parse_change(text)
    assert change is not None and change.kind == "retract"


@pytest.mark.parametrize(
    ("old", "told"),
    [
        (
            "I have a tabby cat called Miso.",
            "We've just adopted a second cat, a ginger one called Tofu.",
        ),
        ("I take omega-3 capsules every day.", "My GP has also put me on magnesium for my cramps."),
        ("I'm allergic to latex.", "Just flagging again that latex is a no-go for me."),
    ],
)
def test_one_more_beside_it_or_a_reminder_ends_nothing(runtime, old, told):
    seed(runtime, [*OTHERS, old])
    say(runtime, told)
    assert old in active(runtime)
