"""Solve times and quality of the formation plans (matching/formation.py).

Breakout groups (form_groups: exact MILP) and speed-meetup rounds
(form_rounds: one exact assignment per round) on synthetic cohorts shaped
like real ones — each company's need is a Dirichlet mix over the 14
disciplines, each creative declares one or two, relevance = need · membership
+ noise, rescaled to [0, 1]; 3 % of the pairs forbidden — and, when present,
on the shared development cohort scored by the shipped matcher.

Each row prints the median solve time of `--repeat` runs and the quality
next to a greedy baseline computed in the same run (pairs by utility, best
first, taken while capacities allow — per round for the rotation):

* breakout: the objective the solver maximises (utility − diversity weight ·
  groups of one discipline, after places and full groups), the same for
  greedy, and greedy's gap to the optimum; for sizes up to 50 × 100 also
  HiGHS's branch and bound on the same model without the LP shortcut
  (`b&b`), which must give the same objective;
* rotation: total relevance of all rounds, the exact optimum of N rounds
  without a repeated pair (a degree-N b-matching LP, integral on a bipartite
  graph and, with equal sides, split into N rounds by Kőnig's theorem), the
  gap of the per-round assignments and of greedy to it.  For uneven sides
  the LP also spreads the larger side's meetings as fair breaks do (each
  meets ⌊mN/n⌋ … ⌈mN/n⌉ times) — a "fair bound", an upper bound only, as
  the order of the breaks is not in it; the greedy baseline rotates breaks
  fairly too.

    python bench/bench_formation.py [--repeat 3] [--no-cohort] [--seed 1]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from matching import formation  # noqa: E402
from matching.formation import DIVERSITY_WEIGHT, ScoreMatrix, form_groups, form_rounds  # noqa: E402
from matching.taxonomy import DISCIPLINES  # noqa: E402

CODES = list(DISCIPLINES)
GROUP_SIZES = [(5, 10), (12, 24), (24, 48), (50, 100), (200, 400)]
ROUND_SIZES = [(12, 12, 6), (5, 7, 6), (100, 100, 10), (500, 500, 10)]
DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "cohort_dev.json"


def synthetic(m: int, n: int, seed: int, forbid: float = 0.03) -> ScoreMatrix:
    rng = np.random.default_rng(seed)
    need = rng.dirichlet(np.full(len(CODES), 0.3), size=m)
    member = np.full((n, len(CODES)), 0.1)
    disciplines = {}
    for j in range(n):
        picks = rng.choice(len(CODES), size=int(rng.integers(1, 3)), replace=False)
        member[j, picks] = 1.0
        disciplines[f"k{j}"] = tuple(CODES[p] for p in picks)
    values = need @ member.T + 0.15 * rng.random((m, n))
    values = (values - values.min()) / (values.max() - values.min())
    values[rng.random((m, n)) < forbid] = -np.inf
    return ScoreMatrix.from_array(values, disciplines=disciplines)


def timed(fn, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, statistics.median(times)


# -- breakout ---------------------------------------------------------------

def group_objective(matrix: ScoreMatrix, members: dict[int, list[int]], weight: float) -> tuple[int, int, float]:
    utility = matrix.utility()
    classes = formation._alike_classes(matrix.creatives, matrix.disciplines)
    places = sum(len(v) for v in members.values())
    value = sum(utility[i, j] for i, v in members.items() for j in v)
    alike = sum(1 for v in members.values() if len(v) >= 2 and classes[v[0]] >= 0 and len(set(classes[v])) == 1)
    return places, alike, value - weight * alike


def greedy_groups(matrix: ScoreMatrix, K: int, M: int) -> dict[int, list[int]]:
    utility = matrix.utility()
    order = np.argsort(-utility, axis=None, kind="stable")
    members: dict[int, list[int]] = {}
    used = np.zeros(matrix.shape[1], dtype=int)
    for flat in order:
        i, j = divmod(int(flat), matrix.shape[1])
        if not np.isfinite(utility[i, j]):
            break
        if len(members.get(i, [])) < K and used[j] < M:
            members.setdefault(i, []).append(j)
            used[j] += 1
    return members


def branch_and_bound(matrix: ScoreMatrix, K: int, M: int, weight: float) -> float:
    """HiGHS's MILP on form_groups' model, without the LP shortcut."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    allowed = matrix.allowed
    locked = np.zeros_like(allowed)
    seats = formation._max_seats(allowed, locked, K, M)
    model = formation._GroupModel(np.where(allowed, matrix.utility(), 0.0), allowed, locked,
                                  formation._alike_classes(matrix.creatives, matrix.disciplines), K, M)
    lb, ub = np.zeros(model.nvar), np.ones(model.nvar)
    ub[model.s0:model.h0] = K
    integrality = np.ones(model.nvar)
    integrality[model.s0:model.h0] = 0
    result = milp(-model.utility_objective(weight), integrality=integrality, bounds=Bounds(lb, ub),
                  constraints=[LinearConstraint(model.A, model.lo, model.hi),
                               LinearConstraint(model.seat_row[None, :], [seats], [np.inf])],
                  options={"mip_rel_gap": 0.0, "time_limit": 600})
    return -result.fun


def bench_groups(name: str, matrix: ScoreMatrix, repeat: int, K: int = 2, M: int = 1) -> None:
    plan, seconds = timed(lambda: form_groups(matrix, group_size=K, max_groups_per_creative=M), repeat)
    ci, kj = matrix.company_index(), matrix.creative_index()
    members = {ci[g.company]: [kj[k] for k in g.creatives] for g in plan.groups}
    places, alike, best = group_objective(matrix, members, DIVERSITY_WEIGHT)
    g_places, g_alike, g_value = group_objective(matrix, greedy_groups(matrix, K, M), DIVERSITY_WEIGHT)
    gap = (best - g_value) / best * 100 if best else 0.0
    m, n = matrix.shape
    check = ""
    if m * n <= 50 * 100:
        bb, bb_seconds = timed(lambda: branch_and_bound(matrix, K, M, DIVERSITY_WEIGHT), 1)
        check = f"  b&b {bb:.4f} in {bb_seconds:.2f}s ({'same' if abs(bb - best) < 1e-6 else 'DIFFERENT'})"
    print(f"breakout {name:<16} {seconds:7.3f}s  optimal={plan.optimal!s:<5} places {places:>3} full {plan.full_groups:>3} "
          f"one-discipline {alike:>3}  objective {best:9.4f} | greedy places {g_places:>3} one-discipline "
          f"{g_alike:>3} objective {g_value:9.4f}  gap {gap:5.2f}%{check}", flush=True)


# -- rotation ---------------------------------------------------------------

def rotation_bound(matrix: ScoreMatrix, rounds: int) -> float:
    """Max total relevance of ≤ `rounds` meetings per person, no pair twice,
    and on the larger side the meetings spread as fair breaks spread them
    (⌊mN/n⌋ … ⌈mN/n⌉ each; a necessary condition of fair rotation)."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix

    ci, kj = np.nonzero(matrix.allowed)
    P = len(ci)
    m, n = matrix.shape
    rows = np.concatenate([ci, m + kj])
    A = coo_matrix((np.ones(2 * P), (rows, np.concatenate([np.arange(P), np.arange(P)]))), shape=(m + n, P)).tocsr()
    lo, hi = np.zeros(m + n), np.full(m + n, float(rounds))
    small, large = min(m, n), max(m, n)
    if small < large:
        share = small * rounds / large
        part = slice(m, m + n) if n > m else slice(0, m)
        lo[part], hi[part] = np.floor(share), np.ceil(share)
    result = milp(-matrix.relevance[ci, kj], integrality=np.zeros(P), bounds=Bounds(0, 1),
                  constraints=[LinearConstraint(A, lo, hi)])
    if result.status != 0:  # forbidden pairs make the fair spread impossible: drop it
        result = milp(-matrix.relevance[ci, kj], integrality=np.zeros(P), bounds=Bounds(0, 1),
                      constraints=[LinearConstraint(A, 0, rounds)])
    return -result.fun


def greedy_rounds(matrix: ScoreMatrix, rounds: int) -> float:
    """Per round: pairs by relevance, best first, while both are free and
    have not met — with fair breaks on the larger side (those with the
    fewest breaks sit out, as many as the round needs)."""
    relevance = np.where(matrix.allowed, matrix.relevance, -np.inf)
    m, n = matrix.shape
    order = np.argsort(-relevance, axis=None, kind="stable")
    order = order[np.isfinite(relevance.ravel()[order])]
    used = np.zeros(matrix.shape, dtype=bool)
    larger_is_creatives = n >= m
    breaks = np.zeros(max(m, n), dtype=int)
    sit = abs(n - m)
    total = 0.0
    for _ in range(rounds):
        # play quota per break count: the lowest counts sit out first
        quota = {}
        left = sit
        for level in sorted(set(breaks.tolist())):
            size = int((breaks == level).sum())
            sitting = min(left, size)
            quota[level] = size - sitting
            left -= sitting
        busy_c, busy_k = set(), set()
        for flat in order:
            i, j = divmod(int(flat), n)
            person = j if larger_is_creatives else i
            if used[i, j] or i in busy_c or j in busy_k or quota[breaks[person]] == 0:
                continue
            used[i, j] = True
            busy_c.add(i)
            busy_k.add(j)
            quota[breaks[person]] -= 1
            total += relevance[i, j]
        playing = busy_k if larger_is_creatives else busy_c
        breaks += np.array([p not in playing for p in range(max(m, n))], dtype=int)
    return total


def bench_rounds(name: str, matrix: ScoreMatrix, rounds: int, repeat: int) -> None:
    plan, seconds = timed(lambda: form_rounds(matrix, rounds=rounds), repeat)
    total = plan.total
    bound, bound_seconds = timed(lambda: rotation_bound(matrix, rounds), 1)
    greedy = greedy_rounds(matrix, rounds)
    m, n = matrix.shape
    kind = "optimum" if m == n else "fair bound"
    print(f"speed    {name:<16} {seconds:7.3f}s  total {total:9.3f}  {kind} {bound:9.3f} (LP {bound_seconds:.1f}s)  "
          f"gap {(bound - total) / bound * 100:5.2f}% | greedy {greedy:9.3f} gap {(bound - greedy) / bound * 100:5.2f}%  "
          f"round totals {plan.totals[0]:.2f} … {plan.totals[-1]:.2f}", flush=True)


def dev_cohort_matrix() -> ScoreMatrix | None:
    if not DEV.exists():
        return None
    from matching.cohort import load_cohort
    from matching.matcher import Matcher

    cohort = load_cohort(DEV)
    start = time.perf_counter()
    matrix = formation.score_matrix(Matcher(), cohort.participants)
    print(f"(dev cohort scored by the shipped matcher in {time.perf_counter() - start:.1f}s, model load included)")
    return matrix


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-cohort", action="store_true", help="skip the development cohort (no model load)")
    args = parser.parse_args(argv)
    form_groups(synthetic(3, 4, 0))  # imports and first-call costs out of the figures
    for m, n in GROUP_SIZES:
        bench_groups(f"{m} × {n}", synthetic(m, n, args.seed), args.repeat)
    for m, n, rounds in ROUND_SIZES:
        bench_rounds(f"{m} × {n} × {rounds}", synthetic(m, n, args.seed), rounds, args.repeat)
    if not args.no_cohort:
        matrix = dev_cohort_matrix()
        if matrix is not None:
            m, n = matrix.shape
            bench_groups(f"dev {m} × {n}", matrix, args.repeat)
            bench_rounds(f"dev {m} × {n} × 6", matrix, 6, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
