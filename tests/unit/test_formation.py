"""Breakout groups and speed-meetup rounds (matching/formation.py), and
`crosslab plan`.  The solver tests run on synthetic score matrices; the
cohort and command-line tests use the fake encoder (no model)."""
from __future__ import annotations

import io
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

import matching.cli as cli
from matching import Matcher
from matching.cohort import load_cohort
from matching.formation import (
    DIVERSITY_WEIGHT,
    GroupPlan,
    ScoreMatrix,
    UnplacedReason,
    form_groups,
    form_rounds,
    pair_reasons,
    score_matrix,
)
from matching.testing import FakeEncoder

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HOLDOUT = FIXTURES / "cohort_holdout.json"
CODES = ["ux", "photo_film", "text", "marketing"]


def random_matrix(rng, m, n, *, forbid=0.0, codes=CODES, declared=0.8, wishes=0) -> ScoreMatrix:
    values = rng.random((m, n)).round(3)
    values[rng.random((m, n)) < forbid] = -np.inf
    disciplines = {}
    for j in range(n):
        if rng.random() < declared:
            disciplines[f"k{j}"] = tuple(sorted(set(rng.choice(codes, size=rng.integers(1, 3)).tolist())))
    wished = [(f"c{rng.integers(m)}", f"k{rng.integers(n)}") for _ in range(wishes)]
    return ScoreMatrix.from_array(values, disciplines=disciplines, wishes=wished)


# ---------------------------------------------------------------------------
# brute force references
# ---------------------------------------------------------------------------

def alike(matrix: ScoreMatrix, creatives) -> bool:
    sets = [frozenset(matrix.disciplines.get(k, ())) for k in creatives]
    return len(sets) >= 2 and bool(sets[0]) and all(s == sets[0] for s in sets)


def group_key(matrix: ScoreMatrix, members: dict[str, list[str]], K: int, weight: float):
    """(places, full groups, utility − weight · all-alike groups) of a plan."""
    utility = matrix.utility()
    ci, kj = matrix.company_index(), matrix.creative_index()
    places = sum(len(v) for v in members.values())
    full = sum(1 for v in members.values() if len(v) == K)
    value = sum(utility[ci[c], kj[k]] for c, v in members.items() for k in v)
    value -= weight * sum(1 for v in members.values() if alike(matrix, v))
    return places, full, value


def brute_force_groups(matrix: ScoreMatrix, K: int, M: int, weight: float, locked=()):
    m, n = matrix.shape
    allowed = matrix.allowed
    options = []
    for j in range(n):  # each creative: a set of ≤ M allowed companies
        ok = [i for i in range(m) if allowed[i, j]]
        options.append([s for r in range(M + 1) for s in itertools.combinations(ok, r)])
    best = None
    for choice in itertools.product(*options):
        members: dict[str, list[str]] = {c: [] for c in matrix.companies}
        for j, companies in enumerate(choice):
            for i in companies:
                members[matrix.companies[i]].append(matrix.creatives[j])
        if any(len(v) > K for v in members.values()):
            continue
        if any(k not in members[c] for c, k in locked):
            continue
        key = group_key(matrix, {c: v for c, v in members.items() if v}, K, weight)
        if best is None or key[:2] > best[:2] or (key[:2] == best[:2] and key[2] > best[2] + 1e-9):
            best = key
    return best


def plan_members(plan: GroupPlan) -> dict[str, list[str]]:
    return {g.company: list(g.creatives) for g in plan.groups}


def round_key(w: np.ndarray, pairs, breaks_c, breaks_k):
    m, n = w.shape
    met_c = {i for i, _ in pairs}
    met_k = {j for _, j in pairs}
    fairness = sum(breaks_c[i] for i in range(m) if i not in met_c) + sum(breaks_k[j] for j in range(n) if j not in met_k)
    return len(pairs), -fairness, sum(w[i, j] for i, j in pairs)


def brute_force_round(w: np.ndarray, candidate: np.ndarray, breaks_c, breaks_k):
    m, n = w.shape
    best = None
    for choice in itertools.product(*[[None] + [j for j in range(n) if candidate[i, j]] for i in range(m)]):
        taken = [j for j in choice if j is not None]
        if len(taken) != len(set(taken)):
            continue
        pairs = [(i, j) for i, j in enumerate(choice) if j is not None]
        key = round_key(w, pairs, breaks_c, breaks_k)
        if best is None or key[:2] > best[:2] or (key[:2] == best[:2] and key[2] > best[2] + 1e-9):
            best = key
    return best


# ---------------------------------------------------------------------------
# breakout groups
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(24))
def test_groups_are_optimal_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(2, 4)), int(rng.integers(3, 6))
    K, M = int(rng.integers(1, 4)), int(rng.integers(1, 3))
    matrix = random_matrix(rng, m, n, forbid=0.2, wishes=2)
    plan = form_groups(matrix, group_size=K, max_groups_per_creative=M)
    assert plan.optimal
    got = group_key(matrix, plan_members(plan), K, DIVERSITY_WEIGHT)
    want = brute_force_groups(matrix, K, M, DIVERSITY_WEIGHT)
    assert got[:2] == want[:2] and got[2] == pytest.approx(want[2], abs=1e-9)


@pytest.mark.parametrize("seed", range(8))
def test_groups_with_locks_are_optimal_against_brute_force(seed):
    rng = np.random.default_rng(100 + seed)
    matrix = random_matrix(rng, 3, 5, codes=["ux", "text"], declared=1.0)
    allowed = list(zip(*np.nonzero(matrix.allowed)))
    i, j = allowed[int(rng.integers(len(allowed)))]
    locked = [(matrix.companies[i], matrix.creatives[j])]
    plan = form_groups(matrix, group_size=2, locked=locked)
    assert matrix.creatives[j] in plan.group_of(matrix.companies[i]).creatives
    assert plan.group_of(matrix.companies[i]).locked == (matrix.creatives[j],)
    got = group_key(matrix, plan_members(plan), 2, DIVERSITY_WEIGHT)
    want = brute_force_groups(matrix, 2, 1, DIVERSITY_WEIGHT, locked)
    assert got[:2] == want[:2] and got[2] == pytest.approx(want[2], abs=1e-9)


def test_two_disciplines_per_group_where_possible():
    # the two photographers are the best for both companies; the writers a bit worse
    scores = [[0.9, 0.85, 0.8, 0.7],
              [0.9, 0.85, 0.8, 0.7]]
    disciplines = {"k0": ("photo_film",), "k1": ("photo_film",), "k2": ("text",), "k3": ("text",)}
    plan = form_groups(scores, disciplines=disciplines)
    assert all(g.diverse for g in plan.groups) and len(plan.groups) == 2
    for g in plan.groups:
        assert {disciplines[k] for k in g.creatives} == {("photo_film",), ("text",)}
    # all four are placed either way, so the totals tie and diversity decides;
    # now the photographers are far better for c0
    scores[0] = [0.9, 0.85, 0.1, 0.1]
    plan = form_groups(scores, disciplines=disciplines, diversity_weight=0.0)
    assert set(plan.group_of("c0").creatives) == {"k0", "k1"} and not plan.group_of("c0").diverse
    # the term gives way when diversity costs more than it is worth
    plan = form_groups(scores, disciplines=disciplines)
    # both groups alike: 3.25 − 2 · 0.25 = 2.75 beats the best diverse plan (2.65)
    assert set(plan.group_of("c0").creatives) == {"k0", "k1"}
    plan = form_groups(scores, disciplines=disciplines, diversity_weight=0.4)
    assert all(g.diverse for g in plan.groups) and plan.total == pytest.approx(2.65)


def test_diversity_counts_declared_sets_not_guesses():
    disciplines = {"k0": ("photo_film", "text"), "k1": ("photo_film", "text"), "k2": ("photo_film",), "k3": ()}
    plan = form_groups([[1.0, 1.0, 0.0, 0.0]], disciplines=disciplines)
    assert not plan.groups[0].diverse  # the same declared set twice
    plan = form_groups([[1.0, 0.0, 1.0, 0.0]], disciplines=disciplines)
    assert plan.groups[0].diverse  # photo + text vs photo alone: two profiles
    plan = form_groups([[0.0, 0.0, 1.0, 1.0]], disciplines=disciplines)
    assert plan.groups[0].diverse  # nothing declared: never counted as alike
    # every creative the same: groups are still formed, and flagged
    plan = form_groups(np.ones((2, 4)), disciplines={f"k{j}": ("ux",) for j in range(4)})
    assert len(plan.groups) == 2 and not any(g.diverse for g in plan.groups) and not plan.unplaced


def test_group_size_three_diversity():
    disciplines = {"k0": ("ux",), "k1": ("ux",), "k2": ("ux",), "k3": ("text",)}
    plan = form_groups([[0.9, 0.9, 0.9, 0.8]], group_size=3, disciplines=disciplines)
    assert plan.groups[0].diverse and "k3" in plan.groups[0].creatives


def test_each_creative_in_at_most_m_groups():
    star = np.full((4, 6), 0.2)
    star[:, 0] = 1.0  # everybody's favourite
    plan = form_groups(star, group_size=2, max_groups_per_creative=1)
    assert len(plan.groups_of("k0")) == 1
    plan = form_groups(star, group_size=2, max_groups_per_creative=3)
    assert len(plan.groups_of("k0")) == 3
    counts = {}
    for g in plan.groups:
        assert len(g.creatives) <= 2 and len(set(g.creatives)) == len(g.creatives)
        for k in g.creatives:
            counts[k] = counts.get(k, 0) + 1
    assert max(counts.values()) <= 3


def test_exactly_k_where_possible_before_relevance():
    # 3 companies, 4 creatives: two full groups beat 2 + 1 + 1, although
    # spreading would score more
    scores = [[1.0, 1.0, 0.0, 0.0],
              [0.0, 0.0, 1.0, 0.1],
              [0.0, 0.0, 0.1, 1.0]]
    plan = form_groups(scores, group_size=2)
    assert plan.full_groups == 2 and sorted(len(g.creatives) for g in plan.groups) == [2, 2]
    assert [u.id for u in plan.unplaced] and plan.unplaced[0].reason is UnplacedReason.NOT_ENOUGH_CREATIVES
    # every creative placed first: 5 creatives for 2 companies of 2 leaves one out
    plan = form_groups(np.ones((2, 5)), group_size=2)
    assert plan.full_groups == 2 and [u.reason for u in plan.unplaced] == [UnplacedReason.NOT_ENOUGH_PLACES]


def test_forbidden_pairs_never_grouped_and_unplaced_reasons():
    scores = np.ones((3, 4))
    forbidden = [("c0", "k0"), ("k1", "c0")] + [("c2", f"k{j}") for j in range(4)] + [(c, "k3") for c in ("c0", "c1")]
    plan = form_groups(scores, group_size=2, forbidden=forbidden)
    for g in plan.groups:
        for k in g.creatives:
            assert frozenset((g.company, k)) not in {frozenset(p) for p in forbidden}
    reasons = {u.id: (u.side, u.reason) for u in plan.unplaced}
    assert reasons["c2"] == ("production", UnplacedReason.ALL_PAIRS_FORBIDDEN)
    assert reasons["k3"] == ("creative", UnplacedReason.ALL_PAIRS_FORBIDDEN)
    assert plan_members(plan) == {"c0": ["k2"], "c1": ["k0", "k1"]}
    assert plan.to_json() == {"groups": [{"company": "c0", "creatives": ["k2"]},
                                         {"company": "c1", "creatives": ["k0", "k1"]}],
                              "unplaced": ["c2", "k3"]}


def test_locked_choices_and_recomputing_around_them():
    scores = np.array([[0.9, 0.8, 0.1, 0.0],
                       [0.8, 0.9, 0.2, 0.1]])
    free = form_groups(scores, group_size=2, diversity_weight=0)
    assert free.total == pytest.approx(2.0) and free.full_groups == 2
    pinned = form_groups(scores, group_size=2, locked=[("c0", "k3"), ("c0", "k2")])
    assert set(pinned.group_of("c0").creatives) == {"k2", "k3"}
    assert set(pinned.group_of("c0").locked) == {"k2", "k3"}
    assert set(pinned.group_of("c1").creatives) == {"k0", "k1"}  # the rest recomputed around the pins
    with pytest.raises(ValueError, match="forbidden pair"):
        form_groups(scores, locked=[("c0", "k0")], forbidden=[("c0", "k0")])
    with pytest.raises(ValueError, match="unknown creative 'nobody'"):
        form_groups(scores, locked=[("c0", "nobody")])
    with pytest.raises(ValueError, match="more than the group size 2"):
        form_groups(scores, locked=[("c0", "k0"), ("c0", "k1"), ("c0", "k2")])
    with pytest.raises(ValueError, match="more than the 1 allowed per creative"):
        form_groups(scores, locked=[("c0", "k0"), ("c1", "k0")])
    with pytest.raises(ValueError, match="group size must be at least 1"):
        form_groups(scores, group_size=0)


def test_wishes_are_a_bounded_bonus():
    scores = np.array([[0.5, 0.4, 0.0]])
    matrix = ScoreMatrix.from_array(scores, wishes=[("k1", "c0")])
    assert form_groups(matrix, group_size=1).groups[0].creatives == ("k1",)  # 0.4 + 0.25 > 0.5
    assert form_groups(matrix, group_size=1).groups[0].wished == ("k1",)
    matrix = ScoreMatrix.from_array([[0.9, 0.4, 0.0]], wishes=[("c0", "k1")])
    assert form_groups(matrix, group_size=1).groups[0].creatives == ("k0",)  # not over a strong match


def test_no_creatives_or_no_companies():
    plan = form_groups(np.zeros((2, 0)))
    assert plan.groups == [] and {u.reason for u in plan.unplaced} == {UnplacedReason.ALL_PAIRS_FORBIDDEN}
    plan = form_groups(np.zeros((0, 2)))
    assert [u.side for u in plan.unplaced] == ["creative", "creative"]


def test_group_plan_for_fifty_by_hundred_is_exact_and_complete():
    rng = np.random.default_rng(7)
    matrix = random_matrix(rng, 50, 100, codes=["ux", "photo_film", "text", "marketing", "digital", "art"])
    plan = form_groups(matrix)
    assert plan.optimal and plan.full_groups == 50 and not plan.unplaced
    assert sorted(k for g in plan.groups for k in g.creatives) == sorted(matrix.creatives)


# ---------------------------------------------------------------------------
# speed-meetup rounds
# ---------------------------------------------------------------------------

def fair_prefixes(plan, larger: list[str]) -> bool:
    """Nobody on the larger side sits out twice before all of it sat out once
    (and so on: the counts never differ by more than one)."""
    counts = dict.fromkeys(larger, 0)
    for sitting in plan.breaks:
        for pid in sitting:
            if pid in counts:
                counts[pid] += 1
        if max(counts.values()) - min(counts.values()) > 1:
            return False
    return True


@pytest.mark.parametrize("seed", range(10))
def test_a_round_is_optimal_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(2, 5)), int(rng.integers(2, 6))
    matrix = random_matrix(rng, m, n, forbid=0.25)
    if not matrix.allowed.any():
        return
    w = matrix.utility()
    plan = form_rounds(matrix, rounds=1)
    ci, kj = matrix.company_index(), matrix.creative_index()
    pairs = [(ci[mt.company], kj[mt.creative]) for mt in plan.rounds[0]]
    zeros_c, zeros_k = np.zeros(m), np.zeros(n)
    got = round_key(w, pairs, zeros_c, zeros_k)
    want = brute_force_round(w, matrix.allowed, zeros_c, zeros_k)
    assert got[:2] == want[:2] and got[2] == pytest.approx(want[2])
    # the second round is the best one among the pairs left, breaks counted
    if len(pairs) and matrix.allowed.sum() > len(pairs):
        try:
            two = form_rounds(matrix, rounds=2)
        except ValueError:
            return  # nothing left for round 2
        assert two.rounds[0] == plan.rounds[0]
        breaks_c = np.array([int(c in two.breaks[0]) for c in matrix.companies])
        breaks_k = np.array([int(k in two.breaks[0]) for k in matrix.creatives])
        left = matrix.allowed.copy()
        for i, j in pairs:
            left[i, j] = False
        second = [(ci[mt.company], kj[mt.creative]) for mt in two.rounds[1]]
        got = round_key(w, second, breaks_c, breaks_k)
        want = brute_force_round(w, left, breaks_c, breaks_k)
        assert got[:2] == want[:2] and got[2] == pytest.approx(want[2])


def test_rotation_no_pair_twice_stable_tables_and_forbidden_respected():
    rng = np.random.default_rng(3)
    forbidden = [("c0", "k0"), ("c1", "k2"), ("c3", "k3")]
    plan = form_rounds(rng.random((6, 6)), rounds=5, forbidden=forbidden)
    pairs = [(mt.company, mt.creative) for r in plan.rounds for mt in r]
    assert len(pairs) == len(set(pairs))
    assert not {frozenset(p) for p in pairs} & {frozenset(p) for p in forbidden}
    assert plan.tables == {f"c{i}": i + 1 for i in range(6)}
    for r in plan.rounds:
        assert all(mt.table == plan.tables[mt.company] for mt in r)
        assert len({mt.creative for mt in r}) == len(r) and len({mt.table for mt in r}) == len(r)
        assert [mt.table for mt in r] == sorted(mt.table for mt in r)


def test_fair_breaks_five_companies_seven_creatives_six_rounds():
    rng = np.random.default_rng(11)
    matrix = ScoreMatrix.from_array(rng.random((5, 7)))
    plan = form_rounds(matrix, rounds=6)
    assert [len(r) for r in plan.rounds] == [5] * 6  # every company meets somebody new each round
    assert [len(b) for b in plan.breaks] == [2] * 6
    assert fair_prefixes(plan, list(matrix.creatives))
    counts = {k: sum(k in b for b in plan.breaks) for k in matrix.creatives}
    assert sorted(counts.values()) == [1, 1, 2, 2, 2, 2, 2]  # 12 breaks, nobody a third time
    first = [k for b in plan.breaks[:3] for k in b]
    assert len(set(first)) == 6  # rounds 1–3: six different people sit out
    assert set(matrix.creatives) - set(first) <= set(plan.breaks[3])  # the seventh in round 4
    for k in matrix.creatives:
        agenda = plan.agenda(k)
        assert len(agenda) == 6 and sum(a is None for a in agenda) == counts[k]


@pytest.mark.parametrize("seed", range(12))
def test_fair_breaks_on_random_uneven_sides(seed):
    rng = np.random.default_rng(seed)
    m, n = sorted(rng.integers(2, 12, size=2).tolist())
    if m == n:
        n += 1
    rounds = int(rng.integers(1, n + 1))
    values = rng.random((m, n))
    if seed % 2:  # the larger side is the companies'
        values, (m, n) = values.T, (n, m)
    matrix = ScoreMatrix.from_array(values)
    plan = form_rounds(matrix, rounds=rounds)
    larger = list(matrix.creatives if n > m else matrix.companies)
    assert fair_prefixes(plan, larger)
    assert all(len(r) == min(m, n) for r in plan.rounds)


@pytest.mark.parametrize("seed", range(6))
def test_best_pairs_early(seed):
    rng = np.random.default_rng(seed)
    size = int(rng.integers(3, 10))
    plan = form_rounds(rng.random((size, size)), rounds=size)
    totals = plan.totals
    assert all(a >= b - 1e-9 for a, b in zip(totals, totals[1:]))
    # everyone meets everyone exactly once when rounds = side size
    assert len({(mt.company, mt.creative) for r in plan.rounds for mt in r}) == size * size


def test_locked_pairs_meet_in_their_round():
    rng = np.random.default_rng(5)
    values = rng.random((4, 5))
    plan = form_rounds(values, rounds=3, locked=[("c0", "k4", 2), ("c1", "k0", 3)])
    assert any(mt.company == "c0" and mt.creative == "k4" and mt.locked for mt in plan.rounds[1])
    assert any(mt.company == "c1" and mt.creative == "k0" for mt in plan.rounds[2])
    pairs = [(mt.company, mt.creative) for r in plan.rounds for mt in r]
    assert pairs.count(("c0", "k4")) == 1 and pairs.count(("c1", "k0")) == 1
    with pytest.raises(ValueError, match="locked into two meetings in round 1"):
        form_rounds(values, rounds=2, locked=[("c0", "k0", 1), ("c0", "k1", 1)])
    with pytest.raises(ValueError, match="locked into two rounds"):
        form_rounds(values, rounds=2, locked=[("c0", "k0", 1), ("c0", "k0", 2)])
    with pytest.raises(ValueError, match="not one of 1 … 2"):
        form_rounds(values, rounds=2, locked=[("c0", "k0", 3)])
    with pytest.raises(ValueError, match="forbidden pair"):
        form_rounds(values, rounds=2, locked=[("c0", "k0", 1)], forbidden=[("k0", "c0")])


def test_too_many_rounds_and_bad_counts():
    with pytest.raises(ValueError, match="8 rounds without a repeated pair are not possible .* at most 7"):
        form_rounds(np.ones((5, 7)), rounds=8)
    assert len(form_rounds(np.ones((5, 7)), rounds=7).rounds) == 7
    with pytest.raises(ValueError, match="at least 1"):
        form_rounds(np.ones((2, 2)), rounds=0)
    with pytest.raises(ValueError, match="both sides"):
        form_rounds(np.ones((0, 2)), rounds=1)
    # forbidden pairs exhaust the pairs before the rounds
    with pytest.raises(ValueError, match="only 1 round"):
        form_rounds(np.ones((2, 2)), rounds=2, forbidden=[("c0", "k1"), ("c1", "k0")])


def test_somebody_without_any_allowed_pair_sits_every_round_out():
    plan = form_rounds(np.ones((2, 3)), rounds=3, forbidden=[("c1", k) for k in ("k0", "k1", "k2")])
    assert all("c1" in b for b in plan.breaks)
    assert [(u.id, u.reason) for u in plan.unplaced] == [("c1", UnplacedReason.ALL_PAIRS_FORBIDDEN)]
    assert plan.to_json()["breaks"][0][0] == "c1"


# ---------------------------------------------------------------------------
# score matrix from a cohort
# ---------------------------------------------------------------------------

def test_score_matrix_from_the_matcher():
    cohort = load_cohort(HOLDOUT)
    people = list(cohort.participants)
    matcher = Matcher(encoder=FakeEncoder())
    prepared = matcher.prepare(people)
    companies = [p.id for p in people if p.side == "production"]
    creatives = [p.id for p in people if p.side == "creative"]
    matrix = score_matrix(matcher, people, prepared=prepared, forbidden=[(creatives[0], companies[0])],
                          wishes=[(companies[1], creatives[1])])
    assert matrix.companies == tuple(companies) and matrix.creatives == tuple(creatives)
    scorable = np.isfinite(matrix.raw)
    assert matrix.relevance[scorable].max() == pytest.approx(1.0) and matrix.relevance[scorable].min() == pytest.approx(0.0)
    assert not matrix.allowed[0, 0] and matrix.wished[1, 1] and matrix.wished.sum() == 1
    assert matrix.disciplines == {p.id: p.disciplines for p in people if p.side == "creative"}
    assert any(matrix.disciplines.values())
    # the matcher's order is kept: its favourite has the row's highest relevance
    ranked = matcher.rank(prepared, top=3)[companies[2]]
    best = ranked[0].counterpart_id
    assert matrix.score(companies[2], best) == pytest.approx(matrix.relevance[2].max())
    assert matrix.score(companies[2], ranked[2].counterpart_id) <= matrix.score(companies[2], ranked[1].counterpart_id)
    reasons = pair_reasons(prepared, [(companies[2], best)])
    assert set(reasons[(companies[2], best)]) == {"de", "en"} and reasons[(companies[2], best)]["de"]


def test_score_matrix_leaves_out_paused_people_and_refuses_languages():
    from matching.domain import Participant

    people = [
        Participant("a", "production", seeks="Wir brauchen Fotos", languages=("de",)),
        Participant("b", "creative", offers="Fotografie und Film", languages=("de",)),
        Participant("c", "creative", offers="Fotografie", languages=("fr",)),
        Participant("d", "creative", offers="Fotos", paused=True),
    ]
    matrix = score_matrix(Matcher(encoder=FakeEncoder()), people)
    assert matrix.creatives == ("b", "c")
    assert matrix.allowed.tolist() == [[True, False]]  # no common working language with c
    assert matrix.relevance[0, 0] == 1.0  # a single scorable pair is the cohort's best


# ---------------------------------------------------------------------------
# crosslab plan
# ---------------------------------------------------------------------------

@pytest.fixture
def fake_model(monkeypatch):
    monkeypatch.setattr(cli, "_matcher", lambda model=None, **kw: Matcher(encoder=FakeEncoder(), **kw))


def run_plan(*args, **kwargs):
    out = io.StringIO()
    code = cli.run_plan(*args, out=out, **kwargs)
    return code, out.getvalue()


def test_plan_breakout_json(fake_model, capsys):
    code, out = run_plan(str(HOLDOUT), "breakout", as_json=True)
    assert code == 0 and capsys.readouterr().out == ""
    data = json.loads(out)
    assert set(data) == {"groups", "unplaced"}
    cohort = load_cohort(HOLDOUT)
    sides = {p.id: p.side for p in cohort.participants}
    assert all(set(g) == {"company", "creatives"} for g in data["groups"])
    assert all(sides[g["company"]] == "production" and len(g["creatives"]) == 2 for g in data["groups"])
    placed = [k for g in data["groups"] for k in g["creatives"]]
    assert len(placed) == len(set(placed)) and all(sides[k] == "creative" for k in placed)
    everyone = {g["company"] for g in data["groups"]} | set(placed) | set(data["unplaced"])
    assert everyone == {p.id for p in cohort.participants if p.active}


def test_plan_speed_json(fake_model):
    code, out = run_plan(str(HOLDOUT), "speed", rounds=4, as_json=True)
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"rounds", "breaks"} and len(data["rounds"]) == len(data["breaks"]) == 4
    cohort = load_cohort(HOLDOUT)
    companies = [p.id for p in cohort.participants if p.side == "production"]
    creatives = [p.id for p in cohort.participants if p.side == "creative"]
    seen = set()
    for meetings, sitting in zip(data["rounds"], data["breaks"]):
        assert all(set(mt) == {"company", "creative", "table"} for mt in meetings)
        assert {mt["table"] for mt in meetings} == set(range(1, len(companies) + 1))
        assert all(mt["table"] == companies.index(mt["company"]) + 1 for mt in meetings)
        pairs = {(mt["company"], mt["creative"]) for mt in meetings}
        assert not pairs & seen
        seen |= pairs
        assert sorted(sitting + [mt["creative"] for mt in meetings]) == sorted(creatives)


def test_plan_tables_are_readable(fake_model):
    code, out = run_plan(str(HOLDOUT), "breakout", group_size=2)
    assert code == 0
    assert "Backhaus Riedel" in out and "[h-p01]" in out
    assert "Group 1" in out and ("Die Herausforderung" in out or "The challenge" in out)
    code, out = run_plan(str(HOLDOUT), "speed", rounds=2)
    assert code == 0 and "Round 1" in out and "Round 2" in out and "Table 1" in out
    assert "Break:" in out  # 12 companies, 22 creatives


@pytest.mark.parametrize("kwargs, message", [
    ({"fmt": "groups"}, "--format must be breakout or speed"),
    ({"fmt": "speed"}, "--format speed needs --rounds N"),
    ({"fmt": "speed", "rounds": 0}, "--rounds must be at least 1"),
    ({"fmt": "speed", "rounds": 40}, "at most 22"),
    ({"fmt": "breakout", "group_size": 0}, "--group-size must be at least 1"),
    ({"fmt": "breakout", "max_groups": 0}, "--max-groups-per-creative must be at least 1"),
    ({"fmt": "breakout", "rounds": 3}, "--rounds applies to --format speed only"),
    ({"fmt": "speed", "rounds": 3, "group_size": 3}, "apply to --format breakout only"),
])
def test_plan_usage_errors_are_one_line_and_exit_2(fake_model, capsys, kwargs, message):
    fmt = kwargs.pop("fmt")
    code, out = run_plan(str(HOLDOUT), fmt, **kwargs)
    err = capsys.readouterr().err
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


def test_plan_missing_or_broken_file(fake_model, tmp_path, capsys):
    code, out = run_plan(str(tmp_path / "nope.json"), "breakout")
    err = capsys.readouterr().err
    assert code == 2 and "nope.json: file not found" in err and len(err.strip().splitlines()) == 1
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    assert run_plan(str(bad), "speed", rounds=2)[0] == 2


def test_crosslab_plan_is_wired(fake_model, capsys):
    from bot.cli import main

    assert main(["plan", "--cohort", str(HOLDOUT), "--format", "speed", "--rounds", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["rounds"]) == 2
    assert main(["plan", "--cohort", str(HOLDOUT), "--format", "fair"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "crosslab: --format must be breakout or speed, not 'fair'"
