"""Fitting and checking the fusion weights: leave-one-cohort-out (LOCO).

Each labelled cohort is prepared once with the fused ranking; its per-signal
clipped z-scores (companies × creatives) are kept, so any weighting is a sum
of matrices.  The weights live on the simplex (Σ w = 1, w ≥ 0), searched on a
grid (step 0.1: 286 points for four signals); the objective is the mean over
cohorts of mean nDCG@3, ties go to the point nearest equal weights (the
simplest).  LOCO: for each cohort, fit on all the others, evaluate on it.

    signals = [cohort_signals(matcher, cohort, name) for name, cohort in ...]
    folds = loco(signals)          # [Fold(held_out, weights, fitted, equal)]
    weights = fit(signals)         # the fit on all cohorts
    decision = verdict(folds)      # ship the fit or keep equal weights (rule below)

The rule, fixed before the runs: ship the weights fitted on all cohorts only if
the LOCO mean nDCG@3 with fitted weights beats equal weights AND no hard-style
cohort's fold (name starting with "hard") is worse with fitted weights than
with equal weights; otherwise keep equal weights.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from matching.cohort import Cohort
from matching.evaluation import evaluate
from matching.fusion import FUSION_SIGNALS, FusedScorer

GRID_STEP = 0.1


@dataclass
class CohortSignals:
    """One labelled cohort's clipped z-scores per signal."""

    name: str
    company_ids: list[str]
    creative_ids: list[str]
    z: dict[str, np.ndarray]  # signal → companies × creatives
    forbidden: np.ndarray  # companies × creatives: excluded by stated languages
    creative_rank: np.ndarray
    relevance: Mapping[str, Mapping[str, float]]

    @property
    def signals(self) -> tuple[str, ...]:
        return tuple(s for s in FUSION_SIGNALS if s in self.z)


def cohort_signals(matcher, cohort: Cohort, name: str) -> CohortSignals:
    """Prepare `cohort` with a fused-ranking `Matcher` and keep its z-scores."""
    prepared = matcher.prepare(cohort.participants)
    scorer = prepared.scorer
    if not isinstance(scorer, FusedScorer):
        raise ValueError("cohort_signals needs a Matcher with ranking='fused'")
    every = slice(None)
    z = {s: scorer.z_block(s, every, every).copy() for s in FUSION_SIGNALS if s in scorer.standardised}
    forbidden = np.isneginf(scorer.block(every, every))
    companies, creatives = prepared.features.companies, prepared.features.creatives
    sides = {p.id: p.side for p in cohort.participants}
    if any(sides.get(q) != "production" for q in cohort.relevance):
        raise ValueError(f"{name}: LOCO expects company-side relevance labels only")
    return CohortSignals(name, [p.id for p in companies], [p.id for p in creatives], z, forbidden,
                         prepared.creative_rank, cohort.relevance)


def rankings(cs: CohortSignals, weights: Mapping[str, float]) -> dict[str, list[str]]:
    """Every labelled company's full ranking under `weights` (normalised)."""
    total = sum(max(0.0, w) for s, w in weights.items() if s in cs.z)
    score = np.zeros(cs.forbidden.shape, dtype=np.float64)
    if total > 0:
        for s, w in weights.items():
            if s in cs.z and w > 0:
                score += (w / total) * cs.z[s]
    index = {cid: i for i, cid in enumerate(cs.company_ids)}
    out = {}
    for q in cs.relevance:
        i = index.get(q)
        if i is None:
            out[q] = []
            continue
        allowed = np.flatnonzero(~cs.forbidden[i])
        order = allowed[np.lexsort((cs.creative_rank[allowed], -score[i, allowed]))]
        out[q] = [cs.creative_ids[j] for j in order]
    return out


def score(cs: CohortSignals, weights: Mapping[str, float], k: int = 3) -> dict[str, float]:
    return evaluate(rankings(cs, weights), cs.relevance, k)


def simplex_grid(signals: Sequence[str], step: float = GRID_STEP) -> list[dict[str, float]]:
    n = round(1 / step)
    out = []
    for parts in itertools.product(range(n + 1), repeat=len(signals)):
        if sum(parts) == n:
            out.append({s: p / n for s, p in zip(signals, parts)})
    return out


def equal_weights(signals: Sequence[str]) -> dict[str, float]:
    return {s: 1.0 / len(signals) for s in signals}


def fit(cohorts: Sequence[CohortSignals], k: int = 3, step: float = GRID_STEP,
        signals: Sequence[str] | None = None) -> dict[str, float]:
    """The grid point with the best mean nDCG@k over `cohorts` (ties: nearest
    to equal weights, then the grid order)."""
    signals = tuple(signals or cohorts[0].signals)
    equal = np.array([1.0 / len(signals)] * len(signals))
    best, best_key = None, None
    for w in simplex_grid(signals, step):
        value = float(np.mean([score(c, w, k)[f"ndcg@{k}"] for c in cohorts]))
        key = (round(value, 9), -float(np.linalg.norm(np.array([w[s] for s in signals]) - equal)))
        if best_key is None or key > best_key:
            best, best_key = w, key
    return best


@dataclass
class Fold:
    held_out: str
    weights: dict[str, float]  # fitted on the other cohorts
    fitted: dict[str, float]  # metrics on the held-out cohort with those weights
    equal: dict[str, float]  # metrics on the held-out cohort with equal weights (nothing fitted)


def loco(cohorts: Sequence[CohortSignals], k: int = 3, step: float = GRID_STEP,
         signals: Sequence[str] | None = None) -> list[Fold]:
    signals = tuple(signals or cohorts[0].signals)
    folds = []
    for i, held in enumerate(cohorts):
        rest = [c for j, c in enumerate(cohorts) if j != i]
        w = fit(rest, k, step, signals)
        folds.append(Fold(held.name, w, score(held, w, k), score(held, equal_weights(signals), k)))
    return folds


@dataclass
class Verdict:
    ship: bool  # ship the weights fitted on all cohorts (else keep equal weights)
    mean_fitted: float  # LOCO mean nDCG@k, fitted weights per fold
    mean_equal: float  # the same with equal weights
    hard: list[tuple[str, float, float]]  # (cohort, fitted, equal) nDCG@k of the hard-style folds
    reason: str


def is_hard(name: str) -> bool:
    return name.startswith("hard")


def verdict(folds: Sequence[Fold], k: int = 3) -> Verdict:
    """The shipping rule (see the module docstring), applied to LOCO folds."""
    key = f"ndcg@{k}"
    if not folds:
        raise ValueError("verdict needs at least one fold")
    mean_fitted = float(np.mean([f.fitted[key] for f in folds]))
    mean_equal = float(np.mean([f.equal[key] for f in folds]))
    hard = [(f.held_out, f.fitted[key], f.equal[key]) for f in folds if is_hard(f.held_out)]
    worse = [name for name, fitted, equal in hard if fitted < equal - 1e-9]
    if mean_fitted <= mean_equal + 1e-9:
        return Verdict(False, mean_fitted, mean_equal, hard,
                       f"keep equal weights: LOCO mean {key} fitted {mean_fitted:.3f} <= equal {mean_equal:.3f}")
    if worse:
        return Verdict(False, mean_fitted, mean_equal, hard,
                       f"keep equal weights: fitted weights lose on hard-style fold(s) {', '.join(worse)}")
    return Verdict(True, mean_fitted, mean_equal, hard,
                   f"ship the fit on all cohorts: LOCO mean {key} fitted {mean_fitted:.3f} > equal {mean_equal:.3f}"
                   + (", no hard-style fold worse" if hard else ""))


def ablations(cs: CohortSignals, k: int = 3) -> list[tuple[str, dict[str, float]]]:
    """Equal weights over: all signals, each signal alone, all minus each."""
    signals = cs.signals
    rows = [("all (equal weights)", score(cs, equal_weights(signals), k))]
    for s in signals:
        rows.append((f"{s} alone", score(cs, {s: 1.0}, k)))
    for s in signals:
        rest = [x for x in signals if x != s]
        if rest:
            rows.append((f"all minus {s}", score(cs, equal_weights(rest), k)))
    return rows
