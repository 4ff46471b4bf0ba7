"""Fusion without hand-tuned weights: per-company normalised signals.

Signals per pair (company c, creative k), each a bilinear form a_c · b_k:

    dense    cosine of c's challenge (query) ↔ k's skills (passage)
    bridge   Σ_d p_c(d) · m_k(d) through the exemplar bank (matching.bridge)
    stems    the stem taxonomy: 0.75 · shared challenge types + 0.25 · the
             disciplines the types call for ↔ k's disciplines (the classic
             scorer's 1.5 : 0.5, inherited, not refitted)
    lexical  character n-gram TF-IDF cosine, challenge ↔ skills

Per company every signal is standardised across all its candidate creatives,
z = (s − μ_c) / σ_c, and clipped to [−CLIP, CLIP]; the pair score is the
weighted mean Σ w_s · z_s with Σ w = 1.  A signal that is constant for a
company (σ_c = 0, e.g. no stem hit at all) contributes nothing to it.  The
clip keeps a sparse, high-precision signal from deciding alone: a lone stem
hit among n candidates has z ≈ √n (4.4 among 20, 100 among 10,000); clipped
at 3 it weighs like a strong but ordinary lead, so two agreeing signals can
outvote it.

Because μ_c and σ_c are per row, z is again bilinear:
left_c = [a_c / σ_c, −μ_c / σ_c], right_k = [b_k, 1]; μ_c = a_c · mean(b) and
σ_c² = a_cᵀ Cov(b) a_c (exact, computed directly at event scale and through
the d × d covariance at 10k × 10k).  Scoring a block is one product per signal,
an in-place clip and an accumulation.

Constraints: stated working languages without one in common exclude a pair
(hard filter, as before); reciprocity, sectors and the soft penalty for
unstated languages are not part of this ranking.  Learned feedback
(`matching.learning`) is added on top, scaled by FEEDBACK_SCALE (see there).

The weights (`FusionWeights`) are checked by leave-one-cohort-out over the
labelled cohorts (`matching.loco`, `crosslab match-eval --loco`): a fit is
shipped only if it passes the rule in `matching.loco.verdict`; so far equal
weights are shipped.  Figures in docs/matching.md ("Weights").
"""
from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, fields, replace
from typing import Iterable, Mapping

import numpy as np

from matching.scoring import EXCLUDED, CohortFeatures, _runs, side_groups, thread_buffer

FUSION_SIGNALS = ("dense", "bridge", "stems", "lexical")
RANKINGS = ("fused", "classic")
DEFAULT_RANKING = "fused"
CLIP = 3.0
# the feedback prior is bounded by 0.08 on the classic score scale, where a
# strong match leads an unrelated creative by ≈ 0.5; on the fused scale that
# lead is ≈ 2.5 z-units, so the adjustment is multiplied by 5 to keep its
# meaning ("reorders close candidates, never lifts an unrelated one over a
# strong match")
FEEDBACK_SCALE = 5.0
STEM_TYPES, STEM_DISCIPLINES = 0.75, 0.25
QUANTUM, QUANTUM_INV = np.float32(1 / 4096), np.float32(4096)


@dataclass(frozen=True)
class FusionWeights:
    """Weights of the per-company z-scores (normalised to sum 1).

    Equal weights, nothing fitted.  Kept after leave-one-cohort-out over the
    eight labelled cohorts on 2026-12-03 (`PYTHONPATH=$PWD python -m bot.cli
    match-eval --loco`, output in bench/results/loco_eight_cohorts.txt): the
    fit (dense 0.5, bridge 0.1, stems 0.3, lexical 0.1) beat equal weights on
    the LOCO mean nDCG@3 (0.736 vs 0.712) but lost on the hard1 fold (0.428
    vs 0.494), so `matching.loco.verdict` keeps equal weights.  Re-run that
    command after adding a cohort; ship its fit here only on a "ship" verdict."""

    dense: float = 0.25
    bridge: float = 0.25
    stems: float = 0.25
    lexical: float = 0.25

    @classmethod
    def from_mapping(cls, values: "Mapping[str, float] | FusionWeights | None") -> "FusionWeights":
        if values is None:
            return cls()
        if isinstance(values, FusionWeights):
            return values
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown fusion weight(s): {', '.join(sorted(unknown))}")
        base = {name: 0.0 for name in known} if set(values) else {}
        base.update({k: float(v) for k, v in values.items()})
        return replace(cls(), **base)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    def normalised(self) -> dict[str, float]:
        raw = {k: max(0.0, v) for k, v in self.to_dict().items()}
        total = sum(raw.values())
        if total <= 0:
            raise ValueError("at least one fusion weight must be positive")
        return {k: v / total for k, v in raw.items()}


def signal_vectors(features: CohortFeatures) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(company vectors, creative vectors) per fusion signal; a signal with
    no columns is missing from the features (e.g. no bridge, no lexical)."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if features.dense_c.shape[1]:
        out["dense"] = (features.dense_c, features.dense_k)
    if features.bridge is not None:
        out["bridge"] = (features.bridge.need, features.bridge.member)
    out["stems"] = (
        np.hstack([features.tax_c * np.float32(STEM_TYPES), features.disc_c * np.float32(STEM_DISCIPLINES)]),
        np.hstack([features.tax_k, features.disc_k]),
    )
    if features.lex_c.shape[1]:
        out["lexical"] = (features.lex_c, features.lex_k)
    return out


def row_moments(a: np.ndarray, b: np.ndarray, chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of a_i · b_j over j, per row i (exact)."""
    m, n, d = len(a), len(b), a.shape[1]
    if m == 0 or n == 0 or d == 0:
        return np.zeros(m), np.zeros(m)
    a64 = a.astype(np.float64)
    mean_b = b.astype(np.float64).mean(axis=0)
    mu = a64 @ mean_b
    if m * n <= m * d + n * d + d * d:  # direct: event scale
        var = np.empty(m)
        for s in range(0, m, chunk):
            sims = a64[s:s + chunk] @ b.T.astype(np.float64)
            var[s:s + chunk] = sims.var(axis=1)
    else:  # through the covariance of b
        centred = b.astype(np.float64) - mean_b
        cov = centred.T @ centred / n
        var = np.einsum("ij,ij->i", a64 @ cov, a64)
    return mu, np.sqrt(np.maximum(var, 0.0))


def standardised_vectors(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """left, right with left_i · right_j = (a_i · b_j − μ_i) / σ_i, and a
    zero row where σ_i = 0 (a constant signal contributes nothing)."""
    mu, sd = row_moments(a, b)
    scale = np.divide(1.0, sd, out=np.zeros_like(sd), where=sd > 1e-7)
    left = np.hstack([a * scale[:, None], (-mu * scale)[:, None]]).astype(np.float32)
    right = np.hstack([b, np.ones((len(b), 1), np.float32)]).astype(np.float32)
    return np.ascontiguousarray(left), np.ascontiguousarray(right)


class FusedScorer:
    """Scores blocks of (companies × creatives) as Σ w_s · clip(z_s).

    Same interface as `matching.scoring.PairScorer` (`block`, `signals`,
    `epsilon`), so `Matcher.rank` runs either.  Participants are expected in
    the order of `side_group_keys` (language groups contiguous)."""

    epsilon = 0.0
    quantised = True  # every score is a multiple of QUANTUM (see `block`)

    def __init__(self, features: CohortFeatures, weights: FusionWeights | Mapping[str, float] | None = None,
                 *, clip: float = CLIP, feedback_scale: float = FEEDBACK_SCALE) -> None:
        self.features = features
        self.weights = FusionWeights.from_mapping(weights)
        self.clip = np.float32(clip)
        self.feedback_scale = np.float32(feedback_scale)
        self.vectors = signal_vectors(features)
        self.standardised = {name: standardised_vectors(a, b) for name, (a, b) in self.vectors.items()}
        w = self.weights.normalised()
        self.parts = [(name, np.float32(w[name]), *self.standardised[name])
                      for name in FUSION_SIGNALS if w.get(name, 0) > 0 and name in self.standardised]
        # the weights in units of the quantum (exact: 4096 is a power of two),
        # so quantising needs no extra pass (see `block`)
        self._scaled = [(w * QUANTUM_INV, left, right) for _, w, left, right in self.parts]
        self._feedback_scaled = self.feedback_scale * QUANTUM_INV
        self._groups(features)
        self._local = threading.local()

    def _groups(self, features: CohortFeatures) -> None:
        self.group_c, keys_c = side_groups(features.companies, features.has_backward_c)
        self.group_k, keys_k = side_groups(features.creatives, features.has_backward_k)
        forbidden = np.zeros((len(keys_c), len(keys_k)), dtype=bool)
        for a, (_, langs_a, stated_a) in enumerate(keys_c):
            for b, (_, langs_b, stated_b) in enumerate(keys_k):
                forbidden[a, b] = stated_a and stated_b and not (set(langs_a) & set(langs_b))
        self.forbidden = forbidden

    def _buffer(self, name: str, shape: tuple[int, int]) -> np.ndarray:
        return thread_buffer(self._local, name, shape)

    def z_block(self, name: str, rows, cols, out: np.ndarray | None = None) -> np.ndarray:
        """Clipped z-scores of one signal for companies[rows] × creatives[cols]."""
        left, right = self.standardised[name]
        z = np.matmul(left[rows], right[cols].T, out=out)
        np.clip(z, -self.clip, self.clip, out=z)
        return z

    def block(self, rows, cols, *, reuse: bool = False, extra: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """Fused score of companies[rows] × creatives[cols]; −inf where the
        stated working languages share none.  With `reuse` the result lives in
        a per-thread buffer; `extra` (left, right) adds FEEDBACK_SCALE ·
        left[rows] · right[cols]ᵀ (learned feedback)."""
        n_rows = len(self.group_c[rows])
        n_cols = len(self.group_k[cols])
        shape = (n_rows, n_cols)
        total = self._buffer("total", shape) if reuse else np.empty(shape, np.float32)
        tmp = self._buffer("z", shape) if reuse else np.empty(shape, np.float32)
        # Σ w·clip(z) in units of 1/4096, then rounded: products of identical
        # rows may differ in the last bit with their position in a BLAS block,
        # and ties must go by id.  Scaling by 4096 = 2¹² inside the weights is
        # exact, so this is bit for bit round(4096 · Σ w·clip(z)) / 4096; the
        # first signal is written into `total` directly (no zero fill, no add).
        if not self._scaled:
            total.fill(0.0)
        for n, (w, left, right) in enumerate(self._scaled):
            z = np.matmul(left[rows], right[cols].T, out=total if n == 0 else tmp)
            np.clip(z, -self.clip, self.clip, out=z)
            z *= w
            if n:
                total += z
        if extra is not None:
            e = np.matmul(extra[0][rows], extra[1][cols].T, out=tmp)
            e *= self._feedback_scaled
            total += e
        np.rint(total, out=total)
        total *= QUANTUM
        if self.forbidden.any():
            for a, b, gc in _runs(self.group_c[rows]):
                for c, d, gk in _runs(self.group_k[cols]):
                    if self.forbidden[gc, gk]:
                        total[a:b, c:d] = EXCLUDED
        return total

    def signals(self, pairs: Iterable[tuple[int, int]], extra: tuple[np.ndarray, np.ndarray] | None = None
                ) -> list[dict[str, float]]:
        """Per pair: every signal's raw value, its clipped z-score ("z_<name>"),
        the feedback term (with `extra`) and the fused "score"."""
        out = []
        for i, j in pairs:
            row: dict[str, float] = {}
            for name, (a, b) in self.vectors.items():
                row[name] = float(a[i] @ b[j])
                row[f"z_{name}"] = float(self.z_block(name, np.array([i]), np.array([j]))[0, 0])
            if extra is not None:
                row["feedback"] = float(self.feedback_scale * (extra[0][i] @ extra[1][j]))
            row["score"] = float(self.block(np.array([i]), np.array([j]), extra=extra)[0, 0])
            out.append(row)
        return out
