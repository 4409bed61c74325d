"""`selfmodel eval` end to end on a small file it writes: in-sample and leave-one-topic-out."""

import json

from proxy import evaluation, evaluation_loto

FOOD = [
    ("I am vegetarian and never eat meat.", "Where should I eat dinner in Rome tonight?"),
    ("I have a severe peanut allergy.", "Can you suggest street food to try in Bangkok?"),
    ("I avoid very spicy dishes.", "Which Indian restaurant dishes should I order?"),
    ("I only drink decaf coffee.", "Recommend a nice cafe for a morning meeting."),
    ("I love fresh seafood by the sea.", "What should I eat on a weekend trip to Lisbon?"),
    ("I prefer quiet restaurants to loud bars.", "Pick a place for a birthday dinner."),
]
PETS = [
    ("My dog is afraid of thunderstorms.", "How can I keep my pet calm this summer?"),
    ("I have a senior cat with kidney issues.", "What food should I buy for my cat?"),
    ("I adopt pets only from shelters.", "I want a new puppy, where should I look?"),
    ("My apartment forbids large dogs.", "Which dog breed suits me?"),
    ("I walk my dog before work every day.", "Plan a daily routine for my dog."),
    ("I am allergic to cat fur.", "Should I get a pet for my kids?"),
]


def _write(tmp_path):
    rows = [
        {"case_id": f"{topic}-{i}", "topic": topic, "gold_preference": pref, "query": query}
        for topic, cases in (("travel_restaurant", FOOD), ("pet_ownership", PETS))
        for i, (pref, query) in enumerate(cases)
    ]
    (tmp_path / evaluation.DATA_FILE).write_text("\n".join(json.dumps(r) for r in rows))


def test_eval_reports_leave_one_topic_out_beside_in_sample(tmp_path, monkeypatch):
    _write(tmp_path)
    monkeypatch.chdir(tmp_path)  # the embedded default config
    lines: list[str] = []
    summary = evaluation.run(str(tmp_path), None, lines.append, loto=True, beliefs=6)
    assert summary["cases"] == 12
    loto = summary["loto"]
    assert set(loto["topics"]) == {"travel_restaurant", "pet_ownership"}
    # The in-sample row of the LOTO report is the default rule's own figure.
    assert loto["in_sample"]["recall"] == summary["recall"]
    assert loto["in_sample"]["median_tokens"] == summary["median_tokens"]
    for row in loto["topics"].values():
        assert row["in_sample"]["cases"] == row["loto"]["cases"] == row["loto_table"]["cases"] == 6
        assert 0.0 <= row["loto"]["recall"] <= 1.0 and row["loto"]["median_tokens"] > 0
        assert row["weights"]["situation"] in evaluation_loto.SITUATION_GRID
        assert row["weights"]["cut_stds"] in evaluation_loto.CUT_GRID
        assert row["weights"]["cut_max"] in evaluation_loto.CUT_MAX_GRID
    assert loto["loto"]["cases"] == loto["loto_table"]["cases"] == 12
    text = "\n".join(lines)
    assert "leave-one-topic-out" in text and "travel_restaurant" in text


def test_eval_without_loto(tmp_path, monkeypatch):
    _write(tmp_path)
    monkeypatch.chdir(tmp_path)
    summary = evaluation.run(str(tmp_path), 4, lambda _: None, loto=False, beliefs=6)
    assert summary["cases"] == 4 and summary["loto"] is None
