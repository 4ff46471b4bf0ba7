"""Ranking quality against graded relevance labels, and two baselines.

Labels: `{query_id: {counterpart_id: grade}}`, grade 2 = ideal, 1 = useful,
absent = not relevant.  nDCG uses the exponential gain 2^grade − 1 (linear
gain is available for comparison); hit@k and MRR count any grade ≥ 1.
"""
from __future__ import annotations

import math
from typing import Callable, Mapping, Sequence

import numpy as np

from matching.domain import Participant

Rankings = Mapping[str, Sequence[str]]
Relevance = Mapping[str, Mapping[str, float]]


def _gain(grade: float, gain: str) -> float:
    return (2.0 ** grade - 1.0) if gain == "exponential" else float(grade)


def ndcg_at_k(ranking: Sequence[str], grades: Mapping[str, float], k: int, gain: str = "exponential") -> float:
    dcg = sum(_gain(grades.get(c, 0), gain) / math.log2(i + 2) for i, c in enumerate(ranking[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    idcg = sum(_gain(g, gain) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def hit_at_k(ranking: Sequence[str], grades: Mapping[str, float], k: int) -> float:
    return 1.0 if any(grades.get(c, 0) > 0 for c in ranking[:k]) else 0.0


def reciprocal_rank(ranking: Sequence[str], grades: Mapping[str, float]) -> float:
    for i, c in enumerate(ranking):
        if grades.get(c, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def evaluate(rankings: Rankings, relevance: Relevance, k: int = 3, gain: str = "exponential") -> dict[str, float]:
    """Mean nDCG@k, hit@k and MRR over the labelled queries (a query without a
    ranking counts as an empty one)."""
    queries = [q for q, g in relevance.items() if any(v > 0 for v in g.values())]
    if not queries:
        return {f"ndcg@{k}": 0.0, f"hit@{k}": 0.0, "mrr": 0.0, "queries": 0}
    ndcg = hit = mrr = 0.0
    for q in queries:
        ranking = list(rankings.get(q, ()))
        grades = relevance[q]
        ndcg += ndcg_at_k(ranking, grades, k, gain)
        hit += hit_at_k(ranking, grades, k)
        mrr += reciprocal_rank(ranking, grades)
    n = len(queries)
    return {f"ndcg@{k}": ndcg / n, f"hit@{k}": hit / n, "mrr": mrr / n, "queries": n}


def _candidates(participants: Sequence[Participant], query: Participant) -> list[Participant]:
    return sorted((p for p in participants if p.side != query.side and p.active), key=lambda p: p.id)


def random_rankings(participants: Sequence[Participant], queries: Sequence[str], seed: int) -> dict[str, list[str]]:
    rng = np.random.default_rng(seed)
    by_id = {p.id: p for p in participants}
    out = {}
    for q in queries:
        ids = [p.id for p in _candidates(participants, by_id[q])]
        out[q] = [ids[i] for i in rng.permutation(len(ids))]
    return out


def random_baseline(
    participants: Sequence[Participant], relevance: Relevance, k: int = 3, runs: int = 200, seed: int = 0
) -> dict[str, float]:
    """Expected metrics of a random order (mean over `runs` seeded shuffles)."""
    totals: dict[str, float] = {}
    for run in range(runs):
        scores = evaluate(random_rankings(participants, list(relevance), seed + run), relevance, k)
        for key, value in scores.items():
            totals[key] = totals.get(key, 0.0) + value
    return {key: value / runs for key, value in totals.items()}


def similarity_rankings(
    participants: Sequence[Participant], queries: Sequence[str], similarity: Callable[[list[str], list[str]], np.ndarray]
) -> dict[str, list[str]]:
    """Rank counterparts by similarity(query texts, candidate texts): a
    company's `seeks` against a creative's `offers` (and vice versa)."""
    by_id = {p.id: p for p in participants}
    out = {}
    for q in queries:
        query = by_id[q]
        cands = _candidates(participants, query)
        if query.side == "production":
            sims = similarity([query.seeks], [c.offers for c in cands])[0]
        else:
            sims = similarity([c.seeks for c in cands], [query.offers]).T[0]
        order = np.lexsort((np.arange(len(cands)), -np.asarray(sims)))
        out[q] = [cands[i].id for i in order]
    return out


def tfidf_similarity(corpus: Sequence[str]) -> Callable[[list[str], list[str]], np.ndarray]:
    """TF-IDF cosine over character 2–5-grams within word boundaries
    (scikit-learn's char_wb; stronger than word TF-IDF on German compounds),
    fitted on the cohort's texts."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5))
    vectorizer.fit([t for t in corpus if t.strip()] or ["empty"])

    def similarity(left: list[str], right: list[str]) -> np.ndarray:
        return (vectorizer.transform(left) @ vectorizer.transform(right).T).toarray()

    return similarity


def tfidf_baseline(participants: Sequence[Participant], relevance: Relevance, k: int = 3) -> dict[str, float]:
    """Challenge (`seeks`) ↔ skills (`offers`) by character n-gram TF-IDF."""
    corpus = [t for p in participants for t in (p.offers, p.seeks)]
    rankings = similarity_rankings(participants, list(relevance), tfidf_similarity(corpus))
    return evaluate(rankings, relevance, k)


def _profile(p: Participant) -> str:
    return " ".join(t.strip() for t in (p.seeks, p.offers, p.sector) if t and t.strip())


def embedding_baseline(participants: Sequence[Participant], relevance: Relevance, encoder, k: int = 3) -> dict[str, float]:
    """The embedding model alone: cosine of whole-profile embeddings."""
    profiles = {p.id: _profile(p) for p in participants}

    def similarity(left: list[str], right: list[str]) -> np.ndarray:
        return encoder.encode(left) @ encoder.encode(right).T

    shadow = [
        Participant(p.id, p.side, offers=profiles[p.id], seeks=profiles[p.id], paused=p.paused, deleted=p.deleted)
        for p in participants
    ]
    return evaluate(similarity_rankings(shadow, list(relevance), similarity), relevance, k)
