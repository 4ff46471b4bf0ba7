"""Property-based tests (hypothesis) for the plan invariants of
matching/formation.py, on random score matrices with forbidden pairs, wishes,
declared disciplines and locks:

- breakout groups: one company per group, at most `group_size` creatives, each
  creative in at most `max_groups_per_creative` groups, never a forbidden pair,
  every lock kept, everyone placed or told why not, and no place left that
  could still be filled (the solver's first priority);
- speed rounds: nobody twice in a round, no pair twice, never a forbidden pair,
  locks in their round, a company keeps its table, the breaks are exactly the
  people without a meeting, everyone placed or told, no round leaves two people
  on a break who could still have met, and without forbidden pairs the breaks
  are fair (on each side they differ by at most one).

The brute-force tests in test_formation.py check optimality on small cases;
these check the rules on many shapes.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from matching.formation import ScoreMatrix, UnplacedReason, form_groups, form_rounds

CODES = ("ux", "photo_film", "text", "marketing")
SETTINGS = settings(max_examples=int(__import__("os").environ.get("PLAN_EXAMPLES", "120")), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def matrices(draw, max_companies: int = 6, max_creatives: int = 8, min_side: int = 0) -> ScoreMatrix:
    m = draw(st.integers(min_side, max_companies))
    n = draw(st.integers(min_side, max_creatives))
    cells = draw(st.lists(st.one_of(st.floats(0.0, 1.0, allow_nan=False), st.just(float("-inf"))),
                          min_size=m * n, max_size=m * n)) if m * n else []
    values = np.array(cells, dtype=np.float64).reshape(m, n) if m * n else np.zeros((m, n))
    disciplines = {f"k{j}": tuple(sorted(draw(st.sets(st.sampled_from(CODES), min_size=1, max_size=2))))
                   for j in range(n) if draw(st.booleans())}
    wishes = []
    if m and n:
        wishes = draw(st.lists(st.tuples(st.integers(0, m - 1), st.integers(0, n - 1)), max_size=3))
    return ScoreMatrix.from_array(values, disciplines=disciplines,
                                  wishes=[(f"c{i}", f"k{j}") for i, j in wishes])


def _pairs(draw, matrix: ScoreMatrix, max_size: int) -> list[tuple[str, str]]:
    m, n = matrix.shape
    if not (m and n):
        return []
    picked = draw(st.lists(st.tuples(st.integers(0, m - 1), st.integers(0, n - 1)), max_size=max_size, unique=True))
    return [(matrix.companies[i], matrix.creatives[j]) for i, j in picked]


# ---------------------------------------------------------------------------
# breakout groups
# ---------------------------------------------------------------------------

@SETTINGS
@given(data=st.data())
def test_breakout_groups_keep_every_rule(data) -> None:
    matrix = data.draw(matrices())
    K = data.draw(st.integers(1, 3), label="group_size")
    M = data.draw(st.integers(1, 2), label="max_groups_per_creative")
    forbidden = _pairs(data.draw, matrix, 4)
    locks = _pairs(data.draw, matrix, 3)
    try:
        plan = form_groups(matrix, K, M, locked=locks, forbidden=forbidden, time_limit=30)
    except ValueError:
        # a lock that is forbidden, unknown or over a capacity is refused, as documented
        assume(False)
    allowed = matrix.forbid(forbidden).allowed
    ci, kj = matrix.company_index(), matrix.creative_index()
    companies = [g.company for g in plan.groups]
    assert len(companies) == len(set(companies)), "a company in two groups"
    for g in plan.groups:
        assert 1 <= len(g.creatives) <= K
        assert len(set(g.creatives)) == len(g.creatives)
        for k, score in zip(g.creatives, g.scores):
            assert allowed[ci[g.company], kj[k]], f"forbidden pair {g.company} – {k} in a group"
            assert score == pytest.approx(matrix.relevance[ci[g.company], kj[k]])
    seats = {k: len(plan.groups_of(k)) for k in matrix.creatives}
    assert max(seats.values(), default=0) <= M
    for c, k in locks:
        assert plan.group_of(c) is not None and k in plan.group_of(c).creatives, f"lock {c} – {k} lost"
    # everyone placed or told, never both
    told = {u.id: u for u in plan.unplaced}
    assert len(told) == len(plan.unplaced)
    for c in matrix.companies:
        assert (plan.group_of(c) is None) == (c in told)
    for k in matrix.creatives:
        assert (seats[k] == 0) == (k in told)
    for u in plan.unplaced:
        row = allowed[ci[u.id]] if u.side == "production" else allowed[:, kj[u.id]]
        assert (u.reason == UnplacedReason.ALL_PAIRS_FORBIDDEN) == (not row.any())
    # no place left that could still be filled: more places is the first priority
    if plan.optimal:
        for k in matrix.creatives:
            if seats[k] >= M:
                continue
            for c in matrix.companies:
                g = plan.group_of(c)
                if allowed[ci[c], kj[k]] and (g is None or (len(g.creatives) < K and k not in g.creatives)):
                    raise AssertionError(f"{k} could still join {c}'s group")


# ---------------------------------------------------------------------------
# speed rounds
# ---------------------------------------------------------------------------

@SETTINGS
@given(data=st.data())
def test_speed_rounds_keep_every_rule(data) -> None:
    matrix = data.draw(matrices(max_companies=7, max_creatives=7, min_side=1))
    m, n = matrix.shape
    N = data.draw(st.integers(1, max(m, n)), label="rounds")
    forbidden = _pairs(data.draw, matrix, 4)
    locks = [(c, k, data.draw(st.integers(1, N))) for c, k in _pairs(data.draw, matrix, 2)]
    try:
        plan = form_rounds(matrix, N, locked=locks, forbidden=forbidden)
    except ValueError:
        # refused as documented: a bad lock, or a round where every open pair has met or is forbidden
        assume(False)
    allowed = matrix.forbid(forbidden).allowed
    ci, kj = matrix.company_index(), matrix.creative_index()
    assert len(plan.rounds) == len(plan.breaks) == N
    everyone = set(matrix.companies) | set(matrix.creatives)
    assert sorted(plan.tables.values()) == list(range(1, m + 1))
    met: dict[tuple[str, str], int] = {}
    for r, (meetings, breaks) in enumerate(zip(plan.rounds, plan.breaks), start=1):
        in_round = [mt.company for mt in meetings] + [mt.creative for mt in meetings]
        assert len(in_round) == len(set(in_round)), f"somebody in two meetings in round {r}"
        assert set(breaks) == everyone - set(in_round) and len(breaks) == len(set(breaks))
        for mt in meetings:
            pair = (mt.company, mt.creative)
            assert pair not in met, f"{pair} meets twice"
            met[pair] = r
            assert allowed[ci[mt.company], kj[mt.creative]], f"forbidden pair {pair} meets"
            assert mt.table == plan.tables[mt.company]
    for c, k, r in locks:
        assert met.get((c, k)) == r, f"lock {c} – {k} not in round {r}"
    # everyone placed or told
    told = {u.id for u in plan.unplaced}
    for person in everyone:
        assert any(person in pair for pair in met) != (person in told)
    # no round leaves two people on a break who could still have met then
    locked_pairs = {(c, k) for c, k, _ in locks}
    for r, breaks in enumerate(plan.breaks, start=1):
        idle = set(breaks)
        for c in matrix.companies:
            for k in matrix.creatives:
                if c in idle and k in idle and allowed[ci[c], kj[k]] and (c, k) not in locked_pairs \
                        and met.get((c, k), N + 1) > r:
                    raise AssertionError(f"{c} and {k} both sit out round {r} but could have met")
    # without forbidden pairs or locks the breaks rotate fairly on each side
    if allowed.all() and not locks:
        for side in (matrix.companies, matrix.creatives):
            counts = [sum(person in b for b in plan.breaks) for person in side]
            assert max(counts) - min(counts) <= 1, f"unfair breaks {counts}"
