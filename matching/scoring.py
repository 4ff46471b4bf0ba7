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
all creatives is a handful of matrix products; top-k per row and per column
is taken with argpartition, ties broken by participant id.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Iterable, Mapping, Sequence

import numpy as np

from matching import taxonomy
from matching.concepts import ConceptHits, challenge_lexicon, discipline_lexicon, sector_lexicon
from matching.domain import Participant
from matching.lexical import TfidfSpace, dense_columns, shared_columns

SIGNALS = ("dense", "lexical", "taxonomy", "discipline", "sector")
EXCLUDED = -np.inf
# scores below this are constraint violations, never suggested
_HARD = -1e3


@dataclass(frozen=True)
class ScoringWeights:
    """Per-signal weights (the forward and backward scores are weighted means).

    Later issues learn these from feedback; `from_mapping` accepts a partial
    dict, unknown keys are rejected.
    """

    dense: float = 1.0
    lexical: float = 0.5
    taxonomy: float = 1.0
    discipline: float = 0.5
    sector: float = 0.2
    reciprocal: float = 0.5  # weight of the creative's wish (backward) vs the challenge (forward); 0 = off
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


def _concept_matrix(hits: Sequence[ConceptHits], size: int) -> np.ndarray:
    out = np.zeros((len(hits), size), dtype=np.float32)
    for row, h in enumerate(hits):
        for concept, weight in h.weights.items():
            out[row, concept] = weight
    return out


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


def lexical_budget(m: int, n: int) -> int:
    """How many shared n-gram columns to keep: all of them at event scale,
    at least 96 for 10k × 10k (≈ 10% of the matrix-product time)."""
    return int(min(20_000, max(96, 4e9 // max(1, m * n))))


def build_features(
    companies: list[Participant],
    creatives: list[Participant],
    weights: ScoringWeights,
    embed=None,
) -> CohortFeatures:
    """Vectors for every participant.  `embed(texts) -> np.ndarray` returns
    L2-normalised rows (zero rows for empty texts); None skips the dense signal."""
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
        vectors = embed(c_seeks + c_offers + c_sector + k_offers + k_seeks)
        e_c_seeks, e_c_offers, e_c_sector = vectors[:m], vectors[m:2 * m], vectors[2 * m:3 * m]
        e_k_offers, e_k_seeks = vectors[3 * m:3 * m + n], vectors[3 * m + n:]
        e_trade = _normalise(e_c_offers + e_c_sector)
        dense_c = _normalise(e_c_seeks + alpha * e_trade)
        dense_k = np.ascontiguousarray(e_k_offers)
        b_dense_c, b_dense_k = e_trade, np.ascontiguousarray(e_k_seeks)
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
        cols_b = shared_columns(w_trade, w_k_seeks, budget)
        b_lex_c, b_lex_k = dense_columns(w_trade, cols_b), dense_columns(w_k_seeks, cols_b)
    else:
        lex_c = b_lex_c = np.zeros((m, 0), np.float32)
        lex_k = b_lex_k = np.zeros((n, 0), np.float32)

    # taxonomy ----------------------------------------------------------------
    types, discs, sectors = challenge_lexicon(), discipline_lexicon(), sector_lexicon()
    n_types, n_discs, n_sectors = len(types.codes), len(discs.codes), len(sectors.codes)
    h_c_seeks = [types.extract(t) for t in c_seeks]
    h_c_trade = [types.extract(t) for t in c_trade]
    h_k_offers = [types.extract(t) for t in k_offers]
    h_k_seeks = [types.extract(t) for t in k_seeks]
    tax_c = _normalise(_concept_matrix(h_c_seeks, n_types))
    tax_k = _normalise(_concept_matrix(h_k_offers, n_types))
    b_tax_c = tax_c
    b_tax_k = _normalise(_concept_matrix(h_k_seeks, n_types))

    # disciplines ------------------------------------------------------------
    type_to_disc = _type_discipline_matrix()
    d_c_seeks = [discs.extract(t) for t in c_seeks]
    d_k_offers = [discs.extract(t) for t in k_offers]
    disc_c = _normalise(tax_c @ type_to_disc) + np.float32(0.5) * _normalise(_concept_matrix(d_c_seeks, n_discs))
    disc_c = _normalise(disc_c)
    stated = np.zeros((n, n_discs), dtype=np.float32)
    codes = list(taxonomy.DISCIPLINES)
    for row, p in enumerate(creatives):
        for code in p.disciplines:
            if code in taxonomy.DISCIPLINES:
                stated[row, codes.index(code)] = 1.0
    inferred = _normalise(_concept_matrix(d_k_offers, n_discs))
    via_types = _normalise(tax_k @ type_to_disc)
    disc_k = _normalise(_normalise(stated) + np.float32(0.5) * inferred + np.float32(0.3) * via_types)

    # sectors ------------------------------------------------------------------
    s_c_trade = [sectors.extract(t) for t in c_trade]
    s_c_seeks = [sectors.extract(t) for t in c_seeks]
    s_k_offers = [sectors.extract(t) for t in k_offers]
    s_k_seeks = [sectors.extract(t) for t in k_seeks]
    sector_c = _normalise(_concept_matrix(s_c_trade, n_sectors) + np.float32(0.5) * _concept_matrix(s_c_seeks, n_sectors))
    sector_k = _normalise(_concept_matrix(s_k_offers, n_sectors))
    b_sector_k = _normalise(_concept_matrix(s_k_seeks, n_sectors))

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


class PairScorer:
    """Scores blocks of (companies × creatives) from prepared features."""

    def __init__(self, features: CohortFeatures, weights: ScoringWeights) -> None:
        self.features = features
        self.weights = weights
        self.fwd_c, self.fwd_k = features.stacked(weights, backward=False)
        self.reciprocal = weights.reciprocal > 0 and bool(features.has_backward_c.any() and features.has_backward_k.any())
        if self.reciprocal:
            self.bwd_c, self.bwd_k = features.stacked(weights, backward=True)
        masks_c, masks_k = features.lang_mask_c, features.lang_mask_k
        self.check_language = len(np.unique(np.concatenate([masks_c, masks_k]))) > 1 or bool(
            (masks_c == 0).any() or (masks_k == 0).any()
        )

    def block(self, rows: np.ndarray | slice, cols: np.ndarray | slice) -> np.ndarray:
        """Scores of companies[rows] × creatives[cols], constraint violations −inf."""
        f = self.fwd_c[rows] @ self.fwd_k[cols].T
        if self.reciprocal:
            has_c = self.features.has_backward_c[rows]
            has_k = self.features.has_backward_k[cols]
            if has_c.any() and has_k.any():
                f = self._harmonic(f, self.bwd_c[rows] @ self.bwd_k[cols].T, has_c, has_k)
        if self.check_language:
            self._languages(f, rows, cols)
        return f

    def _harmonic(self, f: np.ndarray, b: np.ndarray, has_c: np.ndarray, has_k: np.ndarray) -> np.ndarray:
        eps = np.float32(self.weights.smoothing)
        r = np.float32(self.weights.reciprocal)
        tiny = np.float32(1e-6)
        # where one side has no backward text, b := f so that H(f, f) = f
        if not has_k.all():
            b[:, ~has_k] = f[:, ~has_k]
        if not has_c.all():
            b[~has_c, :] = f[~has_c, :]
        fe = f + eps
        np.maximum(fe, tiny, out=fe)
        b += eps
        np.maximum(b, tiny, out=b)
        # H + ε = (1 + r) f' b' / (b' + r f')
        den = np.multiply(fe, r)
        den += b
        fe *= b
        fe *= np.float32(1.0 + r)
        fe /= den
        fe -= eps
        return fe

    def _languages(self, s: np.ndarray, rows, cols) -> None:
        feats = self.features
        mc, mk = feats.lang_mask_c[rows], feats.lang_mask_k[cols]
        disjoint = (mc[:, None] & mk[None, :]) == 0
        if not disjoint.any():
            return
        s[disjoint] -= np.float32(self.weights.language_mismatch)
        stated = feats.lang_stated_c[rows][:, None] & feats.lang_stated_k[cols][None, :]
        s[disjoint & stated] = EXCLUDED

    def signals(self, pairs: Iterable[tuple[int, int]]) -> list[dict[str, float]]:
        """Every signal of each (company index, creative index) pair, unweighted."""
        out = []
        fwd, bwd = self.features.forward_blocks(), self.features.backward_blocks()
        for i, j in pairs:
            row = {name: float(c[i] @ k[j]) if c.shape[1] else 0.0 for name, (c, k) in fwd.items()}
            has_b = bool(self.features.has_backward_c[i] and self.features.has_backward_k[j])
            for name, (c, k) in bwd.items():
                row[f"backward_{name}"] = float(c[i] @ k[j]) if has_b and c.shape[1] else 0.0
            row["score"] = float(self.block(np.array([i]), np.array([j]))[0, 0])
            out.append(row)
        return out


# -- top-k with deterministic ties ---------------------------------------------


def _order(values: np.ndarray, candidates: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """candidates sorted by value desc, then by rank (id order) asc."""
    return candidates[np.lexsort((rank[candidates], -values[candidates]))]


def top_k_rows(scores: np.ndarray, k: int, rank: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per row: (column indices, scores) of the k best, ties by rank."""
    r, n = scores.shape
    k = min(k, n)
    out: list[np.ndarray] = []
    if k <= 0:
        return [(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=scores.dtype)) for _ in range(r)]
    if k < n:
        part = np.argpartition(scores, n - k, axis=1)[:, n - k:]
    else:
        part = np.broadcast_to(np.arange(n), (r, n))
    kth = np.take_along_axis(scores, part, axis=1).min(axis=1)
    ties = (scores >= kth[:, None]).sum(axis=1) > k
    for row in range(r):
        values = scores[row]
        cand = np.flatnonzero(values >= kth[row]) if ties[row] else part[row]
        chosen = _order(values, cand, rank)[:k]
        chosen = chosen[values[chosen] > _HARD]
        out.append((chosen, values[chosen]))
    return out


class ColumnTopK:
    """Running top-k per column over row chunks, ties by row rank."""

    def __init__(self, n_cols: int, k: int, row_rank: np.ndarray) -> None:
        self.k = k
        self.row_rank = row_rank
        self.values = np.full((0, n_cols), -np.inf, dtype=np.float32)
        self.index = np.zeros((0, n_cols), dtype=np.int64)

    def update(self, scores: np.ndarray, row_offset_or_index) -> None:
        """Merge a chunk (rows × all tracked columns); rows are given as an
        offset into the full row range or as an index array."""
        r, n = scores.shape
        rows = (
            np.arange(row_offset_or_index, row_offset_or_index + r)
            if isinstance(row_offset_or_index, (int, np.integer))
            else np.asarray(row_offset_or_index)
        )
        k = min(self.k, r)
        if k < r:
            part = np.argpartition(scores, r - k, axis=0)[r - k:]
            vals = np.take_along_axis(scores, part, axis=0)
            kth = vals.min(axis=0)
            ties = np.flatnonzero((scores >= kth[None, :]).sum(axis=0) > k)
            for col in ties:  # boundary ties: pick by id order
                cand = np.flatnonzero(scores[:, col] >= kth[col])
                chosen = cand[np.lexsort((self.row_rank[rows[cand]], -scores[cand, col]))][:k]
                part[:, col] = chosen
                vals[:, col] = scores[chosen, col]
        else:
            part = np.broadcast_to(np.arange(r)[:, None], (r, n))
            vals = scores
        values = np.vstack([self.values, vals])
        index = np.vstack([self.index, rows[part]])
        order = np.lexsort((self.row_rank[index], -values), axis=0)[: self.k]
        self.values = np.take_along_axis(values, order, axis=0)
        self.index = np.take_along_axis(index, order, axis=0)

    def result(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per column: (row indices, scores), best first."""
        out = []
        for col in range(self.values.shape[1]):
            keep = self.values[:, col] > _HARD
            out.append((self.index[keep, col], self.values[keep, col]))
        return out
