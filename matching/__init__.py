"""Crosslab matching: who should meet whom, and why.

Public API (importing this package never imports torch or
sentence-transformers; the model loads on the first text to embed):

    from matching import Participant, Matcher, Suggestion
    matcher = Matcher(model_name=None, cache=InMemoryEmbeddingCache())   # or an EMBEDDING_MODEL spec
    encoder = encoder_for("use-multilingual")   # the Encoder port (matching.encoders)
    suggestions = matcher.suggest(participants, top=5, exclude_pairs=frozenset(), for_ids=None)
    suggestions["p1"][0].counterpart_id, .score, .reason("de")
    # learning from meeting feedback (matching.learning)
    model = FeedbackModel.fit(observations)
    matcher.suggest(participants, exclude_pairs=bad_pairs(observations), feedback=model)
    # the exemplar bank (data only: problems and self-descriptions per discipline)
    bank = load_exemplars(); bank["ux"].problems, bank.creatives(lang="de")
    # the programmes' formats (matching.formation, numpy/scipy): breakout groups, speed rounds
    from matching.formation import score_matrix, form_groups, form_rounds
    scores = score_matrix(matcher, participants, forbidden=met_or_declined, wishes=marked)
    form_groups(scores, group_size=2, locked=pinned).groups;  form_rounds(scores, rounds=6).rounds

See docs/matching.md.
"""
from __future__ import annotations

from typing import Any

__all__ = [
    "AbstractEmbeddingCache",
    "CachedEncoder",
    "Encoder",
    "ExemplarBank",
    "FeedbackModel",
    "FeedbackObservation",
    "InMemoryEmbeddingCache",
    "Matcher",
    "Participant",
    "ScoringWeights",
    "Suggestion",
    "bad_pairs",
    "cache_key",
    "encoder_for",
    "load_exemplars",
]

_LOCATIONS = {
    "AbstractEmbeddingCache": "matching.cache",
    "InMemoryEmbeddingCache": "matching.cache",
    "cache_key": "matching.cache",
    "Encoder": "matching.encoders",
    "encoder_for": "matching.encoders",
    "CachedEncoder": "matching.encoder",
    "Matcher": "matching.matcher",
    "Participant": "matching.domain",
    "Suggestion": "matching.domain",
    "ScoringWeights": "matching.scoring",
    "FeedbackModel": "matching.learning",
    "FeedbackObservation": "matching.learning",
    "bad_pairs": "matching.learning",
    "ExemplarBank": "matching.exemplars",
    "load_exemplars": "matching.exemplars",
}


def __getattr__(name: str) -> Any:
    # lazy, so `from matching.taxonomy import DISCIPLINES` stays cheap
    module = _LOCATIONS.get(name)
    if module is None:
        raise AttributeError(f"module 'matching' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
