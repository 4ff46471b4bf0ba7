"""Pair scores for a whole cohort, computed in chunks with numpy.

Per pair (company c, creative k), every signal is a cosine in [0, 1]:

forward  (c's challenge ↔ k's skills)
    dense       sentence embeddings: c.seeks (+ a little of c's trade) ↔ k.offers
    lexical     character n-gram TF-IDF of the same texts
    taxonomy    challenge types found in c.seeks ↔ in k.offers
    discipline  disciplines c's challenge types call for ↔ k's disciplines
                (stated in onboarding, else recognised in k.offers)
    sector      c's sector/trade ↔ sectors k mentions (e.g. "für Handwerksbetriebe")
backward (k's wish ↔ c as a company)
    dense, lexical   k.seeks ↔ c's trade (offers + sector)
    taxonomy         challenge types in k.seeks ↔ in c.seeks
    sector           sectors in k.seeks ↔ c's sector/trade

f and b are the weighted means of their signals.  When both exist the pair
score is their weighted harmonic mean (RECON-style reciprocity: a match has to
work for both), smoothed by ε so a weak side pulls down without zeroing:
    H = (1 + r) / (1/(f+ε) + r/(b+ε)) − ε
with r = weights.reciprocal; without a wish (or a company trade) it is f.
A small penalty applies when two people share no known working language.

Every feature is a per-participant vector, so a chunk of companies against
all creatives is a handful of matrix products; the top-k per row is taken
among the best column groups (`top_k_matrix`), the top-k per column from the
entries above a running lower bound (`column_candidates`, `ColumnTopK`), ties
broken by participant id.
"""
from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, fields, replace
from functools import lru_cache
from typing import Iterable, Mapping, Sequence

import numpy as np

from matching import taxonomy
from matching.concepts import ConceptHits, challenge_lexicon, discipline_lexicon, sector_lexicon, type_weights
from matching.domain import Participant
from matching.lexical import TfidfSpace, dense_columns, shared_columns

SIGNALS = ("dense", "lexical", "taxonomy", "discipline", "sector")
EXCLUDED = -np.inf
# scores below this are constraint violations, never suggested
HARD = -1e3


@dataclass(frozen=True)
class ScoringWeights:
    """Per-signal weights (the forward and backward scores are weighted means).

    Hand-set (meeting feedback feeds a separate, bounded prior:
    `matching.learning`); `from_mapping` accepts a partial dict, unknown keys
    are rejected.
    """

    dense: float = 1.0
    lexical: float = 0.5
    taxonomy: float = 1.5
    discipline: float = 0.5
    sector: float = 0.2
    reciprocal: float = 0.25  # weight of the creative's wish (backward) vs the challenge (forward); 0 = off
    trade_context: float = 0.3  # how much a company's trade colours its challenge query
    language_mismatch: float = 0.05  # subtracted when no shared working language is known
    smoothing: float = 0.05  # ε of the harmonic mean

    @classmethod
    def from_mapping(cls, values: Mapping[str, float] | "ScoringWeights" | None) -> "ScoringWeights":
        if values is None:
            return cls()
        if isinstance(values, ScoringWeights):
            return values
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown weight(s): {', '.join(sorted(unknown))}")
        return replace(cls(), **{k: float(v) for k, v in values.items()})

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    np.divide(matrix, norms, out=matrix, where=norms > 0)
    return matrix


def _saturate(matrix: np.ndarray, full: float = 1.0) -> np.ndarray:
    """Scale rows to unit length, but only once the evidence reaches `full`
    (one full-weight keyword): a single weak hit stays a weak signal."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix /= np.maximum(norms, np.float32(full))
    return matrix


def _concept_matrix(hits: Sequence[ConceptHits], size: int) -> np.ndarray:
    out = np.zeros((len(hits), size), dtype=np.float32)
    for row, h in enumerate(hits):
        for concept, weight in h.weights.items():
            out[row, concept] = weight
    return out


def _type_matrix(hits: Sequence[ConceptHits], size: int, need: float, skill: float) -> np.ndarray:
    out = np.zeros((len(hits), size), dtype=np.float32)
    for row, h in enumerate(hits):
        for t, weight in type_weights(h, need, skill).items():
            out[row, t] = weight
    return out


# how much a side's own vocabulary role counts: companies describe problems
# (naming a profession is often context: "architects ask for CO2 figures"),
# creatives describe solutions
COMPANY_NEED, COMPANY_SKILL = 1.0, 0.6
CREATIVE_NEED, CREATIVE_SKILL = 0.8, 1.0


def _type_discipline_matrix() -> np.ndarray:
    codes = list(taxonomy.DISCIPLINES)
    types = list(taxonomy.CHALLENGE_TYPES)
    out = np.zeros((len(types), len(codes)), dtype=np.float32)
    for i, code in enumerate(types):
        for disc, weight in taxonomy.CHALLENGE_TYPES[code].get("disciplines", {}).items():
            if disc in taxonomy.DISCIPLINES:
                out[i, codes.index(disc)] = weight
    return out


@dataclass
class SideTexts:
    """The texts of one side, aligned with its participants."""

    participants: list[Participant]

    @property
    def ids(self) -> list[str]:
        return [p.id for p in self.participants]


@dataclass
class CohortFeatures:
    """Per-participant vectors of both sides (companies c, creatives k).

    Unweighted blocks per signal; `forward_vectors` / `backward_vectors` stack
    them with the weights folded into the company side.
    """

    companies: list[Participant]
    creatives: list[Participant]
    # forward
    dense_c: np.ndarray
    dense_k: np.ndarray
    lex_c: np.ndarray
    lex_k: np.ndarray
    tax_c: np.ndarray
    tax_k: np.ndarray
    disc_c: np.ndarray
    disc_k: np.ndarray
    sector_c: np.ndarray
    sector_k: np.ndarray
    # backward
    b_dense_c: np.ndarray
    b_dense_k: np.ndarray
    b_lex_c: np.ndarray
    b_lex_k: np.ndarray
    b_tax_c: np.ndarray
    b_tax_k: np.ndarray
    b_sector_c: np.ndarray
    b_sector_k: np.ndarray
    has_backward_c: np.ndarray  # company has a trade text
    has_backward_k: np.ndarray  # creative has a wish
    # constraints
    lang_mask_c: np.ndarray
    lang_mask_k: np.ndarray
    lang_stated_c: np.ndarray
    lang_stated_k: np.ndarray
    # for explanations
    hits: dict[str, dict[str, ConceptHits]]
    # the exemplar bridge (matching.bridge.Bridge), fused ranking only
    bridge: "object | None" = None

    def forward_blocks(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return {
            "dense": (self.dense_c, self.dense_k),
            "lexical": (self.lex_c, self.lex_k),
            "taxonomy": (self.tax_c, self.tax_k),
            "discipline": (self.disc_c, self.disc_k),
            "sector": (self.sector_c, self.sector_k),
        }

    def backward_blocks(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return {
            "dense": (self.b_dense_c, self.b_dense_k),
            "lexical": (self.b_lex_c, self.b_lex_k),
            "taxonomy": (self.b_tax_c, self.b_tax_k),
            "sector": (self.b_sector_c, self.b_sector_k),
        }

    def stacked(self, weights: ScoringWeights, backward: bool) -> tuple[np.ndarray, np.ndarray]:
        blocks = self.backward_blocks() if backward else self.forward_blocks()
        active = [(name, c, k) for name, (c, k) in blocks.items() if getattr(weights, name) > 0 and c.shape[1]]
        total = sum(getattr(weights, name) for name, _, _ in active)
        if not active or total <= 0:
            m, n = len(self.companies), len(self.creatives)
            return np.zeros((m, 1), np.float32), np.zeros((n, 1), np.float32)
        left = np.hstack([c * np.float32(getattr(weights, name) / total) for name, c, _ in active])
        right = np.hstack([k for _, _, k in active])
        return np.ascontiguousarray(left, dtype=np.float32), np.ascontiguousarray(right, dtype=np.float32)


def dimension_budget(m: int, n: int, budget: float, floor: int, cap: int) -> int:
    """Dimensions a signal may use for m × n pairs: everything at event scale,
    shrinking with the number of pairs down to `floor` (10k × 10k)."""
    return int(min(cap, max(floor, budget // max(1, m * n))))


def lexical_budget(m: int, n: int, floor: int = 96) -> int:
    """Shared n-gram columns kept: all of them up to ~1k × 1k, `floor` at 10k × 10k."""
    return dimension_budget(m, n, 4e9, floor, 20_000)


def project_jointly(left: np.ndarray, right: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of both matrices projected on the top `dims` right singular
    vectors of their union.  Inner products are unchanged when the union's
    rank is ≤ dims (every cohort up to `dims` people) and otherwise best
    preserved in the least-squares sense."""
    if dims >= left.shape[1] or len(left) + len(right) <= dims:
        return left, right
    gram = left.T.astype(np.float64) @ left + right.T.astype(np.float64) @ right
    _, vectors = np.linalg.eigh(gram)
    basis = np.ascontiguousarray(vectors[:, -dims:][:, ::-1], dtype=np.float32)
    return left @ basis, right @ basis


def build_features(
    companies: list[Participant],
    creatives: list[Participant],
    weights: ScoringWeights,
    embed=None,
) -> CohortFeatures:
    """Vectors for every participant.  `embed(queries, passages) -> (Q, P)`
    returns L2-normalised rows (zero rows for empty texts): companies'
    challenges are the queries, every other text (skills, wishes, trades) a
    passage.  None skips the dense signal."""
    m, n = len(companies), len(creatives)
    c_seeks = [p.seeks for p in companies]
    c_offers = [p.offers for p in companies]
    c_sector = [p.sector for p in companies]
    c_trade = [p.trade for p in companies]
    k_offers = [p.offers for p in creatives]
    k_seeks = [p.seeks for p in creatives]
    has_seeks_c = np.array([bool(t.strip()) for t in c_seeks], dtype=bool)
    has_trade_c = np.array([bool(t.strip()) for t in c_trade], dtype=bool)
    has_wish_k = np.array([bool(t.strip()) for t in k_seeks], dtype=bool)
    alpha = np.float32(weights.trade_context)

    # dense -----------------------------------------------------------------
    if embed is not None and weights.dense > 0:
        e_c_seeks, vectors = embed(c_seeks, c_offers + c_sector + k_offers + k_seeks)
        e_c_offers, e_c_sector = vectors[:m], vectors[m:2 * m]
        e_k_offers, e_k_seeks = vectors[2 * m:2 * m + n], vectors[2 * m + n:]
        e_trade = _normalise(e_c_offers + e_c_sector)
        dense_c = _normalise(e_c_seeks + alpha * e_trade)
        dense_k = np.ascontiguousarray(e_k_offers)
        # the backward (wish) signal is secondary: at very large scale it is
        # scored in the cohort's own top singular directions
        dims = dimension_budget(m, n, 6.4e9, 64, e_trade.shape[1])
        b_dense_c, b_dense_k = project_jointly(e_trade, np.ascontiguousarray(e_k_seeks), dims)
    else:
        dense_c = np.zeros((m, 0), np.float32)
        dense_k = np.zeros((n, 0), np.float32)
        b_dense_c, b_dense_k = dense_c, dense_k

    # lexical ----------------------------------------------------------------
    if weights.lexical > 0:
        space = TfidfSpace(c_seeks + c_trade + k_offers + k_seeks)
        w_seeks, w_trade = space.transform(c_seeks), space.transform(c_trade)
        query = w_seeks + w_trade * float(alpha)
        norms = np.sqrt(np.asarray(query.multiply(query).sum(axis=1)).ravel())
        query = query.multiply(1.0 / np.where(norms > 0, norms, 1.0)[:, None]).tocsr()
        w_k_offers, w_k_seeks = space.transform(k_offers), space.transform(k_seeks)
        budget = lexical_budget(m, n)
        cols = shared_columns(query, w_k_offers, budget)
        lex_c, lex_k = dense_columns(query, cols), dense_columns(w_k_offers, cols)
        cols_b = shared_columns(w_trade, w_k_seeks, lexical_budget(m, n, floor=32))
        b_lex_c, b_lex_k = dense_columns(w_trade, cols_b), dense_columns(w_k_seeks, cols_b)
    else:
        lex_c = b_lex_c = np.zeros((m, 0), np.float32)
        lex_k = b_lex_k = np.zeros((n, 0), np.float32)

    # taxonomy ----------------------------------------------------------------
    types, discs, sectors = challenge_lexicon(), discipline_lexicon(), sector_lexicon()
    n_types, n_discs, n_sectors = len(taxonomy.CHALLENGE_TYPES), len(discs.codes), len(sectors.codes)
    h_c_seeks = [types.extract(t) for t in c_seeks]
    h_c_trade = [types.extract(t) for t in c_trade]
    h_k_offers = [types.extract(t) for t in k_offers]
    h_k_seeks = [types.extract(t) for t in k_seeks]
    raw_c = _type_matrix(h_c_seeks, n_types, COMPANY_NEED, COMPANY_SKILL)
    raw_k = _type_matrix(h_k_offers, n_types, CREATIVE_NEED, CREATIVE_SKILL)
    tax_c = _saturate(raw_c.copy())
    tax_k = _saturate(raw_k.copy())
    b_tax_c = tax_c
    b_tax_k = _saturate(_type_matrix(h_k_seeks, n_types, 1.0, 1.0))

    # disciplines ------------------------------------------------------------
    type_to_disc = _type_discipline_matrix()
    d_c_seeks = [discs.extract(t) for t in c_seeks]
    d_k_offers = [discs.extract(t) for t in k_offers]
    confidence_c = np.minimum(np.linalg.norm(raw_c, axis=1, keepdims=True), 1.0)
    disc_c = _normalise(raw_c @ type_to_disc) * confidence_c
    disc_c = _saturate(disc_c + np.float32(0.5) * _saturate(_concept_matrix(d_c_seeks, n_discs)))
    stated = np.zeros((n, n_discs), dtype=np.float32)
    codes = list(taxonomy.DISCIPLINES)
    for row, p in enumerate(creatives):
        for code in p.disciplines:
            if code in taxonomy.DISCIPLINES:
                stated[row, codes.index(code)] = 1.0
    inferred = _saturate(_concept_matrix(d_k_offers, n_discs))
    confidence_k = np.minimum(np.linalg.norm(raw_k, axis=1, keepdims=True), 1.0)
    via_types = _normalise(raw_k @ type_to_disc) * confidence_k
    disc_k = _saturate(_normalise(stated) + np.float32(0.5) * inferred + np.float32(0.3) * via_types)

    # sectors ------------------------------------------------------------------
    s_c_trade = [sectors.extract(t) for t in c_trade]
    s_c_seeks = [sectors.extract(t) for t in c_seeks]
    s_k_offers = [sectors.extract(t) for t in k_offers]
    s_k_seeks = [sectors.extract(t) for t in k_seeks]
    sector_c = _saturate(_concept_matrix(s_c_trade, n_sectors) + np.float32(0.5) * _concept_matrix(s_c_seeks, n_sectors))
    sector_k = _saturate(_concept_matrix(s_k_offers, n_sectors))
    b_sector_k = _saturate(_concept_matrix(s_k_seeks, n_sectors))

    # languages ----------------------------------------------------------------
    all_langs = sorted({lang for p in companies + creatives for lang in p.working_languages})
    bit = {lang: 1 << i for i, lang in enumerate(all_langs[:62])}

    def mask(p: Participant) -> int:
        return sum(bit.get(lang, 1 << 62) for lang in p.working_languages)

    hits = {
        "c_seeks": dict(zip([p.id for p in companies], h_c_seeks)),
        "c_trade": dict(zip([p.id for p in companies], h_c_trade)),
        "k_offers": dict(zip([p.id for p in creatives], h_k_offers)),
        "k_seeks": dict(zip([p.id for p in creatives], h_k_seeks)),
        "d_k_offers": dict(zip([p.id for p in creatives], d_k_offers)),
        "d_c_seeks": dict(zip([p.id for p in companies], d_c_seeks)),
        "s_c_trade": dict(zip([p.id for p in companies], s_c_trade)),
        "s_k_offers": dict(zip([p.id for p in creatives], s_k_offers)),
        "s_k_seeks": dict(zip([p.id for p in creatives], s_k_seeks)),
    }
    del has_seeks_c
    return CohortFeatures(
        companies=companies,
        creatives=creatives,
        dense_c=dense_c, dense_k=dense_k,
        lex_c=lex_c, lex_k=lex_k,
        tax_c=tax_c, tax_k=tax_k,
        disc_c=disc_c, disc_k=disc_k,
        sector_c=sector_c, sector_k=sector_k,
        b_dense_c=b_dense_c, b_dense_k=b_dense_k,
        b_lex_c=b_lex_c, b_lex_k=b_lex_k,
        b_tax_c=b_tax_c, b_tax_k=b_tax_k,
        b_sector_c=sector_c, b_sector_k=b_sector_k,
        has_backward_c=has_trade_c,
        has_backward_k=has_wish_k,
        lang_mask_c=np.array([mask(p) for p in companies], dtype=np.int64),
        lang_mask_k=np.array([mask(p) for p in creatives], dtype=np.int64),
        lang_stated_c=np.array([p.languages_stated for p in companies], dtype=bool),
        lang_stated_k=np.array([p.languages_stated for p in creatives], dtype=bool),
        hits=hits,
    )


def _runs(groups: np.ndarray) -> list[tuple[int, int, int]]:
    """Maximal runs of equal values: (start, end, value)."""
    if len(groups) == 0:
        return []
    cut = np.flatnonzero(groups[1:] != groups[:-1]) + 1
    starts = np.concatenate(([0], cut))
    ends = np.concatenate((cut, [len(groups)]))
    return [(int(a), int(b), int(groups[a])) for a, b in zip(starts, ends)]


@lru_cache(maxsize=1024)
def _language_key(languages: frozenset[str]) -> tuple[str, ...]:
    return tuple(sorted(languages))


def side_group_keys(participants: Sequence[Participant], backward: Sequence[bool]) -> list[tuple]:
    """Sort key prefix that makes participants with the same backward
    availability and working languages contiguous (see PairScorer)."""
    return [(not b, _language_key(p.working_languages), p.languages_stated) for p, b in zip(participants, backward)]


def side_groups(participants: Sequence[Participant], backward: Sequence[bool]) -> tuple[np.ndarray, list[tuple]]:
    """Each participant's group index, and the distinct group keys in order
    (`side_group_keys`): the scorers decide language rules per pair of groups."""
    keys = side_group_keys(participants, backward)
    distinct = list(dict.fromkeys(keys))
    index = {k: i for i, k in enumerate(distinct)}
    return np.array([index[k] for k in keys], dtype=np.int64), distinct


def thread_buffer(local: threading.local, name: str, shape: tuple[int, int]) -> np.ndarray:
    """A per-thread float32 scratch array of `shape`, grown when needed and reused."""
    size = shape[0] * shape[1]
    buf = getattr(local, name, None)
    if buf is None or buf.size < size:
        buf = np.empty(size, dtype=np.float32)
        setattr(local, name, buf)
    return buf[:size].reshape(shape)


class PairScorer:
    """Scores blocks of (companies × creatives) from prepared features.

    Returned blocks hold score + ε (the reported score is value − ε; ranking
    is unaffected).  The weights and the harmonic-mean constants are folded
    into the stacked vectors: with u = (1+r)(f+ε) and v = (1+r)/r·(b+ε),
    H + ε = u·v / (u + v), and a pair without backward texts gets v = u/r,
    which yields exactly f + ε.  Participants are expected in the order of
    `side_group_keys`, so per-group corrections (no wish, language mismatch)
    are slice operations.
    """

    quantised = False  # scores are sums of float products (see FusedScorer)

    def __init__(self, features: CohortFeatures, weights: ScoringWeights) -> None:
        self.features = features
        self.weights = weights
        eps = np.float32(weights.smoothing)
        r = float(weights.reciprocal)
        self.reciprocal = r > 0 and bool(features.has_backward_c.any() and features.has_backward_k.any())
        self.r = r
        scale_f = np.float32(1.0 + r) if self.reciprocal else np.float32(1.0)
        fwd_c, fwd_k = features.stacked(weights, backward=False)
        self.fwd_c = np.hstack([fwd_c * scale_f, np.full((len(fwd_c), 1), eps * scale_f, np.float32)])
        self.fwd_k = np.hstack([fwd_k, np.ones((len(fwd_k), 1), np.float32)])
        if self.reciprocal:
            scale_b = np.float32((1.0 + r) / r)
            bwd_c, bwd_k = features.stacked(weights, backward=True)
            self.bwd_c = np.hstack([bwd_c * scale_b, np.full((len(bwd_c), 1), eps * scale_b, np.float32)])
            self.bwd_k = np.hstack([bwd_k, np.ones((len(bwd_k), 1), np.float32)])
        self.epsilon = float(eps)
        self._groups(features)
        self._local = threading.local()

    def _groups(self, features: CohortFeatures) -> None:
        self.group_c, keys_c = side_groups(features.companies, features.has_backward_c)
        self.group_k, keys_k = side_groups(features.creatives, features.has_backward_k)
        self.backward_c = np.array([not k[0] for k in keys_c], dtype=bool)
        self.backward_k = np.array([not k[0] for k in keys_k], dtype=bool)
        penalty = np.zeros((len(keys_c), len(keys_k)), dtype=np.float32)
        for a, (_, langs_a, stated_a) in enumerate(keys_c):
            for b, (_, langs_b, stated_b) in enumerate(keys_k):
                if not set(langs_a) & set(langs_b):
                    penalty[a, b] = EXCLUDED if (stated_a and stated_b) else -self.weights.language_mismatch
        self.penalty = penalty

    def _buffer(self, name: str, shape: tuple[int, int]) -> np.ndarray:
        return thread_buffer(self._local, name, shape)

    def block(
        self,
        rows: np.ndarray | slice,
        cols: np.ndarray | slice,
        *,
        reuse: bool = False,
        extra: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> np.ndarray:
        """score + ε of companies[rows] × creatives[cols]; −inf where
        constraints forbid the pair.  With `reuse` the result lives in a
        per-thread buffer, valid until this thread's next call.  `extra`
        (left, right) adds left[rows] · right[cols]ᵀ (learned feedback)."""
        left, right = self.fwd_c[rows], self.fwd_k[cols]
        shape = (left.shape[0], right.shape[0])
        u = np.matmul(left, right.T, out=self._buffer("u", shape)) if reuse else left @ right.T
        row_runs = _runs(self.group_c[rows])
        col_runs = _runs(self.group_k[cols])
        if self.reciprocal:
            self._harmonic(u, rows, cols, row_runs, col_runs)
        for a, b, gc in row_runs:
            for c, d, gk in col_runs:
                p = self.penalty[gc, gk]
                if p:
                    u[a:b, c:d] += p
        if extra is not None:
            e_left, e_right = extra[0][rows], extra[1][cols]
            buf = self._buffer("den", shape) if reuse else None  # free again after _harmonic
            u += np.matmul(e_left, e_right.T, out=buf)
        return u

    def _harmonic(self, u, rows, cols, row_runs, col_runs) -> None:
        rows_with = [(a, b) for a, b, g in row_runs if self.backward_c[g]]
        cols_with = [(a, b) for a, b, g in col_runs if self.backward_k[g]]
        if not rows_with or not cols_with:
            u *= np.float32(1.0 / (1.0 + self.r))
            return
        left, right = self.bwd_c[rows], self.bwd_k[cols]
        v = np.matmul(left, right.T, out=self._buffer("v", u.shape))
        inv_r = np.float32(1.0 / self.r)
        for a, b, g in col_runs:
            if not self.backward_k[g]:
                np.multiply(u[:, a:b], inv_r, out=v[:, a:b])
        for a, b, g in row_runs:
            if not self.backward_c[g]:
                np.multiply(u[a:b], inv_r, out=v[a:b])
        tiny = np.float32(1e-6)
        np.maximum(u, tiny, out=u)
        np.maximum(v, tiny, out=v)
        den = np.add(u, v, out=self._buffer("den", u.shape))
        u *= v
        u /= den

    def signals(
        self, pairs: Iterable[tuple[int, int]], extra: tuple[np.ndarray, np.ndarray] | None = None
    ) -> list[dict[str, float]]:
        """Every signal of each (company index, creative index) pair, unweighted,
        and the final score (with `extra`, also its "feedback" term)."""
        out = []
        fwd, bwd = self.features.forward_blocks(), self.features.backward_blocks()
        for i, j in pairs:
            row = {name: float(c[i] @ k[j]) if c.shape[1] else 0.0 for name, (c, k) in fwd.items()}
            has_b = bool(self.features.has_backward_c[i] and self.features.has_backward_k[j])
            for name, (c, k) in bwd.items():
                row[f"backward_{name}"] = float(c[i] @ k[j]) if has_b and c.shape[1] else 0.0
            if extra is not None:
                row["feedback"] = float(extra[0][i] @ extra[1][j])
            row["score"] = float(self.block(np.array([i]), np.array([j]), extra=extra)[0, 0]) - self.epsilon
            out.append(row)
        return out


# -- top-k with deterministic ties ---------------------------------------------

# Row top-k looks at the maxima of groups of GROUP columns first: the k
# groups with the largest maxima hold every value ≥ the k-th of those maxima,
# and that is a lower bound of the row's k-th best value (k distinct groups,
# each with an element at least as large).  So the exact top-k is found among
# k · GROUP candidates instead of n, after one cheap reduction pass.
GROUP = 128


def _select(values: np.ndarray, k: int, ranks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions (r × k) of the k best per row of `values` (r × m, k ≤ m), best
    first, equal values by `ranks` (r × m), and the rows where equal values
    straddle the cut (to be decided exactly by the caller)."""
    r, m = values.shape
    if k < m:
        part = np.argpartition(values, m - k, axis=1)[:, m - k:]
        vals = np.take_along_axis(values, part, axis=1)
        kth = vals.min(axis=1)
        ties = np.flatnonzero(np.count_nonzero(values >= kth[:, None], axis=1) > k)
    else:
        part = np.broadcast_to(np.arange(m), (r, m))
        vals = values
        ties = np.zeros(0, dtype=np.int64)
    order = np.lexsort((np.take_along_axis(ranks, part, axis=1), -vals), axis=1)
    return np.take_along_axis(part, order, axis=1), ties


def _top_k_direct(scores: np.ndarray, k: int, rank: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`top_k_matrix` by a partition of every whole row."""
    r, n = scores.shape
    pick, ties = _select(scores, k, np.broadcast_to(rank, (r, n)))
    vals = np.take_along_axis(scores, pick, axis=1)
    for row in ties.tolist():  # equal values straddle the cut: decide by id order
        values = scores[row]
        kth = np.partition(values, n - k)[n - k]
        cand = np.flatnonzero(values >= kth)
        pick[row] = cand[np.lexsort((rank[cand], -values[cand]))][:k]
        vals[row] = values[pick[row]]
    return pick, vals


def top_k_matrix(scores: np.ndarray, k: int, rank: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row the k best (k = min(k, columns)): (column indices, values),
    both rows × k, best first; equal values ordered by `rank` (id order).
    Entries ≤ −1000 (forbidden pairs, −inf) are no candidates: callers drop
    them (`rows_of`)."""
    r, n = scores.shape
    k = min(k, n)
    if k <= 0 or r == 0:
        return np.zeros((r, 0), dtype=np.int64), np.zeros((r, 0), dtype=scores.dtype)
    if k * GROUP * 4 > n:  # few columns: directly
        return _top_k_direct(scores, k, rank)
    starts = np.arange(0, n, GROUP)
    maxima = np.maximum.reduceat(scores, starts, axis=1)  # r × groups
    g = len(starts)
    groups = np.argpartition(maxima, g - k, axis=1)[:, g - k:]
    bound = np.take_along_axis(maxima, groups, axis=1).min(axis=1)
    # more than k groups reach the bound (equal maxima): those rows directly
    crowded = np.count_nonzero(maxima >= bound[:, None], axis=1) > k
    cols = (groups[:, :, None] * GROUP + np.arange(GROUP)).reshape(r, k * GROUP)
    outside = cols >= n  # the last group is shorter
    cols = np.minimum(cols, n - 1)
    values = np.take_along_axis(scores, cols, axis=1)
    ranks = rank[cols]
    if outside.any():
        values[outside] = -np.inf
        ranks[outside] = np.iinfo(np.int64).max
    pick, ties = _select(values, k, ranks)
    picked = np.take_along_axis(cols, pick, axis=1)
    picked_vals = np.take_along_axis(values, pick, axis=1)
    crowded[ties] = True
    if crowded.any():
        redo = np.flatnonzero(crowded)
        picked[redo], picked_vals[redo] = _top_k_direct(scores[redo], k, rank)
    return picked, picked_vals


def rows_of(index: np.ndarray, values: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per row of a top-k matrix: (indices, values) without the forbidden entries."""
    keep = values > HARD
    if keep.all():
        return list(zip(index, values))
    return [(i[kept], v[kept]) for i, v, kept in zip(index, values, keep)]


ROW_GROUP = 32


def _group_maxima(scores: np.ndarray) -> np.ndarray:
    """Column maxima of each ROW_GROUP consecutive rows (the last group may be
    shorter); a reshape of the full groups, much faster than reduceat on axis 0."""
    r, n = scores.shape
    full = r // ROW_GROUP
    parts = [scores[:full * ROW_GROUP].reshape(full, ROW_GROUP, n).max(axis=1)] if full else []
    if r > full * ROW_GROUP:
        parts.append(scores[full * ROW_GROUP:].max(axis=0, keepdims=True))
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def column_candidates(
    scores: np.ndarray, k: int, row_index: np.ndarray, threshold: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entries of a chunk that may enter the per-column top-k, as
    (columns, global rows, values): those ≥ a lower bound of the column's
    k-th best value — `threshold` (each column's k-th best so far, only
    growing), or without it the k-th largest of the column's maxima over
    groups of ROW_GROUP rows (k distinct rows reach it).  Only the groups whose
    maximum reaches the bound are looked at, after one reduction pass."""
    r, n = scores.shape
    starts = np.arange(0, r, ROW_GROUP)
    maxima = _group_maxima(scores)  # groups × n
    if threshold is not None:
        bound = threshold
    elif len(starts) >= k:
        bound = np.partition(maxima, len(starts) - k, axis=0)[len(starts) - k]
    else:
        bound = np.full(n, -np.inf, dtype=scores.dtype)
    bound = np.maximum(bound, np.float32(HARD))  # a forbidden pair never enters
    group, cols = np.nonzero(maxima >= bound[None, :])
    rows = (starts[group][:, None] + np.arange(ROW_GROUP)).ravel()
    cols = np.repeat(cols, ROW_GROUP)
    inside = rows < r  # the last group may be shorter
    rows, cols = rows[inside], cols[inside]
    values = scores[rows, cols]
    keep = (values >= bound[cols]) & (values > HARD)
    return cols[keep], row_index[rows[keep]], values[keep]


class ColumnTopK:
    """Running top-k per column, merged from chunk candidates in a fixed order
    (values desc, then row rank asc)."""

    def __init__(self, n_cols: int, k: int, row_rank: np.ndarray) -> None:
        self.k = k
        self.row_rank = row_rank
        self.values = np.full((k, n_cols), -np.inf, dtype=np.float32)
        self.index = np.full((k, n_cols), -1, dtype=np.int64)
        self.threshold = self.values[k - 1].copy() if k else np.zeros(n_cols, np.float32)
        self.merged = False

    @property
    def bound(self) -> np.ndarray | None:
        """The lower bound for `column_candidates`: the k-th best so far, or
        None before anything was merged (the chunk then finds its own)."""
        return self.threshold if self.merged else None

    def merge(self, cols: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
        self.merged = True
        if len(cols) == 0:
            return
        touched = np.unique(cols)
        held = self.index[:, touched] >= 0
        old_cols = np.broadcast_to(touched, held.shape)[held]
        all_cols = np.concatenate([old_cols, cols])
        all_rows = np.concatenate([self.index[:, touched][held], rows])
        all_vals = np.concatenate([self.values[:, touched][held], values.astype(np.float32)])
        order = np.lexsort((self.row_rank[all_rows], -all_vals, all_cols))
        all_cols, all_rows, all_vals = all_cols[order], all_rows[order], all_vals[order]
        starts = np.flatnonzero(np.concatenate(([True], all_cols[1:] != all_cols[:-1])))
        position = np.arange(len(all_cols)) - np.repeat(starts, np.diff(np.concatenate((starts, [len(all_cols)]))))
        keep = position < self.k
        self.values[:, touched] = -np.inf
        self.index[:, touched] = -1
        self.values[position[keep], all_cols[keep]] = all_vals[keep]
        self.index[position[keep], all_cols[keep]] = all_rows[keep]
        self.threshold = self.values[self.k - 1].copy()

    def merge_top(self, other: "ColumnTopK") -> None:
        """Merge another running top-k over different rows (a chunk's)."""
        self.merged = True
        values = np.concatenate([self.values, other.values])
        index = np.concatenate([self.index, other.index])
        ranks = self.row_rank[index]
        ranks[index < 0] = np.iinfo(np.int64).max  # empty places: last
        order = np.lexsort((ranks, -values), axis=0)[: self.k]
        self.values = np.take_along_axis(values, order, axis=0)
        self.index = np.take_along_axis(index, order, axis=0)
        self.threshold = self.values[self.k - 1].copy()

    def result(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per column: (row indices, values), best first."""
        return rows_of(*self.matrix())

    def matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """Columns × k: (row indices, values), best first; empty places −inf."""
        return self.index.T, self.values.T
