import numpy as np

from memory.index.views import SITUATIONS, index_views, situation_texts


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def test_statement_alone_without_vectors() -> None:
    assert index_views("  I am   vegetarian. ", "preferences") == ["I am vegetarian."]


def test_statement_first_then_nearest_situations() -> None:
    rng = np.random.default_rng(1)
    smat = np.stack([_unit(rng.normal(size=8)) for _ in SITUATIONS]).astype(np.float32)
    # A statement vector equal to situation 4 must pick it first.
    views = index_views(
        "I am allergic to nuts",
        "preferences",
        statement_vector=smat[4],
        situation_matrix=smat,
        per_belief=2,
        linked=False,
    )
    assert views[0] == "I am allergic to nuts"
    assert views[1] == SITUATIONS[4]
    assert len(views) == 3 and len(set(views)) == 3


def test_situation_texts_is_the_list() -> None:
    assert situation_texts() == list(SITUATIONS)
    assert len(set(SITUATIONS)) == len(SITUATIONS)


def test_zero_situations_requested() -> None:
    smat = np.eye(len(SITUATIONS), dtype=np.float32)
    assert index_views("x", "c", statement_vector=smat[0], situation_matrix=smat, per_belief=0) == [
        "x"
    ]


def test_cross_cutting_area_brings_the_areas_it_bears_on() -> None:
    from memory.index.views import BEARS_ON

    diet = SITUATIONS.index("diet, nutrition and allergies")
    smat = np.eye(len(SITUATIONS), dtype=np.float32)
    views = index_views(
        "I am allergic to peanuts",
        "preferences",
        statement_vector=smat[diet],
        situation_matrix=smat,
        per_belief=1,
    )
    assert views[1] == SITUATIONS[diet]
    assert set(BEARS_ON[SITUATIONS[diet]]) <= set(views[2:])
    assert len(views) == len(set(views))
    plain = index_views(
        "I am allergic to peanuts",
        "preferences",
        statement_vector=smat[diet],
        situation_matrix=smat,
        per_belief=1,
        linked=False,
    )
    assert plain == views[:2]


def test_bears_on_names_listed_situations() -> None:
    from memory.index.views import BEARS_ON

    for area, targets in BEARS_ON.items():
        assert area in SITUATIONS
        assert all(t in SITUATIONS and t != area for t in targets)


def test_every_tagged_entry_is_in_the_table() -> None:
    from memory.index.views import DERIVED_FROM

    assert set(DERIVED_FROM) <= set(SITUATIONS)
    assert all(topics for topics in DERIVED_FROM.values())


def test_table_without_a_topic_drops_its_entries_and_links() -> None:
    from memory.index.views import DEFAULT_TABLE, DERIVED_FROM

    topic = "travel_restaurant"
    dropped = {s for s, topics in DERIVED_FROM.items() if topic in topics}
    reduced = DEFAULT_TABLE.without(topic)
    assert dropped and not dropped & set(reduced.situations)
    assert len(reduced.situations) == len(SITUATIONS) - len(dropped)
    for area, targets in reduced.bears_on.items():
        assert area in reduced.situations and targets
        assert set(targets) <= set(reduced.situations)
    # Views are chosen from the reduced table only.
    smat = np.eye(len(reduced.situations), dtype=np.float32)
    diet = reduced.situations.index("diet, nutrition and allergies")
    views = index_views(
        "I am allergic to peanuts",
        "preferences",
        statement_vector=smat[diet],
        situation_matrix=smat,
        per_belief=1,
        table=reduced,
    )
    assert views[1] == "diet, nutrition and allergies"
    assert not dropped & set(views)
    assert situation_texts(reduced) == list(reduced.situations)
    # A topic the table was not written from leaves it whole.
    assert DEFAULT_TABLE.without("no_such_topic").situations == SITUATIONS
