import numpy as np

from memory.inject.ranking import Features, rank

FRESH = Features(confidence=1.0, age_days=0.0, context="preferences")


def _e(i: int, dim: int = 6) -> np.ndarray:
    v = np.zeros(dim, dtype=np.float32)
    v[i] = 1.0
    return v


def _index(beliefs: list[list[np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    rows = [v for views in beliefs for v in views]
    owner = [b for b, views in enumerate(beliefs) for _ in views]
    return np.stack(rows), np.array(owner)


def test_statement_similarity_orders_beliefs() -> None:
    vm, vo = _index([[_e(0)], [_e(1)], [_unit(_e(0) + _e(1))]])
    out = rank(_e(0)[None], vm, vo, [FRESH] * 3, top_k=3, min_confidence=0.0)
    assert [b for b, _ in out][:2] == [0, 2]
    assert all(a[1] >= b[1] for a, b in zip(out, out[1:], strict=False))


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def test_situation_view_routes_an_unrelated_statement() -> None:
    # Belief 0's text is far from the query but it is attached to the query's situation; it
    # beats a belief whose own text is only weakly related (cosine 0.2) to the query.
    vm, vo = _index([[_e(2), _e(0)], [_unit(_e(0) * 0.2 + _e(3))], [_e(4)]])
    out = rank(_e(0)[None], vm, vo, [FRESH] * 3, top_k=1, min_confidence=0.0)
    assert out[0][0] == 0


def test_confidence_and_recency_break_ties_and_filter() -> None:
    vm, vo = _index([[_e(0)], [_e(0)], [_e(0)]])
    feats = [
        Features(0.6, 0.0, "preferences"),
        Features(1.0, 0.0, "preferences"),
        Features(1.0, 400.0, "preferences"),
    ]
    out = rank(_e(0)[None], vm, vo, feats, top_k=3, min_confidence=0.0)
    assert [b for b, _ in out] == [1, 2, 0]
    out = rank(_e(0)[None], vm, vo, feats, top_k=3, min_confidence=0.7)
    assert 0 not in [b for b, _ in out]


def test_top_k_and_empty_inputs() -> None:
    vm, vo = _index([[_e(i % 6)] for i in range(10)])
    assert len(rank(_e(0)[None], vm, vo, [FRESH] * 10, top_k=2, min_confidence=0.0)) <= 2
    assert rank(_e(0)[None], vm, vo, [FRESH] * 10, top_k=0, min_confidence=0.0) == []
    empty = np.empty((0, 6), dtype=np.float32)
    assert rank(_e(0)[None], empty, np.empty(0, dtype=int), [], top_k=5, min_confidence=0.0) == []


def test_adaptive_cut_drops_far_beliefs() -> None:
    # One clear match among many unrelated beliefs: the unrelated tail is cut.
    beliefs = [[_e(0)]] + [[_e(1 + i % 5)] for i in range(30)]
    vm, vo = _index(beliefs)
    out = rank(_e(0)[None], vm, vo, [FRESH] * 31, top_k=20, min_confidence=0.0)
    assert out[0][0] == 0 and len(out) < 20


def test_vague_query_keeps_its_whole_area() -> None:
    # Six beliefs equally close to the query (one area) and many far ones: the cut keeps the
    # area, not just a fixed few, and drops the far ones. (An area is told from the rest when
    # it stands more than CUT_STDS spreads above it: at 3.0, an area of up to ~12% of the
    # user's beliefs; a larger one is capped by CUT_MAX, below.)
    near = _unit(_e(0) + 0.2 * _e(1))
    beliefs = [[near] for _ in range(6)] + [[_e(2 + i % 4)] for i in range(44)]
    vm, vo = _index(beliefs)
    out = rank(_e(0)[None], vm, vo, [FRESH] * 50, top_k=40, min_confidence=0.0)
    assert {b for b, _ in out} == set(range(6))


def test_score_beliefs_marks_ineligible() -> None:
    from memory.inject.ranking import cut, score_beliefs

    vm, vo = _index([[_e(0)], [_e(1)]])
    feats = [Features(0.2, 0.0, "preferences"), FRESH]
    score = score_beliefs(_e(0)[None], vm, vo, feats, min_confidence=0.3)
    assert not np.isfinite(score[0]) and np.isfinite(score[1])
    assert cut(score, 5) == [1]


def test_indexed_layout_scores_like_the_view_matrix():
    from memory.inject.ranking import Features, score_beliefs, score_indexed

    rng = np.random.default_rng(3)

    def unit(rows: int) -> np.ndarray:
        m = rng.standard_normal((rows, 16)).astype(np.float32)
        return m / np.linalg.norm(m, axis=1, keepdims=True)

    table, statements, queries = unit(10), unit(6), unit(2)
    index = np.array([[0, 3, -1], [2, -1, -1], [-1, -1, -1], [1, 4, 9], [5, 5, 6], [7, -1, -1]])
    rows, owner = [], []
    for belief, slots in enumerate(index):
        rows.append(statements[belief])
        owner.append(belief)
        for slot in slots[slots >= 0]:
            rows.append(table[slot])
            owner.append(belief)
    features = [
        Features(confidence=0.5 + 0.08 * i, age_days=10.0 * i, context="preferences")
        for i in range(6)
    ]
    expected = score_beliefs(
        queries, np.stack(rows), np.array(owner), features, min_confidence=0.55
    )
    got = score_indexed(queries, statements, table, index, features, min_confidence=0.55)
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_score_parts_add_up_and_name_the_situation() -> None:
    from memory.inject.ranking import DEFAULT_WEIGHTS, FeatureArrays, Weights, score_parts

    statements = np.stack([_e(i, 9) for i in range(6)]).astype(np.float32)
    table = np.stack([_e(i, 9) for i in range(6, 9)]).astype(np.float32)
    index = np.array([[0, -1], [1, 2], [-1, -1], [2, -1], [0, 1], [-1, -1]], dtype=np.int32)
    features = FeatureArrays(np.full(6, 0.9), np.full(6, 30.0))
    query = (_e(0, 9) + _e(7, 9)) / np.linalg.norm(_e(0, 9) + _e(7, 9))
    scored = score_parts(
        query[None].astype(np.float32), statements, table, index, features, min_confidence=0.0
    )
    w = DEFAULT_WEIGHTS.situation
    total = (
        scored.statement
        + w * scored.situation
        + scored.neighbourhood
        + scored.shape
        + scored.concavity
        + scored.prior
    )
    assert np.allclose(scored.total, total, atol=1e-5)
    assert np.allclose(scored.concavity, DEFAULT_WEIGHTS.concavity * scored.statement**2)
    names = ["a", "b", "c"]
    assert scored.parts(1, names)["situation_text"] == "b"  # row 1 is _e(7)
    assert scored.parts(2, names)["situation_text"] is None  # no situations: its statement
    assert scored.parts(0, names)["turn"] == 0
    # Weights are a value: no situation weight, no situation part in the total.
    plain = score_parts(
        query[None].astype(np.float32),
        statements,
        table,
        index,
        features,
        min_confidence=0.0,
        weights=Weights(situation=0.0, breadth=0.0, crowding=0.0, concavity=0.0),
    )
    assert np.allclose(plain.total, plain.statement + plain.neighbourhood + plain.prior, atol=1e-5)
    assert not plain.shape.any() and not plain.concavity.any()


def test_cut_explained_says_why_it_stopped() -> None:
    from memory.inject.ranking import cut_explained

    clear = np.array([0.9] + [0.1] * 30, dtype=np.float32)
    kept, info = cut_explained(clear, 20)
    assert info.stopped_by == "score" and info.kept == len(kept) == info.passed
    assert info.eligible == 31 and info.threshold < info.best
    flat = np.linspace(0.5, 0.49, 30).astype(np.float32)
    kept, info = cut_explained(flat, 5)
    assert info.stopped_by == "top_k" and len(kept) == 5 and info.passed > 5
    few = np.array([0.5, 0.4, -np.inf], dtype=np.float32)
    kept, info = cut_explained(few, 5)
    assert info.stopped_by == "all" and kept == [0, 1] and info.eligible == 2
    assert cut_explained(np.full(3, -np.inf, dtype=np.float32), 5)[1].eligible == 0


def test_a_crowded_area_is_capped_by_cut_max() -> None:
    from memory.inject.ranking import CUT_MAX, MIN_KEEP, cut_explained

    # Thirty beliefs on the query's topic, seventy far away: a score cut 2.25 spreads wide
    # alone keeps all thirty uncapped; the defaults keep the best CUT_MAX; capped at 16 the
    # best 16.
    crowded = np.concatenate([np.linspace(0.9, 0.8, 30), np.full(70, 0.1)]).astype(np.float32)
    kept, info = cut_explained(crowded, 40, cut_stds=2.25, cut_max=None)
    assert kept == list(range(30)) and info.stopped_by == "score"
    assert CUT_MAX is not None and CUT_MAX < 30
    kept, info = cut_explained(crowded, 40)
    assert kept == list(range(CUT_MAX)) and info.stopped_by == "cut_max"
    kept, info = cut_explained(crowded, 40, cut_stds=2.25, cut_max=16)
    assert info.passed == 30 and info.stopped_by == "cut_max"
    assert kept == list(range(16)) and info.kept == 16
    # The rule's top_k still caps below it, and is then what stopped the cut.
    kept, info = cut_explained(crowded, 5, cut_max=16)
    assert len(kept) == 5 and info.stopped_by == "top_k"
    # A cap at or above the area keeps it whole; a cap below MIN_KEEP still keeps MIN_KEEP.
    assert len(cut_explained(crowded, 40, cut_stds=2.25, cut_max=40)[0]) == 30
    assert len(cut_explained(crowded, 40, cut_max=1)[0]) == MIN_KEEP


def test_crowding_is_the_mean_cosine_with_the_nearest_other_beliefs() -> None:
    from memory.inject.ranking import crowding

    near = np.stack([_unit(_e(0, 9) + 0.1 * _e(i, 9)) for i in range(1, 4)] + [_e(8, 9)])
    crowd = crowding(near.astype(np.float32), neighbours=2)
    assert crowd[3] == 0.0  # orthogonal to every other belief
    assert np.allclose(crowd[:3], float(near[0] @ near[1]), atol=1e-6)
    assert crowding(near[:1].astype(np.float32)).tolist() == [0.0]  # alone: no neighbours


def test_crowding_lowers_one_of_many_alike_against_a_lone_belief() -> None:
    # Belief 0 is one of six near-identical preferences, belief 6 a lone one; both match the
    # query equally. The crowding term moves the lone one up against the alike one by its
    # weight times the difference in crowding (the neighbourhood pull still favours the area).
    from dataclasses import replace

    from memory.inject.ranking import DEFAULT_WEIGHTS, crowding, score_indexed

    dim = 12
    alike = [_unit(_e(0, dim) + _e(1, dim) + 0.05 * _e(2 + i, dim)) for i in range(6)]
    statements = np.stack([*alike, _unit(_e(0, dim) + _e(9, dim))]).astype(np.float32)
    index = np.full((7, 1), -1, dtype=np.int32)
    table = np.zeros((1, dim), dtype=np.float32)

    def margin(weights: object) -> float:
        score = score_indexed(
            _e(0, dim)[None],
            statements,
            table,
            index,
            [FRESH] * 7,
            min_confidence=0.0,
            weights=weights,  # type: ignore[arg-type]
        )
        return float(score[6] - score[0])

    crowd = crowding(statements)
    assert crowd[0] > 0.9 > 0.6 > crowd[6]
    gained = margin(DEFAULT_WEIGHTS) - margin(replace(DEFAULT_WEIGHTS, crowding=0.0))
    assert DEFAULT_WEIGHTS.crowding < 0
    assert np.isclose(gained, -DEFAULT_WEIGHTS.crowding * float(crowd[0] - crowd[6]), atol=1e-5)


def test_breadth_breaks_a_tie_for_the_belief_indexed_under_more_situations() -> None:
    from memory.inject.ranking import score_indexed

    query = _e(0, 8)
    statements = np.stack([_unit(_e(0, 8) + _e(1, 8)), _unit(_e(0, 8) + _e(2, 8))])
    table = np.stack([_e(3, 8), _e(4, 8), _e(5, 8)]).astype(np.float32)
    index = np.array([[0, -1, -1], [0, 1, 2]], dtype=np.int32)
    score = score_indexed(
        query[None], statements.astype(np.float32), table, index, [FRESH] * 2, min_confidence=0.0
    )
    assert score[1] > score[0]
