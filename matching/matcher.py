"""`Matcher.suggest`: the best counterparts for everyone, with reasons."""
from __future__ import annotations

import gc
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Collection, Iterable, Mapping, Sequence

import numpy as np

from matching.cache import AbstractEmbeddingCache
from matching.domain import LazyReasons, Participant, Suggestion
from matching.encoder import CachedEncoder
from matching.encoders import Encoder, encoder_for
from matching.explain import explain_pair
from matching.fusion import DEFAULT_RANKING, RANKINGS, FusedScorer, FusionWeights
from matching.scoring import (
    ColumnTopK,
    CohortFeatures,
    PairScorer,
    ScoringWeights,
    HARD,
    build_features,
    column_candidates,
    side_group_keys,
    top_k_matrix,
)


if TYPE_CHECKING:  # pragma: no cover
    from matching.learning import BoundFeedback, FeedbackModel


def _ordered(people: list[Participant], has_backward) -> list[Participant]:
    """Id order within groups of equal backward availability and languages
    (PairScorer relies on the groups being contiguous)."""
    flags = [has_backward(p) for p in people]
    keys = side_group_keys(people, flags)
    return [p for _, p in sorted(zip(keys, people), key=lambda kp: (kp[0], kp[1].id))]


@dataclass
class PreparedCohort:
    """Features and scorer of one cohort, plus id ranks for tie-breaking."""

    features: CohortFeatures
    scorer: "PairScorer | FusedScorer"
    company_rank: np.ndarray = field(init=False)
    creative_rank: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.company_rank = _id_rank(self.features.companies)
        self.creative_rank = _id_rank(self.features.creatives)


def _id_rank(people: list[Participant]) -> np.ndarray:
    rank = np.empty(len(people), dtype=np.int64)
    rank[sorted(range(len(people)), key=lambda i: people[i].id)] = np.arange(len(people))
    return rank


class _Explanation(LazyReasons):
    """Reasons of one pair, explained (`explain_pair`) on first access: one
    small object per suggestion, however many suggestions a cohort gets."""

    __slots__ = ("features", "i", "j", "viewer", "feedback")

    def __init__(self, features: CohortFeatures, i: int, j: int, viewer: str, feedback: "BoundFeedback | None" = None) -> None:
        self.features, self.i, self.j, self.viewer, self.feedback = features, i, j, viewer, feedback
        self._reasons = None

    def _get(self) -> dict[str, str]:
        if self._reasons is None:
            self._reasons = dict(self())
        return self._reasons

    def __call__(self) -> dict[str, str]:
        reasons = explain_pair(self.features, self.i, self.j, self.viewer)
        if self.feedback is not None:
            clause = self.feedback.reason(self.i, self.j)
            if clause:
                reasons = {lang: f"{text}; {clause.get(lang, clause['en'])}" if text else clause.get(lang, clause["en"])
                           for lang, text in reasons.items()}
        return reasons


def _rounded(values: np.ndarray, eps: float, quantised: bool) -> list[float]:
    """round(v − ε, 6) of each value, as `Suggestion.score`.  Multiples of
    1/4096 (the fused scores, ε = 0) round the same in numpy as in Python
    (v · 10⁶ is exact), so they are rounded at once."""
    shifted = values.astype(np.float64) - eps
    if quantised and eps == 0:
        return np.round(shifted, 6).tolist()
    return [round(v, 6) for v in shifted.tolist()]


def _suggestions(keys: np.ndarray, index: np.ndarray, values: np.ndarray, own_ids: list[str], other_ids: list[str],
                 viewer: str, features: CohortFeatures, feedback: "BoundFeedback | None", eps: float,
                 quantised: bool) -> dict[str, list[Suggestion]]:
    """`Suggestion`s of the people `keys` from their top-k matrices (`index`,
    `values`: one row per key, best first; forbidden entries dropped)."""
    if len(keys) == 0:
        return {}
    keep = values > HARD
    counts = keep.sum(axis=1).tolist()
    picks = index[keep].tolist()  # row-major: each person's best first
    scores = _rounded(values[keep], eps, quantised)
    make = Suggestion.unchecked
    out: dict[str, list[Suggestion]] = {}
    at = 0
    company_view = viewer == "production"
    for key, count in zip(keys.tolist(), counts):
        end = at + count
        out[own_ids[key]] = [
            make(other_ids[other], score,
                 _Explanation(features, key, other, viewer, feedback) if company_view
                 else _Explanation(features, other, key, viewer, feedback))
            for other, score in zip(picks[at:end], scores[at:end])
        ]
        at = end
    return out


@contextmanager
def _gc_paused():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def _parallel(n_tasks: int):
    """Run chunk tasks on all cores, each with a single-threaded BLAS: on
    small machines two independent GEMMs beat one GEMM on two threads, and
    the numpy work between the products runs in parallel too."""
    workers = min(_cpu_count(), n_tasks, 8)
    if workers <= 1:
        yield lambda fn, items: map(fn, items)
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - comes with scikit-learn
        threadpool_limits = None
    limits = threadpool_limits(1, user_api="blas") if threadpool_limits else nullcontext()
    with limits, ThreadPoolExecutor(workers, thread_name_prefix="crosslab-match") as pool:
        yield pool.map


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _pair_key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def embedding_requests(participants: Iterable[Participant], embedder: CachedEncoder) -> set[tuple[str, str]]:
    """(namespace, text) of every vector the matcher may look up for these
    participants: companies' challenges as queries, every other text
    (`offers`, `sector`, a creative's `seeks`) as passages — the cache keys a
    caller can prefetch.  For a symmetric encoder one namespace for all."""
    query, passage = embedder.namespace("query"), embedder.namespace("passage")
    out: set[tuple[str, str]] = set()
    for p in participants:
        for text, kind in ((p.seeks, query if p.side == "production" else passage), (p.offers, passage), (p.sector, passage)):
            if text and text.strip():
                out.add((kind, text))
    return out


class Matcher:
    """Suggests creatives to companies and companies to creatives.

    Pure: no database, no bot.  `model_name` is an EMBEDDING_MODEL spec
    (`matching.encoders.parse_spec`: "" / None = the bundled offline model,
    "use-multilingual", "e5-small", "sentence-transformers:<name or path>");
    `encoder` an `Encoder` (or a spec) instead — tests use a fake.  `cache`
    keeps embeddings of unchanged texts; `weights` (a `ScoringWeights` or a
    partial dict) sets the per-signal weights; with `weights.dense == 0` no
    model is needed.  Prompts are for sentence-transformers models only.

    `ranking` is "fused" (per-company z-scores of dense, bridge, stems and
    lexical, weighted by `fusion`, see matching.fusion) or "classic" (the
    hand-weighted scorer of matching.scoring with reciprocity); None = the
    default (`matching.fusion.DEFAULT_RANKING`).  `weights` configure the
    classic scorer (and, in fused mode, only which features are built).
    """

    def __init__(
        self,
        model_name: str | None = None,
        cache: AbstractEmbeddingCache | None = None,
        *,
        weights: ScoringWeights | Mapping[str, float] | None = None,
        encoder: Encoder | str | None = None,
        batch_size: int = 64,
        chunk_size: int | None = None,
        query_prompt: str | None = None,
        document_prompt: str | None = None,
        ranking: str | None = None,
        fusion: FusionWeights | Mapping[str, float] | None = None,
    ) -> None:
        self.ranking = ranking or DEFAULT_RANKING
        if self.ranking not in RANKINGS:
            raise ValueError(f"ranking must be one of {', '.join(RANKINGS)}, not {ranking!r}")
        self.fusion = FusionWeights.from_mapping(fusion)
        self.weights = ScoringWeights.from_mapping(weights)
        if encoder is None or isinstance(encoder, str):
            spec = encoder if isinstance(encoder, str) else model_name
            encoder = encoder_for(spec, batch_size=batch_size, query_prompt=query_prompt, passage_prompt=document_prompt)
        self.encoder: Encoder = encoder
        self.embedder = CachedEncoder(encoder, cache)
        self.chunk_size = None if chunk_size is None else max(1, int(chunk_size))  # None: ~8M scores per chunk

    @property
    def model_id(self) -> str:
        """The encoder's name: the model string of the cache keys
        (`cache_key(model_id, text)` for symmetric encoders; asymmetric ones
        use "<model_id>#query" / "#passage", see `embedder.namespace`)."""
        return self.encoder.name

    # -- preparation --------------------------------------------------------

    def _embed(self, progress: bool):
        def embed(queries: Sequence[str], passages: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
            return self.embedder.encode_split(queries, passages, progress=progress)

        return embed

    def prepare(self, participants: Iterable[Participant], *, progress: bool = False) -> "PreparedCohort":
        """Features of the active participants of both sides (embeds what the
        cache lacks).  Reusable for several `rank` calls."""
        seen: set[str] = set()
        active: list[Participant] = []
        for p in participants:
            if p.id in seen:
                raise ValueError(f"duplicate participant id {p.id!r}")
            seen.add(p.id)
            if p.active:
                active.append(p)
        companies = _ordered([p for p in active if p.side == "production"], lambda p: bool(p.trade.strip()))
        creatives = _ordered([p for p in active if p.side == "creative"], lambda p: bool(p.seeks.strip()))
        if self.ranking == "fused":
            return self._prepare_fused(companies, creatives, progress)
        embed = self._embed(progress) if self.weights.dense > 0 else None
        features = build_features(companies, creatives, self.weights, embed)
        return PreparedCohort(features, PairScorer(features, self.weights))

    def feature_weights(self) -> ScoringWeights:
        """The feature switches of the fused ranking: dense always (the bridge
        needs the embeddings), the challenge alone as the query (no trade
        context), lexical only when it has a weight."""
        return replace(self.weights, dense=1.0, trade_context=0.0,
                       lexical=1.0 if self.fusion.lexical > 0 else 0.0)

    def _prepare_fused(self, companies: list[Participant], creatives: list[Participant], progress: bool) -> "PreparedCohort":
        from matching.bridge import build_bridge, exemplar_vectors

        features = build_features(companies, creatives, self.feature_weights(), self._embed(progress))
        if self.fusion.bridge > 0:
            # the bank goes through an uncached CachedEncoder: its vectors are
            # memoised per process, never written to the people's cache
            vectors = exemplar_vectors(CachedEncoder(self.encoder, None))
            features.bridge = build_bridge(features.dense_c, features.dense_k, creatives, vectors,
                                           companies=features.companies)
        return PreparedCohort(features, FusedScorer(features, self.fusion))

    # -- suggestions --------------------------------------------------------

    def suggest(
        self,
        participants: Iterable[Participant],
        top: int = 5,
        exclude_pairs: Collection[tuple[str, str]] = frozenset(),
        for_ids: Collection[str] | None = None,
        *,
        progress: bool = False,
        feedback: "FeedbackModel | None" = None,
    ) -> dict[str, list[Suggestion]]:
        """Up to `top` counterparts per participant, best first.

        Only across sides; never a paused/deleted person, a pair in
        `exclude_pairs` (unordered: met, declined…) or two people who both
        stated working languages without one in common.  `for_ids` limits the
        result to these participants (they are still ranked against everyone).
        Everyone asked for gets a key, possibly with an empty list.
        `feedback` (a fitted `matching.learning.FeedbackModel`) adds its
        bounded, learned adjustment to every pair's score; None or an empty
        model leaves scores and ranking exactly as they are.
        """
        participants = list(participants)
        wanted = None if for_ids is None else set(for_ids)
        result: dict[str, list[Suggestion]] = {
            p.id: [] for p in participants if wanted is None or p.id in wanted
        }
        if top <= 0:
            return result
        prepared = self.prepare(participants, progress=progress)
        result.update(self.rank(prepared, top, exclude_pairs, wanted, progress=progress, feedback=feedback))
        return result

    def rank(
        self,
        prepared: "PreparedCohort",
        top: int = 5,
        exclude_pairs: Collection[tuple[str, str]] = frozenset(),
        for_ids: Collection[str] | None = None,
        *,
        progress: bool = False,
        feedback: "FeedbackModel | None" = None,
    ) -> dict[str, list[Suggestion]]:
        """Suggestions from prepared features (the scoring and top-k part);
        `feedback` as in `suggest`."""
        features, scorer = prepared.features, prepared.scorer
        companies, creatives = features.companies, features.creatives
        m, n = len(companies), len(creatives)
        wanted = None if for_ids is None else set(for_ids)
        if m == 0 or n == 0 or top <= 0:
            return {p.id: [] for p in companies + creatives if wanted is None or p.id in wanted}
        rows_wanted = np.array([i for i, p in enumerate(companies) if wanted is None or p.id in wanted], dtype=np.int64)
        cols_wanted = np.array([j for j, p in enumerate(creatives) if wanted is None or p.id in wanted], dtype=np.int64)
        excluded = self._excluded_index(exclude_pairs, companies, creatives)
        bound = None if feedback is None or feedback.is_empty() else feedback.bind(features)
        extra = None if bound is None else (bound.left, bound.right)

        # either run the company pass over all rows and read the creatives'
        # top-k from its columns, or score the wanted creatives on their own
        extra_rows = m - len(rows_wanted)
        columns_in_row_pass = len(cols_wanted) > 0 and extra_rows * n <= len(cols_wanted) * m
        row_pass = np.arange(m) if columns_in_row_pass else rows_wanted
        all_cols = len(cols_wanted) == n
        is_wanted_row = np.zeros(m, dtype=bool)
        is_wanted_row[rows_wanted] = True
        chunk_rows = self.chunk_size or max(64, min(4096, 8_000_000 // max(n, 1)))
        chunks = [row_pass[s:s + chunk_rows] for s in range(0, len(row_pass), chunk_rows)]

        def score_rows(chunk: np.ndarray):
            contiguous = chunk[-1] - chunk[0] + 1 == len(chunk)
            rows = slice(int(chunk[0]), int(chunk[-1]) + 1) if contiguous else chunk
            block = scorer.block(rows, slice(None), reuse=True, extra=extra)
            self._apply_exclusions(block, excluded, chunk)
            local = np.flatnonzero(is_wanted_row[chunk])
            picks = None
            if len(local):
                sub = block if len(local) == len(chunk) else block[local]
                picks = (chunk[local], *top_k_matrix(sub, top, prepared.creative_rank))
            column = None
            if columns_in_row_pass:  # this chunk's top-k per column (positions in cols_wanted), merged below
                sub = block if all_cols else block[:, cols_wanted]
                column = ColumnTopK(len(cols_wanted), top, prepared.company_rank)
                column.merge(*column_candidates(sub, top, chunk, col_topk.bound))
            return picks, column

        col_topk = ColumnTopK(len(cols_wanted), top, prepared.company_rank) if columns_in_row_pass else None
        eps, quantised = scorer.epsilon, scorer.quantised
        company_ids = [p.id for p in companies]
        creative_ids = [p.id for p in creatives]
        result: dict[str, list[Suggestion]] = {}
        bar = self._progress(len(chunks), progress)
        # 100k small objects would trigger full collections over the text memos
        with _gc_paused(), _parallel(len(chunks)) as run:
            for picks, column in run(score_rows, chunks):
                # the companies' suggestions are built while the workers score the next chunks
                if picks is not None:
                    result.update(_suggestions(*picks, company_ids, creative_ids, "production", features, bound,
                                               eps, quantised))
                if column is not None:
                    col_topk.merge_top(column)
                if bar:
                    bar.update(1)
        if bar:
            bar.close()
        col_hits: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        if col_topk is not None:
            col_hits.append((cols_wanted, *col_topk.matrix()))
        elif len(cols_wanted):
            flipped = {(b, a) for a, b in excluded}
            for s in range(0, len(cols_wanted), chunk_rows):
                cols = cols_wanted[s:s + chunk_rows]
                block = np.ascontiguousarray(scorer.block(slice(None), cols, extra=extra).T)  # creatives × companies
                self._apply_exclusions(block, flipped, cols)
                col_hits.append((cols, *top_k_matrix(block, top, prepared.company_rank)))

        with _gc_paused():
            for hits in col_hits:
                result.update(_suggestions(*hits, creative_ids, company_ids, "creative", features, bound, eps,
                                           quantised))
        return result

    @staticmethod
    def _excluded_index(
        exclude_pairs: Collection[tuple[str, str]], companies: list[Participant], creatives: list[Participant]
    ) -> set[tuple[int, int]]:
        if not exclude_pairs:
            return set()
        keys = {_pair_key(str(a), str(b)) for a, b in exclude_pairs}
        c_index = {p.id: i for i, p in enumerate(companies)}
        k_index = {p.id: j for j, p in enumerate(creatives)}
        out = set()
        for a, b in keys:
            for x, y in ((a, b), (b, a)):
                if x in c_index and y in k_index:
                    out.add((c_index[x], k_index[y]))
        return out

    @staticmethod
    def _apply_exclusions(block: np.ndarray, excluded: set[tuple[int, int]], rows: np.ndarray) -> None:
        if not excluded:
            return
        position = {int(r): local for local, r in enumerate(rows)}
        for r, col in excluded:
            local = position.get(r)
            if local is not None:
                block[local, col] = -np.inf

    @staticmethod
    def _progress(total: int, enabled: bool):
        if not enabled or total <= 1:
            return None
        try:
            from tqdm import tqdm
        except ImportError:  # pragma: no cover
            return None
        import sys

        return tqdm(total=total, desc="matching", unit="chunk", file=sys.stderr, leave=False)

    # -- introspection ------------------------------------------------------

    def pair_signals(
        self,
        participants: Iterable[Participant],
        pairs: Iterable[tuple[str, str]],
        *,
        feedback: "FeedbackModel | None" = None,
    ) -> dict[tuple[str, str], dict[str, float]]:
        """Every signal's value for the given (company id, creative id) pairs;
        with a non-empty `feedback` model also its term ("feedback"), included
        in "score"."""
        prepared = self.prepare(participants)
        features, scorer = prepared.features, prepared.scorer
        c_index = {p.id: i for i, p in enumerate(features.companies)}
        k_index = {p.id: j for j, p in enumerate(features.creatives)}
        pairs = [(a, b) if a in c_index else (b, a) for a, b in pairs]
        extra = None
        if feedback is not None and not feedback.is_empty():
            bound = feedback.bind(features)
            extra = (bound.left, bound.right)
        values = scorer.signals(((c_index[a], k_index[b]) for a, b in pairs), extra)
        return dict(zip(pairs, values))
