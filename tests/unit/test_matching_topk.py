"""The fast scoring path (issue 11: 10k × 10k top-5 within 3 s) returns exactly
what the straightforward one does: full score matrices sorted completely.

The fast path scores chunks of rows on worker threads, finds each row's top-k
among the best column groups (`top_k_matrix`), keeps a running per-column
top-k from candidates above a lower bound (`column_candidates`, `ColumnTopK`)
and folds the quantum into the fusion weights.  Group sizes are made small
here so that small cohorts go through every branch."""
from __future__ import annotations

import numpy as np
import pytest

from matching import FeedbackModel, FeedbackObservation, Matcher
from matching import scoring
from matching.fusion import QUANTUM, QUANTUM_INV, FusedScorer
from matching.scoring import ColumnTopK, column_candidates, top_k_matrix
from matching.testing import FakeEncoder
from tests.unit.test_matching_scoring import random_cohort


@pytest.fixture(params=["default groups", "small groups"])
def groups(request, monkeypatch):
    if request.param == "small groups":
        monkeypatch.setattr(scoring, "GROUP", 3)
        monkeypatch.setattr(scoring, "ROW_GROUP", 2)
    return request.param


def full_sort(scores: np.ndarray, k: int, rank: np.ndarray) -> list[list[tuple[int, float]]]:
    """Per row: the k best (column, value), by value then rank; no −inf."""
    out = []
    for row in scores:
        order = sorted(range(len(row)), key=lambda j: (-row[j], rank[j]))
        out.append([(j, float(row[j])) for j in order[:k] if row[j] > -1e3])
    return out


def tied_scores(rng: np.random.Generator, r: int, n: int, levels: int = 13) -> np.ndarray:
    """`levels` distinct values (ties), some forbidden pairs, one row all forbidden."""
    scores = (rng.integers(0, levels, size=(r, n)) / 4).astype(np.float32)
    scores[rng.random((r, n)) < 0.1] = -np.inf
    scores[0] = -np.inf
    return scores


@pytest.mark.parametrize("levels", [13, 300])  # many ties; ties only here and there
@pytest.mark.parametrize("n", [1, 4, 37, 700])
@pytest.mark.parametrize("k", [1, 5, 12])
def test_row_top_k_equals_a_full_sort(groups, n, k, levels):
    rng = np.random.default_rng(n * 100 + k)
    scores = tied_scores(rng, 40, n, levels)
    rank = rng.permutation(n)
    index, values = top_k_matrix(scores, k, rank)
    got = [[(int(j), float(v)) for j, v in zip(i, vs) if v > -1e3] for i, vs in zip(index, values)]
    assert got == full_sort(scores, k, rank)


@pytest.mark.parametrize("levels", [13, 300])
@pytest.mark.parametrize("chunk", [1, 3, 16, 64])
@pytest.mark.parametrize("k", [1, 5])
def test_column_top_k_from_chunks_equals_a_full_sort(groups, chunk, k, levels):
    rng = np.random.default_rng(chunk * 10 + k)
    r, n = 64, 45
    scores = tied_scores(rng, r, n, levels)
    scores[:, 3] = -np.inf  # a column nobody may be matched with
    rank = rng.permutation(r)
    merged = ColumnTopK(n, k, rank)
    for start in range(0, r, chunk):
        rows = np.arange(start, min(start + chunk, r))
        local = ColumnTopK(n, k, rank)
        local.merge(*column_candidates(scores[rows], k, rows, merged.bound))
        merged.merge_top(local)
    got = [[(int(i), float(v)) for i, v in zip(index, values)] for index, values in merged.result()]
    assert got == full_sort(np.ascontiguousarray(scores.T), k, rank)


def old_fused_block(scorer: FusedScorer, extra=None) -> np.ndarray:
    """The fused score matrix computed the straightforward way: each signal's
    clipped z-scores weighted and summed, then quantised to 1/4096."""
    total = np.zeros((len(scorer.group_c), len(scorer.group_k)), np.float32)
    for name, w, _, _ in scorer.parts:
        z = scorer.z_block(name, slice(None), slice(None))
        if w != 1:
            z *= w
        total += z
    if extra is not None:
        total += np.float32(scorer.feedback_scale) * (extra[0] @ extra[1].T)
    total *= QUANTUM_INV
    np.rint(total, out=total)
    total *= QUANTUM
    if scorer.forbidden.any():
        total[scorer.forbidden[scorer.group_c][:, scorer.group_k]] = -np.inf
    return total


def feedback_for(people) -> FeedbackModel:
    companies = [p for p in people if p.side == "production" and p.seeks]
    creatives = [p for p in people if p.side == "creative" and p.offers]
    rng = np.random.default_rng(3)
    return FeedbackModel.fit([
        FeedbackObservation(companies[int(rng.integers(len(companies)))], creatives[int(rng.integers(len(creatives)))],
                            int(rng.integers(1, 6)), str(rng.choice(["yes", "maybe", "no"])))
        for _ in range(60)])


@pytest.mark.parametrize("chunk_size", [5, None])
@pytest.mark.parametrize("with_feedback", [False, True])
def test_fast_rank_equals_the_straightforward_path(groups, chunk_size, with_feedback):
    """The fused ranking (quantised scores): the same people, order and
    scores, bit for bit, for everyone and for a few asked for."""
    people = random_cohort(7, 60, 80)
    exclude = frozenset({("c001", "k002"), ("k010", "c020"), ("c003", "k004")})
    m = Matcher(encoder=FakeEncoder(), chunk_size=chunk_size, ranking="fused")
    prepared = m.prepare(people)
    feedback = feedback_for(people) if with_feedback else None
    result = m.rank(prepared, top=5, exclude_pairs=exclude, feedback=feedback)

    scorer, f = prepared.scorer, prepared.features
    extra = None
    if feedback is not None:
        assert not feedback.is_empty()
        bound = feedback.bind(f)
        extra = (bound.left, bound.right)
    full = old_fused_block(scorer, extra)
    assert np.array_equal(full, scorer.block(slice(None), slice(None), extra=extra))
    for i, c in enumerate(f.companies):
        for j, k in enumerate(f.creatives):
            if (c.id, k.id) in exclude or (k.id, c.id) in exclude:
                full[i, j] = -np.inf
    expected = {}
    for c, row in zip(f.companies, full_sort(full, 5, prepared.creative_rank)):
        expected[c.id] = [(f.creatives[j].id, round(v, 6)) for j, v in row]
    for k, col in zip(f.creatives, full_sort(np.ascontiguousarray(full.T), 5, prepared.company_rank)):
        expected[k.id] = [(f.companies[i].id, round(v, 6)) for i, v in col]
    assert as_lists(result) == expected
    # a few asked for: the same lists (the wanted creatives scored on their own)
    wanted = [f.creatives[3].id, f.creatives[8].id, f.companies[2].id]
    part = m.rank(prepared, top=5, exclude_pairs=exclude, feedback=feedback, for_ids=wanted)
    assert as_lists(part) == {pid: expected[pid] for pid in wanted}


def as_lists(result) -> dict[str, list[tuple[str, float]]]:
    return {pid: [(s.counterpart_id, s.score) for s in items] for pid, items in result.items()}


@pytest.mark.parametrize("chunk_size", [5, None])
def test_classic_rank_matches_the_full_matrix(groups, chunk_size):
    """The classic scorer is not quantised: the same best scores as the full
    matrix up to float rounding, equal ones in id order."""
    from tests.unit.test_matching_scoring import assert_matches_reference, reference_scores

    people = random_cohort(8, 60, 80)
    exclude = frozenset({("c001", "k002"), ("k010", "c020")})
    m = Matcher(encoder=FakeEncoder(), chunk_size=chunk_size, ranking="classic")
    result = m.suggest(people, top=5, exclude_pairs=exclude)
    assert_matches_reference(result, people, reference_scores(m, people, exclude), 5)
