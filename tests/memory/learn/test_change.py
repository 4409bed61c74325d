"""Changes of state in no known frame: the grammatical signal, and the belief it revises."""

import pytest

from memory.beliefs import EvidenceIn
from memory.learn.change import CONTRAST, EVENT, abstention_of, change_signal, contrasts_past
from memory.learn.gate import gate
from memory.selfmodel import SelfModel
from proxy.config import parse_config
from tests.memory.learn.talk import OTHERS, T, U, active, say


@pytest.mark.parametrize(
    ("text", "strength"),
    [
        ("Ever since my office closed, I don't commute at all.", CONTRAST),
        ("The choir disbanded, so I'm not singing anywhere now.", CONTRAST),
        ("I'm back to cycling to work after the winter.", CONTRAST),
        ("My new landlord allows pets.", CONTRAST),
        ("I finished my apprenticeship and joined a carpentry workshop.", EVENT),
        ("Our landlord sold the building last month.", EVENT),
        ("I've retired from teaching.", EVENT),
        ("We were married in June.", EVENT),
    ],
)
def test_a_change_is_signalled_by_its_grammar(text, strength):
    signal = change_signal(text)
    assert signal is not None and signal.strength == strength


@pytest.mark.parametrize(
    "text",
    [
        "I commute by ferry every morning.",  # a habit in the present
        "I only eat at kosher-certified restaurants.",  # an adjective in -ed
        "I avoid products tested on animals.",
        "I'm interested in medieval history.",
        "Should I switch to a standing desk now?",  # a question
        "I'm thinking about moving to Porto next year.",  # a plan
        "The weather turned cold yesterday.",  # nothing of the speaker's
        "My left knee aches when it rains.",  # "My" is no name, "left" no verb
    ],
)
def test_no_change_is_signalled_without_one(text):
    assert change_signal(text) is None


@pytest.fixture
def runtime(tmp_path, embedder):
    rt = SelfModel(parse_config({"store": {"path": str(tmp_path)}}).memory, embedder=embedder)
    for text in OTHERS:
        rt.beliefs.create(T, U, text, "preferences", EvidenceIn(source="stated", kind="x"))
    yield rt
    rt.db.close()


def test_a_change_in_a_subordinate_clause_supersedes_the_belief_it_is_about(runtime):
    say(runtime, "I commute by ferry every morning.")
    old = active(runtime)["I commute by ferry every morning."]
    say(runtime, "Ever since my office closed, I don't commute at all.")
    now = active(runtime)
    assert "I commute by ferry every morning." not in now
    new = next(b for s, b in now.items() if "don't commute" in s)
    assert new.supersedes == old.id
    assert "change (ever since)" in (runtime.beliefs.get(T, U, new.id).evidence[0].note or "")
    assert set(OTHERS) <= set(now)  # nothing else changed


def test_a_change_that_is_no_self_statement_is_stored_only_as_a_revision(runtime):
    say(runtime, "I sing in a church choir.")
    old = active(runtime)["I sing in a church choir."]
    say(runtime, "The choir disbanded, so I'm not singing anywhere now.")
    gone = runtime.beliefs.get(T, U, old.id)
    # A negation at the present with nothing in its place ends the state: retracted.
    assert gone.status in ("superseded", "retracted")
    assert set(OTHERS) <= set(active(runtime))


def test_an_unanchored_change_with_nothing_to_revise_stores_nothing(runtime):
    before = set(active(runtime))
    result = say(runtime, "The bakery on our street closed last winter.")
    assert set(active(runtime)) == before
    assert result.applied == []


def test_a_revision_keeps_the_old_beliefs_context(runtime):
    runtime.beliefs.create(
        T,
        U,
        "I'm a second-year nursing student.",
        "constraints",
        EvidenceIn(source="stated", kind="x"),
    )
    say(runtime, "I finished my nursing degree and joined a hospital as a staff nurse.")
    new = next(b for s, b in active(runtime).items() if "staff nurse" in s)
    assert new.context == "constraints"
    assert new.supersedes is not None


def test_an_event_does_not_end_a_nearby_aversion_of_the_other_polarity(runtime):
    say(runtime, "I've started going to rock concerts with my brother.")
    assert "I avoid restaurants with loud music." in active(runtime)


def test_the_gate_keeps_a_change_in_no_known_frame():
    assert gate(["Our lease ended in May: we're renting in Porto now."]).keep
    assert not gate(["The weather turned cold yesterday."]).keep


@pytest.mark.parametrize(
    "text",
    [
        "I've got three nephews.",  # possession in the present, not an event
        "I've been practising the flute lately.",  # a state going on, not set against a past one
    ],
)
def test_possession_and_recent_activity_set_nothing_against_the_past(text):
    assert not contrasts_past(text)


def test_a_restatement_said_with_lately_reinforces_instead_of_superseding(runtime):
    say(runtime, "I'm learning the flute.")
    old = active(runtime)["I'm learning the flute."]
    say(runtime, "I've been learning the flute lately.")
    assert runtime.beliefs.get(T, U, old.id).status == "active"


def test_a_continuing_state_is_never_a_change(runtime):
    say(runtime, "I commute by ferry every morning.")
    old = active(runtime)["I commute by ferry every morning."]
    say(runtime, "I still commute by ferry every morning, as usual.")
    assert runtime.beliefs.get(T, U, old.id).status == "active"
    assert set(OTHERS) <= set(active(runtime))


def test_a_negation_at_the_present_ends_the_state_after_the_reason_given(runtime):
    say(runtime, "I play in a pub quiz team on Wednesdays.")
    old = active(runtime)["I play in a pub quiz team on Wednesdays."]
    say(runtime, "The pub closed, and I don't play pub quizzes at all these days.")
    assert runtime.beliefs.get(T, U, old.id).status != "active"
    assert set(OTHERS) <= set(active(runtime))


def test_a_drop_in_a_later_clause_ends_what_it_names(runtime):
    say(runtime, "I take singing lessons every Friday.")
    old = active(runtime)["I take singing lessons every Friday."]
    say(runtime, "My voice teacher retired, so no more singing lessons.")
    assert runtime.beliefs.get(T, U, old.id).status != "active"


def test_a_return_ends_the_abstention_it_returns_from(runtime):
    say(runtime, "I don't eat sugar.")
    old = active(runtime)["I don't eat sugar."]
    say(runtime, "I'm eating sugar again.")
    assert runtime.beliefs.get(T, U, old.id).status == "superseded"
    assert "I avoid restaurants with loud music." in active(runtime)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'm back on cigarettes.", "I avoid cigarettes."),
        ("I've started running again.", "I avoid running."),
        ("I eat bread again.", "I don't eat bread."),
        ("I started a new job.", None),  # an inception of a thing, not a return to it
        ("I don't eat bread anymore.", None),
    ],
)
def test_the_abstention_a_return_ends(text, expected):
    assert abstention_of(text) == expected


def test_a_change_told_of_the_users_people_revises_what_they_said_of_them(runtime):
    say(runtime, "My father lives with us.")
    old = active(runtime)["My father lives with us."]
    say(runtime, "My dad moved into a retirement home in the spring.")
    assert runtime.beliefs.get(T, U, old.id).status == "superseded"
    before = set(active(runtime))
    say(runtime, "My cousin moved to Canada last year.")  # nothing of theirs was said
    assert set(active(runtime)) == before


def test_a_forget_with_a_new_clause_stores_what_replaced_it(runtime):
    say(runtime, "I track my runs with Strava.")
    old = active(runtime)["I track my runs with Strava."]
    say(runtime, "Forget the Strava thing, I track my runs with a Garmin watch now.")
    assert runtime.beliefs.get(T, U, old.id).status != "active"
    assert any("Garmin" in s for s in active(runtime))


def test_an_event_far_from_its_belief_in_words_links_when_nothing_else_comes_close():
    from memory.learn.change import EVENT, Signal, changed_belief
    from memory.learn.revise import Match

    signal = Signal(EVENT, "i got married")
    single = Match("a", "I'm single.", 0.32, False)
    rest = [Match(f"r{i}", f"I dislike genre {i}.", 0.15 - 0.01 * i, False) for i in range(5)]
    assert changed_belief("I got married in June.", [single, *rest], signal) == single
    # A runner-up near the winner: no belief stands out, nothing is revised.
    crowded = [single, Match("c", "I avoid weddings.", 0.27, False), *rest]
    assert changed_belief("I got married in June.", crowded, signal) is None
    # Alone among two beliefs means little.
    assert changed_belief("I got married in June.", [single, rest[0]], signal) is None


def test_a_wedding_ends_being_single_though_they_share_no_word(runtime):
    say(runtime, "I'm single.")
    say(runtime, "I got married in June.")
    now = active(runtime)
    assert "I'm single." not in now and "I got married in June." in now
    assert len(now) == len(OTHERS) + 1  # nothing else ended


def test_a_new_state_replaces_the_one_belief_of_its_polarity_that_stands_alone_near_it(runtime):
    say(runtime, "I split rent with two roommates.")
    say(runtime, "My roommates moved out, so I live alone now.")
    now = active(runtime)
    assert "I split rent with two roommates." not in now
    assert "I live alone now." in now
    assert len(now) == len(OTHERS) + 1


def test_a_perfect_of_a_state_ends_no_belief_it_stands_near():
    from memory.learn.change import changed_belief
    from memory.learn.revise import Match

    signal = change_signal("I have been using Excel for years.")
    assert signal is not None
    alone = [Match("a", "I am learning Go programming.", 0.33, False)]
    alone.append(Match("b", "I live in Hanoi.", 0.1, False))
    assert changed_belief("I have been using Excel for years.", alone, signal) is None


def test_the_speakers_pronoun_is_a_subject_after_any_clause():
    # "I" and "we" are nominative: an event of theirs after an unpunctuated clause.
    signal = change_signal("After the gym raised its fees we cancelled the membership.")
    assert signal is not None and signal.strength == EVENT


@pytest.mark.parametrize(
    "text",
    [
        "My sister bought the same blender for her flat too.",  # adds to what was
        "I've also joined a pottery class.",
        "My cousin and I were born in the same hospital.",  # one's own birth
    ],
)
def test_an_event_that_adds_or_is_lifelong_signals_no_change(text):
    assert change_signal(text) is None


def test_an_event_after_a_reason_clause_supersedes_the_belief_it_is_about(runtime):
    say(runtime, "I keep my savings in a Nationwide account.")
    say(runtime, "After Nationwide cut the interest rate I moved my savings over to Chase.")
    now = active(runtime)
    assert "I keep my savings in a Nationwide account." not in now
    assert any("Chase" in s for s in now)
    assert set(OTHERS) <= set(now)


def test_a_past_reason_joined_by_so_signals_the_users_new_arrangement():
    signal = change_signal("The bus was always late, so I cycle in now that it's spring.")
    assert signal is not None
    signal = change_signal("The waiting list was two years long, so I've got a private tutor.")
    assert signal is not None and signal.strength == EVENT


def test_a_participle_after_a_determiner_is_no_past_reason():
    # "my broken wrist" is an adjective, not an event.
    assert change_signal("My broken wrist aches in the cold, so I wear gloves.") is None


def test_a_change_that_names_the_old_provider_only_in_its_reason_supersedes_it(runtime):
    say(runtime, "My phone contract is with Vodafone.")
    say(runtime, "We moved everyone to Three now after Vodafone doubled the price.")
    now = active(runtime)
    assert "My phone contract is with Vodafone." not in now
    assert set(OTHERS) <= set(now)


def test_a_drop_after_an_event_done_to_the_user_ends_the_state_it_names_in_part(runtime):
    say(runtime, "I take the train to the office in Reading every day.")
    say(runtime, "The firm has finally given me a home-working contract, so no more trains.")
    now = active(runtime)
    assert "I take the train to the office in Reading every day." not in now
    assert any("home-working" in s for s in now)
    assert set(OTHERS) <= set(now)


def test_a_restatement_with_another_number_set_against_the_past_supersedes(runtime):
    say(runtime, "I swim twenty lengths at the leisure centre.")
    old = active(runtime)["I swim twenty lengths at the leisure centre."]
    say(runtime, "I swim 40 lengths at the leisure centre now that I'm fitter.")
    now = active(runtime)
    assert "I swim twenty lengths at the leisure centre." not in now
    new = next(b for s, b in now.items() if "40" in s)
    assert new.supersedes == old.id


def test_a_restatement_with_the_same_number_reinforces():
    from memory.learn.revise import changed_number

    assert changed_number("I walk 3 miles now.", "I walk three miles a day.") is False
    assert changed_number("I walk five miles now.", "I walk three miles a day.") is True
    assert changed_number("I walk further now.", "I walk three miles a day.") is False


def test_instead_of_names_the_state_a_change_told_of_someone_replaced(runtime):
    say(runtime, "My daughter goes to ballet lessons every Tuesday.")
    assert "My daughter goes to ballet lessons every Tuesday." in active(runtime)
    say(runtime, "Since the spring she's been going to judo instead of the ballet lessons.")
    now = active(runtime)
    assert "My daughter goes to ballet lessons every Tuesday." not in now
    assert any("judo" in s for s in now)
    assert set(OTHERS) <= set(now)


def test_instead_of_with_nothing_it_names_stores_no_report_of_someone_else(runtime):
    before = set(active(runtime))
    say(runtime, "He's been taking the bus instead of the tram.")
    assert set(active(runtime)) == before


def test_what_replaced_a_dropped_state_may_follow_the_drop(runtime):
    say(runtime, "I use an inhaler from the chemist for my asthma.")
    old = active(runtime)["I use an inhaler from the chemist for my asthma."]
    say(
        runtime,
        "The inhaler stopped helping, so the nurse prescribed a new one and I've used it since.",
    )
    now = active(runtime)
    assert "I use an inhaler from the chemist for my asthma." not in now
    new = next(b for s, b in now.items() if "nurse" in s)
    assert new.supersedes == old.id


def test_an_arrangement_of_the_users_people_replaces_the_one_that_ended(runtime):
    say(runtime, "My dad walks the dog on Mondays.")
    assert "My dad walks the dog on Mondays." in active(runtime)
    say(runtime, "Dad can't manage the walks anymore, so my neighbour takes the dog on Mondays.")
    now = active(runtime)
    assert "My dad walks the dog on Mondays." not in now
    assert any("neighbour" in s for s in now)


def test_a_thing_rearranged_in_the_passive_signals_a_change_without_a_first_person():
    signal = change_signal("The choir practice has been moved to Thursdays.")
    assert signal is not None and signal.strength == EVENT
    assert change_signal("The bridge was built in 1890.") is None  # no rearrangement
    assert change_signal("Has the match been moved to Sunday?") is None


def test_a_rearranged_thing_of_the_users_supersedes_the_belief_that_holds_it(runtime):
    say(runtime, "I have my piano lesson at 4pm every Monday.")
    assert "I have my piano lesson at 4pm every Monday." in active(runtime)
    say(runtime, "My teacher started a new job, so the piano lesson got moved to 6pm.")
    now = active(runtime)
    assert "I have my piano lesson at 4pm every Monday." not in now
    assert any("6pm" in s for s in now)
    before = set(now)
    say(runtime, "The town hall meeting got moved to the library.")  # nothing of the user's
    assert set(active(runtime)) == before


def test_a_frame_after_a_reason_clause_names_the_old_and_the_new_state():
    from memory.learn.cues import parse_change

    change = parse_change("The strings kept snapping, so I gave up the violin and took up cello.")
    assert change is not None and change.kind == "revise"
    assert change.target == "violin"


def test_a_change_told_by_a_pronoun_names_the_person_of_the_belief_it_revises(runtime):
    say(runtime, "My daughter plays netball every Thursday evening.")
    assert "My daughter plays netball every Thursday evening." in active(runtime)
    say(runtime, "She's given up netball and joined a swimming squad instead.")
    now = active(runtime)
    assert "My daughter plays netball every Thursday evening." not in now
    assert "My daughter's given up netball and joined a swimming squad instead." in now


def test_a_pronouns_change_with_nothing_it_names_stores_nothing(runtime):
    before = set(active(runtime))
    say(runtime, "She's given up netball and joined a swimming squad instead.")
    assert set(active(runtime)) == before


def test_the_person_named_replaces_the_first_nominative_pronoun_only():
    from memory.learn.local import named_subject

    old = "My brother lives in Cork."
    assert named_subject("Since June he's lived in Galway.", old) == (
        "Since June my brother's lived in Galway."
    )
    assert named_subject("I visit him there.", old) == "I visit him there."
    assert named_subject("He moved.", "I live in Cork.") == "He moved."


@pytest.mark.parametrize(
    "text",
    [
        "Please write it in Python instead of the JavaScript version.",  # a request
        "I'd like the salad instead of the chips.",  # a wish
    ],
)
def test_instead_of_in_a_request_or_a_wish_names_no_old_state(text):
    from memory.learn.cues import parse_change

    change = parse_change(text)
    assert change is None or change.cue != "instead of"


def test_a_negative_event_may_end_a_held_state_an_inception_may_not_end_an_aversion():
    from memory.learn.change import Signal, changed_belief
    from memory.learn.revise import Match

    signal = Signal(EVENT, "lost")
    rest = [Match(f"r{i}", f"I collect stamps from country {i}.", 0.1, False) for i in range(5)]
    held = Match("h", "I have a gym membership through my employer.", 0.6, True)
    ended = "I lost the gym membership when I changed jobs and haven't replaced it."
    assert changed_belief(ended, [held, *rest], signal) == held
    # ... when it happened to the speaker, not to someone of theirs.
    theirs = Signal(EVENT, "my sister just cancelled")
    sister = "My sister just cancelled her gym membership, it wasn't worth it."
    assert changed_belief(sister, [held, *rest], theirs) is None
    aversion = Match("a", "I avoid gyms with loud music.", 0.6, True)
    assert changed_belief("I've started going to a gym.", [aversion, *rest], signal) is None


@pytest.mark.parametrize(
    "text",
    [
        "My sister just started doing pottery too, near her office.",
        "We've fitted a smoke alarm in the loft as well now.",
        "It poured last Sunday so I took the kids bowling instead.",
        "The pitch was flooded yesterday so we played indoors instead.",
    ],
)
def test_an_addition_or_one_days_alternative_signals_no_change(text):
    assert change_signal(text) is None


def test_a_lasting_alternative_still_signals_a_change():
    assert change_signal("I take the train to work instead these days.") is not None
    assert change_signal("I'm a vegetarian now.") is not None


def test_a_doubled_consonant_before_a_suffix_stems_with_the_verb() -> None:
    from memory.learn.polarity import content_stems

    assert content_stems("I've been running") & content_stems("I run 5k")
    assert content_stems("swimming laps") & content_stems("I swim")
    assert content_stems("I fell while dressing") >= {"dress"}
    assert content_stems("cooking") == content_stems("cook")  # a doubled vowel stays


def test_a_named_thing_of_the_users_that_ended_revises_the_belief_that_names_it(runtime):
    for text in OTHERS:
        runtime.beliefs.create(T, U, text, "preferences", EvidenceIn(source="stated", kind="x"))
    say(runtime, "My daughter Maya goes to Little Acorns nursery three days a week.")
    say(
        runtime,
        "Little Acorns shut down over the summer, so Maya's with a childminder called Janet.",
    )
    now = active(runtime)
    assert "My daughter Maya goes to Little Acorns nursery three days a week." not in now
    assert any("Janet" in s for s in now)
    before = set(now)
    say(runtime, "Octopus took over the old gasworks site in October.")  # no belief names it
    assert set(active(runtime)) == before


def test_a_passive_perfect_after_a_quantifier_is_an_event():
    signal = change_signal(
        "The company is consolidating on Notion, so all my docs have been migrated."
    )
    assert signal is not None and signal.mark.endswith("migrated")
    assert change_signal("Nature themed usernames please") is None
    assert change_signal("You messed up the logic.") is None
