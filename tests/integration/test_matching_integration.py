"""The real bundled model, offline: encoder, matcher quality, command line.

Marked `slow` (the model loads once per session, a few seconds); it runs by
default — deselect with `-m "not slow"`.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from matching import InMemoryEmbeddingCache, Matcher, cache_key
from matching.cohort import load_cohort
from matching.encoder import BUNDLED_MODEL_ID, CachedEncoder, load_model
from matching.evaluation import evaluate

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
# The shared development cohort, or the copy bundled for the demo in a fresh clone.
DEV = next((p for p in (REPO.parent / "shared" / "data" / "cohort_dev.json", REPO / "bot" / "data" / "demo_cohort.json")
            if p.exists()), REPO / "bot" / "data" / "demo_cohort.json")
HOLDOUT = REPO / "tests" / "fixtures" / "cohort_holdout.json"


@pytest.fixture(scope="session")
def bundled_model():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return load_model(None)  # shared by every Encoder/Matcher in this process


def test_bundled_model_embeds_offline_and_the_cache_spares_work(bundled_model, monkeypatch):
    calls = []
    original = bundled_model.encode
    monkeypatch.setattr(bundled_model, "encode", lambda texts, **kw: calls.append(list(texts)) or original(texts, **kw))
    cache = InMemoryEmbeddingCache()
    enc = CachedEncoder("minilm", cache)
    vectors = enc.encode(["Wir suchen Nachwuchs.", "Recruiting-Videos", "", "Wir suchen Nachwuchs."])
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors[[0, 1]], axis=1), 1.0, atol=1e-5) and not vectors[2].any()
    assert calls == [["Wir suchen Nachwuchs.", "Recruiting-Videos"]]
    enc.encode(["Recruiting-Videos"])
    assert len(calls) == 1
    assert cache_key(BUNDLED_MODEL_ID, "Recruiting-Videos") in cache.drain_new()


def ranking_quality(path: Path) -> dict[str, float]:
    cohort = load_cohort(path)
    result = Matcher().suggest(cohort.participants, top=50, for_ids=set(cohort.relevance))
    return evaluate({q: [s.counterpart_id for s in v] for q, v in result.items()}, cohort.relevance, k=3)


@pytest.mark.skipif(not DEV.exists(), reason="shared development cohort not present")
def test_development_cohort_quality(bundled_model):
    scores = ranking_quality(DEV)
    assert scores["ndcg@3"] >= 0.75 and scores["hit@3"] >= 0.9


def test_holdout_cohort_quality(bundled_model):
    scores = ranking_quality(HOLDOUT)
    assert scores["ndcg@3"] >= 0.7 and scores["hit@3"] >= 0.9


def test_reasons_with_the_real_model(bundled_model):
    cohort = load_cohort(HOLDOUT)
    result = Matcher().suggest(cohort.participants, top=1, for_ids={"h-p01"})
    best = result["h-p01"][0]
    assert best.counterpart_id in cohort.relevance["h-p01"]
    assert "Nachwuchs" in best.reason("de") and "Recruiting" in best.reason("en")


def test_crosslab_match_json_contract(bundled_model, capsys):
    from bot.cli import main

    assert main(["match", "--cohort", str(HOLDOUT), "--top", "3", "--json"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)  # exactly one JSON object, nothing else
    cohort = load_cohort(HOLDOUT)
    assert set(data) == {p.id for p in cohort.participants}
    assert all(len(v) == 3 for v in data.values())
    assert data["h-p04"][0] == "h-c06"
