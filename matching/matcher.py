"""`Matcher.suggest`: the best counterparts for everyone, with reasons."""
from __future__ import annotations

from typing import Any, Collection, Iterable, Mapping, Sequence

import numpy as np

from matching.cache import AbstractEmbeddingCache
from matching.domain import LazyReasons, Participant, Suggestion
from matching.encoder import Encoder
from matching.explain import explain_pair
from matching.scoring import ColumnTopK, CohortFeatures, PairScorer, ScoringWeights, build_features, top_k_rows

DEFAULT_CHUNK = 1024


def _pair_key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


class Matcher:
    """Suggests creatives to companies and companies to creatives.

    Pure: no database, no bot.  `model_name` is any sentence-transformers
    name or path (None / "" = the bundled offline model); `cache` keeps
    embeddings of unchanged texts; `weights` (a `ScoringWeights` or a partial
    dict) sets the per-signal weights.  `encoder` replaces the embedding model
    altogether (tests use a fake); with `weights.dense == 0` no model is needed.
    """

    def __init__(
        self,
        model_name: str | None = None,
        cache: AbstractEmbeddingCache | None = None,
        *,
        weights: ScoringWeights | Mapping[str, float] | None = None,
        encoder: Any | None = None,
        batch_size: int = 64,
        chunk_size: int = DEFAULT_CHUNK,
        query_prompt: str | None = None,
        document_prompt: str | None = None,
    ) -> None:
        self.weights = ScoringWeights.from_mapping(weights)
        self.encoder = encoder or Encoder(
            model_name, cache, batch_size=batch_size, query_prompt=query_prompt, document_prompt=document_prompt
        )
        self.chunk_size = max(1, int(chunk_size))

    @property
    def model_id(self) -> str:
        """The model string used in cache keys (`cache_key(model_id, text)`)."""
        return self.encoder.model_id

    # -- preparation --------------------------------------------------------

    def _embed(self, progress: bool):
        def embed(texts: Sequence[str]) -> np.ndarray:
            return self.encoder.encode(texts, progress=progress)

        return embed

    def prepare(self, participants: Iterable[Participant], *, progress: bool = False) -> tuple[CohortFeatures, PairScorer]:
        """Features of the active participants of both sides, ordered by id."""
        seen: set[str] = set()
        active: list[Participant] = []
        for p in participants:
            if p.id in seen:
                raise ValueError(f"duplicate participant id {p.id!r}")
            seen.add(p.id)
            if p.active:
                active.append(p)
        active.sort(key=lambda p: p.id)
        companies = [p for p in active if p.side == "production"]
        creatives = [p for p in active if p.side == "creative"]
        embed = self._embed(progress) if self.weights.dense > 0 else None
        features = build_features(companies, creatives, self.weights, embed)
        return features, PairScorer(features, self.weights)

    # -- suggestions --------------------------------------------------------

    def suggest(
        self,
        participants: Iterable[Participant],
        top: int = 5,
        exclude_pairs: Collection[tuple[str, str]] = frozenset(),
        for_ids: Collection[str] | None = None,
        *,
        progress: bool = False,
    ) -> dict[str, list[Suggestion]]:
        """Up to `top` counterparts per participant, best first.

        Only across sides; never a paused/deleted person, a pair in
        `exclude_pairs` (unordered: met, declined…) or two people who both
        stated working languages without one in common.  `for_ids` limits the
        result to these participants (they are still ranked against everyone).
        Everyone asked for gets a key, possibly with an empty list.
        """
        participants = list(participants)
        wanted = None if for_ids is None else set(for_ids)
        result: dict[str, list[Suggestion]] = {}
        for p in participants:
            if wanted is None or p.id in wanted:
                result[p.id] = []
        if top <= 0:
            return result
        features, scorer = self.prepare(participants, progress=progress)
        companies, creatives = features.companies, features.creatives
        m, n = len(companies), len(creatives)
        if m == 0 or n == 0:
            return result

        rows_wanted = np.array([i for i, p in enumerate(companies) if wanted is None or p.id in wanted], dtype=np.int64)
        cols_wanted = np.array([j for j, p in enumerate(creatives) if wanted is None or p.id in wanted], dtype=np.int64)
        company_rank = np.arange(m)  # participants are sorted by id
        creative_rank = np.arange(n)
        excluded = self._excluded_index(exclude_pairs, companies, creatives)

        # either extend the company pass to all rows and read columns from it,
        # or score the wanted creatives separately (cheaper when few are wanted)
        extra_rows = m - len(rows_wanted)
        columns_in_row_pass = len(cols_wanted) > 0 and extra_rows * n <= len(cols_wanted) * m
        row_pass = np.arange(m) if columns_in_row_pass else rows_wanted

        row_hits: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        col_topk = ColumnTopK(len(cols_wanted), top, company_rank) if columns_in_row_pass else None
        is_wanted_row = np.zeros(m, dtype=bool)
        is_wanted_row[rows_wanted] = True

        chunks = [row_pass[s:s + self.chunk_size] for s in range(0, len(row_pass), self.chunk_size)]
        bar = self._progress(len(chunks) + (0 if columns_in_row_pass else 1), progress)
        for chunk in chunks:
            contiguous = len(chunk) and chunk[-1] - chunk[0] + 1 == len(chunk)
            rows = slice(int(chunk[0]), int(chunk[-1]) + 1) if contiguous else chunk
            block = scorer.block(rows, slice(None))
            self._apply_exclusions(block, excluded, chunk)
            local = np.flatnonzero(is_wanted_row[chunk])
            if len(local):
                picks = top_k_rows(block if len(local) == len(chunk) else block[local], top, creative_rank)
                for li, pick in zip(local, picks):
                    row_hits[int(chunk[li])] = pick
            if col_topk is not None:
                sub = block[:, cols_wanted] if len(cols_wanted) < n else block
                col_topk.update(sub, chunk)
            if bar:
                bar.update(1)

        col_hits: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        if len(cols_wanted):
            if col_topk is not None:
                for jj, pick in zip(cols_wanted, col_topk.result()):
                    col_hits[int(jj)] = pick
            else:
                for s in range(0, len(cols_wanted), self.chunk_size):
                    cols = cols_wanted[s:s + self.chunk_size]
                    block = scorer.block(slice(None), cols).T  # creatives × companies
                    self._apply_exclusions(block, {(b, a) for a, b in excluded}, cols)
                    for local, pick in enumerate(top_k_rows(np.ascontiguousarray(block), top, company_rank)):
                        col_hits[int(cols[local])] = pick
                if bar:
                    bar.update(1)
        if bar:
            bar.close()

        for i, (pick, values) in row_hits.items():
            result[companies[i].id] = [
                self._suggestion(features, i, int(j), float(v), "production") for j, v in zip(pick, values)
            ]
        for j, (pick, values) in col_hits.items():
            result[creatives[j].id] = [
                self._suggestion(features, int(i), j, float(v), "creative") for i, v in zip(pick, values)
            ]
        return result

    def _suggestion(self, features: CohortFeatures, i: int, j: int, score: float, viewer: str) -> Suggestion:
        counterpart = features.creatives[j].id if viewer == "production" else features.companies[i].id
        return Suggestion(counterpart, round(score, 6), LazyReasons(lambda: explain_pair(features, i, j, viewer)))

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
        self, participants: Iterable[Participant], pairs: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], dict[str, float]]:
        """Every signal's value for the given (company id, creative id) pairs —
        the features a later issue learns weights from."""
        features, scorer = self.prepare(participants)
        c_index = {p.id: i for i, p in enumerate(features.companies)}
        k_index = {p.id: j for j, p in enumerate(features.creatives)}
        pairs = [(a, b) if a in c_index else (b, a) for a, b in pairs]
        values = scorer.signals((c_index[a], k_index[b]) for a, b in pairs)
        return dict(zip(pairs, values))
