"""A change told by what happened around the user: someone else's act and its consequence, a
reason that names the old thing (memory/learn/extractors.py, cues.py, apply.py), on a real
store."""

import pytest

from memory.learn.cues import parse_change
from tests.memory.learn.talk import T, U, active, say, seed

BACKGROUND = [
    "I love sailing.",
    "I read science fiction.",
    "I play chess on Sundays.",
    "I avoid spicy food.",
    "I prefer short answers.",
]


def test_someone_elses_act_with_its_consequence_replaces_the_old_state(runtime):
    seed(runtime, BACKGROUND)
    say(runtime, "I swim at the leisure centre pool before work.")
    old = active(runtime)["I swim at the leisure centre pool before work."]
    say(runtime, "The council closed the leisure centre pool, so I swim in the lake now.")
    assert runtime.beliefs.get(T, U, old.id).status == "superseded"
    assert any("lake" in s for s in active(runtime))


def test_the_consequence_is_kept_when_it_changed_nothing_held(runtime):
    seed(runtime, BACKGROUND)
    say(runtime, "They opened a climbing wall near my office, so I'm bouldering twice a week.")
    assert any("bouldering" in s for s in active(runtime))
    assert len(active(runtime)) == len(BACKGROUND) + 1


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("I've switched to Kobo now, the Kindle screen kept freezing.", "Kindle"),
        ("I drink oat milk these days, the dairy was upsetting my stomach.", "dairy"),
    ],
)
def test_a_reason_names_the_old_thing_by_its_subject(text, target):
    change = parse_change(text)
    assert change is not None and change.target == target


def test_a_new_tool_with_the_old_one_only_in_the_reason_supersedes_it(runtime):
    seed(runtime, BACKGROUND)
    say(runtime, "I track my runs with Strava.")
    old = active(runtime)["I track my runs with Strava."]
    say(runtime, "I've moved over to Garmin Connect, the Strava subscription got too pricey.")
    assert runtime.beliefs.get(T, U, old.id).status == "superseded"
