"""The bridge: a company's problem → the kinds of creative who can solve it,
learned from the exemplar bank (`matching/data/exemplars.json`), not stems.

For the 14 disciplines d of `matching.taxonomy.DISCIPLINES`:

* **affinity** a_c(d): the mean of the k highest cosines between a company's
  challenge and the exemplar *problems* of d.  Both are problem statements in
  a company's words, so both are embedded in the same role (queries; for a
  symmetric encoder roles do not matter).
* **membership** of a creative m_k(d): the mean of the k highest cosines
  between the creative's skills (`offers`) and the exemplar
  *self-descriptions* of d, both embedded as passages (like with like).

Top-k mean (k = 5 of 40 problems / 20 self-descriptions) rewards being close
to several examples of a discipline, not to one stray sentence.  Raw cosines
have an encoder-specific scale (USE ≈ 0.1–0.6, e5 ≈ 0.7–0.9), so each text's
14 values are standardised across the disciplines (z) before they become:

* p_c = softmax(z_c): the company's need as a distribution over disciplines;
* m_k(d) = exp(z_k(d) − max_d z_k): the creative's relative membership in
  (0, 1] (its best-fitting discipline is 1), and a discipline the creative
  declared in onboarding counts as membership 1: m_k(d) = max(…, declared).

    bridge(c, k) = Σ_d p_c(d) · m_k(d)      (a dot product of two 14-vectors)

— the expected membership of the creative in the discipline the company's
problem calls for.

**The company's confirmation.**  In onboarding a company sees the
disciplines its need puts highest (`suggested_disciplines`: the up to 3
largest p_c(d) that reach twice the uniform share 1/14) and ticks what fits.
A confirmed choice W (`Participant.wanted`, non-empty) *replaces* the
estimate: p_c = uniform over W.  The company read the estimate and corrected
it, so its answer is better evidence than the bank's guess; replacing needs
no mixing weight (nothing to tune).  No choice ("keine Angabe") or no such
field (cohorts) leaves p_c as estimated.  Nothing is fitted here: k, the standardisation and the
unit softmax temperature are fixed by this reasoning, the same for every
encoder.  An empty text has no evidence and gets a zero row.

Exemplar embeddings are computed once per encoder (namespace) and process and
kept in memory (`exemplar_vectors`); with a cache given they also go through
`CachedEncoder` like every other text.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from matching.domain import Participant
from matching.encoder import CachedEncoder
from matching.exemplars import load_exemplars
from matching.taxonomy import DISCIPLINES

TOP_K = 5
CODES = tuple(DISCIPLINES)
HINT_MAX = 3  # disciplines suggested to a company at most
HINT_SHARE = 2.0  # … each with at least twice the uniform share of the need


@dataclass(frozen=True)
class ExemplarVectors:
    """The bank embedded by one encoder: rows and their discipline index."""

    problems: np.ndarray  # n_problems × dim (embedded as queries)
    problem_labels: np.ndarray  # discipline index per row
    creatives: np.ndarray  # n_creatives × dim (embedded as passages)
    creative_labels: np.ndarray


_MEMO: dict[tuple[str, str], ExemplarVectors] = {}
_LOCK = threading.Lock()


def exemplar_vectors(embedder: CachedEncoder) -> ExemplarVectors:
    """The exemplar bank embedded by `embedder`'s encoder (once per process
    and namespace)."""
    key = (embedder.namespace("query"), embedder.namespace("passage"))
    vectors = _MEMO.get(key)
    if vectors is not None:
        return vectors
    with _LOCK:
        vectors = _MEMO.get(key)
        if vectors is None:
            bank = load_exemplars()
            index = {code: i for i, code in enumerate(CODES)}
            problems = [e for code in bank.codes for e in bank[code].problems]
            creatives = [e for code in bank.codes for e in bank[code].creatives]
            vectors = ExemplarVectors(
                problems=embedder.encode([e.text for e in problems], kind="query"),
                problem_labels=np.array([index[e.discipline] for e in problems], dtype=np.int64),
                creatives=embedder.encode([e.text for e in creatives], kind="passage"),
                creative_labels=np.array([index[e.discipline] for e in creatives], dtype=np.int64),
            )
            _MEMO[key] = vectors
    return vectors


def clear_memo() -> None:
    """Forget the embedded banks (tests)."""
    with _LOCK:
        _MEMO.clear()


def topk_affinity(texts: np.ndarray, examples: np.ndarray, labels: np.ndarray, k: int = TOP_K,
                  n_classes: int = len(CODES), chunk: int = 4096) -> np.ndarray:
    """texts × n_classes: per class, the mean of the k highest cosines of a
    text row to the example rows of that class (all of them if fewer)."""
    out = np.zeros((len(texts), n_classes), dtype=np.float32)
    if len(texts) == 0 or texts.shape[1] == 0 or examples.shape[1] != texts.shape[1]:
        return out
    members = [np.flatnonzero(labels == d) for d in range(n_classes)]
    for s in range(0, len(texts), chunk):
        sims = texts[s:s + chunk] @ examples.T
        for d, cols in enumerate(members):
            if len(cols) == 0:
                continue
            block = sims[:, cols]
            kk = min(k, len(cols))
            top = np.partition(block, len(cols) - kk, axis=1)[:, len(cols) - kk:] if kk < len(cols) else block
            out[s:s + chunk, d] = top.mean(axis=1)
    return out


def _standardised(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """z across the classes per row, and which rows carry evidence."""
    has = np.abs(raw).sum(axis=1) > 0
    mu = raw.mean(axis=1, keepdims=True)
    sd = raw.std(axis=1, keepdims=True)
    z = np.divide(raw - mu, sd, out=np.zeros_like(raw), where=sd > 1e-9)
    return z, has


def need_distribution(raw_affinity: np.ndarray) -> np.ndarray:
    """p_c = softmax over the disciplines of the standardised affinities
    (rows without evidence: zero)."""
    z, has = _standardised(raw_affinity.astype(np.float64))
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    p[~has] = 0.0
    return p.astype(np.float32)


def membership(raw_membership: np.ndarray, declared: np.ndarray | None = None) -> np.ndarray:
    """m_k(d) = exp(z − max z) ∈ (0, 1], max with the declared disciplines (1)."""
    z, has = _standardised(raw_membership.astype(np.float64))
    m = np.exp(z - z.max(axis=1, keepdims=True))
    m[~has] = 0.0
    if declared is not None:
        m = np.maximum(m, declared)
    return m.astype(np.float32)


def _code_matrix(rows: list[tuple[str, ...]]) -> np.ndarray:
    """rows × 14: 1 where a row names a discipline code."""
    index = {code: i for i, code in enumerate(CODES)}
    out = np.zeros((len(rows), len(CODES)), dtype=np.float32)
    for row, codes in enumerate(rows):
        for code in codes:
            if code in index:
                out[row, index[code]] = 1.0
    return out


def declared_matrix(creatives: list[Participant]) -> np.ndarray:
    """creatives × 14: 1 where a discipline was declared in onboarding."""
    return _code_matrix([tuple(p.disciplines) for p in creatives])


def wanted_matrix(companies: list[Participant]) -> np.ndarray:
    """companies × 14: 1 where a discipline was confirmed in onboarding."""
    return _code_matrix([tuple(p.wanted) for p in companies])


def confirmed_need(need: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The need with each confirmed choice in place of the estimate: uniform
    over the confirmed disciplines (rows without a choice unchanged)."""
    counts = wanted.sum(axis=1, keepdims=True)
    chosen = counts[:, 0] > 0
    if not chosen.any():
        return need
    out = need.copy()
    out[chosen] = wanted[chosen] / counts[chosen]
    return out


def suggested_disciplines(embedder: CachedEncoder, text: str, top: int = HINT_MAX) -> list[str]:
    """What the bridge sees in a company's challenge: the codes of the up to
    `top` disciplines with the largest need, each at least HINT_SHARE times
    the uniform share (best first; [] when nothing stands out)."""
    if not text.strip():
        return []
    vectors = exemplar_vectors(embedder)
    query = embedder.encode([text], kind="query")
    need = need_distribution(topk_affinity(query, vectors.problems, vectors.problem_labels))[0]
    order = np.argsort(-need, kind="stable")[:top]
    return [CODES[i] for i in order if need[i] >= HINT_SHARE / len(CODES)]


@dataclass(frozen=True)
class Bridge:
    """Per-participant bridge vectors: bridge(c, k) = need[c] · member[k]."""

    need: np.ndarray  # companies × 14, rows sum to 1 (or 0: no challenge text)
    member: np.ndarray  # creatives × 14, in [0, 1]
    raw_need: np.ndarray  # top-k mean cosines (for introspection)
    raw_member: np.ndarray

    def score(self, i: int, j: int) -> float:
        return float(self.need[i] @ self.member[j])


def build_bridge(challenges: np.ndarray, skills: np.ndarray, creatives: list[Participant],
                 vectors: ExemplarVectors, k: int = TOP_K, companies: list[Participant] | None = None) -> Bridge:
    """Bridge vectors from the embedded challenges (as queries) and skills
    (as passages) of a cohort and the embedded bank; `companies` (in the
    order of `challenges`) bring their confirmed choices (`confirmed_need`)."""
    raw_need = topk_affinity(challenges, vectors.problems, vectors.problem_labels, k)
    raw_member = topk_affinity(skills, vectors.creatives, vectors.creative_labels, k)
    need = need_distribution(raw_need)
    if companies:
        need = confirmed_need(need, wanted_matrix(companies))
    return Bridge(
        need=need,
        member=membership(raw_member, declared_matrix(creatives)),
        raw_need=raw_need,
        raw_member=raw_member,
    )
