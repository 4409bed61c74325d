import numpy as np

from memory.views import SITUATIONS, index_views, situation_texts


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def test_statement_alone_without_vectors() -> None:
    assert index_views("  I am   vegetarian. ", "preferences") == ["I am vegetarian."]


def test_statement_first_then_nearest_situations() -> None:
    rng = np.random.default_rng(1)
    smat = np.stack([_unit(rng.normal(size=8)) for _ in SITUATIONS]).astype(np.float32)
    # A statement vector equal to situation 4 must pick it first.
    views = index_views("I am allergic to nuts", "preferences",
                        statement_vector=smat[4], situation_matrix=smat, per_belief=2)
    assert views[0] == "I am allergic to nuts"
    assert views[1] == SITUATIONS[4]
    assert len(views) == 3 and len(set(views)) == 3


def test_situation_texts_is_the_list() -> None:
    assert situation_texts() == list(SITUATIONS)
    assert len(set(SITUATIONS)) == len(SITUATIONS)


def test_zero_situations_requested() -> None:
    smat = np.eye(len(SITUATIONS), dtype=np.float32)
    assert index_views("x", "c", statement_vector=smat[0], situation_matrix=smat,
                       per_belief=0) == ["x"]
