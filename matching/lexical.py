"""Character n-gram TF-IDF, robust to German compounds.

Every content word (stop words dropped, folded) contributes its character 3-,
4- and 5-grams with word-boundary marks, so "Verkaufsräume" and "Räume", or
"Polsterei" and "Polsterbezüge", share features.  N-grams get process-wide
integer ids; per-word and per-text results are memoised, so a cohort whose
texts did not change is re-weighted with numpy only.

Scoring is dense: only features present on both sides of a comparison can
contribute to a dot product, so the matrices are cut to those columns
(`shared_columns`) and become part of the dense feature vectors.  When a
cohort is so large that the shared vocabulary exceeds the budget, the columns
carrying the most cross-side weight are kept (see docs/matching.md).
"""
from __future__ import annotations

import threading
from functools import lru_cache
from typing import Sequence

import numpy as np

from matching.text import content_words

NGRAM_SIZES = (3, 4, 5)
_MAX_VOCAB = 2_000_000

_vocab: dict[str, int] = {}
_vocab_lock = threading.Lock()
_word_cache: dict[str, np.ndarray] = {}


def _ngram_ids(word: str) -> np.ndarray:
    ids = _word_cache.get(word)
    if ids is not None:
        return ids
    padded = f" {word} "
    grams = {padded[i:i + n] for n in NGRAM_SIZES for i in range(len(padded) - n + 1)}
    if len(padded) < NGRAM_SIZES[0] + 1:
        grams.add(padded)
    with _vocab_lock:
        if len(_vocab) > _MAX_VOCAB:  # a very long-lived process: start afresh
            _vocab.clear()
            _word_cache.clear()
            _term_counts.cache_clear()
        out = []
        for gram in grams:
            index = _vocab.get(gram)
            if index is None:
                index = len(_vocab)
                _vocab[gram] = index
            out.append(index)
    ids = np.asarray(sorted(out), dtype=np.int64)
    _word_cache[word] = ids
    return ids


@lru_cache(maxsize=200_000)
def _term_counts(text: str) -> tuple[np.ndarray, np.ndarray]:
    tokens = content_words(text)
    if not tokens:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    all_ids = np.concatenate([_ngram_ids(w) for w in tokens])
    ids, counts = np.unique(all_ids, return_counts=True)
    return ids, counts.astype(np.float32)


def term_counts(text: str) -> tuple[np.ndarray, np.ndarray]:
    """(n-gram ids, counts) of a text, memoised."""
    return _term_counts(text or "")


def _concatenated(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All (id, count) pairs of the texts, with the row each belongs to."""
    pairs = [term_counts(t) for t in texts]
    lengths = np.fromiter((len(ids) for ids, _ in pairs), dtype=np.int64, count=len(pairs))
    if lengths.sum() == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, np.zeros(0, dtype=np.float32), empty
    ids = np.concatenate([ids for ids, _ in pairs])
    counts = np.concatenate([c for _, c in pairs])
    rows = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
    return ids, counts, rows


class TfidfSpace:
    """IDF over a set of documents (sublinear tf, smooth idf, as scikit-learn
    does); turns texts into L2-normalised CSR rows over the used columns."""

    def __init__(self, documents: Sequence[str]) -> None:
        from scipy import sparse

        self._sparse = sparse
        unique_docs = list(dict.fromkeys(d for d in documents if d and d.strip()))
        ids, _, _ = _concatenated(unique_docs)
        df = np.bincount(ids, minlength=int(ids.max()) + 1 if len(ids) else 0).astype(np.float64)
        self.columns = np.flatnonzero(df)  # global n-gram ids in use, sorted
        self._column_of = np.full(len(df), -1, dtype=np.int64)
        self._column_of[self.columns] = np.arange(len(self.columns))
        self.idf = (np.log((1.0 + len(unique_docs)) / (1.0 + df[self.columns])) + 1.0).astype(np.float32)

    @property
    def size(self) -> int:
        return len(self.columns)

    def transform(self, texts: Sequence[str]):
        """CSR matrix, one L2-normalised row per text (empty text → zero row)."""
        ids, counts, rows = _concatenated(texts)
        known = ids < len(self._column_of)
        cols = np.full(len(ids), -1, dtype=np.int64)
        cols[known] = self._column_of[ids[known]]
        keep = cols >= 0
        cols, counts, rows = cols[keep], counts[keep], rows[keep]
        weights = ((1.0 + np.log(counts)) * self.idf[cols]).astype(np.float32)
        norms = np.sqrt(np.bincount(rows, weights=weights.astype(np.float64) ** 2, minlength=len(texts)))
        weights /= np.where(norms > 0, norms, 1.0)[rows].astype(np.float32)
        indptr = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=len(texts)), out=indptr[1:])
        return self._sparse.csr_matrix((weights, cols, indptr), shape=(len(texts), self.size), dtype=np.float32)


def shared_columns(left, right, budget: int) -> np.ndarray:
    """Columns non-zero on both sides (all of them when within `budget`,
    else those with the largest cross-side weight mass)."""
    left_mass = np.asarray(left.sum(axis=0)).ravel()
    right_mass = np.asarray(right.sum(axis=0)).ravel()
    mass = left_mass * right_mass
    shared = np.flatnonzero(mass > 0)
    if len(shared) > budget:
        top = np.argpartition(-mass[shared], budget - 1)[:budget]
        shared = np.sort(shared[top])
    return shared


def dense_columns(matrix, columns: np.ndarray) -> np.ndarray:
    if len(columns) == 0:
        return np.zeros((matrix.shape[0], 0), dtype=np.float32)
    return np.asarray(matrix[:, columns].toarray(), dtype=np.float32)
