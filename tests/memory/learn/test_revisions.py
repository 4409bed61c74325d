"""Applying ops: revisions, retractions, restatements and contradictions (a real store)."""

import asyncio
from datetime import UTC, datetime

import pytest

from memory.beliefs import EvidenceIn
from memory.learn.apply import Applier
from memory.learn.conflicts import open_conflicts
from memory.learn.extractors import LocalExtractor
from memory.learn.ops import Op
from memory.selfmodel import SelfModel
from proxy.config import parse_config

T, U = "default", "ana"


@pytest.fixture
def runtime(tmp_path, embedder):
    rt = SelfModel(parse_config({"store": {"path": str(tmp_path)}}).memory, embedder=embedder)
    yield rt
    rt.db.close()


def say(runtime, text, at=None):
    extraction = asyncio.run(
        LocalExtractor(runtime.classifier).extract(
            [text], "", [], runtime.context_descriptions, "m"
        )
    )
    return Applier(runtime.beliefs).apply(
        T, U, extraction.ops, request_id=None, known_ids=set(), at=at
    )


def active(runtime):
    return {b.statement: b for b in runtime.beliefs.find(T, U, status="active")}


def seed(runtime, statements):
    for text in statements:
        runtime.beliefs.create(T, U, text, "preferences", EvidenceIn(source="stated", kind="x"))


def test_a_cessation_retracts_the_old_belief_with_the_reason_in_its_evidence(runtime):
    seed(runtime, ["I love sailing.", "I read science fiction."])
    say(runtime, "I'm vegetarian.")
    old = active(runtime)["I'm vegetarian."]
    say(runtime, "I'm no longer vegetarian.")
    assert "I'm vegetarian." not in active(runtime)
    gone = runtime.beliefs.get(T, U, old.id)
    assert gone.status == "retracted" and gone.valid_to is not None
    assert [h.event for h in gone.history][-1] == "retracted"
    assert "no longer" in (gone.evidence[-1].note or "")
    assert gone.evidence[-1].polarity == -1


def test_a_near_duplicate_negation_never_reinforces(runtime):
    say(runtime, "I find opera boring.")
    before = active(runtime)["I find opera boring."]
    say(runtime, "I no longer find opera boring.")
    after = runtime.beliefs.get(T, U, before.id)
    assert after.status != "active"


def test_a_switch_supersedes_and_keeps_the_history(runtime):
    seed(runtime, ["I enjoy long walks.", "I collect stamps."])
    say(runtime, "I drive a diesel van.")
    old = active(runtime)["I drive a diesel van."]
    say(runtime, "I switched from a diesel van to an electric scooter.")
    now = active(runtime)
    assert "I drive a diesel van." not in now
    new = next(b for s, b in now.items() if "scooter" in s)
    assert new.supersedes == old.id
    assert runtime.beliefs.get(T, U, old.id).superseded_by == new.id
    assert "switched from" in (runtime.beliefs.get(T, U, new.id).evidence[0].note or "")


def test_forget_what_i_said_retracts_only_that_belief(runtime):
    seed(runtime, ["I play chess on weekends.", "I am allergic to peanuts."])
    say(runtime, "Forget what I said about chess.")
    now = active(runtime)
    assert "I play chess on weekends." not in now and "I am allergic to peanuts." in now


def test_a_restatement_in_another_context_reinforces_the_one_belief(runtime):
    say(runtime, "I'm vegetarian.")
    say(runtime, "I am a vegetarian.")
    found = [b for b in active(runtime).values() if "vegetarian" in b.statement]
    assert len(found) == 1
    assert len(runtime.beliefs.get(T, U, found[0].id).evidence) == 2


def test_a_move_with_a_relative_time_sets_valid_from(runtime):
    say(runtime, "I live in Porto.")
    at = datetime(2026, 3, 31, tzinfo=UTC)
    say(runtime, "I moved to Madrid last month.", at=at)
    now = active(runtime)
    assert "I live in Porto." not in now
    madrid = next(b for s, b in now.items() if "Madrid" in s)
    assert (at - madrid.valid_from).days == 30


def test_a_move_out_of_town_supersedes_the_home_and_the_month_sets_valid_from(runtime):
    say(runtime, "My partner and I live in the city centre.")
    at = datetime(2026, 9, 10, tzinfo=UTC)
    say(runtime, "Last month we moved out to a village in the countryside.", at=at)
    now = active(runtime)
    assert "My partner and I live in the city centre." not in now
    home = now["I live in a village in the countryside."]
    assert (at - home.valid_from).days == 30


def test_a_change_whose_named_old_state_matches_nothing_is_linked_by_the_whole_sentence(runtime):
    # "replaced it with ...": the words read as the old state are a pronoun, yet the sentence
    # names the device it replaced.
    say(runtime, "I use a Fitbit to track my sleep.")
    say(runtime, "My Fitbit died and I replaced it with an Oura ring.")
    now = active(runtime)
    assert "I use a Fitbit to track my sleep." not in now
    assert any("Oura" in s for s in now)


def test_an_llm_add_that_negates_an_active_belief_becomes_a_revision(runtime):
    seed(runtime, ["I like horror films."])
    applier = Applier(runtime.beliefs)
    op = Op(op="add", context="preferences", quote="q", statement="I don't like horror films.")
    result = applier.apply(T, U, [op], request_id=None, known_ids=set())
    assert result.applied[0][0] == "revise"
    assert list(active(runtime)) == ["I don't like horror films."]


def test_an_inference_does_not_override_what_the_user_said(runtime):
    seed(runtime, ["I like horror films."])
    op = Op(
        op="add",
        context="preferences",
        quote="q",
        statement="I don't like horror films.",
        source="inferred",
    )
    result = Applier(runtime.beliefs).apply(T, U, [op], request_id=None, known_ids=set())
    assert result.rejected and "inference" in result.rejected[0].reason
    assert list(active(runtime)) == ["I like horror films."]


def test_contradicting_api_beliefs_show_as_a_conflict_with_the_rule(runtime):
    runtime.beliefs.create(T, U, "I like spicy food.", "preferences", EvidenceIn("inferred", "x"))
    runtime.beliefs.create(
        T, U, "I don't like spicy food.", "preferences", EvidenceIn("asserted", "x")
    )
    conflicts = open_conflicts(runtime.beliefs, T, U)
    assert len(conflicts) == 1
    kept = active(runtime)["I don't like spicy food."]
    assert conflicts[0]["winner"] == kept.id and "asserted" in conflicts[0]["rule"]


def test_a_cessation_drops_the_liking_not_a_dislike_on_the_same_topic(runtime):
    say(runtime, "I love horror movies.")
    seed(runtime, ["I dislike horror movies that have excessive jump scares."])
    say(runtime, "I don't love horror movies anymore.")
    now = active(runtime)
    assert "I love horror movies." not in now
    assert "I dislike horror movies that have excessive jump scares." in now


def test_a_move_supersedes_where_the_user_lived_however_it_was_worded(runtime):
    seed(runtime, ["I work in a hospital.", "I love long walks in the city."])
    say(runtime, "I'm based in Toronto.")
    say(runtime, "I relocated to Lisbon.")
    now = active(runtime)
    assert "I'm based in Toronto." not in now and "I live in Lisbon." in now
    assert {"I work in a hospital.", "I love long walks in the city."} <= set(now)
    say(runtime, "I'm living in Edinburgh now.")
    assert [s for s in active(runtime) if "Lisbon" in s or "Edinburgh" in s] == [
        "I'm living in Edinburgh now."
    ]


def test_a_new_liking_replaces_a_liking_never_an_aversion(runtime):
    seed(runtime, ["I avoid documentaries about war.", "I play the violin."])
    say(runtime, "I really enjoy reality TV shows.")
    say(runtime, "Actually, I now enjoy nature documentaries much more.")
    now = active(runtime)
    assert "I really enjoy reality TV shows." not in now
    assert {"I avoid documentaries about war.", "I play the violin."} <= set(now)


@pytest.mark.parametrize(
    ("first", "again", "kept"),
    [
        ("I have two dogs.", "I have 2 dogs at home.", "I have 2 dogs at home."),
        (
            "I prefer printed textbooks.",
            "Honestly, I prefer printed textbooks over screens.",
            "I prefer printed textbooks over screens.",
        ),
        ("I live in Lisbon.", "I'm living in Lisbon.", "I live in Lisbon."),
        # Every word of the first kept, less close in meaning (0.6 and more).
        (
            "I prefer aisle tables.",
            "I always ask for an aisle table when we eat out.",
            "I always ask for an aisle table when we eat out.",
        ),
    ],
)
def test_a_restatement_with_other_or_extra_words_reinforces(runtime, first, again, kept):
    """One belief, with both turns as its evidence, worded as the one that says more."""
    say(runtime, first)
    say(runtime, again)
    now = active(runtime)
    assert list(now) == [kept]
    assert len(runtime.beliefs.get(T, U, now[kept].id).evidence) == 2


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("I play tennis on Mondays.", "I play chess on Mondays."),
        ("I'm allergic to peanuts.", "I'm allergic to cats."),
        ("I like green tea.", "I like black coffee."),
    ],
)
def test_distinct_statements_on_a_near_topic_stay_two_beliefs(runtime, first, second):
    say(runtime, first)
    say(runtime, second)
    assert set(active(runtime)) == {first, second}


def test_a_qualified_dislike_does_not_contradict_a_general_liking(runtime):
    seed(runtime, ["I dislike horror movies that have excessive jump scares."])
    say(runtime, "I love horror movies.")
    assert set(active(runtime)) == {
        "I dislike horror movies that have excessive jump scares.",
        "I love horror movies.",
    }


def test_a_restatement_that_says_more_rewords_the_belief_and_keeps_the_history(runtime):
    seed(runtime, ["I collect stamps.", "I enjoy long walks."])
    say(runtime, "I prefer window seats.")
    old = active(runtime)["I prefer window seats."]
    say(runtime, "I always prefer window seats on planes.")
    now = active(runtime)
    assert "I prefer window seats." not in now
    belief = now["I always prefer window seats on planes."]
    assert belief.id == old.id  # the one belief, reinforced: its evidence holds both turns
    full = runtime.beliefs.get(T, U, belief.id)
    assert len(full.evidence) == 2 and full.confidence > old.confidence
    assert [h.statement for h in full.history] == [
        "I prefer window seats.",
        "I always prefer window seats on planes.",
    ]
    assert "reworded" in (full.evidence[-1].note or "")


def test_a_terser_restatement_keeps_the_fuller_wording(runtime):
    say(runtime, "I always prefer window seats on planes.")
    say(runtime, "I prefer window seats.")
    assert list(active(runtime)) == ["I always prefer window seats on planes."]


def test_a_discarding_verb_with_a_replacement_supersedes(runtime):
    seed(runtime, ["I collect stamps.", "I am allergic to peanuts."])
    say(runtime, "I'm a big fan of paper notebooks.")
    old = active(runtime)["I'm a big fan of paper notebooks."]
    say(runtime, "I dumped paper notebooks in favor of a note-taking app.")
    gone = runtime.beliefs.get(T, U, old.id)
    assert gone.status == "superseded"
    assert "note-taking app" in runtime.beliefs.get(T, U, gone.superseded_by).statement
    assert {"I collect stamps.", "I am allergic to peanuts."} <= set(active(runtime))


def test_a_change_cue_on_the_same_frame_with_a_new_value_supersedes(runtime):
    seed(runtime, ["I collect stamps.", "I enjoy long walks."])
    say(runtime, "My favourite board game is Catan.")
    say(runtime, "These days my favourite board game is Azul.")
    now = active(runtime)
    assert "My favourite board game is Catan." not in now
    assert any("Azul" in s for s in now)


def test_a_discarding_verb_never_reinforces_and_spares_an_aversion(runtime):
    say(runtime, "I avoid energy drinks.")
    say(runtime, "I love energy drinks.")  # contradicts: the aversion is revised
    say(runtime, "I'm done with energy drinks.")
    assert not [s for s in active(runtime) if "love energy drinks" in s]


def test_a_cessation_with_nothing_to_retract_is_stored_with_its_time(runtime):
    seed(runtime, ["I collect stamps.", "I enjoy long walks."])
    at = datetime(2026, 6, 1, tzinfo=UTC)
    say(runtime, "I gave up coffee three years ago.", at=at)
    now = active(runtime)
    assert {"I collect stamps.", "I enjoy long walks."} <= set(now)
    belief = now["I gave up coffee three years ago."]
    assert belief.valid_from is not None and belief.valid_from.year == 2023


def test_forgetting_something_never_said_stores_nothing(runtime):
    seed(runtime, ["I collect stamps."])
    say(runtime, "Forget what I said about my knee.")
    assert list(active(runtime)) == ["I collect stamps."]


@pytest.mark.parametrize(
    "turn", ["I can't stand spy thrillers anymore.", "I can't bear spy thrillers any longer."]
)
def test_an_aversion_that_began_ends_the_liking_not_a_neighbouring_dislike(runtime, turn):
    seed(runtime, ["I dislike films that are adaptations of books I've read."])
    say(runtime, "I love spy thrillers.")
    say(runtime, turn)
    now = active(runtime)
    assert "I love spy thrillers." not in now
    assert "I dislike films that are adaptations of books I've read." in now


def test_a_change_told_of_the_users_people_with_their_own_new_state_revises_it(runtime):
    seed(runtime, ["I love sailing.", "I read science fiction."])
    say(runtime, "I share a house with three roommates.")
    old = active(runtime)["I share a house with three roommates."]
    say(runtime, "My roommates moved out, so I live on my own now.")
    assert runtime.beliefs.get(T, U, old.id).status == "superseded"
    assert "I live on my own now." in active(runtime)
    assert {"I love sailing.", "I read science fiction."} <= set(active(runtime))


def test_a_clause_leaning_on_a_report_about_others_is_never_stored_alone(runtime):
    seed(runtime, ["I love sailing.", "I read science fiction."])
    say(runtime, "My colleagues switched to Kotlin, so that's what I write now.")
    assert not any(s.startswith("That") for s in active(runtime))
    assert set(active(runtime)) == {"I love sailing.", "I read science fiction."}


@pytest.mark.parametrize(
    ("first", "change", "new"),
    [
        # a possessive predicate marked as current names the user's new choice
        ("I edit my photos in Lightroom.", "Darktable is my photo editor now.", "Darktable"),
        (
            "I keep my recipes in a paper binder.",
            "Paprika is where all my recipes live now.",
            "Paprika",
        ),
        # a verb of becoming says the state is new
        (
            "I'm hooked on cycling races.",
            "Snooker has become my favourite sport to watch.",
            "Snooker",
        ),
    ],
)
def test_a_new_choice_named_as_the_subject_supersedes(runtime, first, change, new):
    say(runtime, first)
    say(runtime, change)
    now = active(runtime)
    assert first not in now
    assert any(new in statement for statement in now)


@pytest.mark.parametrize(
    ("first", "change"),
    [
        ("I take melatonin to sleep.", "I've come off the melatonin, I sleep fine without it."),
        (
            "I'm on the waiting list for an allotment.",
            "Please drop the allotment from your notes, we gave up on it.",
        ),
    ],
)
def test_coming_off_a_treatment_or_dropping_a_note_retracts(runtime, first, change):
    say(runtime, first)
    say(runtime, change)
    assert first not in active(runtime)


def test_a_lapsed_habit_ends_the_habit_it_names(runtime):
    seed(runtime, ["I love sailing.", "I read science fiction.", "I play squash every Tuesday."])
    say(runtime, "I haven't played squash since Easter.")
    assert "I play squash every Tuesday." not in active(runtime)
    assert {"I love sailing.", "I read science fiction."} <= set(active(runtime))


@pytest.mark.parametrize(
    ("held", "said"),
    [
        ("I don't drink alcohol.", "I haven't had a drink since 2019."),
        ("I quit smoking three years ago.", "I haven't had a cigarette in three years."),
    ],
)
def test_a_lapse_of_what_the_user_holds_off_ends_nothing(runtime, held, said):
    seed(runtime, ["I love sailing.", held])
    say(runtime, said)
    assert held in active(runtime)
