"""Learning from meeting feedback: which kinds of creatives work for which
kinds of challenges, and which pairs must not be suggested again.

After a meeting each side rates it 1–5 and says whether they want to continue
(yes / maybe / no).  Two things are learned from these observations:

* `bad_pairs(observations)` — pairs rated ≤ 2 or answered "no" by either side;
  pass them to `Matcher.suggest(exclude_pairs=...)` (unordered there).
* `FeedbackModel.fit(observations)` — a prior per cell (company challenge type
  × creative discipline, codes of `matching.taxonomy`).  Every observation is
  an outcome y ∈ [−1, 1] (the mean of (rating − 3)/2 and yes = 1, maybe = 0,
  no = −1, whichever is given).  A company is a sub-distribution over
  challenge types (its normalised type vector, mass = the scorer's confidence
  ≤ 1), a creative one over disciplines (stated, else recognised in the
  text); an observation adds weight p_t·q_d to every cell.  With the global
  mean μ = Σy / (N + k₀) (shrunk to the neutral 0) and the cell's weighted
  sums n_td, S_td:

      δ_td = (S_td − n_td·μ) / (n_td + k)       (∈ [−1, 1] after clipping)
      adjustment(c, k) = max_adjustment · Σ_td p_t(c) · q_d(k) · δ_td

  so a handful of ratings nudge (n ≪ k) and many move the cell towards its
  mean, never beyond ±max_adjustment per pair.  Without observations every δ
  is 0 and the matcher is not touched at all.

Pure and vectorised: in `Matcher.rank` the adjustment of a whole block is one
extra (rows × 14) · (14 × cols) product added to the scores.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from matching import taxonomy
from matching.domain import Participant

CONTINUE_VALUES = {"yes": 1.0, "maybe": 0.0, "no": -1.0}
BAD_RATING = 2  # ratings ≤ this exclude the pair

_TYPE_CODES = tuple(taxonomy.CHALLENGE_TYPES)
_DISC_CODES = tuple(taxonomy.DISCIPLINES)


@dataclass(frozen=True)
class FeedbackObservation:
    """One answer about one meeting (each side's answer is its own observation)."""

    company: Participant  # side "production"
    creative: Participant  # side "creative"
    rating: int | None = None  # 1..5; None (or anything else) = not rated
    wants_to_continue: str | None = None  # "yes" | "maybe" | "no" | None


# -- cleaning -----------------------------------------------------------------


def clean_rating(value: Any) -> int | None:
    """1..5 as int, else None (bools, out-of-range and non-integral values are ignored)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value.lstrip("+-").isdigit():
            return None
        value = int(value)
    if isinstance(value, numbers.Integral):
        rating = int(value)
    elif isinstance(value, numbers.Real) and math.isfinite(float(value)) and float(value).is_integer():
        rating = int(value)
    else:
        return None
    return rating if 1 <= rating <= 5 else None


def clean_continue(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip().lower()
    return value if value in CONTINUE_VALUES else None


def _oriented(obs: Any) -> tuple[Participant, Participant] | None:
    """(company, creative), swapped if given the wrong way round; None if unusable."""
    company, creative = getattr(obs, "company", None), getattr(obs, "creative", None)
    if not isinstance(company, Participant) or not isinstance(creative, Participant):
        return None
    if company.side == "creative" and creative.side == "production":
        company, creative = creative, company
    if company.side != "production" or creative.side != "creative":
        return None
    return company, creative


def outcome(rating: Any, wants_to_continue: Any) -> float | None:
    """y ∈ [−1, 1]: mean of (rating − 3)/2 and the continue answer; None if neither is usable."""
    parts = []
    r = clean_rating(rating)
    if r is not None:
        parts.append((r - 3) / 2.0)
    c = clean_continue(wants_to_continue)
    if c is not None:
        parts.append(CONTINUE_VALUES[c])
    return sum(parts) / len(parts) if parts else None


def is_bad(rating: Any, wants_to_continue: Any) -> bool:
    r = clean_rating(rating)
    return (r is not None and r <= BAD_RATING) or clean_continue(wants_to_continue) == "no"


def bad_pairs(observations: Iterable[FeedbackObservation]) -> set[tuple[str, str]]:
    """(company id, creative id) of every pair rated ≤ 2 or answered "no" by
    either side.  `Matcher.suggest(exclude_pairs=...)` matches pairs
    unordered, so one orientation excludes the pair for both people."""
    out: set[tuple[str, str]] = set()
    for obs in observations:
        pair = _oriented(obs)
        if pair is not None and is_bad(getattr(obs, "rating", None), getattr(obs, "wants_to_continue", None)):
            out.add((pair[0].id, pair[1].id))
    return out


# -- profiles -----------------------------------------------------------------


def _as_distribution(vectors: np.ndarray) -> np.ndarray:
    """Rows rescaled so that they sum to their L2 norm: the scorer's saturated
    vectors become sub-distributions whose mass is the evidence (≤ 1)."""
    out = np.asarray(vectors, dtype=np.float64).clip(min=0.0)
    l1 = out.sum(axis=1, keepdims=True)
    l2 = np.linalg.norm(out, axis=1, keepdims=True)
    np.multiply(out, np.divide(l2, l1, out=np.zeros_like(l1), where=l1 > 0), out=out)
    return out


def profiles_from_features(tax_c: np.ndarray, disc_k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(companies × challenge types, creatives × disciplines) from the
    scorer's own type and discipline vectors (`CohortFeatures.tax_c/disc_k`)."""
    return _as_distribution(tax_c), _as_distribution(disc_k)


def profiles(companies: Sequence[Participant], creatives: Sequence[Participant]) -> tuple[np.ndarray, np.ndarray]:
    """The same profiles computed for loose participants (no embeddings)."""
    from matching.scoring import ScoringWeights, build_features

    weights = ScoringWeights(dense=0.0, lexical=0.0)
    features = build_features(list(companies), list(creatives), weights, None)
    return profiles_from_features(features.tax_c, features.disc_k)


# -- the model ------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class BoundFeedback:
    """A fitted model applied to one cohort: adjustment = left[i] · right[j]."""

    left: np.ndarray  # companies × disciplines, float32: P · (max_adjustment·δ)
    right: np.ndarray  # creatives × disciplines, float32: Q
    company_profiles: np.ndarray
    creative_profiles: np.ndarray
    model: "FeedbackModel"

    def adjustment(self, i: int, j: int) -> float:
        return float(self.left[i] @ self.right[j])

    def reason(self, i: int, j: int) -> dict[str, str] | None:
        return self.model._reason(self.company_profiles[i], self.creative_profiles[j])


_REASON = {
    "de": "In früheren Treffen wurde {discipline} bei „{challenge}“ gut bewertet",
    "en": "In earlier meetings, {discipline} for “{challenge}” was rated well",
}


@dataclass(frozen=True, eq=False)
class FeedbackModel:
    """Prior per (challenge type × discipline) cell learned from meeting
    feedback, with pseudo-count shrinkage; see the module docstring."""

    delta: np.ndarray  # challenge types × disciplines, in [−1, 1]
    weight: np.ndarray  # n_td: soft observation weight per cell
    mean: np.ndarray  # θ_td: shrunk mean outcome per cell
    global_mean: float
    n_observations: int
    n_ignored: int = 0
    pseudo_count: float = 3.0
    global_pseudo_count: float = 5.0
    max_adjustment: float = 0.08
    reason_min: float = 0.02
    _empty: bool = field(default=True, repr=False)

    @classmethod
    def fit(
        cls,
        observations: Iterable[FeedbackObservation],
        *,
        pseudo_count: float = 3.0,
        global_pseudo_count: float = 5.0,
        max_adjustment: float = 0.08,
        reason_min: float = 0.02,
    ) -> "FeedbackModel":
        """Learn the cell priors.  `pseudo_count` k: observation weight at
        which a cell moves half-way to its own mean; `global_pseudo_count` k₀
        shrinks the global mean towards neutral; `max_adjustment` bounds the
        additive change of any pair's score; `reason_min` is the lift from
        which a suggestion's reason mentions the earlier meetings."""
        if pseudo_count <= 0 or global_pseudo_count < 0 or max_adjustment < 0:
            raise ValueError("pseudo_count must be > 0, global_pseudo_count and max_adjustment ≥ 0")
        usable: list[tuple[Participant, Participant, float]] = []
        ignored = 0
        for obs in observations:
            pair = _oriented(obs)
            y = None if pair is None else outcome(getattr(obs, "rating", None), getattr(obs, "wants_to_continue", None))
            if y is None:
                ignored += 1
                continue
            usable.append((pair[0], pair[1], y))
        n_types, n_discs = len(_TYPE_CODES), len(_DISC_CODES)
        shape = (n_types, n_discs)
        hyper = dict(pseudo_count=float(pseudo_count), global_pseudo_count=float(global_pseudo_count),
                     max_adjustment=float(max_adjustment), reason_min=float(reason_min))
        if not usable:
            return cls(np.zeros(shape), np.zeros(shape), np.zeros(shape), 0.0, 0, ignored, **hyper, _empty=True)

        companies = list(dict.fromkeys(c for c, _, _ in usable))
        creatives = list(dict.fromkeys(k for _, k, _ in usable))
        c_pos = {p: i for i, p in enumerate(companies)}
        k_pos = {p: j for j, p in enumerate(creatives)}
        P, Q = profiles(companies, creatives)
        rows = np.array([c_pos[c] for c, _, _ in usable])
        cols = np.array([k_pos[k] for _, k, _ in usable])
        y = np.array([v for _, _, v in usable])
        Pi, Qj = P[rows], Q[cols]  # observations × types / disciplines
        weight = Pi.T @ Qj  # n_td
        total = Pi.T @ (Qj * y[:, None])  # S_td
        mu = float(y.sum() / (len(y) + global_pseudo_count))
        k = float(pseudo_count)
        delta = np.clip((total - weight * mu) / (weight + k), -1.0, 1.0)
        mean = (total + k * mu) / (weight + k)
        empty = not np.any(delta)
        return cls(delta, weight, mean, mu, len(usable), ignored, **hyper, _empty=empty)

    # -- use --------------------------------------------------------------------

    def is_empty(self) -> bool:
        """True when the model changes no score (no usable observation)."""
        return self._empty or self.max_adjustment == 0

    def bind_profiles(self, company_profiles: np.ndarray, creative_profiles: np.ndarray) -> BoundFeedback:
        left = (company_profiles @ (self.delta * self.max_adjustment)).astype(np.float32)
        return BoundFeedback(np.ascontiguousarray(left), np.ascontiguousarray(creative_profiles, dtype=np.float32),
                             company_profiles, creative_profiles, self)

    def bind(self, features) -> BoundFeedback:
        """Applied to a cohort's `CohortFeatures` (used by `Matcher.rank`)."""
        P, Q = profiles_from_features(features.tax_c, features.disc_k)
        return self.bind_profiles(P, Q)

    def adjustment(self, company: Participant, creative: Participant) -> float:
        """Additive change of the pair's score, within ±max_adjustment (0 when empty)."""
        if self.is_empty():
            return 0.0
        if company.side == "creative" and creative.side == "production":
            company, creative = creative, company
        P, Q = profiles([company], [creative])
        return float(P[0] @ (self.delta * self.max_adjustment) @ Q[0])

    def _reason(self, p: np.ndarray, q: np.ndarray) -> dict[str, str] | None:
        """A clause when the pair's lift comes from a cell that earlier
        meetings rated well (mean outcome > 0) and is at least `reason_min`."""
        if self.is_empty():
            return None
        contrib = np.outer(p, q) * self.delta * self.max_adjustment
        t, d = np.unravel_index(int(np.argmax(contrib)), contrib.shape)
        if contrib[t, d] < self.reason_min or contrib.sum() < self.reason_min or self.mean[t, d] <= 0:
            return None
        challenge = taxonomy.CHALLENGE_TYPES[_TYPE_CODES[t]]["label"]
        discipline = taxonomy.DISCIPLINES[_DISC_CODES[d]]
        return {lang: _REASON[lang].format(discipline=discipline[lang], challenge=challenge[lang]) for lang in _REASON}

    def describe(self, limit: int | None = None) -> dict:
        """Learned cells (largest |adjustment| first) and hyper-parameters, JSON-serialisable."""
        cells = []
        for t, d in zip(*np.nonzero(self.weight > 0)):
            cells.append({
                "challenge_type": _TYPE_CODES[t],
                "discipline": _DISC_CODES[d],
                "label": {lang: f"{taxonomy.DISCIPLINES[_DISC_CODES[d]][lang]} × "
                                f"{taxonomy.CHALLENGE_TYPES[_TYPE_CODES[t]]['label'][lang]}" for lang in ("de", "en")},
                "weight": round(float(self.weight[t, d]), 4),
                "mean_outcome": round(float(self.mean[t, d]), 4),
                "adjustment": round(float(self.delta[t, d] * self.max_adjustment), 5),
            })
        cells.sort(key=lambda c: (-abs(c["adjustment"]), c["challenge_type"], c["discipline"]))
        return {
            "n_observations": int(self.n_observations),
            "n_ignored": int(self.n_ignored),
            "global_mean_outcome": round(float(self.global_mean), 4),
            "hyper": {
                "pseudo_count": self.pseudo_count,
                "global_pseudo_count": self.global_pseudo_count,
                "max_adjustment": self.max_adjustment,
                "reason_min": self.reason_min,
            },
            "cells": cells if limit is None else cells[:limit],
        }
